package signaling_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"

	"remoteidv/signaling"
)

// answerSDP is an answer as a browser sends it (DTLS-SRTP, audio and video).
const answerSDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 8F:2A:01:7C:55:E4:1B:9D:AA:03:6E:21:90:4C:3B:77:12:DE:F0:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD\r\n" +
	"a=setup:active\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 8F:2A:01:7C:55:E4:1B:9D:AA:03:6E:21:90:4C:3B:77:12:DE:F0:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD\r\n" +
	"a=setup:active\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack pli\r\n"

// FuzzSignalingMessage: any bytes a client sends either fail ParseMessage
// or give a message of a client type and version 1 whose answer SDP (if
// any) parses and offers only DTLS-SRTP with a fingerprint; the message
// written back as JSON parses to the same message. Nothing panics.
func FuzzSignalingMessage(f *testing.F) {
	answer, _ := json.Marshal(signaling.Message{V: 1, Type: signaling.TypeAnswer, SDP: answerSDP})
	for _, s := range []string{
		`{"v":1,"type":"join"}`, `{"v":1,"type":"bye","reason":"left"}`, `{"v":1,"type":"capture"}`, `{"v":1,"type":"challenge"}`,
		`{"v":1,"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"v":1,"type":"candidate","candidate":{"candidate":""}}`, string(answer),
		strings.Replace(string(answer), "UDP/TLS/RTP/SAVPF", "RTP/AVP", 1), `{"v":2,"type":"join"}`, `{"v":1,"type":"join","x":1}`,
		`{"v":1,"type":"answer","sdp":"v=0\r\nbroken"}`, `{"v":1,"type":"join"} {}`, "\xff\xfe", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := signaling.ParseMessage(b)
		if err != nil {
			return
		}
		switch m.Type {
		case signaling.TypeJoin, signaling.TypeAnswer, signaling.TypeCandidate, signaling.TypeCapture, signaling.TypeChallenge, signaling.TypeBye:
		default:
			t.Fatalf("ParseMessage(%q) accepted type %q", b, m.Type)
		}
		if m.V != signaling.ProtocolVersion {
			t.Fatalf("ParseMessage(%q) accepted version %d", b, m.V)
		}
		if m.Type == signaling.TypeAnswer {
			var d sdp.SessionDescription
			if len(m.SDP) > signaling.MaxSDPBytes || d.UnmarshalString(m.SDP) != nil || len(d.MediaDescriptions) == 0 {
				t.Fatalf("ParseMessage(%q) accepted an answer whose SDP is too long, malformed or without media", b)
			}
			_, sessionFP := d.Attribute("fingerprint")
			for _, md := range d.MediaDescriptions {
				proto := strings.Join(md.MediaName.Protos, "/")
				if _, ok := md.Attribute("fingerprint"); !strings.Contains(proto, "TLS/RTP/SAVP") || !ok && !sessionFP {
					t.Fatalf("ParseMessage(%q) accepted media %q without DTLS-SRTP and a fingerprint", b, proto)
				}
			}
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal(ParseMessage(%q)): %v", b, err)
		}
		m2, err := signaling.ParseMessage(again)
		if errors.Is(err, signaling.ErrTooLarge) {
			return // escaping made it longer than the cap
		}
		if err != nil {
			t.Fatalf("ParseMessage(Marshal(ParseMessage(%q))) = %v, want the same message", b, err)
		}
		if third, _ := json.Marshal(m2); string(third) != string(again) {
			t.Fatalf("ParseMessage round trip of %q: %s, then %s", b, again, third)
		}
	})
}
