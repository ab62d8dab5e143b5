package httpapi

import (
	"cmp"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"remoteidv/access"
	"remoteidv/models"
	"remoteidv/web"
)

// OIDC sign-in (GET /auth/oidc/start, GET /auth/oidc/callback): the
// authorization code flow with PKCE S256 against the bank's provider
// (Services.IdentityProvider). The state is bound to this browser twice:
// an HttpOnly cookie holds it, and the database holds its hash with the
// nonce and the PKCE verifier, deleted when the callback uses them (one
// use, access.OIDCLoginLifetime). The callback answers pages, not JSON: a
// refusal is the login page saying why, with the status of the refusal.

// oidcCookieName is the cookie holding the state of a sign-in under way.
// SameSite Lax: the provider's redirect back is a cross-site top-level
// GET, which Lax lets it ride and Strict would not.
func (s *Server) oidcCookieName() string {
	if s.cfg.TLS {
		return "__Host-idv_oidc"
	}
	return "idv_oidc"
}

func (s *Server) setOIDCCookie(c *gin.Context, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: s.oidcCookieName(), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteLaxMode})
}

// The refusals the login page explains (message keys login.sso_error.*).
const (
	ssoDown    = "down"    // the provider cannot be reached
	ssoState   = "state"   // no, a wrong, a used or an expired state
	ssoFailed  = "failed"  // the provider said no, or its answer does not verify
	ssoNoRole  = "norole"  // the account's groups map to no role
	ssoRefused = "refused" // the name is a local or directory account's, or another identity's
)

// oidcStart sends the browser to the provider.
func (s *Server) oidcStart(c *gin.Context) error {
	noStore(c)
	if s.idp == nil {
		return models.Errorf(models.ENOTFOUND, "sign-in with an identity provider is not configured")
	}
	ctx := c.Request.Context()
	// Each start stores a row until it expires: 20 a minute per address.
	if key := "oidc:" + clientAddr(c); s.oidcStarts.Blocked(key) {
		return models.Errorf(models.ERATELIMIT, "too many sign-ins started; wait a minute")
	} else {
		s.oidcStarts.Fail(key)
	}
	// ?step_up=1 (a signed-in member from the provider): the provider
	// authenticates them again (prompt=login) for an approval's step-up,
	// bound to this session; next is where the page goes afterwards.
	var session string
	stepUp := c.Query("step_up") == "1"
	if stepUp {
		p := s.pagePrincipal(c)
		if p == nil {
			c.Redirect(http.StatusSeeOther, "/login")
			return nil
		}
		if !p.Staff.FromOIDC() {
			return models.Errorf(models.EINVALID, "step-up through the identity provider is for staff who sign in there; re-enter your password instead")
		}
		session = p.Session.IDHash
		http.SetCookie(c.Writer, &http.Cookie{Name: s.oidcCookieName() + "_next", Value: localPath(c.Query("next")), Path: "/",
			MaxAge: int(access.OIDCLoginLifetime.Seconds()), HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteLaxMode})
	}
	st, err := s.access.StartOIDC(ctx, session)
	if err != nil {
		return err
	}
	u, err := s.idp.AuthURL(ctx, st.State, st.Nonce, st.Challenge, stepUp)
	if err != nil {
		s.log.WarnContext(ctx, "OIDC sign-in", "err", err)
		s.access.OIDCFailed(ctx, clientIP(c), "identity provider unavailable")
		return s.ssoPage(c, http.StatusServiceUnavailable, ssoDown)
	}
	s.setOIDCCookie(c, st.State, int(access.OIDCLoginLifetime.Seconds()))
	c.Redirect(http.StatusSeeOther, u)
	return nil
}

// oidcCallback finishes a sign-in the provider sends back.
func (s *Server) oidcCallback(c *gin.Context) error {
	noStore(c)
	if s.idp == nil {
		return models.Errorf(models.ENOTFOUND, "sign-in with an identity provider is not configured")
	}
	ctx := c.Request.Context()
	remote := clientIP(c)
	state := c.Query("state")
	cookie, _ := c.Cookie(s.oidcCookieName())
	s.setOIDCCookie(c, "", -1)
	if state == "" || cookie == "" || subtle.ConstantTimeCompare([]byte(state), []byte(cookie)) != 1 {
		s.access.OIDCFailed(ctx, remote, "state does not match this browser")
		return s.ssoPage(c, http.StatusBadRequest, ssoState)
	}
	login, err := s.access.TakeOIDC(ctx, state)
	if models.ErrorCodeOf(err) == models.ENOTFOUND {
		s.access.OIDCFailed(ctx, remote, "state unknown, used already or expired")
		return s.ssoPage(c, http.StatusBadRequest, ssoState)
	}
	if err != nil {
		return err
	}
	if e := c.Query("error"); e != "" {
		s.access.OIDCFailed(ctx, remote, "the provider answered "+truncate(e, 64))
		return s.ssoPage(c, http.StatusUnauthorized, ssoFailed)
	}
	entry, err := s.idp.Exchange(ctx, c.Query("code"), login.Verifier, login.Nonce)
	switch models.ErrorCodeOf(err) {
	case "":
	case models.EUNAVAILABLE:
		s.log.WarnContext(ctx, "OIDC sign-in", "err", err)
		s.access.OIDCFailed(ctx, remote, "identity provider unavailable")
		return s.ssoPage(c, http.StatusServiceUnavailable, ssoDown)
	case models.EUNAUTHORIZED:
		s.log.WarnContext(ctx, "OIDC sign-in refused", "err", err)
		s.access.OIDCFailed(ctx, remote, truncate(models.ErrorMessageOf(err), 200))
		return s.ssoPage(c, http.StatusUnauthorized, ssoFailed)
	default:
		return err
	}
	if login.SessionHash != "" {
		return s.oidcStepUp(c, login, entry)
	}
	old, _ := c.Cookie(s.cookieName())
	session, p, err := s.access.OIDCLogin(ctx, entry, "", old, remote)
	if models.ErrorCodeOf(err) == models.EFORBIDDEN {
		why := ssoRefused
		if len(entry.Roles) == 0 {
			why = ssoNoRole
		}
		return s.ssoPage(c, http.StatusForbidden, why)
	}
	if err != nil {
		return err
	}
	if old != "" {
		s.tell(c.Request.Context(), nodeSignal{Op: sigEndSession, Session: access.HashToken(old), Reason: "signed in again"})
	}
	s.setSessionCookie(c, session, int(s.access.Absolute.Seconds()))
	// The session cookie is SameSite Strict, and this response ends a
	// navigation the provider started: a redirect from here would still
	// be cross-site and arrive without it. The page moves on by itself
	// (login.js), a same-site navigation, with a link for no script.
	data := s.pageData(c, loginPage, nil)
	data.Path = "/login"
	data.SSO, data.SSODone = s.ssoName(data.Lang), homeOf(p.Staff)
	return s.renderLogin(c, http.StatusOK, data)
}

// oidcStepUp finishes a step-up at the provider for the session it was
// started for. The provider's redirect is cross-site, so the browser sends
// no SameSite=Strict session cookie here: the session comes from the
// sign-in's row, which the state cookie (Lax) tied to this browser.
func (s *Server) oidcStepUp(c *gin.Context, login *models.OIDCLogin, entry *models.DirectoryEntry) error {
	p, err := s.access.AuthenticateHash(c.Request.Context(), login.SessionHash)
	if err != nil {
		s.access.OIDCFailed(c.Request.Context(), clientIP(c), "step-up for a session that ended")
		return s.ssoPage(c, http.StatusBadRequest, ssoState)
	}
	old := p.Session.IDHash
	cookie, err := s.access.OIDCStepUp(c.Request.Context(), p, entry)
	if models.ErrorCodeOf(err) == models.EUNAUTHORIZED {
		return s.ssoPage(c, http.StatusUnauthorized, ssoFailed)
	}
	if err != nil {
		return err
	}
	s.tell(c.Request.Context(), nodeSignal{Op: sigRotateSession, Session: old, New: p.Session.IDHash}) // the call sockets of this login stay
	s.setSessionCookie(c, cookie, int(s.access.Absolute.Seconds()))
	next, _ := c.Cookie(s.oidcCookieName() + "_next")
	http.SetCookie(c.Writer, &http.Cookie{Name: s.oidcCookieName() + "_next", Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteLaxMode})
	data := s.pageData(c, loginPage, nil)
	data.Path = "/login"
	data.SSO, data.SSODone = s.ssoName(data.Lang), cmp.Or(localPath(next), homeOf(p.Staff))
	return s.renderLogin(c, http.StatusOK, data)
}

// localPath is next when it is a path of this site ("/review/cases/x"),
// else "": never another host ("//evil", "/\\evil", "https://...").
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") || len(next) > 300 {
		return ""
	}
	return next
}

// loginPage is the login page's spec (routes.go uses it too).
var loginPage = pageSpec{name: "login", title: "login.title", script: "login.js"}

// ssoPage renders the login page explaining why a sign-in at the provider
// did not work.
func (s *Server) ssoPage(c *gin.Context, status int, why string) error {
	data := s.pageData(c, loginPage, nil)
	data.Path = "/login" // the language switch must not run the callback again
	data.SSO, data.SSOError = s.ssoName(data.Lang), "login.sso_error."+why
	return s.renderLogin(c, status, data)
}

func (s *Server) renderLogin(c *gin.Context, status int, data web.Page) error {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(status)
	if err := s.pages.Render(c.Writer, "staff_login.html", data); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render page", "page", "login", "err", err)
	}
	return nil
}

// ssoName is what the login page calls the provider in lang; "" when no
// provider is configured.
func (s *Server) ssoName(lang string) string {
	if s.idp == nil {
		return ""
	}
	if n := s.cfg.SSONames[lang]; n != "" {
		return n
	}
	return s.idp.Name()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
