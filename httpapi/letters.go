package httpapi

import (
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/verify"
)

// maxLetterBody caps letter uploads (verify.MaxLetterBytes plus one byte,
// so an oversized file is seen as such).
const maxLetterBody = verify.MaxLetterBytes + 1

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

func (s *Server) uploadLetter(c *gin.Context) error {
	d := s.desk
	data, err := readUpload(c, "image/jpeg", "image/png", "application/pdf")
	if err != nil {
		return err
	}
	l, err := d.UploadLetter(c.Request.Context(), actor(c), caseID(c), data)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, viewLetter(l))
	return nil
}

func (s *Server) listLetters(c *gin.Context) error {
	d := s.desk
	ls, err := d.Letters(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		return err
	}
	out := make([]letterView, 0, len(ls))
	for _, l := range ls {
		out = append(out, viewLetter(l))
	}
	c.JSON(http.StatusOK, gin.H{"letters": out})
	return nil
}

// uploadedCSP is the policy of every answer carrying stored bytes: a
// document opened from it runs in a sandbox (an opaque origin: no script,
// no plugin, no form, no access to the app's cookies or pages) and may
// load nothing.
const uploadedCSP = "sandbox; default-src 'none'"

// contentHeaders sets the headers of an answer carrying bytes that came
// from outside the service or are kept as evidence (letters, photos,
// captures, recordings, bundles, statements): its type as stored, never
// sniffed, never cached, the sandboxing policy, and a disposition that
// lets only a JPEG or PNG image show inline (for the pages' <img>); all
// else, a PDF letter above all, is a download, so nothing in it runs on
// the app's origin even when opened from a link.
func contentHeaders(h http.Header, ct, name string) {
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", uploadedCSP)
	h.Set("Cache-Control", "no-store")
	disposition := "attachment"
	if ct == "image/png" || ct == "image/jpeg" {
		disposition = "inline"
	}
	var params map[string]string
	if name != "" {
		params = map[string]string{"filename": name}
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, params))
}

// fileName is a download's name: what, with the extension of ct.
func fileName(what, ct string) string {
	switch ct {
	case "image/png":
		return what + ".png"
	case "image/jpeg":
		return what + ".jpg"
	case "application/pdf":
		return what + ".pdf"
	}
	return what
}

// sendFile answers with stored bytes (contentHeaders).
func sendFile(c *gin.Context, ct, name string, b []byte) {
	contentHeaders(c.Writer.Header(), ct, name)
	c.Data(http.StatusOK, ct, b)
}

func (s *Server) letterContent(c *gin.Context) error {
	d := s.desk
	b, ct, err := d.LetterContent(c.Request.Context(), actor(c), caseID(c), models.LetterID(c.Param("letter")))
	if err != nil {
		return err
	}
	sendFile(c, ct, fileName("letter-"+c.Param("letter"), ct), b)
	return nil
}

func (s *Server) letterScope(c *gin.Context) error {
	d := s.desk
	var req struct {
		AccountNo       models.AccountNo `json:"account_no"`
		Service         models.Purpose   `json:"service"`
		PeriodFrom      string           `json:"period_from"`
		PeriodTo        string           `json:"period_to"`
		RegisteredEmail *bool            `json:"registered_email"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.RegisteredEmail == nil {
		return models.Errorf(models.EINVALID, "registered_email (true or false) is required")
	}
	l, err := d.RecordLetterScope(c.Request.Context(), actor(c), caseID(c), models.LetterID(c.Param("letter")), models.LetterScope{
		AccountNo: req.AccountNo, Service: req.Service, PeriodFrom: req.PeriodFrom, PeriodTo: req.PeriodTo, RegisteredEmail: *req.RegisteredEmail})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, viewLetter(l))
	return nil
}

// specimen sends the account's signature specimen, for the side-by-side
// comparison with the letter's signature (audited view).
func (s *Server) specimen(c *gin.Context) error {
	d := s.desk
	img, err := d.Specimen(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		return err
	}
	sendFile(c, img.ContentType, "", img.Data)
	return nil
}
