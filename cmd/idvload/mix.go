package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
)

// kind is one kind of request in the mix. Adjust the mix here: weights
// are relative; expect lists the statuses that are the request's normal
// outcome (429 is always counted apart, as "limited", and is expected for
// the login and bad-token kinds once the server limits them).
type kind struct {
	name   string
	weight int
	expect []int
	build  func(ctx context.Context, f *fixture) (*http.Request, error)
}

// fixture is what the set-up made: the clerk's session cookies for
// polling, the cases to poll, the invite links to open and the demo
// passwords.
type fixture struct {
	base      string
	cookies   string // Cookie header of the clerk's session
	cases     []string
	invites   []string // paths /join/<token>
	passwords map[string]string
	next      atomic.Uint64
}

func (f *fixture) pick(list []string) string {
	return list[f.next.Add(1)%uint64(len(list))]
}

// healthzKind is the baseline every other kind is measured against.
const healthzKind = "GET /healthz (baseline)"

// mix is the load: what staff pages, customers, and people trying
// passwords and links send to a running service.
var mix = []kind{
	{healthzKind, 10, []int{200}, func(ctx context.Context, f *fixture) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, "GET", f.base+"/healthz", nil)
	}},
	{"staff page polls case requirements", 30, []int{200}, func(ctx context.Context, f *fixture) (*http.Request, error) {
		return staffGET(ctx, f, "/api/cases/"+f.pick(f.cases)+"/requirements")
	}},
	{"staff case list", 10, []int{200}, func(ctx context.Context, f *fixture) (*http.Request, error) {
		return staffGET(ctx, f, "/api/cases?limit=50")
	}},
	{"login, wrong password", 10, []int{401}, func(ctx context.Context, f *fixture) (*http.Request, error) {
		return login(ctx, f, "clerk2", "wrong-"+randomHex(6))
	}},
	// A password spray through the bank's proxy: every attempt from another
	// address (X-Forwarded-For, believed from the trusted proxy) with
	// another name, so no per-address or per-name count stops it; only a
	// cap on password checks at once bounds its memory.
	{"login spray, a new address and name each", 10, []int{401}, func(ctx context.Context, f *fixture) (*http.Request, error) {
		req, err := login(ctx, f, "user-"+randomHex(4), "wrong-"+randomHex(6))
		if err == nil {
			b := make([]byte, 3)
			_, _ = rand.Read(b)
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("100.%d.%d.%d", 64+b[0]%64, b[1], b[2]))
		}
		return req, err
	}},
	{"login, right password", 5, []int{200}, func(ctx context.Context, f *fixture) (*http.Request, error) {
		return login(ctx, f, "supervisor", f.passwords["supervisor"])
	}},
	// Opening a link shows its consent page and spends nothing (only the
	// customer's button, a POST, does), so every open is a 200.
	{"invite open", 10, []int{200}, func(ctx context.Context, f *fixture) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, "GET", f.base+f.pick(f.invites), nil)
	}},
	{"invite link, bad token", 10, []int{404, 410}, func(ctx context.Context, f *fixture) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, "GET", f.base+"/join/"+randomHex(16), nil)
	}},
	{"API call, bad bearer token", 5, []int{401}, func(ctx context.Context, f *fixture) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", f.base+"/api/cases", nil)
		if err == nil {
			req.Header.Set("Authorization", "Bearer idv_"+randomHex(16))
		}
		return req, err
	}},
}

func staffGET(ctx context.Context, f *fixture, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", f.base+path, nil)
	if err == nil {
		req.Header.Set("Cookie", f.cookies)
	}
	return req, err
}

func login(ctx context.Context, f *fixture, user, password string) (*http.Request, error) {
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	req, err := http.NewRequestWithContext(ctx, "POST", f.base+"/api/auth/login", bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
