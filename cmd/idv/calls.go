package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"remoteidv/signaling"
	"remoteidv/storage/encfile"
	"remoteidv/verify"
)

// iceURLs splits the ice-servers setting.
func (c Config) iceURLs() []string {
	var out []string
	for _, u := range strings.Split(c.ICE.Servers, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// turn is the embedded TURN server's configuration, nil when off. Its
// credentials live for the longest call plus 15 minutes: long enough for a
// call that runs its full length, never a day as TURN servers often allow.
func (c Config) turn() (*signaling.TURNConfig, error) {
	if c.TURN.Listen == "" {
		return nil, nil
	}
	t := &signaling.TURNConfig{Listen: c.TURN.Listen, PublicIP: net.ParseIP(c.TURN.PublicIP), Realm: c.TURN.Realm,
		TTL: c.CallMaxDuration + 15*time.Minute, MaxAllocations: int(c.TURN.MaxAllocations), TLSListen: c.TURN.TLSListen, TLSHost: c.TURN.TLSHost}
	if c.TURN.Secret != "" {
		t.Secret = []byte(c.TURN.Secret)
	}
	if c.TURN.TLSListen != "" {
		cert, err := tls.LoadX509KeyPair(c.TURN.TLSCert, c.TURN.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("TURN over TLS certificate: %w", err)
		}
		t.TLSCert = &cert
	}
	return t, nil
}

// publicIPs parses PublicIPs.
func (m MediaConfig) publicIPs() ([]net.IP, error) {
	var out []net.IP
	for _, s := range strings.Split(m.PublicIPs, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		ip := net.ParseIP(s)
		if ip == nil || ip.IsUnspecified() {
			return nil, fmt.Errorf("%q is not an IP address clients can reach", s)
		}
		out = append(out, ip)
	}
	return out, nil
}

// startHub starts the signaling hub over calls and recovers recordings a
// stopped process left behind; the caller closes the hub at shutdown.
func startHub(ctx context.Context, cfg Config, key *encfile.Key, calls *verify.Calls, log *slog.Logger) (*signaling.Hub, error) {
	var ice []signaling.ICEServer
	if urls := cfg.iceURLs(); len(urls) > 0 {
		ice = []signaling.ICEServer{{URLs: urls}} // TURN credentials: from ICESecret, per participant
	}
	host := strings.Split(cfg.Listen, ":")[0]
	turn, err := cfg.turn()
	if err != nil {
		return nil, err
	}
	public, err := cfg.Media.publicIPs()
	if err != nil {
		return nil, err
	}
	media := signaling.MediaConfig{UDPListen: cfg.Media.UDPListen, TCPListen: cfg.Media.TCPListen, PublicIPs: public}
	hub, err := signaling.New(signaling.Config{ICEServers: ice, ICESecret: []byte(cfg.ICE.Secret), TURN: turn, Media: media, MaxDuration: cfg.CallMaxDuration, MaxRecordingBytes: cfg.Quotas.CallRecordingBytes,
		MaxSocketsPerAddr: int(cfg.CallMaxSockets), Captures: int(cfg.Face.Captures), CaptureSpread: cfg.Face.CaptureSpread, RecordDir: filepath.Join(cfg.DataDir, "recording"), RecordKey: key, Loopback: host == "127.0.0.1" || host == "localhost"}, calls, log.With("component", "signaling"))
	if err != nil {
		return nil, err
	}
	if n, err := hub.Recover(ctx); n > 0 || err != nil {
		// Files that could not be stored stay in the folder; serving goes on.
		log.Warn("recordings of interrupted calls", "recovered", n, "err", err)
	}
	return hub, nil
}
