package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/access"
	"remoteidv/models"
	"remoteidv/signaling"
	"remoteidv/verify"
	"remoteidv/web"
)

// The customer's side: the invite link, the call page and its endpoints.
// The guard (authCustomer) authenticates the customer cookie that the
// invite link was exchanged for; every refusal is the same 410 page, so a
// stranger learns nothing about a link or a case.

const customerKey = "customer"

func (s *Server) customerCookie() string {
	if s.cfg.TLS {
		return "__Host-idv_customer"
	}
	return "idv_customer"
}

// customerAuth is what the guard found behind the customer cookie.
type customerAuth struct {
	session *models.CustomerSession
	c       *models.Case
}

// customer is the customer session and its case (authCustomer routes).
func customer(c *gin.Context) (*models.CustomerSession, *models.Case) {
	v, _ := c.Get(customerKey)
	a, _ := v.(customerAuth)
	return a.session, a.c
}

// authenticateCustomer is the customer routes' policy: a live customer
// session behind the cookie (a wrong one counts against the address like
// a wrong link) and, on writes, a same-origin request.
func (s *Server) authenticateCustomer(c *gin.Context) error {
	if blocked, err := s.clientBlocked(c, access.ClientBadLink); err != nil || blocked {
		return s.gone(orLimited(err, "too many invalid links or sessions; wait a minute"))
	}
	secret, _ := c.Cookie(s.customerCookie())
	sess, cs, err := s.call.calls.CustomerSession(c.Request.Context(), secret)
	if err != nil {
		if models.ErrorCodeOf(err) == models.EGONE {
			s.clientFailed(c, access.ClientBadLink)
			return s.gone(err)
		}
		return err
	}
	c.Set(customerKey, customerAuth{session: sess, c: cs})
	c.Set(actorKey, verify.CustomerActor(sess.ID))
	if unsafeMethod(c.Request.Method) && !sameOrigin(c) {
		return models.Errorf(models.EFORBIDDEN, "cross-site request refused")
	}
	return nil
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

// gone answers err with the customer's one 410 page (429 past the failure
// limit: the status is statusOf's for err).
func (s *Server) gone(err error) error {
	return &pageError{err: err, render: s.renderGone}
}

func (s *Server) renderGone(c *gin.Context) error {
	// The language switch links to /call, never to the link itself (it carries the token).
	data := web.CustomerPage{Page: s.customerPage(c, "gone", "cust.title", "")}
	data.Path = "/call"
	return s.pages.Render(c.Writer, "gone.html", data)
}

// joinPage is the customer's landing on the invite link (GET and HEAD):
// the consent page of the link's call, in the customer's language, whose
// button posts back to the link. It spends nothing, so a mail scanner or
// a link preview that fetches the link leaves it usable.
func (s *Server) joinPage(c *gin.Context) error {
	ip := clientAddr(c)
	if blocked, err := s.clientBlocked(c, access.ClientBadLink); err != nil || blocked {
		return s.gone(orLimited(err, "too many invalid links; wait a minute"))
	}
	tok := c.Param("token")
	_, cs, err := s.verify.ResolveInvite(c.Request.Context(), tok)
	if err == nil && !cs.State.TakesChecks() {
		err = models.ErrInviteGone
	}
	if err != nil {
		return s.refuseLink(c, ip, tok, err)
	}
	data := web.CustomerPage{Page: s.customerPage(c, "consent", "cust.consent_title", "")}
	ct := verify.ConsentText(data.Lang)
	data.Customer, data.Branch = slotText(cs.SlotAt, cs.CustomerTZ, data.Lang), slotText(cs.SlotAt, s.verify.Config().BranchTZ.String(), data.Lang)
	data.Version, data.Text = ct.Version, ct.Text
	data.Clerk = s.clerkName(c, cs.ClerkID)
	data.Action = "/join/" + tok
	c.Header("Content-Type", "text/html; charset=utf-8")
	if err := s.pages.Render(c.Writer, "consent.html", data); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render page", "err", err)
	}
	return nil
}

// join is the customer's button on the landing page (POST, same-origin
// only): it spends the token for a customer session cookie, records the
// consent the form carries, and redirects to the token-free call page
// (303), so the token leaves the address bar, history and Referer. A spent,
// expired or unknown token gets the one 410 page.
func (s *Server) join(c *gin.Context) error {
	ip := clientAddr(c)
	if blocked, err := s.clientBlocked(c, access.ClientBadLink); err != nil || blocked {
		return s.gone(orLimited(err, "too many invalid links; wait a minute"))
	}
	if !sameOrigin(c) {
		// Another site could otherwise sign a browser in to a case of its choosing.
		return s.gone(models.Errorf(models.EFORBIDDEN, "cross-site request refused"))
	}
	ctx := c.Request.Context()
	sess, secret, err := s.call.calls.StartCustomerSession(ctx, c.Param("token"))
	if err != nil {
		return s.refuseLink(c, ip, c.Param("token"), err)
	}
	// The cookie outlives the call for the status page (StatusUntil); the
	// call page still ends with the session.
	maxAge := int(s.call.calls.StatusUntil(sess).Sub(s.verify.Now()).Seconds())
	if maxAge < 60 {
		maxAge = 60
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: s.customerCookie(), Value: secret, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteStrictMode})
	if v := c.PostForm("version"); v != "" {
		// A consent that does not match the current text is asked again on /call.
		if err := s.call.calls.RecordConsent(ctx, sess, v, c.PostForm("locale")); err != nil {
			s.log.WarnContext(ctx, "consent on the landing page", "err", models.ErrorMessageOf(err))
		}
	}
	c.Redirect(http.StatusSeeOther, "/call")
	return nil
}

// refuseLink answers an invite link that cannot be spent now. A link
// opened before its window gets the page saying when it opens (nothing is
// spent); the customer reopening their used link in the browser holding
// their live session for the case goes to the call page; any other
// unusable link gets the one 410 page and counts against the address.
// Other errors (the database) pass on.
func (s *Server) refuseLink(c *gin.Context, ip, tok string, err error) error {
	if early := (*verify.NotYetOpenError)(nil); errors.As(err, &early) {
		return s.renderEarly(c, early)
	}
	if models.ErrorCodeOf(err) != models.EGONE && models.ErrorCodeOf(err) != models.ENOTFOUND {
		return err
	}
	if secret, _ := c.Cookie(s.customerCookie()); secret != "" {
		same, rerr := s.call.calls.ReopenedLink(c.Request.Context(), tok, secret)
		if rerr != nil {
			return rerr
		}
		if same {
			c.Redirect(http.StatusSeeOther, "/call")
			return nil
		}
	}
	s.clientFailed(c, access.ClientBadLink)
	s.log.WarnContext(c.Request.Context(), "invalid invite link", "security", true, "remote", ip, "err", models.ErrorMessageOf(err))
	return s.gone(models.Errorf(models.EGONE, "this link is not valid"))
}

// renderEarly is the page of a link opened before its window: when the
// call opens, in the customer's zone and the branch's, and that the same
// link works then. As on the landing page, the language switch links back
// to the link itself, which spends nothing.
func (s *Server) renderEarly(c *gin.Context, e *verify.NotYetOpenError) error {
	data := web.CustomerPage{Page: s.customerPage(c, "early", "cust.early_title", "")}
	data.Customer, data.Branch = slotText(e.Opens, e.Case.CustomerTZ, data.Lang), slotText(e.Opens, s.verify.Config().BranchTZ.String(), data.Lang)
	data.Clerk = s.clerkName(c, e.Case.ClerkID)
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	if c.Request.Method == http.MethodHead {
		return nil
	}
	if err := s.pages.Render(c.Writer, "early.html", data); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render page", "err", err)
	}
	return nil
}

// callPage is the customer's page: the consent text until it is accepted,
// then the call.
func (s *Server) callPage(c *gin.Context) error {
	sess, cs := customer(c)
	c.Header("Content-Type", "text/html; charset=utf-8")
	var err error
	if sess.ConsentAt == nil {
		data := web.CustomerPage{Page: s.customerPage(c, "consent", "cust.consent_title", "")}
		ct := verify.ConsentText(data.Lang)
		data.Customer, data.Branch = slotText(cs.SlotAt, cs.CustomerTZ, data.Lang), slotText(cs.SlotAt, s.verify.Config().BranchTZ.String(), data.Lang)
		data.Version, data.Text = ct.Version, ct.Text
		data.Clerk = s.clerkName(c, cs.ClerkID)
		data.Action = "/call/consent"
		err = s.pages.Render(c.Writer, "consent.html", data)
	} else {
		p, perr := s.desk.CustomerProgress(c.Request.Context(), cs.ID)
		if perr != nil {
			return perr
		}
		err = s.pages.Render(c.Writer, "call.html", web.CustomerPage{Page: s.customerPage(c, "call", "cust.title", "call.js"),
			CodeVerified: p.CodeVerified, LetterOnFile: p.LetterOnFile})
	}
	if err != nil {
		s.log.ErrorContext(c.Request.Context(), "render page", "err", err)
	}
	return nil
}

// consent records the customer's acceptance of the consent text.
func (s *Server) consent(c *gin.Context) error {
	sess, _ := customer(c)
	if err := s.call.calls.RecordConsent(c.Request.Context(), sess, c.PostForm("version"), c.PostForm("locale")); err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, "/call")
	return nil
}

// customerSocket is the customer's signaling WebSocket.
func (s *Server) customerSocket(c *gin.Context) error {
	sess, cs := customer(c)
	if sess.ConsentAt == nil {
		return models.Errorf(models.EPRECONDITION, "accept the recording and biometric consent first")
	}
	return s.serveCall(c, cs.ID, signaling.Participant{Role: signaling.RoleCustomer, CaseID: cs.ID,
		Actor: verify.CustomerActor(sess.ID), Customer: sess.ID, Addr: clientAddr(c)})
}

func (s *Server) customerRequestCode(c *gin.Context) error {
	_, cs := customer(c)
	d := s.desk
	exp, err := d.RequestCode(c.Request.Context(), cs.ID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, gin.H{"sent_to": "registered email", "expires_at": exp})
	return nil
}

func (s *Server) customerVerifyCode(c *gin.Context) error {
	_, cs := customer(c)
	d := s.desk
	ip := clientAddr(c)
	if blocked, err := s.clientBlocked(c, access.ClientBadCode); err != nil || blocked {
		return orLimited(err, "too many attempts; wait a minute")
	}
	var req struct {
		Code string `json:"code"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := d.VerifyCode(c.Request.Context(), cs.ID, req.Code); err != nil {
		s.clientFailed(c, access.ClientBadCode)
		s.log.WarnContext(c.Request.Context(), "email code refused", "case_id", cs.ID, "code", models.ErrorCodeOf(err), "ip", ip)
		return err
	}
	c.JSON(http.StatusOK, gin.H{"verified": true})
	return nil
}

// customerStatementPassword takes the password the customer chooses for
// the emailed statement. The password goes to the service and nowhere
// else: it is not logged, and the answer does not repeat it.
func (s *Server) customerStatementPassword(c *gin.Context) error {
	sess, cs := customer(c)
	var req struct {
		Password string `json:"password"`
		Confirm  string `json:"confirm"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.desk.SetStatementPassword(c.Request.Context(), cs.ID, verify.CustomerActor(sess.ID), req.Password, req.Confirm); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"statement_password": true})
	return nil
}

func (s *Server) customerUploadLetter(c *gin.Context) error {
	sess, cs := customer(c)
	d := s.desk
	data, err := readUpload(c, "image/jpeg", "image/png", "application/pdf")
	if err != nil {
		return err
	}
	l, err := d.CustomerUploadLetter(c.Request.Context(), cs.ID, verify.CustomerActor(sess.ID), data)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"id": l.ID, "content_type": l.ContentType})
	return nil
}

// customerPage is the layout data of a customer page, in the language the
// switch or the browser chose.
func (s *Server) customerPage(c *gin.Context, name, title, script string) web.Page {
	return web.Page{Name: name, Title: title, Script: script, Lang: s.pageLang(c), Path: c.Request.URL.Path,
		Bank: s.cfg.BankName, Msgs: s.msgs, Demo: s.cfg.Demo}
}

// clerkName is the display name of the case's clerk, shown to the
// customer; "" when it cannot be read.
func (s *Server) clerkName(c *gin.Context, id models.StaffID) string {
	st, err := s.access.StaffByID(c.Request.Context(), id)
	if err != nil {
		s.log.WarnContext(c.Request.Context(), "clerk of the case", "err", err)
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

// statusPage is the customer's status page (GET /call/status): where their
// request stands, in their language, with the slot in their zone and the
// branch's. It opens with the customer cookie for as long as
// verify.Calls.StatusUntil allows, after the call and its review too;
// without a valid cookie it is the page saying that no request can be
// shown here (410), which names no case and counts against the address
// like a wrong link.
func (s *Server) statusPage(c *gin.Context) error {
	if blocked, err := s.clientBlocked(c, access.ClientBadLink); err != nil || blocked {
		return &pageError{err: orLimited(err, "too many invalid links or sessions; wait a minute"), render: s.renderNoStatus}
	}
	secret, _ := c.Cookie(s.customerCookie())
	st, err := s.call.calls.CustomerStatus(c.Request.Context(), secret)
	if err != nil {
		if models.ErrorCodeOf(err) == models.EGONE {
			if secret != "" {
				s.clientFailed(c, access.ClientBadLink)
			}
			return &pageError{err: err, render: s.renderNoStatus}
		}
		return err
	}
	data := web.CustomerPage{Page: s.customerPage(c, "status", "status.title", "")}
	data.Customer, data.Branch = slotText(st.SlotAt, st.CustomerTZ, data.Lang), slotText(st.SlotAt, s.verify.Config().BranchTZ.String(), data.Lang)
	view := &web.Status{Ref: string(st.CaseRef), Outcome: st.Outcome, StatementSent: st.StatementSent}
	for _, step := range st.Steps {
		view.Steps = append(view.Steps, web.StatusStep{Key: step.Key, Done: step.Done, Current: step.Current})
	}
	data.Status = view
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	if err := s.pages.Render(c.Writer, "status.html", data); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render page", "err", err)
	}
	return nil
}

// renderNoStatus is the status page without a request to show.
func (s *Server) renderNoStatus(c *gin.Context) error {
	data := web.CustomerPage{Page: s.customerPage(c, "status", "status.title", "")}
	return s.pages.Render(c.Writer, "status.html", data)
}
