package httpapi

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"remoteidv/access"
	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/web"
)

// The staff pages. Their guard (authStaffPage) sends a browser that is not
// signed in to /login (a 303, not the API's JSON 401) and answers a member
// of staff whose role may not see the page with the 403 page. Each page
// allows exactly the roles of the API it drives, so the page never shows
// what its API would refuse.

const (
	langCookie = "idv_lang"
	langKey    = "lang"
)

// pageSpec describes one staff page.
type pageSpec struct {
	name, tmpl, title, script, mode, back string // tmpl: staff_<tmpl>.html, name when ""
	options                               []string
	// record: the page starts with the case's record (recordpage.go).
	record bool
	// gaps: the page shows the interruptions of the case's calls
	// (callgaps.go).
	gaps bool
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
	{"/board", "nav.board", models.RoleSupervisor},
	{"/board", "nav.board", models.RoleAdmin},
}

// pageLang picks the language: ?lang= (the switch, remembered in a
// cookie), then the cookie, then Accept-Language. It is chosen once per
// request.
func (s *Server) pageLang(c *gin.Context) string {
	if l := c.GetString(langKey); l != "" {
		return l
	}
	lang := ""
	if q := c.Query("lang"); q != "" && slices.Contains(web.Languages, q) {
		http.SetCookie(c.Writer, &http.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteStrictMode})
		lang = q
	} else {
		choice, _ := c.Cookie(langCookie)
		lang = web.Negotiate(choice, c.GetHeader("Accept-Language"))
	}
	c.Set(langKey, lang)
	return lang
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
func (s *Server) home(c *gin.Context) error {
	c.Redirect(http.StatusSeeOther, homeOf(principal(c).Staff))
	return nil
}

func noStore(c *gin.Context) { c.Header("Cache-Control", "no-store") }

// pageData is the layout data of page spec for p (nil on the login page).
func (s *Server) pageData(c *gin.Context, spec pageSpec, p *access.Principal) web.Page {
	data := web.Page{Name: spec.name, Title: spec.title, Script: spec.script, Lang: s.pageLang(c), Path: c.Request.URL.Path,
		Bank: s.cfg.BankName, Mode: spec.mode, Back: spec.back, Options: spec.options, CaseID: c.Param("id"), Msgs: s.msgs, Demo: s.cfg.Demo,
		Services: purposes(), FlagCategories: flagCategories()}
	if s.cfg.AuditKey != nil {
		data.KeyFingerprint = audit.Fingerprint(s.cfg.AuditKey)
	}
	if spec.name == "login" {
		data.SSO = s.ssoName(data.Lang)
	}
	if p == nil {
		return data
	}
	data.User, data.CSRF = p.Staff.DisplayName, p.Session.CSRFToken
	if p.Staff.FromOIDC() && s.idp != nil {
		data.SSOStepUp, data.SSO = true, s.ssoName(data.Lang)
	}
	for _, r := range p.Staff.Roles {
		data.Roles = append(data.Roles, string(r))
	}
	for _, n := range staffNav {
		if p.Staff.Has(n.role) && !slices.ContainsFunc(data.Nav, func(it web.NavItem) bool { return it.Href == n.href }) {
			data.Nav = append(data.Nav, web.NavItem{Href: n.href, Key: n.key, Current: n.href == spec.back || n.href == data.Path})
		}
	}
	return data
}

// staffPage renders one staff page; the guard has checked who may see it.
func (s *Server) staffPage(spec pageSpec) func(*gin.Context) error {
	tmpl := spec.tmpl
	if tmpl == "" {
		tmpl = spec.name
	}
	return func(c *gin.Context) error {
		data := s.pageData(c, spec, principal(c))
		if spec.record {
			rec, err := s.caseRecord(c, data.Lang)
			switch {
			case models.ErrorCodeOf(err) == models.ENOTFOUND: // the page's script says so
			case err != nil:
				return err
			}
			data.Record = rec
		}
		if spec.gaps {
			g, err := s.callGaps(c, data.Lang)
			switch {
			case models.ErrorCodeOf(err) == models.ENOTFOUND: // the page's script says so
			case err != nil:
				return err
			}
			data.Calls = g
		}
		c.Header("Content-Type", "text/html; charset=utf-8")
		c.Status(http.StatusOK)
		if err := s.pages.Render(c.Writer, "staff_"+tmpl+".html", data); err != nil {
			s.log.ErrorContext(c.Request.Context(), "render page", "page", data.Name, "err", err)
		}
		return nil
	}
}

// forbiddenPage renders the 403 page in place of page spec for p.
func (s *Server) forbiddenPage(spec pageSpec, p *access.Principal) func(*gin.Context) error {
	return func(c *gin.Context) error {
		data := s.pageData(c, spec, p)
		data.Name, data.Title, data.Script = "forbidden", "forbidden.title", "common.js"
		return s.pages.Render(c.Writer, "staff_forbidden.html", data)
	}
}

// static serves the embedded scripts, styles and images of the customer's
// and the staff's pages.
func (s *Server) static() func(*gin.Context) error {
	h := http.StripPrefix("/static/", http.FileServer(http.FS(web.Static())))
	return func(c *gin.Context) error {
		c.Header("Cache-Control", "no-cache")
		h.ServeHTTP(c.Writer, c.Request)
		return nil
	}
}

// favicon answers 204, so browsers log no error.
func (s *Server) favicon(c *gin.Context) error {
	c.Status(http.StatusNoContent)
	return nil
}

func caseStates() []string {
	out := make([]string, 0, 11)
	for _, st := range []models.CaseState{models.StateScheduled, models.StateInSession, models.StatePendingReview, models.StateApproved,
		models.StateSealed, models.StateReleased, models.StateClosed, models.StateRejected, models.StateCancelled, models.StateExpired, models.StateAborted} {
		out = append(out, string(st))
	}
	return out
}

// purposes are the services a case may be opened for (web.Page.Services).
func purposes() []string {
	out := make([]string, 0, len(models.Purposes))
	for _, p := range models.Purposes {
		out = append(out, string(p))
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
