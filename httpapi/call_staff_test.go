package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"remoteidv/models"
	"remoteidv/signaling"
)

// staffPeer is a clerk's or supervisor's browser on the staff call socket:
// a Go pion peer that joins and answers the server's offer.
type staffPeer struct {
	t      *testing.T
	ws     *websocket.Conn
	pc     *webrtc.PeerConnection
	wmu    sync.Mutex
	msgs   chan signaling.Message
	closed chan struct{} // the server closed the socket
	mu     sync.Mutex
	bye    string // the reason of the server's bye
}

// dialStaff opens c's call socket for case id and waits for the welcome.
func dialStaff(t *testing.T, e *env, c *client, id string) *staffPeer {
	t.Helper()
	ws, err := dialStaffSocket(e, c, id)
	if err != nil {
		t.Fatalf("dial the call socket of %s: %v", id, err)
	}
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &staffPeer{t: t, ws: ws, pc: pc, msgs: make(chan signaling.Message, 64), closed: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.read()
	}()
	t.Cleanup(func() {
		p.wmu.Lock()
		_ = p.ws.Close()
		p.wmu.Unlock()
		<-done
		_ = p.pc.Close()
	})
	p.send(signaling.Message{Type: signaling.TypeJoin})
	if m, ok := p.waitFor(signaling.TypeJoin, 5*time.Second); !ok {
		t.Fatalf("no welcome on the call socket: %+v", m)
	}
	return p
}

// dialStaffSocket opens the socket with c's session cookie.
func dialStaffSocket(e *env, c *client, id string) (*websocket.Conn, error) {
	base, _ := url.Parse(e.ts.URL)
	header := http.Header{}
	for _, k := range c.http.Jar.Cookies(base) {
		header.Add("Cookie", k.Name+"="+k.Value)
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.ts.URL, "http")+"/api/cases/"+id+"/call/ws", header)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	return ws, err
}

func (p *staffPeer) send(m signaling.Message) {
	m.V = signaling.ProtocolVersion
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.ws.WriteJSON(m)
}

func (p *staffPeer) read() {
	defer close(p.closed)
	for {
		_, b, err := p.ws.ReadMessage()
		if err != nil {
			return
		}
		var m signaling.Message
		if err := json.Unmarshal(b, &m); err != nil {
			p.t.Errorf("server sent bad JSON: %v", err)
			return
		}
		switch m.Type {
		case signaling.TypeOffer:
			if err := p.answer(m.SDP); err != nil {
				p.t.Errorf("answer: %v", err)
				return
			}
			continue
		case signaling.TypeCandidate:
			continue
		case signaling.TypeBye:
			p.mu.Lock()
			p.bye = m.Reason
			p.mu.Unlock()
		}
		select {
		case p.msgs <- m:
		default:
		}
	}
}

func (p *staffPeer) answer(sdp string) error {
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	ans, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := p.pc.SetLocalDescription(ans); err != nil {
		return err
	}
	p.send(signaling.Message{Type: signaling.TypeAnswer, SDP: ans.SDP})
	return nil
}

// waitFor returns the next message of type typ, or an error message.
func (p *staffPeer) waitFor(typ string, d time.Duration) (signaling.Message, bool) {
	p.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m := <-p.msgs:
			if m.Type == typ {
				return m, true
			}
			if m.Type == signaling.TypeError && typ != signaling.TypeError {
				return m, false
			}
		case <-timeout:
			return signaling.Message{}, false
		}
	}
}

// closedWithin reports whether the server closed the socket within d, and
// the reason of its bye.
func (p *staffPeer) closedWithin(d time.Duration) (string, bool) {
	select {
	case <-p.closed:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.bye, true
	case <-time.After(d):
		return "", false
	}
}

// callCase opens a case whose customer has consented; it returns the case.
func callCase(t *testing.T, e *env) string {
	t.Helper()
	id, link := e.invite(t)
	customer := e.anon(t)
	if r := join(t, customer, link); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("open invite: %d", r.StatusCode)
	}
	return id
}

func auditActions(t *testing.T, e *env, id string) []*models.AuditEvent {
	t.Helper()
	var evs []*models.AuditEvent
	err := e.store.Transact(context.Background(), func(tx models.Tx) (err error) {
		evs, err = tx.AuditEvents(context.Background(), models.AuditFilter{CaseID: models.CaseID(id)})
		return
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// noPoll keeps the hub from re-checking staff on its own during a test, so
// that only the immediate paths (disable, logout) can close a socket.
const noPoll = time.Hour

// TestStaffSocketEndsWithTheLogin: disabling the clerk (admin API) or
// logging out closes their call socket at once; a step-up keeps it; the
// closed login cannot open a new one.
func TestStaffSocketEndsWithTheLogin(t *testing.T) {
	const bound = 3 * time.Second
	t.Run("disabled by an admin", func(t *testing.T) {
		e := newEnvWith(t, "sqlite", envOptions{signaling: signaling.Config{RevokePoll: noPoll}})
		id := callCase(t, e)
		clerk := e.login(t, "clerk")
		p := dialStaff(t, e, clerk, id)
		admin := e.login(t, "admin")
		if c := admin.do("POST", "/api/staff/clerk/disable", nil, nil); c != http.StatusNoContent {
			t.Fatalf("disable: %d", c)
		}
		reason, ok := p.closedWithin(bound)
		if !ok {
			t.Fatalf("the disabled clerk's call socket is still open after %s", bound)
		}
		if reason != "staff member disabled" {
			t.Errorf("bye reason %q, want %q", reason, "staff member disabled")
		}
		if ws, err := dialStaffSocket(e, clerk, id); err == nil {
			ws.Close()
			t.Error("the disabled clerk opened a new call socket")
		}
	})
	t.Run("logged out", func(t *testing.T) {
		e := newEnvWith(t, "sqlite", envOptions{signaling: signaling.Config{RevokePoll: noPoll}})
		id := callCase(t, e)
		clerk := e.login(t, "clerk")
		other := e.login(t, "clerk") // a second login of the same clerk
		p := dialStaff(t, e, clerk, id)
		sup := e.login(t, "supervisor")
		obs := dialStaff(t, e, sup, id)
		if c := other.do("POST", "/api/auth/logout", nil, nil); c != http.StatusNoContent {
			t.Fatalf("logout: %d", c)
		}
		if _, closed := p.closedWithin(500 * time.Millisecond); closed {
			t.Fatal("logging out another session closed this one's socket")
		}
		// A step-up rotates the supervisor's session: the socket stays.
		var me struct {
			CSRF string `json:"csrf_token"`
		}
		if c := sup.do("POST", "/api/auth/step-up", map[string]string{"password": password}, &me); c != 200 {
			t.Fatalf("step-up: %d", c)
		}
		sup.csrf = me.CSRF
		if c := clerk.do("POST", "/api/auth/logout", nil, nil); c != http.StatusNoContent {
			t.Fatalf("logout: %d", c)
		}
		if reason, ok := p.closedWithin(bound); !ok || reason != "logged out" {
			t.Fatalf("clerk's socket after logout: closed %v (bye %q), want closed within %s with %q", ok, reason, bound, "logged out")
		}
		if _, closed := obs.closedWithin(300 * time.Millisecond); closed {
			t.Fatal("the supervisor's socket closed after their step-up")
		}
		if c := sup.do("POST", "/api/auth/logout", nil, nil); c != http.StatusNoContent {
			t.Fatalf("logout: %d", c)
		}
		if reason, ok := obs.closedWithin(bound); !ok || reason != "logged out" {
			t.Fatalf("supervisor's socket after step-up and logout: closed %v (bye %q), want closed with %q", ok, reason, "logged out")
		}
	})
}

// TestStaffDisabledElsewhere: a clerk disabled by another process (idv
// users disable) gets no capture on a socket still open, and the hub's
// poll closes that socket.
func TestStaffDisabledElsewhere(t *testing.T) {
	ctx := context.Background()
	t.Run("capture refused", func(t *testing.T) {
		e := newEnvWith(t, "sqlite", envOptions{signaling: signaling.Config{RevokePoll: noPoll, CaptureTimeout: 500 * time.Millisecond}})
		id := callCase(t, e)
		p := dialStaff(t, e, e.login(t, "clerk"), id)
		if err := e.acc.SetDisabled(ctx, "cli", "clerk", true); err != nil {
			t.Fatal(err)
		}
		p.send(signaling.Message{Type: signaling.TypeCapture})
		m, _ := p.waitFor(signaling.TypeError, 5*time.Second)
		if m.Type != signaling.TypeError || m.Code != string(models.EFORBIDDEN) {
			t.Fatalf("capture by a disabled clerk: %+v, want error %s", m, models.EFORBIDDEN)
		}
		if _, ok := p.closedWithin(3 * time.Second); !ok {
			t.Error("the socket stayed open after the refused capture")
		}
		for _, ev := range auditActions(t, e, id) {
			if strings.HasPrefix(ev.Action, "check.") {
				t.Errorf("a check was recorded after the clerk was disabled: %+v", ev)
			}
		}
	})
	t.Run("closed by the poll", func(t *testing.T) {
		e := newEnvWith(t, "sqlite", envOptions{signaling: signaling.Config{RevokePoll: 100 * time.Millisecond}})
		id := callCase(t, e)
		p := dialStaff(t, e, e.login(t, "clerk"), id)
		if _, closed := p.closedWithin(500 * time.Millisecond); closed {
			t.Fatal("the poll closed an allowed clerk's socket")
		}
		if err := e.acc.SetDisabled(ctx, "cli", "clerk", true); err != nil {
			t.Fatal(err)
		}
		if _, ok := p.closedWithin(3 * time.Second); !ok {
			t.Fatal("the socket of a clerk disabled elsewhere is still open after 3 s")
		}
	})
}

// TestObservationAudited: a supervisor watching the call leaves
// call.observe_started and call.observe_stopped on the case, naming them
// and the call.
func TestObservationAudited(t *testing.T) {
	e := newEnvWith(t, "sqlite", envOptions{signaling: signaling.Config{RevokePoll: noPoll}})
	id := callCase(t, e)
	clerk := dialStaff(t, e, e.login(t, "clerk"), id)
	sup := e.login(t, "supervisor")
	var me struct {
		ID string `json:"id"`
	}
	if c := sup.do("GET", "/api/auth/me", nil, &me); c != 200 {
		t.Fatalf("me: %d", c)
	}
	obs := dialStaff(t, e, sup, id)
	callID := func() string {
		evs := auditActions(t, e, id)
		for _, ev := range evs {
			if ev.Action == "case.join" {
				return ev.Detail["call"]
			}
		}
		return ""
	}()
	obs.wmu.Lock()
	_ = obs.ws.Close() // the supervisor closes the tab
	obs.wmu.Unlock()
	var got []*models.AuditEvent
	for deadline := time.Now().Add(5 * time.Second); ; {
		got = got[:0]
		for _, ev := range auditActions(t, e, id) {
			if strings.HasPrefix(ev.Action, "call.observe_") {
				got = append(got, ev)
			}
		}
		if len(got) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var actions []string
	for _, ev := range got {
		actions = append(actions, ev.Action)
		if ev.Actor != "staff:"+me.ID || ev.Detail["call"] == "" || ev.Detail["call"] != callID {
			t.Errorf("%s = actor %s, call %s; want staff:%s and call %s", ev.Action, ev.Actor, ev.Detail["call"], me.ID, callID)
		}
	}
	if !slices.Equal(actions, []string{"call.observe_started", "call.observe_stopped"}) {
		t.Fatalf("observation events %v, want started then stopped", actions)
	}
	if _, closed := clerk.closedWithin(100 * time.Millisecond); closed {
		t.Error("the clerk's socket closed when the observer left")
	}
}
