package httpapi

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"remoteidv/access"
	"remoteidv/models"
	"remoteidv/verify"
)

const (
	principalKey = "principal"
	actorKey     = "actor"
)

func (s *Server) cookieName() string {
	if s.cfg.TLS {
		return "__Host-idv_session"
	}
	return "idv_session"
}

func (s *Server) setSessionCookie(c *gin.Context, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: s.cookieName(), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteStrictMode})
}

// principal is the member of staff the guard signed in (authStaff and
// authStaffPage routes).
func principal(c *gin.Context) *access.Principal {
	p, _ := c.Get(principalKey)
	pr, _ := p.(*access.Principal)
	return pr
}

// actor turns the request's principal into the workflow's actor.
func actor(c *gin.Context) verify.Actor {
	p := principal(c)
	return verify.Actor{Name: p.Actor(), StaffID: p.Staff.ID, Roles: p.Staff.Roles}
}

// guard authenticates the route's callers as its Auth says, before the
// handler runs; a refusal ends the request.
func (s *Server) guard(r route) gin.HandlerFunc {
	return s.handle(func(c *gin.Context) error {
		switch r.Auth {
		case authNone:
			return nil
		case authStaff:
			return s.authenticateStaff(c, r)
		case authStaffPage:
			return s.authenticateStaffPage(c, r)
		case authGuestPage:
			return s.guestPage(c)
		case authCustomer:
			return s.authenticateCustomer(c)
		}
		return fmt.Errorf("route %s %s: unknown authentication %q", r.Method, r.Path, r.Auth)
	})
}

// authenticateStaff is the staff API's policy: authentication (session
// cookie or bearer token), CSRF for cookie-authenticated writes, and the
// role check.
func (s *Server) authenticateStaff(c *gin.Context, r route) error {
	ctx := c.Request.Context()
	var p *access.Principal
	var err error
	if h := c.GetHeader("Authorization"); h != "" {
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return models.Errorf(models.EUNAUTHORIZED, "Authorization must be a Bearer token")
		}
		p, err = s.access.AuthenticateToken(ctx, strings.TrimSpace(raw), clientIP(c))
	} else {
		cookie, _ := c.Cookie(s.cookieName())
		p, err = s.access.Authenticate(ctx, cookie)
		if err == nil && unsafeMethod(c.Request.Method) {
			sent := c.GetHeader("X-CSRF-Token")
			if subtle.ConstantTimeCompare([]byte(sent), []byte(p.Session.CSRFToken)) != 1 {
				s.denied(c, p, "csrf")
				return models.Errorf(models.EFORBIDDEN, "missing or wrong X-CSRF-Token header")
			}
		}
	}
	if err != nil {
		return err
	}
	s.signIn(c, p)
	if keyPending(r, p) {
		s.denied(c, p, "key")
		return models.Errorf(models.EFORBIDDEN, "present your security key first (POST /api/auth/key, or register one at /keys)")
	}
	if !mayUse(r, p) {
		s.denied(c, p, "role")
		return models.Errorf(models.EFORBIDDEN, "your role may not %s %s", r.Method, r.Path)
	}
	return nil
}

// keyPending reports whether p's session still waits for its security key
// and route r is not open to it.
func keyPending(r route, p *access.Principal) bool {
	return !r.keyGate && p.Session != nil && p.Session.KeyPending()
}

// authenticateStaffPage is a staff page's policy: the session cookie only
// (a browser sends no token); a browser that is not signed in goes to
// /login, a member of staff of another role gets the 403 page.
func (s *Server) authenticateStaffPage(c *gin.Context, r route) error {
	noStore(c)
	if r.page != nil {
		s.pageLang(c) // the language switch is remembered on the way to /login too
	}
	p := s.pagePrincipal(c)
	if p == nil {
		c.Redirect(http.StatusSeeOther, "/login")
		c.Abort()
		return nil
	}
	s.signIn(c, p)
	if keyPending(r, p) {
		c.Redirect(http.StatusSeeOther, "/keys")
		c.Abort()
		return nil
	}
	if !mayUse(r, p) {
		s.denied(c, p, "role")
		err := models.Errorf(models.EFORBIDDEN, "your role may not %s %s", r.Method, r.Path)
		if r.page == nil {
			return err
		}
		return &pageError{err: err, render: s.forbiddenPage(*r.page, p)}
	}
	return nil
}

// guestPage sends a signed-in member of staff from the login page to
// their start page.
func (s *Server) guestPage(c *gin.Context) error {
	noStore(c)
	s.pageLang(c)
	if p := s.pagePrincipal(c); p != nil {
		c.Redirect(http.StatusSeeOther, homeOf(p.Staff))
		c.Abort()
	}
	return nil
}

// pagePrincipal is the member of staff signed in by the session cookie,
// or nil.
func (s *Server) pagePrincipal(c *gin.Context) *access.Principal {
	cookie, _ := c.Cookie(s.cookieName())
	if cookie == "" {
		return nil
	}
	p, err := s.access.Authenticate(c.Request.Context(), cookie)
	if err != nil {
		return nil
	}
	return p
}

func (s *Server) signIn(c *gin.Context, p *access.Principal) {
	c.Set(principalKey, p)
	c.Set(actorKey, p.Actor())
}

// mayUse reports whether p holds one of the route's roles (any role when
// it names none).
func mayUse(r route, p *access.Principal) bool {
	return len(r.Roles) == 0 || slices.ContainsFunc(r.Roles, p.Staff.Has)
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// denied records a refused request in the audit chain.
func (s *Server) denied(c *gin.Context, p *access.Principal, why string) {
	ctx := c.Request.Context()
	if err := s.access.RecordDenied(ctx, p, c.Request.Method, c.FullPath(), why); err != nil {
		s.log.ErrorContext(ctx, "audit permission denied", "err", err)
	}
}
