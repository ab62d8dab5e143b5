package mail_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"remoteidv/mail"
	"remoteidv/models"
)

// TestMaildir stores composed messages the Maildir way (tmp/ empty
// afterwards, one file per message in new/) and reads them back with their
// envelope, subject, text, links and attachment names, newest first.
func TestMaildir(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "mail")
	md, err := mail.NewMaildir(dir)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	md.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
	msgs := []mail.Message{
		{From: "noreply@bank.example", To: []string{"li.wei@example.com"}, Subject: "Your video call 视频通话", MessageID: "m1@idv.example", Date: clock,
			Text: "Join here: http://127.0.0.1:8080/join/abc_DEF-123\nThanks", Attachments: []mail.Attachment{{Name: "call.ics", ContentType: "text/calendar", Data: []byte("BEGIN:VCALENDAR")}}},
		{From: "noreply@bank.example", To: []string{"li.wei@example.com"}, Subject: "Your code", MessageID: "m2@idv.example", Date: clock, Text: "Your code is 123456."},
	}
	for _, m := range msgs {
		raw, err := mail.Compose(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := md.Send(ctx, "noreply@bank.example", m.To, raw); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ holds %d files after delivery, want 0", len(ents))
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "new")); len(ents) != 2 {
		t.Errorf("new/ holds %d files, want 2", len(ents))
	}
	list, err := md.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Subject != "Your code" || list[1].Subject != "Your video call 视频通话" {
		t.Fatalf("List = %+v, want the code mail first, then the invite", list)
	}
	inv, err := md.Get(ctx, list[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(inv.Links, []string{"http://127.0.0.1:8080/join/abc_DEF-123"}) || !slices.Equal(inv.Attachments, []string{"call.ics"}) ||
		!slices.Equal(inv.To, []string{"li.wei@example.com"}) || inv.From != "noreply@bank.example" {
		t.Errorf("Get(invite) = %+v", inv)
	}
	// A mail reader moves what it has seen to cur/ with its flags: still listed and shown.
	if err := os.Rename(filepath.Join(dir, "new", inv.ID), filepath.Join(dir, "cur", inv.ID+":2,S")); err != nil {
		t.Fatal(err)
	}
	if again, err := md.Get(ctx, inv.ID); err != nil || again.Subject != inv.Subject {
		t.Errorf("Get of a message a reader moved to cur/ = %+v, %v", again, err)
	}
	if list, err := md.List(ctx); err != nil || len(list) != 2 || list[1].ID != inv.ID {
		t.Errorf("List after a reader moved a message to cur/ = %+v, %v", list, err)
	}
	for _, bad := range []string{"../../etc/passwd", "nope", list[0].ID + "x"} {
		if _, err := md.Get(ctx, bad); models.ErrorCodeOf(err) != models.ENOTFOUND {
			t.Errorf("Get(%q) = %v, want ENOTFOUND", bad, err)
		}
	}
}
