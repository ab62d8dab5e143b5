package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"remoteidv/internal/testenv"
	"remoteidv/models"
)

// storySecrets collects what a story used that must never reach a log
// line or an audit detail: session cookies, CSRF tokens, bearer and
// invite tokens, email codes, national ID numbers, typed passwords and the
// bytes of images.
type storySecrets struct {
	origin string
	mu     sync.Mutex
	list   []storySecret
}

type storySecret struct {
	what, value string
	find        func(string) bool
}

// add records a secret found by substring (values of at least 8
// characters, so that nothing matches by chance).
func (s *storySecrets) add(t *testing.T, what, value string) {
	t.Helper()
	if len(value) < 8 {
		t.Fatalf("secret %s is only %d characters: too short to look for", what, len(value))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.list {
		if x.value == value {
			return
		}
	}
	s.list = append(s.list, storySecret{what, value, func(text string) bool { return strings.Contains(text, value) }})
}

// addCode records a short secret (a 6-digit code) found only as a whole
// word.
func (s *storySecrets) addCode(what, code string) {
	re := regexp.MustCompile(`(^|[^0-9A-Za-z])` + regexp.QuoteMeta(code) + `($|[^0-9A-Za-z])`)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, storySecret{what, code, re.MatchString})
}

// addBytes records a chunk from the middle of b as it would appear in a
// log: base64 at each of the three alignments, and hex.
func (s *storySecrets) addBytes(t *testing.T, what string, b []byte) {
	t.Helper()
	if len(b) < 200 {
		t.Fatalf("%s: only %d bytes", what, len(b))
	}
	mid := len(b) / 2
	for shift := range 3 {
		enc := base64.StdEncoding.EncodeToString(b[mid+shift : mid+shift+60])
		s.add(t, what+" (base64)", enc[4:68])
		s.add(t, what+" (base64url)", strings.NewReplacer("+", "-", "/", "_").Replace(enc[4:68]))
	}
	s.add(t, what+" (hex)", hex.EncodeToString(b[mid:mid+24]))
}

// tab records the cookies the browser holds for the origin in tab and,
// for a signed-in member of staff, the CSRF token; it returns how many
// cookies it found (the language preference is not one).
func (s *storySecrets) tab(t *testing.T, tab *testenv.Tab, staff bool) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.Ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.origin}})
	if err != nil {
		t.Fatalf("%s: cookies: %v", tab.Name, err)
	}
	n := 0
	for _, c := range res.Cookies {
		if strings.HasSuffix(c.Name, "_lang") {
			continue // the page language is no secret
		}
		s.add(t, tab.Name+"'s cookie "+c.Name, c.Value)
		n++
	}
	if staff {
		s.add(t, tab.Name+"'s CSRF token", testenv.Eval[string](t, tab, `fetch('/api/auth/me').then((r) => r.json()).then((j) => j.csrf_token)`))
	}
	return n
}

// check fails the test for every secret found in a line of text, which
// came from where.
func (s *storySecrets) check(t *testing.T, where, text string) int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	found := 0
	for _, line := range strings.Split(text, "\n") {
		for _, x := range s.list {
			if x.find(line) {
				found++
				t.Errorf("%s appears in %s: %.400s", x.what, where, line)
			}
		}
	}
	return found
}

// kinds lists what was collected, for the test log.
func (s *storySecrets) kinds() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[string]int{}
	for _, x := range s.list {
		n[strings.SplitN(x.what, " (", 2)[0]]++
	}
	var out []string
	for k, v := range n {
		out = append(out, fmt.Sprintf("%s ×%d", k, v))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// auditText renders every audit event of the data folder's database as
// the lines check searches: actor, action, case and every detail.
func auditText(t *testing.T, idv *e2eIDV) (string, []*models.AuditEvent) {
	t.Helper()
	var evs []*models.AuditEvent
	idv.withStore(func(ctx context.Context, tx models.Tx) (err error) {
		evs, err = tx.AuditEvents(ctx, models.AuditFilter{})
		return
	})
	var b strings.Builder
	for _, e := range evs {
		d, _ := json.Marshal(e.Detail)
		b.WriteString(e.Actor + " " + e.Action + " " + string(e.CaseID) + " " + string(d) + "\n")
	}
	return b.String(), evs
}
