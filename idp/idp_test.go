package idp

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"remoteidv/internal/testenv"
	"remoteidv/models"
)

const callback = "http://127.0.0.1:9/auth/oidc/callback"

var roles = []models.GroupRole{{Group: "idv-clerks", Role: models.RoleClerk}, {Group: "idv-supervisors", Role: models.RoleSupervisor},
	{Group: "idv-supervisors", Role: models.RoleClerk}}

func startProvider(t *testing.T) *testenv.OIDC {
	t.Helper()
	return testenv.StartOIDC(t, []testenv.OIDCClient{
		{ID: "idv", Secret: "idv-secret", RedirectURIs: []string{callback}},
		{ID: "other-app", Secret: "other-secret", RedirectURIs: []string{callback}},
	}, []testenv.OIDCUser{
		{ID: "u-sam", Username: "sam", Password: "sam-pass", Name: "Sam Supervisor", Groups: []string{"idv-supervisors", "wiki-editors"}},
		{ID: "u-olga", Username: "olga", Password: "olga-pass", Name: "Olga Clerk", Groups: []string{"IDV-Clerks"}},
		{ID: "u-nora", Username: "nora", Password: "nora-pass", Name: "Nora", Groups: []string{"wiki-editors"}},
	})
}

func newProvider(t *testing.T, issuer, client, secret string) *Provider {
	t.Helper()
	p, err := New(Config{Issuer: issuer, ClientID: client, ClientSecret: secret, RedirectURL: callback, Roles: roles, Name: "Bank SSO"},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func browser(o *testenv.OIDC) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: testenv.NoRedirectsFrom(o.Issuer)}
}

func pkce(verifier string) string {
	s := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

const (
	verifier = "a-pkce-verifier-of-at-least-forty-three-characters"
	nonce    = "nonce-of-this-sign-in"
)

// signIn runs the code flow for username at p and returns the code.
func signIn(t *testing.T, o *testenv.OIDC, p *Provider, username, password string) string {
	t.Helper()
	u, err := p.AuthURL(context.Background(), "state-1", nonce, pkce(verifier), false)
	if err != nil {
		t.Fatalf("AuthURL: %v", err)
	}
	for _, want := range []string{"code_challenge_method=S256", "code_challenge=" + pkce(verifier), "nonce=" + nonce, "state=state-1"} {
		if !strings.Contains(u, want) {
			t.Fatalf("AuthURL = %s, want %s in it", u, want)
		}
	}
	back := o.SignIn(t, browser(o), u, username, password)
	if back.Query().Get("state") != "state-1" || back.Query().Get("code") == "" {
		t.Fatalf("provider sent the browser back to %s, want the state and a code", back)
	}
	return back.Query().Get("code")
}

// TestGroupsMapToRoles: the groups claim maps to roles with the LDAP
// table (names compare without case; unmapped groups are ignored; a
// group may give several roles); the entry names the issuer and subject.
func TestGroupsMapToRoles(t *testing.T) {
	o := startProvider(t)
	p := newProvider(t, o.Issuer, "idv", "idv-secret")
	tests := []struct {
		user, password string
		want           []models.Role
		name           string
	}{
		{"sam", "sam-pass", []models.Role{models.RoleClerk, models.RoleSupervisor}, "Sam Supervisor"},
		{"olga", "olga-pass", []models.Role{models.RoleClerk}, "Olga Clerk"},
		{"nora", "nora-pass", nil, "Nora"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			code := signIn(t, o, p, tt.user, tt.password)
			e, err := p.Exchange(context.Background(), code, verifier, nonce)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if !slices.Equal(e.Roles, tt.want) || e.Username != tt.user || e.DisplayName != tt.name {
				t.Errorf("Exchange = %+v, want username %s, name %q, roles %v", e, tt.user, tt.name, tt.want)
			}
			if e.DN != models.OIDCIdentity(o.Issuer, "u-"+tt.user) || e.AuthTime.IsZero() {
				t.Errorf("Exchange DN, AuthTime = %q, %v; want issuer and subject u-%s, a time", e.DN, e.AuthTime, tt.user)
			}
		})
	}
}

// TestExchangeRefuses: a wrong nonce, a wrong PKCE verifier, a code used
// twice and an ID token issued to another client are all refused
// (EUNAUTHORIZED); a provider that is down is EUNAVAILABLE.
func TestExchangeRefuses(t *testing.T) {
	ctx := context.Background()
	o := startProvider(t)
	p := newProvider(t, o.Issuer, "idv", "idv-secret")

	code := signIn(t, o, p, "olga", "olga-pass")
	if _, err := p.Exchange(ctx, code, verifier, "another-nonce"); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Errorf("Exchange(wrong nonce) = %v, want EUNAUTHORIZED", err)
	}
	code = signIn(t, o, p, "olga", "olga-pass")
	if _, err := p.Exchange(ctx, code, verifier+"x", nonce); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Errorf("Exchange(wrong verifier) = %v, want EUNAUTHORIZED", err)
	}
	code = signIn(t, o, p, "olga", "olga-pass")
	if _, err := p.Exchange(ctx, code, verifier, nonce); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if _, err := p.Exchange(ctx, code, verifier, nonce); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Errorf("Exchange(code again) = %v, want EUNAUTHORIZED", err)
	}

	// An ID token the provider issued to another application (a valid
	// signature, the right issuer, our user) must not sign anyone in here.
	other := newProvider(t, o.Issuer, "other-app", "other-secret")
	code = signIn(t, o, other, "sam", "sam-pass")
	op, err := other.discover(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := other.oauth(op).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange for other-app: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if _, err := other.verify(ctx, op, raw, nonce); err != nil {
		t.Fatalf("other-app's own token: %v", err)
	}
	if _, err := p.verify(ctx, op, raw, nonce); models.ErrorCodeOf(err) != models.EUNAUTHORIZED || !strings.Contains(err.Error(), "audience") {
		t.Errorf("verify(other-app's token) = %v, want EUNAUTHORIZED for the audience", err)
	}

	o.Stop()
	if _, err := p.AuthURL(ctx, "s", nonce, pkce(verifier), false); models.ErrorCodeOf(err) != models.EUNAVAILABLE {
		t.Errorf("AuthURL(provider down since the last sign-in) = %v, want EUNAVAILABLE", err)
	}
	down := newProvider(t, o.Issuer, "idv", "idv-secret") // never discovered
	if _, err := down.AuthURL(ctx, "s", nonce, pkce(verifier), false); models.ErrorCodeOf(err) != models.EUNAVAILABLE {
		t.Errorf("AuthURL(provider down) = %v, want EUNAVAILABLE", err)
	}
	if _, err := p.Exchange(ctx, "code", verifier, nonce); models.ErrorCodeOf(err) != models.EUNAVAILABLE {
		t.Errorf("Exchange(provider down) = %v, want EUNAVAILABLE", err)
	}
}

// TestClaim reads dotted claim paths (Keycloak's realm_access.roles) and
// a single string as a one-element list.
func TestClaim(t *testing.T) {
	claims := map[string]any{"groups": "one", "realm_access": map[string]any{"roles": []any{"a", "b", 3}}}
	tests := []struct {
		path string
		want []string
	}{{"groups", []string{"one"}}, {"realm_access.roles", []string{"a", "b"}}, {"realm_access.none", nil}, {"groups.x", nil}}
	for _, tt := range tests {
		if got := Strings(Claim(claims, tt.path)); !slices.Equal(got, tt.want) {
			t.Errorf("Strings(Claim(%q)) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// TestNewRefuses checks the configuration is validated before anything
// starts.
func TestNewRefuses(t *testing.T) {
	ok := Config{Issuer: "https://sso.bank.example/realms/staff", ClientID: "idv", ClientSecret: "s", RedirectURL: "https://idv.bank.example/auth/oidc/callback", Roles: roles}
	tests := []struct {
		name string
		edit func(c *Config)
	}{
		{"http issuer off loopback", func(c *Config) { c.Issuer = "http://sso.bank.example/" }},
		{"no secret", func(c *Config) { c.ClientSecret = "" }},
		{"wrong callback", func(c *Config) { c.RedirectURL = "https://idv.bank.example/login" }},
		{"no roles", func(c *Config) { c.Roles = nil }},
		{"missing CA", func(c *Config) { c.CAFile = "/nonexistent.pem" }},
	}
	if _, err := New(ok, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("New(ok) = %v", err)
	}
	for _, tt := range tests {
		c := ok
		tt.edit(&c)
		if _, err := New(c, slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("New(%s) = nil, want an error", tt.name)
		}
	}
}
