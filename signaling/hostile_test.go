package signaling_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/signaling"
)

// hostileCall is a hub with a good call that must keep flowing, and a
// second case whose participants misbehave.
type hostileCall struct {
	f                       *fixture
	src                     source
	badCase                 models.CaseID
	badCustomer, badClerk   string
	outBound                time.Duration // a peer whose media stopped is out by then
	goodCustomer, goodClerk *testPeer
}

// newHostileCall starts the good call; goleak checks at the end that no
// goroutine is left behind.
func newHostileCall(t *testing.T, mediaTimeout time.Duration) *hostileCall {
	t.Helper()
	before := goleak.IgnoreCurrent() // the goroutines running now, not at the end
	t.Cleanup(func() {
		goleak.VerifyNone(t, before,
			goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
			goleak.IgnoreAnyFunction("github.com/Kagami/go-face.(*Recognizer).Close"))
	})
	h := &hostileCall{f: newFixture(t, signaling.Config{HandshakeTimeout: 5 * time.Second, MediaTimeout: mediaTimeout}),
		src: source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 160), ogg: testenv.OpusTone(t, 2)},
		// MediaTimeout, the 2 s the server waits for a bye on its way,
		// and 2 s of slack.
		outBound: mediaTimeout + 4*time.Second}
	_, cu, cl, _ := h.f.newCall(0)
	h.goodCustomer, h.goodClerk = dial(t, cu, nil, h.src), dial(t, cl, nil, h.src)
	t.Cleanup(func() { h.goodCustomer.close(""); h.goodClerk.close("") })
	waitCount(t, "clerk video packets", h.goodClerk.videoIn.Load, 20, 20*time.Second)
	h.badCase, h.badCustomer, h.badClerk, _ = h.f.newCall(1)
	return h
}

// goodCallFlows checks that the good call's media still flows.
func (h *hostileCall) goodCallFlows(t *testing.T) {
	t.Helper()
	before := h.goodClerk.videoIn.Load()
	waitCount(t, "the good call's clerk video packets", h.goodClerk.videoIn.Load, before+15, 10*time.Second)
	select {
	case <-h.goodClerk.closed:
		t.Fatal("the good call's clerk socket closed")
	case <-h.goodCustomer.closed:
		t.Fatal("the good call's customer socket closed")
	default:
	}
}

// TestHostileAnswers: a peer whose DTLS certificate is not the one its
// answer's fingerprint names, or whose answer offers plain RTP, or whose
// network disappears, loses only its own part of the call within a
// bound; a good call on the same hub keeps flowing and no goroutine is
// left behind.
func TestHostileAnswers(t *testing.T) {
	h := newHostileCall(t, 4*time.Second)
	f, src, badCase, badCustomer, badClerk, outBound, goodCallFlows := h.f, h.src, h.badCase, h.badCustomer, h.badClerk, h.outBound, h.goodCallFlows

	// The answer names another certificate than the one the peer's DTLS
	// presents: the handshake fails, the server closes that participant's
	// socket and, being alone, the call ends; goleak (above) finds nothing
	// of it left.
	t.Run("fingerprint of another certificate", func(t *testing.T) {
		other := sha256.Sum256([]byte("not the certificate"))
		var fp []string
		for _, b := range other {
			fp = append(fp, fmt.Sprintf("%02X", b))
		}
		fingerprint := regexp.MustCompile(`(?m)^a=fingerprint:sha-256 [0-9A-F:]+\r$`)
		p := dialWith(t, badCustomer, nil, src, peerOpts{mungeAnswer: func(sdp string) string {
			if !fingerprint.MatchString(sdp) {
				t.Errorf("the answer has no sha-256 fingerprint to replace:\n%s", sdp)
			}
			return fingerprint.ReplaceAllString(sdp, "a=fingerprint:sha-256 "+strings.Join(fp, ":")+"\r")
		}})
		defer p.close("")
		start := time.Now()
		select {
		case <-p.closed:
			t.Logf("socket closed %s after the join", time.Since(start).Round(time.Millisecond))
		case <-time.After(10 * time.Second):
			t.Fatal("the server kept the socket of a peer whose DTLS certificate does not match its fingerprint for 10 s")
		}
		select {
		case <-p.connected:
			t.Error("the peer's media connected with a certificate its answer does not name")
		default:
		}
		calls := f.waitEnded(badCase, 10*time.Second)
		if last := calls[len(calls)-1]; last.EndReason == "" {
			t.Errorf("call %s ended without a reason", last.ID)
		}
		waitRooms(t, f, 1)
		goodCallFlows(t)
	})

	// An answer with plain RTP (no DTLS-SRTP) for its media is refused.
	t.Run("non-DTLS profile", func(t *testing.T) {
		for _, proto := range []string{"RTP/AVP", "RTP/SAVP", "RTP/AVPF"} {
			p := dialWith(t, badClerk, nil, src, peerOpts{mungeAnswer: func(sdp string) string {
				return strings.ReplaceAll(sdp, "UDP/TLS/RTP/SAVPF", proto)
			}})
			got := peerClosedWith(t, p, 10*time.Second)
			p.close("")
			if got != "invalid" {
				t.Errorf("an answer with %s: closed with %q, want invalid", proto, got)
			}
		}
		waitRooms(t, f, 1)
		goodCallFlows(t)
	})

	// The peer's network vanishes (its UDP socket is closed, its WebSocket
	// stays open): ICE fails and the server tears the participant down.
	t.Run("connection failed", func(t *testing.T) {
		udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := dialWith(t, badCustomer, nil, src, peerOpts{udp: udp})
		defer p.close("")
		select {
		case <-p.connected:
		case <-time.After(10 * time.Second):
			t.Fatal("the peer never connected")
		}
		udp.Close()
		start := time.Now()
		select {
		case <-p.closed:
			t.Logf("socket closed %s after the network went", time.Since(start).Round(time.Millisecond))
		case <-time.After(outBound):
			t.Fatalf("the server kept the socket of a peer whose media connection failed for %s", outBound)
		}
		f.waitEnded(badCase, 10*time.Second)
		waitRooms(t, f, 1)
		goodCallFlows(t)
	})
}

// TestMalformedMedia: malformed DTLS records and SRTP/SRTCP packets sent
// from a peer's own ICE address (the only one the server's ICE agent takes
// datagrams from) after its media connected, including the inputs of
// pion's published DTLS advisories; then SRTP packets that authenticate
// (sent with the peer's keys) but whose RTP padding is impossible. After
// each, within a bound, either the peer's video still reaches its clerk
// or the server has closed that peer's socket (pion ends a DTLS
// connection on some records, as if the peer had hung up; it rejoins for
// the next input). Never: a peer whose media stopped but who stays in the
// call, a panic, or a stall of the other call; and no goroutine is left.
func TestMalformedMedia(t *testing.T) {
	h := newHostileCall(t, 4*time.Second)
	f, src, badCase, badCustomer, badClerk, outBound, goodCallFlows := h.f, h.src, h.badCase, h.badCustomer, h.badClerk, h.outBound, h.goodCallFlows
	watcher := dial(t, badClerk, nil, src)
	defer watcher.close("")
	var a *testPeer
	var udp net.PacketConn
	join := func() {
		t.Helper()
		var err error
		if udp, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		a = dialWith(t, badCustomer, nil, src, peerOpts{udp: udp, rtpVideo: true})
		waitCount(t, "the attacked call's clerk video", watcher.videoIn.Load, watcher.videoIn.Load()+20, 20*time.Second)
	}
	leave := func() { a.close(""); udp.Close() }
	join()
	defer func() { leave() }()
	// outcome waits until the peer's video flows on or its socket is
	// closed, and says which.
	outcome := func(name string) {
		t.Helper()
		before, start := watcher.videoIn.Load(), time.Now()
		for watcher.videoIn.Load() < before+10 {
			select {
			case <-a.closed:
				t.Logf("%s: the peer was taken out of the call after %s", name, time.Since(start).Round(time.Millisecond))
				select {
				case <-watcher.closed:
					t.Fatalf("%s: the clerk of the attacked call lost their socket too", name)
				default:
				}
				leave()
				join()
				return
			case <-time.After(20 * time.Millisecond):
			}
			if time.Since(start) > outBound {
				t.Fatalf("%s: %s on, the peer's video no longer reaches its clerk (%d packets) but the peer is still in the call", name, outBound, watcher.videoIn.Load()-before)
			}
		}
		t.Logf("%s: media flowed on", name)
	}
	for _, in := range hostileDatagrams() {
		server := selectedRemote(t, a)
		for i, b := range in.packets {
			if i%50 == 49 {
				time.Sleep(2 * time.Millisecond) // a flood the loopback's buffers can take
			}
			if _, err := udp.WriteTo(b, server); err != nil {
				t.Fatalf("%s: send: %v", in.name, err)
			}
		}
		outcome(in.name)
	}
	goodCallFlows(t)
	for _, pad := range hostileRTPPayloads() {
		a.inject <- pad.payload
		outcome(pad.name)
	}
	goodCallFlows(t)
	// The peer can still leave cleanly.
	a.send(signaling.Message{Type: signaling.TypeBye, Reason: "done"})
	select {
	case <-a.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not close the attacking customer's socket within 5 s of its bye")
	}
	watcher.close("done")
	f.waitEnded(badCase, 10*time.Second)
	waitRooms(t, f, 1)
}

// peerClosedWith waits until the server closes p's socket and returns the code
// of the last error message it sent.
func peerClosedWith(t *testing.T, p *testPeer, d time.Duration) string {
	t.Helper()
	timeout := time.After(d)
	code := ""
	for {
		select {
		case m := <-p.msgs:
			if m.Type == signaling.TypeError {
				code = m.Code
			}
		case <-p.closed:
			for {
				select {
				case m := <-p.msgs:
					if m.Type == signaling.TypeError {
						code = m.Code
					}
				default:
					return code
				}
			}
		case <-timeout:
			t.Fatalf("socket still open after %s (last error %q)", d, code)
		}
	}
}

// waitRooms waits until the hub runs n calls.
func waitRooms(t *testing.T, f *fixture, n int) {
	t.Helper()
	waitCount(t, "-(live calls)", func() int64 { return -int64(f.hub.Rooms()) }, -int64(n), 10*time.Second)
}

// selectedRemote is the server's address of p's connected media.
func selectedRemote(t *testing.T, p *testPeer) net.Addr {
	t.Helper()
	select {
	case <-p.connected:
	case <-time.After(10 * time.Second):
		t.Fatal("the peer never connected")
	}
	pair, err := p.pc.GetSenders()[0].Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("selected candidate pair: %v %v", pair, err)
	}
	return &net.UDPAddr{IP: net.ParseIP(pair.Remote.Address), Port: int(pair.Remote.Port)}
}

type datagrams struct {
	name    string
	packets [][]byte
}

// dtlsRecord is a DTLS 1.2 record of epoch 0.
func dtlsRecord(typ byte, seq uint64, body []byte) []byte {
	b := []byte{typ, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	b[5], b[6], b[7], b[8], b[9], b[10] = byte(seq>>40), byte(seq>>32), byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
	binary.BigEndian.PutUint16(b[11:], uint16(len(body)))
	return append(b, body...)
}

// handshakeFragment is a handshake message header and its fragment.
func handshakeFragment(typ byte, length, msgSeq, offset uint32, data []byte) []byte {
	b := []byte{typ, byte(length >> 16), byte(length >> 8), byte(length), byte(msgSeq >> 8), byte(msgSeq),
		byte(offset >> 16), byte(offset >> 8), byte(offset), byte(len(data) >> 16), byte(len(data) >> 8), byte(len(data))}
	return append(b, data...)
}

// hostileDatagrams are the malformed DTLS and SRTP inputs: pion's
// published DTLS advisories first, then the classic malformations.
func hostileDatagrams() []datagrams {
	var flood [][]byte
	chunk := make([]byte, 1000)
	for i := range 2200 { // 2.2 MB of fragments of one 16 MiB message: past pion's 2 MB cap
		flood = append(flood, dtlsRecord(22, uint64(3000+i), handshakeFragment(1, 0xffffff, 9, uint32(i*len(chunk)), chunk)))
	}
	// Zero-length fragments of a message at every sequence number the
	// server may be waiting for next (the handshake used the first few).
	var empty [][]byte
	for seq := range 16 {
		empty = append(empty, dtlsRecord(22, uint64(2100+seq), handshakeFragment(1, 4, uint32(seq), 0, nil)))
	}
	return []datagrams{
		// GHSA-cm8f-h6j3-p25c (CVE-2022-29190): a zero-length handshake
		// fragment sent pion/dtls < 2.1.4 into an endless loop. The first
		// is the record of pion's own regression test (renumbered past the
		// replay window).
		{"zero-length fragment (GHSA-cm8f-h6j3-p25c)", [][]byte{
			{0x16, 0xfe, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0xd0, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
		}},
		{"zero-length fragments of the next message (GHSA-cm8f-h6j3-p25c)", empty},
		// GHSA-cx94-mrg9-rq4j (CVE-2022-29189): fragments of a message that
		// never completes grew pion/dtls's fragment buffer without bound.
		{"fragment flood (GHSA-cx94-mrg9-rq4j)", flood},
		{"record header cut short", [][]byte{{0x16, 0xfe, 0xfd, 0x00}, {0x17}, {0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0x0b}}},
		{"record length beyond the datagram", [][]byte{dtlsRecord(22, 5000, nil)[:11], append(dtlsRecord(22, 5001, nil)[:11], 0xff, 0xff, 1, 2, 3)}},
		{"handshake header cut short", [][]byte{dtlsRecord(22, 5002, []byte{1, 0, 0})}},
		{"fragment beyond its message", [][]byte{dtlsRecord(22, 5003, handshakeFragment(1, 10, 2, 8, make([]byte, 100)))}},
		{"client hello again (renegotiation)", [][]byte{dtlsRecord(22, 5004, handshakeFragment(1, 4, 0, 0, []byte{0xfe, 0xfd, 0, 0}))}},
		{"plaintext application data in epoch 0", [][]byte{dtlsRecord(23, 5005, []byte("not encrypted"))}},
		{"plaintext alert in epoch 0", [][]byte{dtlsRecord(21, 5006, []byte{2, 40})}},
		{"change cipher spec in epoch 0", [][]byte{dtlsRecord(20, 5007, []byte{1})}},
		{"epoch 1 record that does not decrypt", [][]byte{append([]byte{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0x10, 0, 0, 40}, make([]byte, 40)...)}},
		{"unknown content type", [][]byte{dtlsRecord(63, 5008, []byte{1, 2, 3})}},
		// SRTP: too short for a header, a header that promises more than
		// there is, a bad authentication tag, a huge header extension.
		{"SRTP shorter than a header", [][]byte{{0x80}, {0x80, 0x60, 0, 1}, {0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0}}},
		{"SRTP with 15 CSRCs and no room", [][]byte{{0x8f, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2}}},
		{"SRTP with a header extension longer than the packet", [][]byte{{0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff, 1}}},
		{"SRTP with a bad authentication tag", [][]byte{append([]byte{0x80, 0x60, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef}, make([]byte, 60)...)}},
		{"SRTP padding bit, unauthenticated", [][]byte{append([]byte{0xa0, 0x60, 0x12, 0x35, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)}},
		{"SRTCP shorter than a header", [][]byte{{0x80, 0xc8}, {0x81, 0xc9, 0x00, 0x07, 0, 0, 0, 1}}},
		{"SRTCP with a bad authentication tag", [][]byte{append([]byte{0x80, 0xc8, 0x00, 0x06, 0, 0, 0, 1}, make([]byte, 40)...)}},
	}
}

// hostileRTPPayloads are payloads the peer sends, with the RTP padding
// bit set, through its SRTP keys (so they authenticate): the last byte
// is the padding count. GHSA-f26w-gh5m-qq77 (pion/interceptor < 0.1.39):
// an SFU that forwarded a packet whose padding count exceeds its payload
// crashed in the NACK responder's packet copy.
func hostileRTPPayloads() []struct {
	name    string
	payload []byte
} {
	return []struct {
		name    string
		payload []byte
	}{
		{"RTP padding count beyond the payload (GHSA-f26w-gh5m-qq77)", []byte{0x10, 0x00, 0x00, 0xff}},
		{"RTP padding count 0", []byte{0x10, 0x00, 0x00, 0x00}},
		{"RTP packet of nothing but padding", []byte{0x00, 0x00, 0x00, 0x04}},
		{"RTP one byte, padding count 255", []byte{0xff}},
	}
}

// sendIVFRTP packetizes the ivf's frames itself at 15 frames per second;
// between frames it sends what the test puts on p.inject as one packet
// with the padding bit set.
func (p *testPeer) sendIVFRTP(tr *webrtc.TrackLocalStaticRTP, path string) {
	defer p.wg.Done()
	frames := readIVF(p.t, path)
	seq := p.opts.seq
	if seq == nil {
		seq = rtp.NewRandomSequencer()
	}
	pz := rtp.NewPacketizer(1200, 96, 1, &codecs.VP8Payloader{EnablePictureID: true}, seq, 90000)
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	for i := 0; ; i = (i + 1) % len(frames) {
		if p.pli.Swap(false) {
			for frames[i][0]&1 != 0 {
				i = (i + 1) % len(frames)
			}
		}
		select {
		case <-p.ctx.Done():
			return
		case <-tick.C:
		}
		for _, pkt := range pz.Packetize(frames[i], 90000/15) {
			_ = tr.WriteRTP(pkt) // fails until the media connects
		}
		select {
		case pad := <-p.inject:
			bad := &rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, SequenceNumber: seq.NextSequenceNumber()}, Payload: pad}
			if err := tr.WriteRTP(bad); err != nil {
				p.t.Errorf("send a packet with padding: %v", err)
			}
		default:
		}
	}
}

// TestReconnectRelays: a participant who reconnects is a new media source
// with its own sequence numbers; the other side still gets the media (a
// receiver's SRTP replay protection drops packets that go back in the
// sequence, so the relay continues the sequence of what it sent).
func TestReconnectRelays(t *testing.T) {
	f := newFixture(t, signaling.Config{})
	src := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 160)}
	_, cu, cl, _ := f.newCall(0)
	clerk := dial(t, cl, nil, source{})
	defer clerk.close("")
	// Each new connection starts its sequence numbers 10000 behind the
	// last one's.
	for i, start := range []uint16{40000, 30000, 20000} {
		customer := dialWith(t, cu, nil, src, peerOpts{rtpVideo: true, seq: rtp.NewFixedSequencer(start)})
		waitCount(t, fmt.Sprintf("clerk video packets from the customer's connection %d", i+1), clerk.videoIn.Load, clerk.videoIn.Load()+30, 15*time.Second)
		customer.close("")
	}
}
