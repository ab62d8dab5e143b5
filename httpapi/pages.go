package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/access"
	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/web"
)

// The staff pages are Public routes that enforce their policy themselves:
// a browser that is not signed in is sent to /login (a 303, not the API's
// JSON 401), and a signed-in member of staff whose role may not see the
// page gets the 403 page. Each page allows exactly the roles of the API it
// drives, so the page never shows what its API would refuse.

const langCookie = "idv_lang"

// pageSpec describes one staff page.
type pageSpec struct {
	name, tmpl, title, script, mode, back string        // tmpl: staff_<tmpl>.html, name when ""
	roles                                 []models.Role // nil: the login page (no session needed)
	options                               []string
}

// staffNav is the navigation: each link appears for the roles that may open it.
var staffNav = []struct {
	href, key string
	role      models.Role
}{
	{"/console", "nav.console", models.RoleClerk},
	{"/review", "nav.review", models.RoleSupervisor},
	{"/audit", "nav.audit", models.RoleAuditor},
	{"/admin", "nav.admin", models.RoleAdmin},
}

// pageLang picks the language: ?lang= (the switch, remembered in a
// cookie), then the cookie, then Accept-Language.
func (s *Server) pageLang(c *gin.Context) string {
	if q := c.Query("lang"); q != "" && slices.Contains(web.Languages, q) {
		http.SetCookie(c.Writer, &http.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: s.cfg.TLS, SameSite: http.SameSiteStrictMode})
		return q
	}
	choice, _ := c.Cookie(langCookie)
	return web.Negotiate(choice, c.GetHeader("Accept-Language"))
}

// pagePrincipal is the signed-in member of staff, or nil.
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

// homeOf is where a member of staff starts: the first page their roles open.
func homeOf(st *models.Staff) string {
	for _, n := range staffNav {
		if st.Has(n.role) {
			return n.href
		}
	}
	return "/login"
}

// home sends the browser to its start page.
func (s *Server) home(c *gin.Context) {
	noStore(c)
	p := s.pagePrincipal(c)
	if p == nil {
		c.Redirect(http.StatusSeeOther, "/login")
		return
	}
	c.Redirect(http.StatusSeeOther, homeOf(p.Staff))
}

func noStore(c *gin.Context) { c.Header("Cache-Control", "no-store") }

// staffPage renders one staff page under its role policy.
func (s *Server) staffPage(spec pageSpec) gin.HandlerFunc {
	pages, err := web.Load()
	msgs := web.Messages()
	return func(c *gin.Context) {
		noStore(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		lang := s.pageLang(c)
		data := web.Page{Name: spec.name, Title: spec.title, Script: spec.script, Lang: lang, Path: c.Request.URL.Path,
			Bank: s.cfg.BankName, Mode: spec.mode, Back: spec.back, Options: spec.options, CaseID: c.Param("id"), Msgs: msgs}
		if s.cfg.AuditKey != nil {
			data.KeyFingerprint = audit.Fingerprint(s.cfg.AuditKey)
		}
		status := http.StatusOK
		p := s.pagePrincipal(c)
		switch {
		case spec.roles == nil && p != nil:
			c.Redirect(http.StatusSeeOther, homeOf(p.Staff))
			return
		case spec.roles == nil:
		case p == nil:
			c.Redirect(http.StatusSeeOther, "/login")
			return
		default:
			data.User, data.CSRF = p.Staff.DisplayName, p.Session.CSRFToken
			for _, r := range p.Staff.Roles {
				data.Roles = append(data.Roles, string(r))
			}
			for _, n := range staffNav {
				if p.Staff.Has(n.role) {
					data.Nav = append(data.Nav, web.NavItem{Href: n.href, Key: n.key, Current: n.href == spec.back || n.href == data.Path})
				}
			}
			if !slices.ContainsFunc(spec.roles, p.Staff.Has) {
				s.denied(c, p, "role")
				status = http.StatusForbidden
				data.Name, data.Title, data.Script = "forbidden", "forbidden.title", "common.js"
			}
		}
		tmpl := spec.tmpl
		if tmpl == "" || data.Name == "forbidden" {
			tmpl = data.Name
		}
		c.Header("Content-Type", "text/html; charset=utf-8")
		c.Status(status)
		if err := pages.Render(c.Writer, "staff_"+tmpl+".html", data); err != nil {
			s.log.ErrorContext(c.Request.Context(), "render page", "page", data.Name, "err", err)
		}
	}
}

// staffStatic serves the staff pages' scripts and styles.
func (s *Server) staffStatic() gin.HandlerFunc {
	h := http.StripPrefix("/static/", http.FileServer(http.FS(web.Static())))
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		h.ServeHTTP(c.Writer, c.Request)
	}
}

func caseStates() []string {
	out := make([]string, 0, 11)
	for _, st := range []models.CaseState{models.StateScheduled, models.StateInSession, models.StatePendingReview, models.StateApproved,
		models.StateSealed, models.StateReleased, models.StateClosed, models.StateRejected, models.StateCancelled, models.StateExpired, models.StateAborted} {
		out = append(out, string(st))
	}
	return out
}

func roleNames() []string {
	out := make([]string, 0, len(models.Roles))
	for _, r := range models.Roles {
		out = append(out, string(r))
	}
	return out
}

// referencePhoto sends the n-th reference photo of the case's account
// (from account opening), for the clerk's and the supervisor's side-by-side
// comparison with the live capture. Every view is audited, like the
// specimen's.
func (s *Server) referencePhoto(c *gin.Context) {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil {
		s.fail(c, models.Errorf(models.EINVALID, "n must be the photo's index: 0, 1, ..."))
		return
	}
	img, err := s.verify.ReferencePhoto(c.Request.Context(), actor(c), models.CaseID(c.Param("id")), n)
	if err != nil {
		s.fail(c, err)
		return
	}
	sendFile(c, img.ContentType, "", img.Data)
}

// customerPage is the layout data of a customer page, in the language the
// switch or the browser chose.
func (s *Server) customerPage(c *gin.Context, name, title, script string) web.Page {
	return web.Page{Name: name, Title: title, Script: script, Lang: s.pageLang(c), Path: c.Request.URL.Path,
		Bank: s.cfg.BankName, Msgs: web.Messages()}
}

// clerkName is the display name of the case's clerk, shown to the
// customer; "" when it cannot be read.
func (s *Server) clerkName(c *gin.Context, id models.StaffID) string {
	ctx := c.Request.Context()
	var st *models.Staff
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { st, err = tx.StaffByID(ctx, id); return }); err != nil {
		s.log.WarnContext(ctx, "clerk of the case", "err", err)
		return ""
	}
	return st.DisplayName
}

// slotText shows a slot in a zone the way people read it, in lang.
func slotText(at time.Time, zone, lang string) string {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc, zone = time.UTC, "UTC"
	}
	t := at.In(loc)
	if lang == "zh-CN" {
		return t.Format("2006年1月2日 15:04") + "（" + zone + "）"
	}
	return t.Format("Mon 2 Jan 2006, 15:04") + " (" + zone + ")"
}
