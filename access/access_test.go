package access_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"remoteidv/access"
	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/storage/sqlite"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func newService(t *testing.T) (*access.Service, *clock, models.Store) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "idv.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	s := &access.Service{Store: db, Chain: audit.Chain{Now: c.Now}, Now: c.Now, Rand: rand.Reader,
		Idle: 15 * time.Minute, Absolute: 12 * time.Hour, Log: slog.New(slog.DiscardHandler)}
	if _, err := s.CreateStaff(context.Background(), "system", "clerk1", "Clerk One", "correct horse battery", []models.Role{models.RoleClerk}); err != nil {
		t.Fatalf("CreateStaff: %v", err)
	}
	return s, c, db
}

func TestPasswordHash(t *testing.T) {
	h, err := access.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		hash, pw string
		want     bool
	}{
		{h, "correct horse battery", true},
		{h, "correct horse batterx", false},
		{"$argon2id$v=19$m=1,t=1,p=1$$", "x", false},
		{"plain", "plain", false},
	}
	for _, tt := range tests {
		if got := access.CheckPassword(tt.hash, tt.pw); got != tt.want {
			t.Errorf("CheckPassword(%q, %q) = %v, want %v", tt.hash, tt.pw, got, tt.want)
		}
	}
	if _, err := access.HashPassword("short"); models.ErrorCodeOf(err) != models.EINVALID {
		t.Errorf("HashPassword(short) = %v, want invalid", err)
	}
}

func TestSessionLifetime(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		advance []time.Duration // time between successive requests
		ok      bool
	}{
		{"fresh", []time.Duration{0}, true},
		{"idle 11h after activity", []time.Duration{10 * time.Minute, 14 * time.Minute, 11 * time.Hour}, false},
		{"idle 14m", []time.Duration{14 * time.Minute}, true},
		{"idle 16m", []time.Duration{16 * time.Minute}, false},
		{"absolute 12h", func() []time.Duration {
			var d []time.Duration
			for range 50 {
				d = append(d, 14*time.Minute+59*time.Second)
			}
			return d
		}(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c, _ := newService(t)
			cookie, _, err := s.Login(ctx, "clerk1", "correct horse battery", "", "127.0.0.1")
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			var last error
			for _, d := range tt.advance {
				c.t = c.t.Add(d)
				if _, last = s.Authenticate(ctx, cookie); last != nil {
					break
				}
			}
			if (last == nil) != tt.ok {
				t.Fatalf("Authenticate after %v = %v, want ok=%v", tt.advance, last, tt.ok)
			}
		})
	}
}

func TestLoginRotatesAndLogoutInvalidates(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t)
	if _, _, err := s.Login(ctx, "clerk1", "wrong password!!", "", "ip"); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Fatalf("Login(wrong password) = %v, want unauthorized", err)
	}
	if _, _, err := s.Login(ctx, "nobody", "whatever whatever", "", "ip"); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Fatalf("Login(unknown) = %v, want unauthorized", err)
	}
	first, _, err := s.Login(ctx, "clerk1", "correct horse battery", "", "ip")
	if err != nil {
		t.Fatal(err)
	}
	second, p, err := s.Login(ctx, "clerk1", "correct horse battery", first, "ip")
	if err != nil || second == first {
		t.Fatalf("second Login = %q, %v; want a new cookie", second, err)
	}
	if _, err := s.Authenticate(ctx, first); err == nil {
		t.Fatal("old cookie still valid after login rotation")
	}
	stepped, err := s.StepUp(ctx, p, "correct horse battery")
	if err != nil || !s.SteppedUp(p) {
		t.Fatalf("StepUp = %v, stepped up %v", err, s.SteppedUp(p))
	}
	if _, err := s.Authenticate(ctx, second); err == nil {
		t.Fatal("pre-step-up cookie still valid")
	}
	p, err = s.Authenticate(ctx, stepped)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, stepped); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Fatalf("Authenticate(after logout) = %v, want unauthorized", err)
	}
}

func TestDisableEndsSessionsAndTokens(t *testing.T) {
	ctx := context.Background()
	s, _, db := newService(t)
	cookie, _, err := s.Login(ctx, "clerk1", "correct horse battery", "", "ip")
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := s.CreateToken(ctx, "system", "clerk1", access.TokenRequest{Name: "core banking", Scope: []models.Role{models.RoleClerk}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateToken(ctx, raw, "ip"); err != nil {
		t.Fatalf("AuthenticateToken = %v", err)
	}
	if err := s.SetDisabled(ctx, "system", "clerk1", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, cookie); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Fatalf("Authenticate(disabled) = %v, want unauthorized", err)
	}
	if _, err := s.AuthenticateToken(ctx, raw, "ip"); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Fatalf("AuthenticateToken(disabled) = %v, want unauthorized", err)
	}
	if _, _, err := s.Login(ctx, "clerk1", "correct horse battery", "", "ip"); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Fatalf("Login(disabled) = %v, want unauthorized", err)
	}
	// Every one of those left a trace in the chain.
	var actions []string
	_ = db.Transact(ctx, func(tx models.Tx) error {
		evs, err := tx.AuditEvents(ctx, models.AuditFilter{})
		for _, e := range evs {
			actions = append(actions, e.Action)
		}
		return err
	})
	want := []string{"staff.created", "auth.login", "token.created", "auth.token_used", "staff.disabled", "auth.token_rejected", "auth.login_failed"}
	if len(actions) != len(want) {
		t.Fatalf("audit actions = %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Fatalf("audit actions = %v, want %v", actions, want)
		}
	}
}

// TestRevalidate: a login behind an open call socket stays good while its
// session lives (the socket keeps it from idling out, across a step-up's
// rotation), and is refused once it is logged out, expires or its staff
// member is disabled; an API token until it is revoked.
func TestRevalidate(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		do   func(t *testing.T, s *access.Service, c *clock, db models.Store, p *access.Principal) string // returns the session to check
		want models.ErrorCode
	}{
		{"live", func(t *testing.T, s *access.Service, c *clock, db models.Store, p *access.Principal) string {
			return p.Session.IDHash
		}, ""},
		{"kept alive by the socket", func(t *testing.T, s *access.Service, c *clock, db models.Store, p *access.Principal) string {
			for range 4 { // 40 minutes of call, checked every 10
				c.t = c.t.Add(10 * time.Minute)
				if err := s.Revalidate(ctx, p, p.Session.IDHash); err != nil {
					t.Fatalf("Revalidate during the call = %v", err)
				}
			}
			return p.Session.IDHash
		}, ""},
		{"rotated by a step-up", func(t *testing.T, s *access.Service, c *clock, db models.Store, p *access.Principal) string {
			old := p.Session.IDHash
			if _, err := s.StepUp(ctx, p, "correct horse battery"); err != nil {
				t.Fatal(err)
			}
			if err := s.Revalidate(ctx, p, old); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
				t.Errorf("Revalidate(old session after step-up) = %v, want unauthorized", err)
			}
			return p.Session.IDHash
		}, ""},
		{"logged out", func(t *testing.T, s *access.Service, c *clock, db models.Store, p *access.Principal) string {
			if err := s.Logout(ctx, p); err != nil {
				t.Fatal(err)
			}
			return p.Session.IDHash
		}, models.EUNAUTHORIZED},
		{"idle", func(t *testing.T, s *access.Service, c *clock, db models.Store, p *access.Principal) string {
			c.t = c.t.Add(16 * time.Minute)
			return p.Session.IDHash
		}, models.EUNAUTHORIZED},
		{"past its absolute lifetime", func(t *testing.T, s *access.Service, c *clock, db models.Store, p *access.Principal) string {
			for range 13 * 6 {
				c.t = c.t.Add(10 * time.Minute)
				_ = s.Revalidate(ctx, p, p.Session.IDHash)
			}
			return p.Session.IDHash
		}, models.EUNAUTHORIZED},
		{"disabled", func(t *testing.T, s *access.Service, c *clock, db models.Store, p *access.Principal) string {
			if err := s.SetDisabled(ctx, "cli", "clerk1", true); err != nil {
				t.Fatal(err)
			}
			return p.Session.IDHash
		}, models.EFORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c, db := newService(t)
			_, p, err := s.Login(ctx, "clerk1", "correct horse battery", "", "ip")
			if err != nil {
				t.Fatal(err)
			}
			session := tt.do(t, s, c, db, p)
			if err := s.Revalidate(ctx, p, session); models.ErrorCodeOf(err) != tt.want {
				t.Fatalf("Revalidate = %v, want %q", err, tt.want)
			}
			if tt.want == models.EUNAUTHORIZED {
				var n int
				_ = db.Transact(ctx, func(tx models.Tx) error {
					_, err := tx.SessionByHash(ctx, session)
					if err == nil {
						n++
					}
					return nil
				})
				if n != 0 {
					t.Error("the ended session is still stored")
				}
			}
		})
	}
	t.Run("API token", func(t *testing.T) {
		s, c, db := newService(t)
		raw, tok, err := s.CreateToken(ctx, "system", "clerk1", access.TokenRequest{Name: "core banking", Scope: []models.Role{models.RoleClerk}})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.AuthenticateToken(ctx, raw, "ip")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Revalidate(ctx, p, ""); err != nil {
			t.Fatalf("Revalidate(live token) = %v", err)
		}
		if err := db.Transact(ctx, func(tx models.Tx) error { return tx.RevokeAPIToken(ctx, tok.ID, c.Now()) }); err != nil {
			t.Fatal(err)
		}
		if err := s.Revalidate(ctx, p, ""); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
			t.Fatalf("Revalidate(revoked token) = %v, want unauthorized", err)
		}
	})
}
