package access_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"remoteidv/access"
	"remoteidv/audit"
	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/postgres"
	"remoteidv/storage/sqldb"
	"remoteidv/storage/sqlite"
)

const clerkPassword = "correct horse battery"

// limitEnv is an access service over a fresh database of one kind, with
// clerk1 (clerkPassword).
type limitEnv struct {
	s     *access.Service
	clock *clock
	db    *sqldb.DB
	file  string // the SQLite file; "" on PostgreSQL
}

var dbKinds = []string{"sqlite", "postgres"}

func newLimitEnv(t *testing.T, kind string, lim access.Limits) *limitEnv {
	t.Helper()
	ctx := context.Background()
	e := &limitEnv{clock: &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}}
	var err error
	switch kind {
	case "sqlite":
		e.file = filepath.Join(t.TempDir(), "idv.db")
		e.db, err = sqlite.Open(ctx, e.file, slog.New(slog.DiscardHandler))
	case "postgres":
		e.db, err = postgres.Open(ctx, testenv.PostgresURL(t), slog.New(slog.DiscardHandler))
	}
	if err != nil {
		t.Fatalf("open %s: %v", kind, err)
	}
	t.Cleanup(func() { e.db.Close() })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	e.s = &access.Service{Store: e.db, Chain: audit.Chain{Now: e.clock.Now}, Now: e.clock.Now, Rand: rand.Reader,
		Idle: 15 * time.Minute, Absolute: 12 * time.Hour, Log: slog.New(slog.DiscardHandler), Limits: lim, NameKey: key}
	if _, err := e.s.CreateStaff(ctx, "system", "clerk1", "Clerk One", clerkPassword, []models.Role{models.RoleClerk}); err != nil {
		t.Fatalf("CreateStaff: %v", err)
	}
	return e
}

func (e *limitEnv) events(t *testing.T) []*models.AuditEvent {
	t.Helper()
	var evs []*models.AuditEvent
	err := e.db.Transact(context.Background(), func(tx models.Tx) (err error) {
		evs, err = tx.AuditEvents(context.Background(), models.AuditFilter{})
		return
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func countActions(evs []*models.AuditEvent, action string) (n int) {
	for _, ev := range evs {
		if ev.Action == action {
			n++
		}
	}
	return n
}

// retryAfter is the LimitError's wait, or -1 when err is none.
func retryAfter(err error) time.Duration {
	var le *access.LimitError
	if errors.As(err, &le) && models.ErrorCodeOf(err) == models.ERATELIMIT {
		return le.RetryAfter()
	}
	return -1
}

// TestLoginLockAcrossAddresses: failures against one name from ten
// addresses lock it (a growing delay before), the lock is audited, holds
// for the right password from a new address, ends after LockFor, and the
// owner is told at the next login.
func TestLoginLockAcrossAddresses(t *testing.T) {
	for _, kind := range dbKinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			e := newLimitEnv(t, kind, access.Limits{DelayAfter: 3, LockAfter: 5, LockFor: 15 * time.Minute})
			// The delay grows: the 4th attempt at once is refused for 1s, the 5th for 2s.
			wantDelays := []time.Duration{0, 0, 0, time.Second, 2 * time.Second}
			for i, want := range wantDelays {
				remote := fmt.Sprintf("198.51.100.%d", i+1)
				if want > 0 {
					_, _, err := e.s.Login(ctx, "clerk1", "wrong password "+remote, "", remote)
					if got := retryAfter(err); got != want {
						t.Fatalf("attempt %d at once: Retry-After %v (%v), want %v", i+1, got, err, want)
					}
					e.clock.t = e.clock.t.Add(want)
				}
				_, _, err := e.s.Login(ctx, "clerk1", "wrong password "+remote, "", remote)
				if models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
					t.Fatalf("wrong attempt %d from %s = %v, want unauthorized", i+1, remote, err)
				}
			}
			if n := countActions(e.events(t), "auth.account_locked"); n != 1 {
				t.Fatalf("auth.account_locked events = %d, want 1", n)
			}
			// Locked: even the right password from a new address is refused, without a check.
			e.clock.t = e.clock.t.Add(10 * time.Minute)
			_, _, err := e.s.Login(ctx, "clerk1", clerkPassword, "", "203.0.113.9")
			if got := retryAfter(err); got != 5*time.Minute {
				t.Fatalf("right password while locked: Retry-After %v (%v), want 5m", got, err)
			}
			// The lock ends; the owner learns of the five failures and the lock.
			lockedAt := e.clock.t.Add(-10 * time.Minute)
			e.clock.t = e.clock.t.Add(5 * time.Minute)
			_, p, err := e.s.Login(ctx, "clerk1", clerkPassword, "", "203.0.113.9")
			if err != nil {
				t.Fatalf("login after the lock: %v", err)
			}
			if p.Notice == nil || p.Notice.FailedAttempts != 5 || p.Notice.LockedAt == nil || !p.Notice.LockedAt.Equal(lockedAt) {
				t.Fatalf("notice = %+v, want 5 failed attempts, locked at %v", p.Notice, lockedAt)
			}
			if _, p, err = e.s.Login(ctx, "clerk1", clerkPassword, "", "203.0.113.9"); err != nil || p.Notice != nil {
				t.Fatalf("next login: notice %+v, err %v; want none (told once)", p.Notice, err)
			}
		})
	}
}

// TestLoginBurstIsCounted: a burst of wrong passwords against one name,
// all at the same instant, gets exactly DelayAfter password checks; the
// rest are refused before any check, because each attempt is counted
// before its check.
func TestLoginBurstIsCounted(t *testing.T) {
	for _, kind := range dbKinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			e := newLimitEnv(t, kind, access.Limits{DelayAfter: 3, LockAfter: 10, CheckWait: time.Minute})
			var mu sync.Mutex
			got := map[models.ErrorCode]int{}
			var wg sync.WaitGroup
			for i := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _, err := e.s.Login(ctx, "clerk1", "wrong password", "", fmt.Sprintf("198.51.100.%d", i))
					mu.Lock()
					got[models.ErrorCodeOf(err)]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			want := map[models.ErrorCode]int{models.EUNAUTHORIZED: 3, models.ERATELIMIT: 37}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("40 parallel wrong logins: %v, want %v", got, want)
			}
		})
	}
}

// TestLoginAddressLimit: failures with many names from one IPv6 /64 lock
// the /64 (and audit it once), not other addresses.
func TestLoginAddressLimit(t *testing.T) {
	ctx := context.Background()
	e := newLimitEnv(t, "sqlite", access.Limits{AddrMax: 4, AddrLockFor: time.Minute})
	for i := range 4 {
		_, _, err := e.s.Login(ctx, fmt.Sprintf("nobody%d", i), "x", "", fmt.Sprintf("2001:db8:1:2::%x", i+1))
		if models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
			t.Fatalf("attempt %d = %v, want unauthorized", i+1, err)
		}
	}
	_, _, err := e.s.Login(ctx, "clerk1", clerkPassword, "", "2001:db8:1:2:ffff::1")
	if got := retryAfter(err); got != time.Minute {
		t.Fatalf("same /64 after 4 failures: Retry-After %v (%v), want 1m", got, err)
	}
	if _, _, err := e.s.Login(ctx, "clerk1", clerkPassword, "", "2001:db8:1:3::1"); err != nil {
		t.Fatalf("another /64: %v", err)
	}
	if n := countActions(e.events(t), "auth.address_locked"); n != 1 {
		t.Fatalf("auth.address_locked events = %d, want 1", n)
	}
	e.clock.t = e.clock.t.Add(time.Minute)
	if _, _, err := e.s.Login(ctx, "clerk1", clerkPassword, "", "2001:db8:1:2:ffff::1"); err != nil {
		t.Fatalf("the /64 after its lock: %v", err)
	}
}

// TestStepUpLimited: the sixth wrong step-up is refused (429) without a
// check, even with the right password, and the lock is audited; the owner
// hears of the failures at the next login.
func TestStepUpLimited(t *testing.T) {
	ctx := context.Background()
	e := newLimitEnv(t, "sqlite", access.Limits{})
	_, p, err := e.s.Login(ctx, "clerk1", clerkPassword, "", "198.51.100.1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := e.s.StepUp(ctx, p, "wrong password"); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
			t.Fatalf("wrong step-up %d = %v, want unauthorized", i+1, err)
		}
	}
	_, err = e.s.StepUp(ctx, p, clerkPassword)
	if got := retryAfter(err); got != 15*time.Minute {
		t.Fatalf("sixth step-up: Retry-After %v (%v), want 15m", got, err)
	}
	evs := e.events(t)
	if a, b := countActions(evs, "auth.stepup_failed"), countActions(evs, "auth.stepup_locked"); a != 5 || b != 1 {
		t.Fatalf("stepup_failed %d, stepup_locked %d; want 5, 1", a, b)
	}
	e.clock.t = e.clock.t.Add(15 * time.Minute)
	_, p2, err := e.s.Login(ctx, "clerk1", clerkPassword, "", "198.51.100.1")
	if err != nil {
		t.Fatal(err)
	}
	if p2.Notice == nil || p2.Notice.FailedAttempts != 5 || p2.Notice.LockedAt == nil {
		t.Fatalf("notice after the step-up lock = %+v, want 5 attempts and a lock", p2.Notice)
	}
	if _, err := e.s.StepUp(ctx, p2, clerkPassword); err != nil {
		t.Fatalf("step-up after the lock: %v", err)
	}
}

// TestChecksAtOnce: with every check slot taken, a login waits CheckWait
// and is refused with a Retry-After, without counting a failure.
func TestChecksAtOnce(t *testing.T) {
	ctx := context.Background()
	e := newLimitEnv(t, "sqlite", access.Limits{Checks: 1, CheckWait: 50 * time.Millisecond, DelayAfter: 1})
	release := e.s.HoldChecks()
	_, _, err := e.s.Login(ctx, "clerk1", clerkPassword, "", "198.51.100.1")
	if got := retryAfter(err); got != time.Second {
		t.Fatalf("login with no free check: Retry-After %v (%v), want 1s", got, err)
	}
	release()
	// Nothing was counted: with DelayAfter 1 a counted failure would delay this.
	if _, _, err := e.s.Login(ctx, "clerk1", clerkPassword, "", "198.51.100.1"); err != nil {
		t.Fatalf("login once a check is free: %v", err)
	}
}

// TestUnknownNameNotStored: a name typed at login that is no account (it
// may be a password) is in no audit event and nowhere in the database;
// its keyed hash is, so attempts against it can be correlated.
func TestUnknownNameNotStored(t *testing.T) {
	for _, kind := range dbKinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			e := newLimitEnv(t, kind, access.Limits{})
			typed := "Tr0ub4dor&3-typed-as-name"
			for _, remote := range []string{"198.51.100.1", "198.51.100.2"} {
				if _, _, err := e.s.Login(ctx, typed, "whatever", "", remote); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
					t.Fatalf("login with an unknown name = %v, want unauthorized", err)
				}
			}
			hash := e.s.NameHash(typed)
			var hashes []string
			for _, ev := range e.events(t) {
				for k, v := range ev.Detail {
					if strings.Contains(v, typed) || strings.Contains(k, typed) {
						t.Fatalf("audit event %s %s holds the typed name: %v", ev.Action, ev.Actor, ev.Detail)
					}
				}
				if ev.Action == "auth.login_failed" {
					hashes = append(hashes, ev.Detail["username_hmac"])
				}
			}
			if len(hashes) != 2 || hashes[0] != hash || hashes[1] != hash {
				t.Fatalf("username_hmac of the two failures = %q, want %q twice", hashes, hash)
			}
			if e.file == "" {
				pgHolds(t, e.db, typed)
				return
			}
			e.db.Close() // everything into the files
			for _, f := range []string{e.file, e.file + "-wal", e.file + "-shm"} {
				b, err := os.ReadFile(f)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				if bytes.Contains(b, []byte(typed)) {
					t.Fatalf("%s holds the typed name", filepath.Base(f))
				}
			}
		})
	}
}

// pgHolds fails when a row of any table of the database's schema holds s.
func pgHolds(t *testing.T, db *sqldb.DB, s string) {
	t.Helper()
	ctx := context.Background()
	rows, err := db.SQL().QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("found %d tables in the schema: %v", len(tables), tables)
	}
	for _, tb := range tables {
		var n int
		q := fmt.Sprintf(`SELECT count(*) FROM %q r WHERE position($1 in r::text) > 0`, tb)
		if err := db.SQL().QueryRowContext(ctx, q, s).Scan(&n); err != nil {
			t.Fatalf("%s: %v", tb, err)
		}
		if n > 0 {
			t.Fatalf("table %s: %d rows hold the typed name", tb, n)
		}
	}
}
