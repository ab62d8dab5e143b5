package access

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"time"

	"remoteidv/models"
)

// Limits bound what password checks and failing callers cost. A zero field
// takes its default (DefaultLimits).
type Limits struct {
	// Checks is how many argon2id checks (64 MiB each) run at once;
	// CheckWait how long an attempt waits for one before it is refused
	// (429 with Retry-After).
	Checks    int
	CheckWait time.Duration
	// DelayAfter failures against one login name, each further attempt
	// waits a delay that doubles from one second; LockAfter failures lock
	// the name for LockFor. A run of failures is forgotten LockFor after
	// its last one, or at a successful login.
	DelayAfter int
	LockAfter  int
	LockFor    time.Duration
	// AddrMax failures from one client address (an IPv6 /64), each less
	// than AddrLockFor after the one before, lock the address for
	// AddrLockFor.
	AddrMax     int
	AddrLockFor time.Duration
	// StepUpLockAfter wrong step-ups of one staff member lock step-up for
	// LockFor.
	StepUpLockAfter int
	// AuditWindow is how long the security events of one source (failed
	// logins with unknown names, rejected API tokens) are counted instead
	// of written one by one after the first.
	AuditWindow time.Duration
	// ClientMax failures of one kind (ClientBadLink, ClientBadCode) from
	// one client address within ClientWindow refuse that address until
	// the window ends (ClientBlocked).
	ClientMax    int
	ClientWindow time.Duration
}

// DefaultLimits are the limits of a zero Limits.
func DefaultLimits() Limits {
	return Limits{Checks: runtime.NumCPU(), CheckWait: 2 * time.Second, DelayAfter: 3, LockAfter: 10, LockFor: 15 * time.Minute,
		AddrMax: 20, AddrLockFor: time.Minute, StepUpLockAfter: 5, AuditWindow: 5 * time.Minute,
		ClientMax: 20, ClientWindow: time.Minute}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.Checks, d.Checks)
	set(&l.DelayAfter, d.DelayAfter)
	set(&l.LockAfter, d.LockAfter)
	set(&l.AddrMax, d.AddrMax)
	set(&l.StepUpLockAfter, d.StepUpLockAfter)
	set(&l.ClientMax, d.ClientMax)
	setD(&l.ClientWindow, d.ClientWindow)
	setD(&l.CheckWait, d.CheckWait)
	setD(&l.LockFor, d.LockFor)
	setD(&l.AddrLockFor, d.AddrLockFor)
	setD(&l.AuditWindow, d.AuditWindow)
	return l
}

// maxDelay caps the growing delay between attempts against one name.
const maxDelay = 5 * time.Minute

// LimitError refuses an attempt for too many failures or too many checks
// at once; RetryAfter says when to try again (the Retry-After header).
type LimitError struct {
	Err   *models.Error
	After time.Duration
}

func (e *LimitError) Error() string { return e.Err.Error() }
func (e *LimitError) Unwrap() error { return e.Err }

// RetryAfter is how long the caller should wait, at least a second.
func (e *LimitError) RetryAfter() time.Duration { return max(e.After, time.Second) }

func refuse(after time.Duration, format string, args ...any) *LimitError {
	return &LimitError{Err: models.Errorf(models.ERATELIMIT, format, args...), After: after}
}

// init prepares what the zero fields of a Service leave unset: the limits'
// defaults, the check slots and, when NameKey is empty, a random key for
// this process only (set NameKey so that hashes stay comparable across
// restarts and processes).
func (s *Service) init() {
	s.once.Do(func() {
		s.lim = s.Limits.withDefaults()
		s.slots = make(chan struct{}, s.lim.Checks)
		s.nameKey = s.NameKey
		if len(s.nameKey) == 0 {
			s.nameKey = make([]byte, 32)
			if _, err := rand.Read(s.nameKey); err != nil {
				panic(fmt.Sprintf("access: random name key: %v", err)) // crypto/rand does not fail on Linux
			}
		}
	})
}

// checkPassword runs CheckPassword in one of the Limits.Checks slots,
// waiting at most CheckWait for one: each check holds 64 MiB, so the slots
// bound the memory of any burst of logins.
func (s *Service) checkPassword(ctx context.Context, hash, password string) (bool, error) {
	s.init()
	t := time.NewTimer(s.lim.CheckWait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
	case <-t.C:
		return false, refuse(s.lim.CheckWait, "too many sign-ins at once; try again in a moment")
	case <-ctx.Done():
		return false, fmt.Errorf("wait for a password check: %w", ctx.Err())
	}
	defer func() { <-s.slots }()
	return CheckPassword(hash, password), nil
}

// HoldChecks takes every password check slot until release is called (for
// tests of a full server).
func (s *Service) HoldChecks() (release func()) {
	s.init()
	for range cap(s.slots) {
		s.slots <- struct{}{}
	}
	return func() {
		for range cap(s.slots) {
			<-s.slots
		}
	}
}

// NameHash is the keyed hash (HMAC-SHA-256 with NameKey, 128 bits in hex)
// that stands for a login name as typed: failed logins with an unknown
// name keep it instead of the name, which may be a mistyped password.
func (s *Service) NameHash(name string) string {
	s.init()
	m := hmac.New(sha256.New, s.nameKey)
	m.Write([]byte(name))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// DeriveKey derives the key of one purpose from a secret (the audit
// signing key's seed), so that no further secret has to be kept.
func DeriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("remoteidv key: " + purpose))
	return m.Sum(nil)
}

// Source is the client address a limit counts: the address itself for
// IPv4, its /64 for IPv6 (one customer line holds a whole /64).
func Source(remote string) string {
	ip := net.ParseIP(remote)
	if ip == nil {
		if remote == "" {
			return "unknown"
		}
		return remote
	}
	if ip.To4() != nil {
		return ip.To4().String()
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}

// Scopes of the counters.
const (
	scopeAccount = "account"
	scopeAddr    = "addr"
	scopeStepUp  = "stepup"
	scopeAudit   = "audit:"
)

// policy is how one scope counts: a growing delay after delayAfter
// failures (0: none), a lock of lockFor after lockAfter, and a run of
// failures forgotten idle after its last one.
type policy struct {
	delayAfter int
	lockAfter  int
	lockFor    time.Duration
	idle       time.Duration
}

func (s *Service) policyOf(scope string) policy {
	s.init()
	switch scope {
	case scopeAccount:
		return policy{delayAfter: s.lim.DelayAfter, lockAfter: s.lim.LockAfter, lockFor: s.lim.LockFor, idle: s.lim.LockFor}
	case scopeAddr:
		return policy{lockAfter: s.lim.AddrMax, lockFor: s.lim.AddrLockFor, idle: s.lim.AddrLockFor}
	default: // step-up
		return policy{lockAfter: s.lim.StepUpLockAfter, lockFor: s.lim.LockFor, idle: s.lim.LockFor}
	}
}

// counter names one counter of failed password checks.
type counter struct{ scope, subject string }

// reserve counts an attempt against every counter before the password is
// checked, in one transaction, or refuses it (a LimitError) when one of
// them is locked, in its delay, or used up. Counting first is what keeps
// a burst from getting through: each concurrent attempt sees the ones
// before it. A success gives the reservation back (settle).
func (s *Service) reserve(ctx context.Context, cs ...counter) error {
	now := s.Now().UTC()
	var refused *LimitError
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		refused = nil
		ls := make([]*models.AuthLimit, len(cs))
		for i, c := range cs {
			l, err := tx.AuthLimitForUpdate(ctx, c.scope, c.subject)
			if err != nil {
				return err
			}
			p := s.policyOf(c.scope)
			locked := !l.LockedUntil.IsZero()
			if locked && !now.Before(l.LockedUntil) || !locked && !l.LastAt.IsZero() && now.Sub(l.LastAt) >= p.idle {
				l.Failures, l.LockedUntil, l.WindowStart = 0, time.Time{}, time.Time{} // the lock or the run is over
			}
			switch {
			case now.Before(l.LockedUntil):
				refused = refuse(l.LockedUntil.Sub(now), "too many failed attempts; locked until %s", l.LockedUntil.Format(time.RFC3339))
			case l.Failures >= p.lockAfter:
				refused = refuse(p.lockFor, "too many failed attempts; try again later") // others are being checked now
			case p.delayAfter > 0 && l.Failures >= p.delayAfter:
				if wait := l.LastAt.Add(delay(l.Failures - p.delayAfter)).Sub(now); wait > 0 {
					refused = refuse(wait, "too many failed attempts; try again in %d seconds", int(wait.Round(time.Second)/time.Second))
				}
			}
			if refused != nil {
				return nil // nothing counted: a refusal costs no check
			}
			ls[i] = l
		}
		for _, l := range ls {
			if l.Failures == 0 {
				l.WindowStart = now
			}
			l.Failures++
			l.LastAt = now
			if err := tx.PutAuthLimit(ctx, l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("count attempt: %w", err)
	}
	if refused != nil {
		return refused
	}
	return nil
}

// delay is the wait before the attempt after n failures past the first
// delayed one: 1s, 2s, 4s, ... up to maxDelay.
func delay(n int) time.Duration {
	if n >= 20 {
		return maxDelay
	}
	return min(time.Second<<n, maxDelay)
}

// unreserve gives a reservation back (a success, or an attempt refused
// before its check).
func unreserve(ctx context.Context, tx models.Tx, c counter) (*models.AuthLimit, error) {
	l, err := tx.AuthLimitForUpdate(ctx, c.scope, c.subject)
	if err != nil {
		return nil, err
	}
	if l.Failures > 0 {
		l.Failures--
	}
	return l, tx.PutAuthLimit(ctx, l)
}

// release gives reservations back in their own transaction.
func (s *Service) release(ctx context.Context, cs ...counter) {
	ctx = context.WithoutCancel(ctx) // a caller who hung up while waiting was not checked
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		for _, c := range cs {
			if _, err := unreserve(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.Log.ErrorContext(ctx, "release attempt", "err", err)
	}
}

// failed settles a failed attempt in tx: its reservation stays counted;
// when the counter is used up it is locked (lockedNow). owner, when set,
// is told of the failure (and of the lock) at the next login.
func (s *Service) failed(ctx context.Context, tx models.Tx, c counter, owner *counter) (lockedNow *models.AuthLimit, err error) {
	now := s.Now().UTC()
	l, err := tx.AuthLimitForUpdate(ctx, c.scope, c.subject)
	if err != nil {
		return nil, err
	}
	p := s.policyOf(c.scope)
	if l.Failures >= p.lockAfter && !now.Before(l.LockedUntil) {
		l.LockedUntil = now.Add(p.lockFor)
		lockedNow = l
		if err := tx.PutAuthLimit(ctx, l); err != nil {
			return nil, err
		}
	}
	if owner == nil {
		return lockedNow, nil
	}
	o := l
	if *owner != c {
		if o, err = tx.AuthLimitForUpdate(ctx, owner.scope, owner.subject); err != nil {
			return nil, err
		}
	}
	o.Unseen++
	if lockedNow != nil {
		o.UnseenLockedAt = now
	}
	return lockedNow, tx.PutAuthLimit(ctx, o)
}

// Notice is what the owner of an account is told at a successful login:
// the failed attempts since the last one, and when the account (or its
// step-up) was last locked for them.
type Notice struct {
	FailedAttempts int        `json:"failed_attempts"`
	LockedAt       *time.Time `json:"locked_at,omitempty"`
}

// succeeded settles a successful login in tx: the name's counter starts
// over and gives up what its owner had not been told, the address's
// reservation is given back.
func succeeded(ctx context.Context, tx models.Tx, account, addr counter) (*Notice, error) {
	l, err := tx.AuthLimitForUpdate(ctx, account.scope, account.subject)
	if err != nil {
		return nil, err
	}
	var n *Notice
	if l.Unseen > 0 || !l.UnseenLockedAt.IsZero() {
		n = &Notice{FailedAttempts: l.Unseen}
		if !l.UnseenLockedAt.IsZero() {
			at := l.UnseenLockedAt
			n.LockedAt = &at
		}
	}
	l.Failures, l.WindowStart, l.LockedUntil, l.Unseen, l.UnseenLockedAt = 0, time.Time{}, time.Time{}, 0, time.Time{}
	if err := tx.PutAuthLimit(ctx, l); err != nil {
		return nil, err
	}
	if _, err := unreserve(ctx, tx, addr); err != nil {
		return nil, err
	}
	return n, nil
}

// recordThrottled appends a security event of an unauthenticated source
// at most once per AuditWindow: the first at once, the others counted in
// auth_limits and written as one auth.events_suppressed event with their
// number when the window has passed (at the source's next event or by
// FlushSuppressed). An attacker's requests then cost a counter's update,
// not an audit row each and the audit head's lock. A non-empty about (an
// existing API token's ID) is counted apart, so that the first use of each
// revoked or expired token from a source is on the record.
func (s *Service) recordThrottled(ctx context.Context, action, remote, about string, detail map[string]string) {
	s.init()
	ctx = context.WithoutCancel(ctx) // a caller who hangs up is still counted
	now := s.Now().UTC()
	src := Source(remote)
	if about != "" {
		src += " " + about
	}
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		l, err := tx.AuthLimitForUpdate(ctx, scopeAudit+action, src)
		if err != nil {
			return err
		}
		l.LastAt = now
		if !l.WindowStart.IsZero() && now.Sub(l.WindowStart) < s.lim.AuditWindow {
			l.Failures++
			return tx.PutAuthLimit(ctx, l)
		}
		if l.Failures > 0 { // the window passed with events counted: write their sum, and count this one
			if err := s.suppressedEvent(ctx, tx, l, now); err != nil {
				return err
			}
			l.WindowStart, l.Failures = now, 1
			return tx.PutAuthLimit(ctx, l)
		}
		l.WindowStart = now
		if err := tx.PutAuthLimit(ctx, l); err != nil {
			return err
		}
		d := map[string]string{"source": Source(remote)}
		for k, v := range detail {
			d[k] = v
		}
		return s.event(ctx, tx, "anonymous", action, d)
	})
	if err != nil {
		s.Log.ErrorContext(ctx, "audit security event", "action", action, "err", err)
	}
}

func (s *Service) suppressedEvent(ctx context.Context, tx models.Tx, l *models.AuthLimit, until time.Time) error {
	source, about, _ := strings.Cut(l.Subject, " ")
	d := map[string]string{
		"action": l.Scope[len(scopeAudit):], "source": source, "count": strconv.Itoa(l.Failures),
		"from": l.WindowStart.Format(time.RFC3339), "until": until.Format(time.RFC3339)}
	if about != "" {
		d["about"] = about
	}
	return s.event(ctx, tx, "anonymous", "auth.events_suppressed", d)
}

// FlushSuppressed writes the counts of suppressed security events whose
// window has passed (auth.events_suppressed) and forgets counters idle
// for a day; idv serve calls it every AuditWindow. It returns how many
// summaries it wrote.
func (s *Service) FlushSuppressed(ctx context.Context) (int, error) {
	s.init()
	now := s.Now().UTC()
	written := 0
	for {
		var due []*models.AuthLimit
		err := s.Store.Transact(ctx, func(tx models.Tx) error {
			var err error
			due, err = tx.AuthLimitsDue(ctx, scopeAudit, now.Add(-s.lim.AuditWindow), 100)
			if err != nil {
				return err
			}
			for _, d := range due {
				l, err := tx.AuthLimitForUpdate(ctx, d.Scope, d.Subject)
				if err != nil {
					return err
				}
				if l.Failures == 0 || now.Sub(l.WindowStart) < s.lim.AuditWindow {
					continue // another process wrote it meanwhile
				}
				if err := s.suppressedEvent(ctx, tx, l, now); err != nil {
					return err
				}
				l.WindowStart, l.Failures = now, 0
				if err := tx.PutAuthLimit(ctx, l); err != nil {
					return err
				}
				written++
			}
			return nil
		})
		if err != nil {
			return written, fmt.Errorf("flush suppressed security events: %w", err)
		}
		if len(due) < 100 {
			break
		}
	}
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		_, err := tx.DeleteIdleAuthLimits(ctx, now.Add(-24*time.Hour))
		return err
	})
	if err != nil {
		return written, fmt.Errorf("forget idle auth limits: %w", err)
	}
	return written, nil
}
