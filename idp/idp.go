// Package idp signs staff in through the bank's OpenID Connect provider
// (Keycloak, Microsoft Entra ID, ADFS, ...): it builds the authorization
// request (code flow, PKCE S256, nonce), exchanges the code, verifies the
// ID token (signature against the provider's published keys, issuer,
// audience, expiry, nonce) and maps the groups claim to roles with the
// same group->role table as the LDAP directory. It is the only user of
// github.com/coreos/go-oidc and golang.org/x/oauth2. State, nonce and
// verifier are made and kept by the caller (httpapi, in the database), so
// every node of a cluster can finish a sign-in another one started.
package idp

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"remoteidv/models"
)

// Config is the provider and how its ID tokens read.
type Config struct {
	// Issuer is the provider's issuer URL, exactly as its discovery
	// document (Issuer + "/.well-known/openid-configuration") spells it.
	Issuer string
	// ClientID and ClientSecret are this service's registration (a
	// confidential client: the secret is sent with the code).
	ClientID     string
	ClientSecret string
	// RedirectURL is the registered callback: https://<host>/auth/oidc/callback.
	RedirectURL string
	// Name is what the login page calls the provider ("Bank SSO").
	Name string
	// GroupsClaim names the claim listing the user's groups (groups;
	// Keycloak's roles: realm_access.roles, a dotted path into objects).
	GroupsClaim string
	// UsernameClaim is the sign-in name (preferred_username; Entra ID:
	// upn or preferred_username); NameClaim the display name (name).
	UsernameClaim string
	NameClaim     string
	// Scopes are asked besides openid (profile, plus what the provider
	// needs to put groups into the ID token, e.g. "groups").
	Scopes []string
	// Roles maps groups to roles (the LDAP directory's format).
	Roles []models.GroupRole
	// CAFile is a PEM bundle the provider's certificate must chain to;
	// empty: the system roots.
	CAFile string
	// Timeout bounds each request to the provider.
	Timeout time.Duration
}

// Provider is the bank's OpenID Connect provider. Its discovery document
// is read when a sign-in starts, not at start-up, so the service starts
// (and local accounts sign in) while the provider is down; reading it at
// every start also finds a provider that went down since, so the login
// page can say so instead of sending the browser to a dead address.
type Provider struct {
	cfg    Config
	client *http.Client
	log    *slog.Logger

	mu       sync.Mutex
	provider *oidc.Provider // nil until discovery succeeds
}

// New checks cfg and loads its CA file; it does not contact the provider.
func New(cfg Config, log *slog.Logger) (*Provider, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
		return nil, fmt.Errorf("OIDC issuer %q: want an https:// URL (http:// only on the loopback, for tests)", cfg.Issuer)
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("OIDC: the client ID and the client secret are required")
	}
	if r, err := url.Parse(cfg.RedirectURL); err != nil || r.Host == "" || !strings.HasSuffix(r.Path, "/auth/oidc/callback") {
		return nil, fmt.Errorf("OIDC redirect URL %q: want https://<this service>/auth/oidc/callback", cfg.RedirectURL)
	}
	if len(cfg.Roles) == 0 {
		return nil, errors.New("OIDC: no group is mapped to a role, so nobody could sign in")
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "preferred_username"
	}
	if cfg.NameClaim == "" {
		cfg.NameClaim = "name"
	}
	if cfg.Name == "" {
		cfg.Name = u.Hostname()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("OIDC CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("OIDC CA file %s: no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tc, DialContext: (&net.Dialer{Timeout: cfg.Timeout}).DialContext,
		TLSHandshakeTimeout: cfg.Timeout, ResponseHeaderTimeout: cfg.Timeout, MaxIdleConnsPerHost: 4}
	return &Provider{cfg: cfg, client: &http.Client{Transport: tr, Timeout: cfg.Timeout}, log: log}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name implements models.IdentityProvider.
func (p *Provider) Name() string { return p.cfg.Name }

// unavailable is the error of a provider that cannot be reached or read.
func unavailable(what string, err error) error {
	return models.Errorf(models.EUNAVAILABLE, "the identity provider is unavailable (%s: %v)", what, err)
}

// discover returns the provider's metadata, read again when fresh or
// never read yet.
// The lock is not held while the document is read: with the provider
// down, each sign-in waits out its own timeout, not everyone else's too.
func (p *Provider) discover(ctx context.Context, fresh bool) (*oidc.Provider, error) {
	p.mu.Lock()
	op := p.provider
	p.mu.Unlock()
	if op != nil && !fresh {
		return op, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, p.client), p.cfg.Issuer)
	if err != nil {
		return nil, unavailable("discovery", err)
	}
	p.mu.Lock()
	p.provider = op
	p.mu.Unlock()
	return op, nil
}

func (p *Provider) oauth(op *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: p.cfg.RedirectURL,
		Endpoint: op.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, p.cfg.Scopes...)}
}

// AuthURL implements models.IdentityProvider.
func (p *Provider) AuthURL(ctx context.Context, state, nonce, challenge string, fresh bool) (string, error) {
	op, err := p.discover(ctx, true)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.SetAuthURLParam("code_challenge", challenge),
		oauth2.SetAuthURLParam("code_challenge_method", "S256")}
	if fresh {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0"))
	}
	return p.oauth(op).AuthCodeURL(state, opts...), nil
}

// Exchange implements models.IdentityProvider.
func (p *Provider) Exchange(ctx context.Context, code, verifier, nonce string) (*models.DirectoryEntry, error) {
	op, err := p.discover(ctx, false)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, p.client), p.cfg.Timeout)
	defer cancel()
	tok, err := p.oauth(op).Exchange(cctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return nil, models.Errorf(models.EUNAUTHORIZED, "the identity provider refused the code (%s)", re.ErrorCode)
		}
		return nil, unavailable("code exchange", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, models.Errorf(models.EUNAUTHORIZED, "the identity provider sent no ID token")
	}
	return p.verify(cctx, op, raw, nonce)
}

// verify checks an ID token and reads the account it names. go-oidc checks
// the signature with the provider's published keys, the issuer, that the
// audience holds our client ID (and, with several, azp), and expiry; the
// nonce is ours to compare.
func (p *Provider) verify(ctx context.Context, op *oidc.Provider, raw, nonce string) (*models.DirectoryEntry, error) {
	idt, err := op.VerifierContext(oidc.ClientContext(ctx, p.client), &oidc.Config{ClientID: p.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return nil, models.Errorf(models.EUNAUTHORIZED, "the ID token does not verify: %v", err)
	}
	if nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, models.Errorf(models.EUNAUTHORIZED, "the ID token's nonce is not this sign-in's")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, models.Errorf(models.EUNAUTHORIZED, "the ID token's claims do not read: %v", err)
	}
	if azp, ok := claims["azp"].(string); ok && azp != "" && azp != p.cfg.ClientID {
		return nil, models.Errorf(models.EUNAUTHORIZED, "the ID token was issued to another client (azp %q)", azp)
	}
	e := &models.DirectoryEntry{DN: models.OIDCIdentity(idt.Issuer, idt.Subject), Groups: Strings(Claim(claims, p.cfg.GroupsClaim))}
	e.Username, _ = Claim(claims, p.cfg.UsernameClaim).(string)
	e.DisplayName, _ = Claim(claims, p.cfg.NameClaim).(string)
	if e.Username == "" || len(e.Username) > 64 {
		return nil, models.Errorf(models.EUNAUTHORIZED, "the ID token has no usable %s claim (1 to 64 characters)", p.cfg.UsernameClaim)
	}
	if at, ok := claims["auth_time"].(float64); ok && at > 0 {
		e.AuthTime = time.Unix(int64(at), 0).UTC()
	}
	e.Roles = models.RolesOf(p.cfg.Roles, e.Groups)
	return e, nil
}

// Claim reads the claim at a dotted path (realm_access.roles) of claims;
// nil when it is missing.
func Claim(claims map[string]any, path string) any {
	var v any = claims
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = m[k]; !ok {
			return nil
		}
	}
	return v
}

// Strings reads a claim holding a list of strings, or one string.
func Strings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
