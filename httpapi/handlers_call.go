package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/signaling"
	"remoteidv/verify"
	"remoteidv/web"
)

// callState is what the video-session handlers need.
type callState struct {
	hub   *signaling.Hub
	calls *verify.Calls
	pages *web.Pages
}

func (s *Server) customerCookie() string {
	if s.cfg.TLS {
		return "__Host-idv_customer"
	}
	return "idv_customer"
}

// join is the customer's landing on the invite link: it spends the token
// for a customer session cookie and redirects to the token-free call page
// (303), so the token leaves the address bar, history and Referer.
func (s *Server) join(c *gin.Context) {
	ip := c.ClientIP()
	if s.limiter.Blocked("token:" + ip) {
		s.gonePage(c, http.StatusTooManyRequests)
		return
	}
	sess, secret, err := s.call.calls.StartCustomerSession(c.Request.Context(), c.Param("token"))
	if err != nil {
		s.limiter.Fail("token:" + ip)
		s.log.WarnContext(c.Request.Context(), "invalid invite link", "security", true, "remote", ip, "err", models.ErrorMessageOf(err))
		s.gonePage(c, http.StatusGone)
		return
	}
	maxAge := int(time.Until(sess.ExpiresAt).Seconds())
	if maxAge < 60 {
		maxAge = 60
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: s.customerCookie(), Value: secret, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.TLS, SameSite: http.SameSiteStrictMode})
	c.Redirect(http.StatusSeeOther, "/call")
}

func (s *Server) gonePage(c *gin.Context, status int) {
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	// The language switch links to /call, never to the link itself (it carries the token).
	data := web.CustomerPage{Page: s.customerPage(c, "gone", "cust.title", "")}
	data.Path = "/call"
	if err := s.call.pages.Render(c.Writer, "gone.html", data); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render page", "err", err)
	}
}

// customer authenticates the customer's cookie; on failure it has
// answered with the one 410 page (or 429 past the failure limit).
func (s *Server) customer(c *gin.Context) (*models.CustomerSession, *models.Case, bool) {
	ip := c.ClientIP()
	if s.limiter.Blocked("token:" + ip) {
		s.gonePage(c, http.StatusTooManyRequests)
		return nil, nil, false
	}
	secret, _ := c.Cookie(s.customerCookie())
	sess, cs, err := s.call.calls.CustomerSession(c.Request.Context(), secret)
	if err != nil {
		if models.ErrorCodeOf(err) == models.EGONE {
			s.limiter.Fail("token:" + ip)
			s.gonePage(c, http.StatusGone)
		} else {
			s.fail(c, err)
		}
		return nil, nil, false
	}
	return sess, cs, true
}

// callPage is the customer's page: the consent text until it is accepted,
// then the call.
func (s *Server) callPage(c *gin.Context) {
	sess, cs, ok := s.customer(c)
	if !ok {
		return
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	var err error
	if sess.ConsentAt == nil {
		data := web.CustomerPage{Page: s.customerPage(c, "consent", "cust.consent_title", "")}
		ct := verify.ConsentText(data.Lang)
		data.Customer, data.Branch = slotText(cs.SlotAt, cs.CustomerTZ, data.Lang), slotText(cs.SlotAt, s.verify.Config().BranchTZ.String(), data.Lang)
		data.Version, data.Text = ct.Version, ct.Text
		data.Clerk = s.clerkName(c, cs.ClerkID)
		err = s.call.pages.Render(c.Writer, "consent.html", data)
	} else {
		err = s.call.pages.Render(c.Writer, "call.html", web.CustomerPage{Page: s.customerPage(c, "call", "cust.title", "call.js")})
	}
	if err != nil {
		s.log.ErrorContext(c.Request.Context(), "render page", "err", err)
	}
}

// sameOrigin refuses cross-site form posts (with a SameSite=Strict cookie
// this is belt and braces). Browsers send Sec-Fetch-Site; under our
// no-referrer policy their Origin on a POST is "null", so it is only
// compared when it names an origin.
func sameOrigin(c *gin.Context) bool {
	if site := c.GetHeader("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	o := c.GetHeader("Origin")
	if o == "" || o == "null" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == c.Request.Host
}

// consent records the customer's acceptance of the consent text.
func (s *Server) consent(c *gin.Context) {
	sess, _, ok := s.customer(c)
	if !ok {
		return
	}
	if !sameOrigin(c) {
		s.fail(c, models.Errorf(models.EFORBIDDEN, "cross-site request refused"))
		return
	}
	if err := s.call.calls.RecordConsent(c.Request.Context(), sess, c.PostForm("version"), c.PostForm("locale")); err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/call")
}

// customerSocket is the customer's signaling WebSocket.
func (s *Server) customerSocket(c *gin.Context) {
	sess, cs, ok := s.customer(c)
	if !ok {
		return
	}
	if sess.ConsentAt == nil {
		s.fail(c, models.Errorf(models.EPRECONDITION, "accept the recording and biometric consent first"))
		return
	}
	s.call.hub.Serve(c.Writer, c.Request, signaling.Participant{Role: signaling.RoleCustomer, CaseID: cs.ID,
		Actor: verify.CustomerActor(sess.ID), Customer: sess.ID})
}

// staffSocket is the clerk's (runs the call) or a supervisor's (observes,
// receive-only) signaling WebSocket for a case. The socket closes when the
// staff member is disabled or the login ends (logout, expiry), and the hub
// checks the login again before every capture.
func (s *Server) staffSocket(c *gin.Context) {
	a := actor(c)
	cs, runs, err := s.verify.JoinCall(c.Request.Context(), a, models.CaseID(c.Param("id")))
	if err != nil {
		s.fail(c, err)
		return
	}
	role := signaling.RoleObserver
	if runs {
		role = signaling.RoleClerk
	}
	p := principal(c)
	var session string
	if p.Session != nil {
		session = p.Session.IDHash
	}
	s.call.hub.Serve(c.Writer, c.Request, signaling.Participant{Role: role, CaseID: cs.ID, Actor: a.Name, Staff: p.Staff.ID, Session: session,
		Allowed: func(ctx context.Context, session string) error { return s.access.Revalidate(ctx, p, session) }})
}

type segmentView struct {
	Seq         int       `json:"seq"`
	Participant string    `json:"participant"`
	Track       string    `json:"track"`
	Evidence    string    `json:"evidence_id"`
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	StartedAt   time.Time `json:"started_at"`
	EndedAt     time.Time `json:"ended_at"`
}

type callView struct {
	ID        string        `json:"id"`
	StartedAt time.Time     `json:"started_at"`
	EndedAt   *time.Time    `json:"ended_at,omitempty"`
	EndReason string        `json:"end_reason,omitempty"`
	Recording string        `json:"recording"`
	Segments  []segmentView `json:"segments"`
}

// listCalls shows a case's calls with their recorded segments.
func (s *Server) listCalls(c *gin.Context) {
	ctx := c.Request.Context()
	cs, err := s.verify.Case(ctx, actor(c), models.CaseID(c.Param("id")))
	if err != nil {
		s.fail(c, err)
		return
	}
	var calls []*models.Call
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { calls, err = tx.CallsByCase(ctx, cs.ID); return }); err != nil {
		s.fail(c, err)
		return
	}
	out := make([]callView, 0, len(calls))
	for _, k := range calls {
		v := callView{ID: string(k.ID), StartedAt: k.StartedAt, EndedAt: k.EndedAt, EndReason: k.EndReason, Recording: string(k.Recording), Segments: []segmentView{}}
		for _, sg := range k.Segments {
			v.Segments = append(v.Segments, segmentView{Seq: sg.Seq, Participant: sg.Participant, Track: sg.Track, Evidence: string(sg.Evidence),
				SHA256: sg.SHA256, Size: sg.Size, StartedAt: sg.StartedAt, EndedAt: sg.EndedAt})
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"case_id": cs.ID, "calls": out})
}

// static serves the embedded scripts and styles.
func (s *Server) static() gin.HandlerFunc {
	h := http.StripPrefix("/static/", http.FileServer(http.FS(web.Static())))
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		h.ServeHTTP(c.Writer, c.Request)
	}
}
