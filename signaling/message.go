package signaling

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pion/sdp/v3"
)

// ProtocolVersion is the "v" field of every signaling message.
const ProtocolVersion = 1

// Message types. docs/calls.md describes the protocol.
const (
	TypeJoin      = "join"      // client: ready; server: welcome (role, call, ICE servers)
	TypeOffer     = "offer"     // server -> client: SDP offer
	TypeAnswer    = "answer"    // client -> server: SDP answer
	TypeCandidate = "candidate" // both ways: a trickled ICE candidate
	TypeCapture   = "capture"   // clerk -> server: take a face capture now
	TypeChallenge = "challenge" // clerk -> server: start liveness; server -> customer: a prompt
	TypeResult    = "result"    // server -> clerk (and customer for liveness): a check's outcome
	TypeQuality   = "quality"   // server -> clerk: the customer's media quality
	TypeBye       = "bye"       // both ways: leaving (from the clerk: ending the call), with a reason
	TypeError     = "error"     // server -> client: what went wrong; fatal ones close the socket
)

// CodeRecordingStopped is the code of the error message the clerk and any
// observer get when the call's recording fails (a full disk, a writer
// error): the call goes on, unrecorded, and cannot be submitted.
const CodeRecordingStopped = "recording_stopped"

// CodeRecordingLimit is the code of the error message every participant
// gets when the call reaches its recording cap (the call's bytes, or what
// is left of the case's recording allowance) and ends, or when a call
// cannot start because the case's allowance is used up.
const CodeRecordingLimit = "recording_limit"

// ReasonRecordingLimit is the reason (bye, and the call record) of a call
// that ended at its recording cap.
const ReasonRecordingLimit = "recording limit reached"

// Limits of one socket: input beyond them closes that socket only, never
// the process or another call.
const (
	MaxSDPBytes       = 64 << 10
	MaxCandidates     = 50
	MaxMessagesPerSec = 20
	maxMessageBytes   = MaxSDPBytes + 4<<10 // an offer/answer with its JSON envelope
)

// Candidate is a trickled ICE candidate as browsers send it.
type Candidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// ICEServer is a STUN or TURN server the clients should use.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// LogValue keeps the credential out of logs.
func (s ICEServer) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("urls", s.URLs), slog.String("username", s.Username), slog.Bool("credential", s.Credential != ""))
}

// Quality is a sample of the customer's inbound video and audio.
type Quality struct {
	At          time.Time `json:"at"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	FPS         float64   `json:"fps"`
	VideoKbps   float64   `json:"video_kbps"`
	AudioKbps   float64   `json:"audio_kbps"`
	LossPercent float64   `json:"loss_percent"`
	JitterMS    float64   `json:"jitter_ms"`
}

// Message is one signaling message; only the fields of its Type are set.
type Message struct {
	V         int             `json:"v"`
	Type      string          `json:"type"`
	Role      string          `json:"role,omitempty"`
	Call      string          `json:"call,omitempty"`
	SDP       string          `json:"sdp,omitempty"`
	Candidate *Candidate      `json:"candidate,omitempty"`
	ICE       []ICEServer     `json:"ice_servers,omitempty"`
	Prompt    string          `json:"prompt,omitempty"`
	Colour    string          `json:"colour,omitempty"` // liveness: the screen colour to show with the prompt
	Index     int             `json:"index,omitempty"`
	Total     int             `json:"total,omitempty"`
	Kind      string          `json:"kind,omitempty"`
	Check     string          `json:"check,omitempty"`
	Result    string          `json:"result,omitempty"`
	Detail    json.RawMessage `json:"detail,omitempty"`
	Quality   *Quality        `json:"quality,omitempty"`
	Reason    string          `json:"reason,omitempty"`
	Code      string          `json:"code,omitempty"`
	Text      string          `json:"message,omitempty"`
	Millis    int64           `json:"ms,omitempty"`
}

// ErrTooLarge marks a message or SDP over its cap.
var ErrTooLarge = errors.New("too large")

// ParseMessage decodes and validates a client's message: version, a known
// client type, the SDP cap. It never panics on any input.
func ParseMessage(b []byte) (*Message, error) {
	if len(b) > maxMessageBytes {
		return nil, fmt.Errorf("message of %d bytes exceeds %d: %w", len(b), maxMessageBytes, ErrTooLarge)
	}
	var m Message
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("malformed message: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("malformed message: trailing data")
	}
	if m.V != ProtocolVersion {
		return nil, fmt.Errorf("protocol version %d not supported (want %d)", m.V, ProtocolVersion)
	}
	switch m.Type {
	case TypeJoin, TypeCapture, TypeChallenge, TypeBye:
	case TypeAnswer:
		if m.SDP == "" {
			return nil, fmt.Errorf("answer without sdp")
		}
		if len(m.SDP) > MaxSDPBytes {
			return nil, fmt.Errorf("sdp of %d bytes exceeds %d: %w", len(m.SDP), MaxSDPBytes, ErrTooLarge)
		}
		if err := checkAnswerSDP(m.SDP); err != nil {
			return nil, err
		}
	case TypeCandidate:
		if m.Candidate == nil || len(m.Candidate.Candidate) > 1024 {
			return nil, fmt.Errorf("candidate missing or too long")
		}
	default:
		return nil, fmt.Errorf("unknown message type %q", m.Type)
	}
	if len(m.Reason) > 500 {
		return nil, fmt.Errorf("reason longer than 500 bytes")
	}
	return &m, nil
}

// dtlsSRTP are the media transport profiles of DTLS-SRTP (RFC 5764).
var dtlsSRTP = map[string]bool{"UDP/TLS/RTP/SAVPF": true, "TCP/TLS/RTP/SAVPF": true, "UDP/TLS/RTP/SAVP": true, "TCP/TLS/RTP/SAVP": true}

// checkAnswerSDP refuses an answer that is not SDP, has no media, offers a
// media profile other than DTLS-SRTP (plain RTP/AVP, SDES-keyed RTP/SAVP)
// or names no DTLS certificate fingerprint: media is only ever DTLS-SRTP
// with a certificate the answer pins.
func checkAnswerSDP(s string) error {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return fmt.Errorf("answer: malformed sdp: %w", err)
	}
	if len(d.MediaDescriptions) == 0 {
		return fmt.Errorf("answer: sdp without media")
	}
	_, sessionFP := d.Attribute("fingerprint")
	for i, md := range d.MediaDescriptions {
		if proto := strings.Join(md.MediaName.Protos, "/"); !dtlsSRTP[proto] {
			return fmt.Errorf("answer: media %d uses %q: only DTLS-SRTP (UDP/TLS/RTP/SAVPF) is accepted", i, proto)
		}
		if _, ok := md.Attribute("fingerprint"); !ok && !sessionFP {
			return fmt.Errorf("answer: media %d has no DTLS fingerprint", i)
		}
	}
	return nil
}

// rate is a token bucket: MaxMessagesPerSec per second, bursts of the same.
type rate struct {
	tokens float64
	last   time.Time
}

func (r *rate) allow(now time.Time) bool {
	if r.last.IsZero() {
		r.tokens, r.last = MaxMessagesPerSec, now
	}
	r.tokens += now.Sub(r.last).Seconds() * MaxMessagesPerSec
	if r.tokens > MaxMessagesPerSec {
		r.tokens = MaxMessagesPerSec
	}
	r.last = now
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	return true
}
