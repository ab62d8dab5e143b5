// Command oidcop is the OpenID Connect provider of the tests: zitadel's
// certified OP (github.com/zitadel/oidc/v3/pkg/op) with its example
// server's in-memory storage and username/password page, plus what a
// bank's provider adds: a groups claim, the user's name and
// preferred_username in the ID token. It serves on the loopback and
// prints "ISSUER <url>" once it listens; testenv.StartOIDC runs it.
//
// Usage: oidcop -config FILE, FILE being JSON:
//
//	{"clients": [{"id": "idv", "secret": "s", "redirect_uris": ["http://127.0.0.1:8080/auth/oidc/callback"]}],
//	 "users": [{"id": "u1", "username": "olga", "password": "p", "name": "Olga", "groups": ["idv-clerks"]}]}
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Config is the provider's clients and users.
type Config struct {
	Clients []struct {
		ID           string   `json:"id"`
		Secret       string   `json:"secret"`
		RedirectURIs []string `json:"redirect_uris"`
		// RedirectGlobs match redirect URIs too (doublestar), e.g.
		// http://127.0.0.1:*/auth/oidc/callback for a server on any port.
		RedirectGlobs []string `json:"redirect_globs"`
	} `json:"clients"`
	Users []User `json:"users"`
}

// User is one account at the provider.
type User struct {
	ID       string   `json:"id"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	Name     string   `json:"name"`
	Groups   []string `json:"groups"`
}

type users map[string]User

func (u users) GetUserByID(id string) *storage.User {
	x, ok := u[id]
	if !ok {
		return nil
	}
	return &storage.User{ID: x.ID, Username: x.Username, Password: x.Password, FirstName: x.Name, EmailVerified: true}
}

func (u users) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return u.GetUserByID(x.ID)
		}
	}
	return nil
}

func (u users) ExampleClientID() string { return storage.ServiceUserID }

// bankStorage puts what a bank's provider asserts into every ID token.
type bankStorage struct {
	*storage.Storage
	users users
	globs map[string][]string // client ID -> redirect URI globs
}

// globClient is a client whose redirect URIs may also match globs.
type globClient struct {
	op.Client
	globs []string
}

func (c globClient) RedirectURIGlobs() []string           { return c.globs }
func (c globClient) PostLogoutRedirectURIGlobs() []string { return nil }

func (s bankStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil || len(s.globs[id]) == 0 {
		return c, err
	}
	return globClient{c, s.globs[id]}, nil
}

func (s bankStorage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, token op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, token, scopes); err != nil {
		return err
	}
	u, ok := s.users[token.GetSubject()]
	if !ok {
		return fmt.Errorf("no user %q", token.GetSubject())
	}
	info.PreferredUsername, info.Name = u.Username, u.Name
	info.AppendClaims("groups", u.Groups)
	return nil
}

func main() {
	path := flag.String("config", "", "JSON file of clients and users")
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	flag.Parse()
	if err := run(*path, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "oidcop:", err)
		os.Exit(1)
	}
}

func run(path, addr string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	globs := map[string][]string{}
	for _, c := range cfg.Clients {
		storage.RegisterClients(storage.WebClient(c.ID, c.Secret, c.RedirectURIs...))
		globs[c.ID] = c.RedirectGlobs
	}
	us := users{}
	for _, u := range cfg.Users {
		us[u.ID] = u
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	issuer := fmt.Sprintf("http://%s/", ln.Addr())
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	router := exampleop.SetupServer(issuer, bankStorage{storage.NewStorage(us), us, globs}, log, false)
	mux := http.NewServeMux()
	// A browser asks every origin for its icon; a 404 would be a console
	// error in the browser tests.
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.Handle("/", router)
	fmt.Printf("ISSUER %s\n", issuer)
	return http.Serve(ln, mux)
}
