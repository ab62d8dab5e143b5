package httpapi

import (
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
)

// limiter counts failures per key ("kind:client address") in fixed
// windows; past max failures in a window the key is refused until the
// window ends. An IPv6 address counts as its /64 (limitAddr), so a client
// cannot step around the limit by changing the host part of its address.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	hits   map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(max int, per time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, window: per, now: now, hits: map[string]*window{}}
}

// Blocked reports whether key has used up its failures.
func (l *limiter) Blocked(key string) bool {
	key = limitKey(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.hits[key]
	return w != nil && l.now().Sub(w.start) < l.window && w.n >= l.max
}

// Fail records a failure by key.
func (l *limiter) Fail(key string) {
	key = limitKey(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.hits) > 100_000 { // bound memory under a flood of addresses
		for k, w := range l.hits {
			if now.Sub(w.start) >= l.window {
				delete(l.hits, k)
			}
		}
	}
	w := l.hits[key]
	if w == nil || now.Sub(w.start) >= l.window {
		w = &window{start: now}
		l.hits[key] = w
	}
	w.n++
}

// limitKey is key "kind:address" with the address as the limits count it.
func limitKey(key string) string {
	kind, addr, ok := strings.Cut(key, ":")
	if !ok {
		return key
	}
	return kind + ":" + limitAddr(addr)
}

// clientBlocked reports whether the caller's address has used up its
// failures of kind (access.ClientBlocked: counted in the database, so
// shared by every node). The in-process limiter above stays for
// throughput limits only.
func (s *Server) clientBlocked(c *gin.Context, kind string) (bool, error) {
	return s.access.ClientBlocked(c.Request.Context(), kind, clientAddr(c))
}

// clientFailed counts a failure of kind against the caller's address; a
// database that does not answer is logged (the request fails anyway).
func (s *Server) clientFailed(c *gin.Context, kind string) {
	if err := s.access.ClientFailed(c.Request.Context(), kind, clientAddr(c)); err != nil {
		s.log.ErrorContext(c.Request.Context(), "count client failure", "kind", kind, "err", err)
	}
}

// orLimited is err, or ERATELIMIT with msg when err is nil (the caller
// was blocked).
func orLimited(err error, msg string) error {
	if err != nil {
		return err
	}
	return models.Errorf(models.ERATELIMIT, "%s", msg)
}
