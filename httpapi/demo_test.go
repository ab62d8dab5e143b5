package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"remoteidv/httpapi"
	"remoteidv/mail"
)

// maildirBox shows a real Maildir as the demo mailbox (cmd/idv wires the same).
type maildirBox struct{ md *mail.Maildir }

func (m maildirBox) List(ctx context.Context) ([]httpapi.DemoMail, error) {
	list, err := m.md.List(ctx)
	var out []httpapi.DemoMail
	for _, s := range list {
		out = append(out, httpapi.DemoMail{ID: s.ID, From: s.From, To: s.To, Subject: s.Subject, Date: s.Date, Text: s.Text, Links: s.Links})
	}
	return out, err
}

func (m maildirBox) Get(ctx context.Context, id string) (*httpapi.DemoMail, error) {
	s, err := m.md.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &httpapi.DemoMail{ID: s.ID, From: s.From, To: s.To, Subject: s.Subject, Date: s.Date, Text: s.Text, Links: s.Links}, nil
}

func getText(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDemoMode: with demo mode off there is no demo mailbox (its page,
// a message's page and its JSON are 404) and no page carries the demo
// banner; on, the staff and the customer's pages carry it, and the
// mailbox lists the mail delivered to the Maildir and shows each
// message's links.
func TestDemoMode(t *testing.T) {
	t.Run("off", func(t *testing.T) {
		e := newEnv(t)
		for _, p := range []string{"/demo/mailbox", "/demo/mailbox/1.000000001_ab.idv", "/api/demo/mailbox"} {
			if code, _ := getText(t, e.ts.URL+p); code != http.StatusNotFound {
				t.Errorf("GET %s with demo mode off = %d, want 404", p, code)
			}
		}
		for _, p := range []string{"/login", "/join/not-a-token"} {
			if _, body := getText(t, e.ts.URL+p); strings.Contains(body, "demo-banner") || strings.Contains(body, "/demo/mailbox") {
				t.Errorf("GET %s with demo mode off shows the demo banner", p)
			}
		}
	})
	t.Run("on", func(t *testing.T) {
		md, err := mail.NewMaildir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		e := newEnvWith(t, "sqlite", envOptions{mailbox: maildirBox{md}})
		for _, p := range []string{"/login", "/join/not-a-token", "/demo/mailbox"} {
			if _, body := getText(t, e.ts.URL+p); !strings.Contains(body, `id="demo-banner"`) {
				t.Errorf("GET %s in demo mode has no demo banner", p)
			}
		}
		if _, body := getText(t, e.ts.URL+"/demo/mailbox"); !strings.Contains(body, `id="mails-empty"`) {
			t.Errorf("the empty mailbox does not say so: %.300s", body)
		}
		raw, err := mail.Compose(mail.Message{From: "noreply@bank.example", To: []string{"li.wei@example.com"}, Subject: "Your video call",
			MessageID: "m1@idv.example", Date: time.Now(), Text: "Open http://127.0.0.1:8080/join/tok_EN-1 at the time of the call."})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := md.Send(context.Background(), "noreply@bank.example", []string{"li.wei@example.com"}, raw); err != nil {
			t.Fatal(err)
		}
		var list struct{ Messages []httpapi.DemoMail }
		if code := e.anon(t).do("GET", "/api/demo/mailbox?to=LI.WEI@example.com", nil, &list); code != 200 || len(list.Messages) != 1 {
			t.Fatalf("GET /api/demo/mailbox?to= = %d %+v, want the one message", code, list)
		}
		m := list.Messages[0]
		var none struct{ Messages []httpapi.DemoMail }
		if code := e.anon(t).do("GET", "/api/demo/mailbox?to=someone@example.com", nil, &none); code != 200 || len(none.Messages) != 0 {
			t.Errorf("the mailbox for another address = %d %+v, want none", code, none)
		}
		if _, body := getText(t, e.ts.URL+"/demo/mailbox"); !strings.Contains(body, `href="/demo/mailbox/`+m.ID+`"`) || !strings.Contains(body, "Your video call") {
			t.Errorf("the mailbox page does not list the message: %.500s", body)
		}
		code, body := getText(t, e.ts.URL+"/demo/mailbox/"+m.ID)
		if code != 200 || !strings.Contains(body, `<a href="http://127.0.0.1:8080/join/tok_EN-1"`) {
			t.Errorf("GET the message = %d, want its link as a link: %.800s", code, body)
		}
		if code, _ := getText(t, e.ts.URL+"/demo/mailbox/..%2f..%2fetc%2fpasswd"); code != 404 {
			t.Errorf("a message id that is a path = %d, want 404", code)
		}
	})
}
