package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/verify"
)

// maxLetterBody caps letter uploads (verify.MaxLetterBytes plus one byte,
// so an oversized file is seen as such).
const maxLetterBody = verify.MaxLetterBytes + 1

// supervisor is the role set of the decision endpoint.
var supervisor = []models.Role{models.RoleSupervisor}

func caseID(c *gin.Context) models.CaseID { return models.CaseID(c.Param("id")) }

type letterView struct {
	ID          models.LetterID     `json:"id"`
	Evidence    models.EvidenceID   `json:"evidence_id"`
	ContentType string              `json:"content_type"`
	Width       int                 `json:"width,omitempty"`
	Height      int                 `json:"height,omitempty"`
	Source      string              `json:"source"`
	Actor       string              `json:"actor"`
	CreatedAt   any                 `json:"created_at"`
	Scope       *models.LetterScope `json:"scope,omitempty"`
	ScopeBy     string              `json:"scope_by,omitempty"`
}

func viewLetter(l *models.Letter) letterView {
	return letterView{ID: l.ID, Evidence: l.Evidence, ContentType: l.ContentType, Width: l.Width, Height: l.Height, Source: l.Source,
		Actor: l.Actor, CreatedAt: l.CreatedAt, Scope: l.Scope, ScopeBy: l.ScopeBy}
}

// readUpload reads a raw upload body whose Content-Type is one of types.
func readUpload(c *gin.Context, types ...string) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	ok := false
	for _, t := range types {
		ok = ok || mt == t
	}
	if !ok {
		return nil, models.Errorf(models.EUNSUPPORTED, "send the file as the body with Content-Type image/jpeg, image/png or application/pdf")
	}
	return io.ReadAll(c.Request.Body)
}

func (s *Server) uploadLetter(c *gin.Context) {
	d := s.desk
	data, err := readUpload(c, "image/jpeg", "image/png", "application/pdf")
	if err != nil {
		s.fail(c, err)
		return
	}
	l, err := d.UploadLetter(c.Request.Context(), actor(c), caseID(c), data)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, viewLetter(l))
}

func (s *Server) listLetters(c *gin.Context) {
	d := s.desk
	ls, err := d.Letters(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]letterView, 0, len(ls))
	for _, l := range ls {
		out = append(out, viewLetter(l))
	}
	c.JSON(http.StatusOK, gin.H{"letters": out})
}

// sendFile answers with bytes that must never be cached or sniffed.
func sendFile(c *gin.Context, ct, name string, b []byte) {
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	if name != "" {
		c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	c.Data(http.StatusOK, ct, b)
}

func (s *Server) letterContent(c *gin.Context) {
	d := s.desk
	b, ct, err := d.LetterContent(c.Request.Context(), actor(c), caseID(c), models.LetterID(c.Param("letter")))
	if err != nil {
		s.fail(c, err)
		return
	}
	sendFile(c, ct, "", b)
}

func (s *Server) letterScope(c *gin.Context) {
	d := s.desk
	var req struct {
		AccountNo       models.AccountNo `json:"account_no"`
		Service         models.Purpose   `json:"service"`
		PeriodFrom      string           `json:"period_from"`
		PeriodTo        string           `json:"period_to"`
		RegisteredEmail *bool            `json:"registered_email"`
	}
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if req.RegisteredEmail == nil {
		s.fail(c, models.Errorf(models.EINVALID, "registered_email (true or false) is required"))
		return
	}
	l, err := d.RecordLetterScope(c.Request.Context(), actor(c), caseID(c), models.LetterID(c.Param("letter")), models.LetterScope{
		AccountNo: req.AccountNo, Service: req.Service, PeriodFrom: req.PeriodFrom, PeriodTo: req.PeriodTo, RegisteredEmail: *req.RegisteredEmail})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewLetter(l))
}

func (s *Server) specimen(c *gin.Context) {
	d := s.desk
	img, err := d.Specimen(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	sendFile(c, img.ContentType, "", img.Data)
}

func (s *Server) signatureCheck(c *gin.Context) {
	d := s.desk
	var req struct {
		Letter  models.LetterID `json:"letter_id"`
		Region  verify.Region   `json:"region"`
		Verdict string          `json:"verdict"`
		Reason  string          `json:"reason"`
	}
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	chk, err := d.RecordSignature(c.Request.Context(), actor(c), caseID(c), verify.SignatureInput{Letter: req.Letter, Region: req.Region, Verdict: req.Verdict, Reason: req.Reason})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, viewCheck(chk))
}

func (s *Server) registryCheck(c *gin.Context) {
	d := s.desk
	rc, err := d.RunRegistryCheck(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	reasons := rc.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	c.JSON(http.StatusCreated, gin.H{"check": viewCheck(rc.Check), "result": rc.Check.Result, "status": rc.Status, "name_match": rc.NameMatch,
		"photo_match": rc.PhotoMatch, "data_age_seconds": int64(rc.DataAge.Seconds()), "max_data_age_seconds": int64(rc.MaxDataAge.Seconds()),
		"elapsed_ms": rc.Elapsed.Milliseconds(), "service_hours": rc.Hours, "within_service_hours": rc.WithinHours, "unavailable": rc.Unavailable,
		"snapshot_sha256": rc.SnapshotHash, "capture_check": rc.CaptureCheck, "capture_sha256": rc.CaptureSHA256,
		"capture_age_seconds": int64(rc.CaptureAge.Seconds()), "registry_photo_sha256": rc.RegistryPhotoSHA256, "reasons": reasons})
}

func (s *Server) requirements(c *gin.Context) {
	d := s.desk
	r, err := d.Requirements(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	hours, open := d.RegistryHours(s.verify.Now())
	missing := r.Missing()
	if missing == nil {
		missing = []string{}
	}
	c.JSON(http.StatusOK, gin.H{"missing": missing, "ready": len(missing) == 0, "registry_hours": hours, "registry_open_now": open})
}

func (s *Server) submit(c *gin.Context) {
	d := s.desk
	cs, err := d.Submit(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": cs.ID, "state": cs.State})
}

// idempotent runs a decision endpoint under its Idempotency-Key: the key
// is scoped by the caller and the route, and the stored answer (status and
// JSON body) is replayed for the same key and body.
func (s *Server) idempotent(c *gin.Context, body []byte, run func(c *gin.Context) (int, any)) {
	key := c.GetHeader("Idempotency-Key")
	if len(key) == 0 || len(key) > 255 {
		s.fail(c, models.Errorf(models.EINVALID, "an Idempotency-Key header of 1 to 255 characters is required"))
		return
	}
	scoped := principal(c).Actor() + " " + c.Request.Method + " " + c.Request.URL.Path + " " + key
	res, err := s.verify.Idempotent(c.Request.Context(), scoped, body, func() (int, []byte) {
		status, v := run(c)
		b, err := json.Marshal(v)
		if err != nil {
			return http.StatusInternalServerError, nil
		}
		return status, b
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	if res.Replay {
		c.Header("Idempotent-Replayed", "true")
	}
	c.Data(res.Status, "application/json; charset=utf-8", res.Body)
}

// errorAnswer renders err as the JSON body fail would send, so that it
// can be stored for replays (answers of 500 and above are not stored).
func (s *Server) errorAnswer(c *gin.Context, err error) (int, any) {
	code := models.ErrorCodeOf(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = models.EINTERNAL, http.StatusInternalServerError
	}
	msg := models.ErrorMessageOf(err)
	if status >= 500 && code != models.EUNAVAILABLE {
		s.log.ErrorContext(c.Request.Context(), "request failed", "request_id", requestID(c), "route", c.FullPath(), "err", err)
		msg = "internal error; quote the request id to support"
	}
	return status, errorBody{Error: errorDetail{Code: code, Message: msg, Details: models.ErrorDetailsOf(err), RequestID: requestID(c)}}
}

func (s *Server) decide(c *gin.Context) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		s.fail(c, err)
		return
	}
	var req struct {
		Decision models.Decision `json:"decision"`
		Reason   string          `json:"reason"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.fail(c, models.Errorf(models.EINVALID, "body must be JSON {\"decision\": \"approve\"|\"reject\", \"reason\": \"...\"}"))
		return
	}
	s.idempotent(c, body, func(c *gin.Context) (int, any) {
		p := principal(c)
		in := verify.DecisionInput{Decision: req.Decision, Reason: req.Reason}
		if p.Session != nil {
			in.StepUpAt = p.Session.StepUpAt
		}
		apr, cs, err := s.desk.Decide(c.Request.Context(), actor(c), caseID(c), in)
		if err != nil {
			return s.errorAnswer(c, err)
		}
		return http.StatusOK, gin.H{"id": cs.ID, "state": cs.State, "approval": gin.H{"id": apr.ID, "decision": apr.Decision, "reason": apr.Reason,
			"action": apr.Action, "supervisor": apr.Actor, "created_at": apr.CreatedAt}}
	})
}

func (s *Server) release(c *gin.Context) {
	s.idempotent(c, nil, func(c *gin.Context) (int, any) {
		rel, err := s.desk.Release(c.Request.Context(), actor(c), caseID(c))
		if err != nil {
			return s.errorAnswer(c, err)
		}
		return http.StatusOK, gin.H{"id": rel.Case.ID, "state": rel.Case.State, "statement": gin.H{"evidence_id": rel.Statement.ID, "sha256": rel.Statement.SHA256,
			"size": rel.Statement.Size}, "mail": gin.H{"id": rel.Mail.ID, "to": rel.Mail.To, "message_id": rel.Mail.MessageID, "queued_at": rel.Mail.CreatedAt}}
	})
}

func (s *Server) statementPDF(c *gin.Context) {
	d := s.desk
	b, ev, err := d.StatementPDF(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("X-Content-SHA256", ev.SHA256)
	c.Header("Content-Length", strconv.Itoa(len(b)))
	sendFile(c, "application/pdf", "statement-"+string(caseID(c))+".pdf", b)
}

// Customer endpoints: the customer session cookie of the call page
// authenticates them (handlers_call.go).

func (s *Server) customerRequestCode(c *gin.Context) {
	_, cs, ok := s.customer(c)
	if !ok {
		return
	}
	d := s.desk
	if !sameOrigin(c) {
		s.fail(c, models.Errorf(models.EFORBIDDEN, "cross-site request refused"))
		return
	}
	exp, err := d.RequestCode(c.Request.Context(), cs.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"sent_to": "registered email", "expires_at": exp})
}

func (s *Server) customerVerifyCode(c *gin.Context) {
	_, cs, ok := s.customer(c)
	if !ok {
		return
	}
	d := s.desk
	if !sameOrigin(c) {
		s.fail(c, models.Errorf(models.EFORBIDDEN, "cross-site request refused"))
		return
	}
	ip := c.ClientIP()
	if s.limiter.Blocked("code:" + ip) {
		s.fail(c, models.Errorf(models.ERATELIMIT, "too many attempts; wait a minute"))
		return
	}
	var req struct {
		Code string `json:"code"`
	}
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if err := d.VerifyCode(c.Request.Context(), cs.ID, req.Code); err != nil {
		s.limiter.Fail("code:" + ip)
		s.log.WarnContext(c.Request.Context(), "email code refused", "case_id", cs.ID, "code", models.ErrorCodeOf(err), "ip", ip)
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"verified": true})
}

func (s *Server) customerUploadLetter(c *gin.Context) {
	sess, cs, ok := s.customer(c)
	if !ok {
		return
	}
	d := s.desk
	if !sameOrigin(c) {
		s.fail(c, models.Errorf(models.EFORBIDDEN, "cross-site request refused"))
		return
	}
	data, err := readUpload(c, "image/jpeg", "image/png", "application/pdf")
	if err != nil {
		s.fail(c, err)
		return
	}
	l, err := d.CustomerUploadLetter(c.Request.Context(), cs.ID, verify.CustomerActor(sess.ID), data)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"id": l.ID, "content_type": l.ContentType})
}

func (s *Server) mailInvite(c *gin.Context) {
	d := s.desk
	inv, m, err := d.MailInvite(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"invite_id": inv.ID, "not_before": inv.NotBefore, "not_after": inv.NotAfter,
		"mail": gin.H{"id": m.ID, "to": m.To, "message_id": m.MessageID}})
}
