package httpapi

import (
	"crypto/subtle"
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
		HttpOnly: true, Secure: s.cfg.TLS, SameSite: http.SameSiteStrictMode})
}

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

// guard enforces the route's policy: authentication (session cookie or
// bearer token), the role check, and CSRF for cookie-authenticated writes.
func (s *Server) guard(r route) gin.HandlerFunc {
	return func(c *gin.Context) {
		if r.Public {
			c.Next()
			return
		}
		ctx := c.Request.Context()
		var p *access.Principal
		var err error
		if h := c.GetHeader("Authorization"); h != "" {
			raw, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				s.fail(c, models.Errorf(models.EUNAUTHORIZED, "Authorization must be a Bearer token"))
				return
			}
			p, err = s.access.AuthenticateToken(ctx, strings.TrimSpace(raw), c.ClientIP())
		} else {
			cookie, _ := c.Cookie(s.cookieName())
			p, err = s.access.Authenticate(ctx, cookie)
			if err == nil && unsafeMethod(c.Request.Method) {
				sent := c.GetHeader("X-CSRF-Token")
				if subtle.ConstantTimeCompare([]byte(sent), []byte(p.Session.CSRFToken)) != 1 {
					s.denied(c, p, "csrf")
					s.fail(c, models.Errorf(models.EFORBIDDEN, "missing or wrong X-CSRF-Token header"))
					return
				}
			}
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Set(principalKey, p)
		c.Set(actorKey, p.Actor())
		if len(r.Roles) > 0 && !slices.ContainsFunc(r.Roles, func(role models.Role) bool { return p.Staff.Has(role) }) {
			s.denied(c, p, "role")
			s.fail(c, models.Errorf(models.EFORBIDDEN, "your role may not %s %s", r.Method, r.Path))
			return
		}
		c.Next()
	}
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// denied records a refused request in the audit chain.
func (s *Server) denied(c *gin.Context, p *access.Principal, why string) {
	ctx := c.Request.Context()
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		return s.chain.Append(ctx, tx, &models.AuditEvent{Actor: p.Actor(), Action: "auth.permission_denied",
			Detail: map[string]string{"method": c.Request.Method, "route": c.FullPath(), "why": why}})
	})
	if err != nil {
		s.log.ErrorContext(ctx, "audit permission denied", "err", err)
	}
}
