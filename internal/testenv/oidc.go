package testenv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// OIDC is a private OpenID Connect provider on a loopback port: the
// command internal/testenv/oidcop (zitadel's OP with its example storage,
// plus a groups claim), built once per test binary and run as a child
// process, so the service talks to it over real HTTP as it would to the
// bank's Keycloak or Entra ID.
type OIDC struct {
	Issuer string // http://127.0.0.1:PORT/
	cmd    *exec.Cmd
}

// OIDCClient is a client registered at the provider. RedirectGlobs match
// redirect URIs too (e.g. http://127.0.0.1:*/auth/oidc/callback).
type OIDCClient struct {
	ID            string   `json:"id"`
	Secret        string   `json:"secret"`
	RedirectURIs  []string `json:"redirect_uris,omitempty"`
	RedirectGlobs []string `json:"redirect_globs,omitempty"`
}

// OIDCUser is an account at the provider; its ID token carries
// preferred_username (Username), name and groups.
type OIDCUser struct {
	ID       string   `json:"id"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	Name     string   `json:"name"`
	Groups   []string `json:"groups"`
}

// OIDCCallbackGlob lets a client be sent back to a server on any loopback
// port.
const OIDCCallbackGlob = "http://127.0.0.1:*/auth/oidc/callback"

var oidcBuild struct {
	once sync.Once
	bin  string
	err  error
}

// oidcBinary builds the provider once per test binary (the go build cache
// makes later builds cheap).
func oidcBinary(t testing.TB) string {
	t.Helper()
	oidcBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "idv-oidcop-")
		if err != nil {
			oidcBuild.err = err
			return
		}
		bin := filepath.Join(dir, "oidcop")
		out, err := exec.Command("go", "build", "-o", bin, "remoteidv/internal/testenv/oidcop").CombinedOutput()
		if err != nil {
			oidcBuild.err = fmt.Errorf("go build oidcop: %v\n%s", err, out)
			return
		}
		oidcBuild.bin = bin
	})
	if oidcBuild.err != nil {
		t.Fatalf("testenv: %v", oidcBuild.err)
	}
	return oidcBuild.bin
}

// StartOIDC runs a provider with clients and users until the test ends.
func StartOIDC(t testing.TB, clients []OIDCClient, users []OIDCUser) *OIDC {
	t.Helper()
	bin := oidcBinary(t)
	conf := filepath.Join(t.TempDir(), "oidcop.json")
	b, err := json.Marshal(map[string]any{"clients": clients, "users": users})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", conf)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &SyncBuffer{}
	cmd.Stderr = stderr
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start oidcop: %v", err)
	}
	o := &OIDC{cmd: cmd}
	t.Cleanup(o.Stop)
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		l, _ := r.ReadString('\n')
		line <- l
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case l := <-line:
		issuer, ok := strings.CutPrefix(strings.TrimSpace(l), "ISSUER ")
		if !ok {
			o.Stop()
			t.Fatalf("testenv: oidcop said %q\n%s", l, stderr.String())
		}
		o.Issuer = issuer
	case <-time.After(30 * time.Second):
		o.Stop()
		t.Fatalf("testenv: oidcop did not start\n%s", stderr.String())
	}
	return o
}

// Stop ends the provider (an outage). It may be called more than once.
func (o *OIDC) Stop() {
	if o.cmd == nil {
		return
	}
	_ = o.cmd.Process.Kill()
	_ = o.cmd.Wait()
	o.cmd = nil
}

var oidcRequestID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// SignIn does what a browser and its user do at the provider, without a
// browser: client (which must keep cookies and not follow redirects off
// the provider: NoRedirectsFrom) opens authURL, fills in the provider's
// login form and follows the provider's redirects. It returns where the
// provider sends the browser back (the callback URL with code and state).
func (o *OIDC) SignIn(t testing.TB, client *http.Client, authURL, username, password string) *url.URL {
	t.Helper()
	res, err := client.Get(authURL)
	if err != nil {
		t.Fatalf("testenv: open %s: %v", authURL, err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := oidcRequestID.FindSubmatch(page)
	if m == nil {
		t.Fatalf("testenv: no login form at %s (%s):\n%s", res.Request.URL, res.Status, page)
	}
	login := strings.TrimSuffix(o.Issuer, "/") + "/login/username"
	res, err = client.PostForm(login, url.Values{"id": {string(m[1])}, "username": {username}, "password": {password}})
	if err != nil {
		t.Fatalf("testenv: sign in at the provider: %v", err)
	}
	defer res.Body.Close()
	loc, err := res.Location()
	if err != nil || !strings.HasPrefix(res.Status, "3") {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("testenv: the provider did not send the browser back (%s):\n%s", res.Status, body)
	}
	return loc
}

// NoRedirectsFrom is a CheckRedirect that follows redirects within the
// provider at issuer and stops at the first one elsewhere.
func NoRedirectsFrom(issuer string) func(*http.Request, []*http.Request) error {
	iu, _ := url.Parse(issuer)
	return func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != iu.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}
}
