package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/verify"
	"remoteidv/web"
)

// statementChecksPerMinute is how many statement checks one address (an
// IPv6 /64) may make a minute: a recipient checks a handful, a crawler of
// statement IDs gets nowhere.
const statementChecksPerMinute = 30

// maxStatementUpload caps the PDF a recipient uploads to be checked.
const maxStatementUpload = 20 << 20

// statementCheck is the public page /v/{id} printed on every statement
// (GET: the ID alone, or ?sha256=; POST: the PDF, or a pasted SHA-256, as
// multipart or URL-encoded form). No login; every check counts against the
// caller's address; the answer names nothing personal (verify.CheckStatement).
// A caller that accepts only JSON gets verify.StatementStatus.
func (s *Server) statementCheck(c *gin.Context) error {
	ip := clientAddr(c)
	wantJSON := strings.Contains(c.GetHeader("Accept"), "application/json") && !strings.Contains(c.GetHeader("Accept"), "text/html")
	page := web.StatementCheckPage{Page: s.customerPage(c, "statement-check", "vfy.title", ""), ID: c.Param("statement")}
	if s.checks.Blocked("stm:" + ip) {
		err := models.Errorf(models.ERATELIMIT, "too many statement checks; wait a minute")
		if wantJSON {
			return err
		}
		c.Header("Retry-After", "60")
		page.Error = page.T("vfy.too_many")
		return s.renderStatementCheck(c, http.StatusTooManyRequests, page)
	}
	s.checks.Fail("stm:" + ip)
	sum, err := submittedHash(c)
	var st *verify.StatementStatus
	if err == nil {
		st, err = s.desk.CheckStatement(c.Request.Context(), models.StatementID(c.Param("statement")), sum)
	}
	if err != nil {
		if wantJSON || models.ErrorCodeOf(err) != models.EINVALID {
			return err
		}
		page.Error = page.T("vfy.bad_hash")
		return s.renderStatementCheck(c, http.StatusBadRequest, page)
	}
	if wantJSON {
		c.JSON(http.StatusOK, st)
		return nil
	}
	page.Issued, page.Revoked, page.Checked, page.Match, page.SHA256, page.Document = st.Issued, st.Revoked, st.Checked, st.Match, st.SHA256, string(st.Document)
	if st.IssuedAt != nil {
		page.IssuedAt = st.IssuedAt.UTC().Format(time.DateTime) + " UTC"
	}
	if st.RevokedAt != nil {
		page.RevokedAt = st.RevokedAt.UTC().Format(time.DateTime) + " UTC"
	}
	return s.renderStatementCheck(c, http.StatusOK, page)
}

func (s *Server) renderStatementCheck(c *gin.Context, status int, page web.StatementCheckPage) error {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Status(status)
	if err := s.pages.Render(c.Writer, "statement_check.html", page); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render page", "err", err)
	}
	return nil
}

// submittedHash is the SHA-256 the caller asks about: of the uploaded PDF
// (form file "pdf", hashed as it streams and never kept), else the form's
// or query's "sha256"; "" for none.
func submittedHash(c *gin.Context) (string, error) {
	if c.Request.Method != http.MethodPost {
		return c.Query("sha256"), nil
	}
	if strings.HasPrefix(c.ContentType(), "multipart/form-data") {
		r, err := c.Request.MultipartReader()
		if err != nil {
			return "", models.Errorf(models.EINVALID, "a multipart form with the field pdf or sha256 is expected")
		}
		sum := ""
		for {
			part, err := r.NextPart()
			if errors.Is(err, io.EOF) {
				return sum, nil
			}
			if err != nil {
				return "", models.Errorf(models.EINVALID, "read the form: %v", err)
			}
			switch part.FormName() {
			case "pdf":
				h := sha256.New()
				n, err := io.Copy(h, io.LimitReader(part, maxStatementUpload+1))
				if err != nil {
					return "", models.Errorf(models.EINVALID, "read the uploaded file: %v", err)
				}
				if n > maxStatementUpload {
					return "", models.Errorf(models.ETOOLARGE, "a statement is at most %d MB", maxStatementUpload>>20)
				}
				if n > 0 {
					return hex.EncodeToString(h.Sum(nil)), nil
				}
			case "sha256":
				b, err := io.ReadAll(io.LimitReader(part, 256))
				if err != nil {
					return "", models.Errorf(models.EINVALID, "read the form: %v", err)
				}
				sum = strings.TrimSpace(string(b))
			}
		}
	}
	return c.PostForm("sha256"), nil
}
