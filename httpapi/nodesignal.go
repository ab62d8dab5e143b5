package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
)

// Signals between nodes. A call runs on one node, but the request that
// stops it (a cancelled or aborted case, a clerk taken off the case, a
// logout, a disabled account) may reach any node. That node acts on its
// own hub and then tells every other live node the same, in a request to
// its internal URL signed with the cluster secret (Config.NodeSecret), so
// the call's node ends the call or the socket at once instead of at its
// next heartbeat or revalidation. A node that does not answer in time is
// logged; those slower paths still reach it.

// nodeSignalPath is the internal route the signals are posted to.
const nodeSignalPath = "/internal/node/signal"

// nodeSignalTimeout bounds how long a request waits for the other nodes.
const nodeSignalTimeout = 3 * time.Second

// The header carrying a signal's signature: "<unix seconds>:<hex HMAC>".
const hdrNodeSignal = "X-Idv-Node-Signal"

// nodeSignal is one instruction to the other nodes' hubs.
type nodeSignal struct {
	Op      string         `json:"op"` // end_call, end_clerk, end_session, end_staff, rotate_session
	Case    models.CaseID  `json:"case,omitempty"`
	Staff   models.StaffID `json:"staff,omitempty"`
	Session string         `json:"session,omitempty"` // a session ID hash (never the cookie)
	New     string         `json:"new,omitempty"`     // rotate_session: the new ID hash
	Reason  string         `json:"reason,omitempty"`
}

// Signal operations.
const (
	sigEndCall       = "end_call"
	sigEndClerk      = "end_clerk"
	sigEndSession    = "end_session"
	sigEndStaff      = "end_staff"
	sigRotateSession = "rotate_session"
)

// signalMAC is the HMAC of a signal's time and body, domain-separated from
// the proxied sockets' signatures (nodeSignature).
func signalMAC(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("idv node signal\x00"))
	m.Write([]byte(ts))
	m.Write([]byte{0})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// apply carries sig out on this node's hub.
func (s *Server) apply(sig nodeSignal) error {
	h := s.call.hub
	switch sig.Op {
	case sigEndCall:
		h.End(sig.Case, sig.Reason)
	case sigEndClerk:
		h.EndClerk(sig.Case, sig.Staff, sig.Reason)
	case sigEndSession:
		h.EndSession(sig.Session, sig.Reason)
	case sigEndStaff:
		h.EndStaff(sig.Staff, sig.Reason)
	case sigRotateSession:
		h.RotateSession(sig.Session, sig.New)
	default:
		return models.Errorf(models.EINVALID, "unknown node signal %q", sig.Op)
	}
	return nil
}

// tell applies sig here and sends it to every other live node.
func (s *Server) tell(ctx context.Context, sig nodeSignal) {
	if err := s.apply(sig); err != nil {
		s.log.ErrorContext(ctx, "node signal", "op", sig.Op, "err", err)
		return
	}
	if len(s.cfg.NodeSecret) == 0 || s.nodes == nil || s.cfg.NodeID == "" {
		return
	}
	nodes, err := s.nodes.Nodes(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "node signal: list the nodes (the others act at their next heartbeat or check)", "op", sig.Op, "err", err)
		return
	}
	body, err := json.Marshal(sig)
	if err != nil {
		s.log.ErrorContext(ctx, "node signal", "op", sig.Op, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), nodeSignalTimeout)
	defer cancel()
	now := s.access.Now()
	var wg sync.WaitGroup
	for _, n := range nodes {
		if n.ID == s.cfg.NodeID || !n.Live(now, s.nodeDeadAfter()) || n.URL == "" {
			continue
		}
		wg.Go(func() {
			if err := s.send(ctx, n.URL, body); err != nil {
				s.log.WarnContext(ctx, "node signal not delivered (that node acts at its next heartbeat or check)", "op", sig.Op, "node", n.ID, "err", err)
			}
		})
	}
	wg.Wait()
}

// send posts a signed signal to the node at base.
func (s *Server) send(ctx context.Context, base string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+nodeSignalPath, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("signal %s: %w", base, err)
	}
	ts := strconv.FormatInt(s.access.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(hdrNodeSignal, ts+":"+signalMAC(s.cfg.NodeSecret, ts, body))
	resp, err := s.nodeClient.Do(req)
	if err != nil {
		return fmt.Errorf("signal %s: %w", base, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("signal %s: %s", base, resp.Status)
	}
	return nil
}

// nodeSignalIn is POST /internal/node/signal: another node's signal,
// believed only under a valid signature less than nodeSigMaxAge old. No
// staff or customer credential opens it.
func (s *Server) nodeSignalIn(c *gin.Context) error {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return models.Errorf(models.EINVALID, "node signal: %v", err)
	}
	h := c.GetHeader(hdrNodeSignal)
	ts, mac, ok := bytes.Cut([]byte(h), []byte(":"))
	if len(s.cfg.NodeSecret) == 0 || !ok || !hmac.Equal(mac, []byte(signalMAC(s.cfg.NodeSecret, string(ts), body))) {
		s.log.WarnContext(c.Request.Context(), "node signal without a valid signature refused", "remote", c.Request.RemoteAddr)
		return models.Errorf(models.EUNAUTHORIZED, "node signals are accepted only from the other nodes of the cluster")
	}
	sec, err := strconv.ParseInt(string(ts), 10, 64)
	if age := s.access.Now().Sub(time.Unix(sec, 0)); err != nil || age > nodeSigMaxAge || age < -nodeSigMaxAge {
		return models.Errorf(models.EUNAUTHORIZED, "node signal too old or from the future; check the nodes' clocks")
	}
	var sig nodeSignal
	if err := json.Unmarshal(body, &sig); err != nil {
		return models.Errorf(models.EINVALID, "node signal: %v", err)
	}
	if err := s.apply(sig); err != nil {
		return err
	}
	s.log.InfoContext(c.Request.Context(), "node signal applied", "op", sig.Op, "case", sig.Case)
	c.Status(http.StatusNoContent)
	return nil
}
