package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/signaling/replay"
)

var evidenceReader = []models.Role{models.RoleSupervisor, models.RoleAuditor}

type evidenceView struct {
	ID          models.EvidenceID   `json:"id"`
	Kind        models.EvidenceKind `json:"kind"`
	Key         string              `json:"key"`
	SHA256      string              `json:"sha256"`
	Size        int64               `json:"size"`
	ContentType string              `json:"content_type"`
	Actor       string              `json:"actor"`
	CreatedAt   time.Time           `json:"created_at"`
	ArchivedAt  *time.Time          `json:"archived_at,omitempty"`
	VersionID   string              `json:"version_id,omitempty"`
	RetainUntil *time.Time          `json:"retain_until,omitempty"`
	Attempts    int                 `json:"attempts"`
	LastError   string              `json:"last_error,omitempty"`
	ExpiredAt   *time.Time          `json:"expired_at,omitempty"` // deleted from the store after its retention
	// Who stored the item, as people read it; ArchivedAtBranch is
	// ArchivedAt in the branch's zone (the narrator, record.go).
	Who              string `json:"who"`
	ArchivedAtBranch string `json:"archived_at_branch,omitempty"`
}

func (s *Server) listEvidence(c *gin.Context) error {
	items, err := s.verify.EvidenceList(c.Request.Context(), actor(c), models.CaseID(c.Param("id")))
	if err != nil {
		return err
	}
	n := s.narrator(c.Request.Context(), s.pageLang(c))
	out := make([]evidenceView, 0, len(items))
	for _, e := range items {
		v := evidenceView{ID: e.ID, Kind: e.Kind, Key: e.Key, SHA256: e.SHA256, Size: e.Size, ContentType: e.ContentType,
			Actor: e.Actor, CreatedAt: e.CreatedAt, ArchivedAt: e.ArchivedAt, VersionID: e.VersionID, RetainUntil: e.RetainUntil,
			Attempts: e.Attempts, LastError: e.LastError, ExpiredAt: e.ExpiredAt, Who: n.party(e.Actor, "evidence."+string(e.Kind)).Name}
		if e.ArchivedAt != nil {
			v.ArchivedAtBranch = n.at(*e.ArchivedAt)
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"case_id": c.Param("id"), "evidence": out})
	return nil
}

// downloadEvidence streams one item. The last chunk is held back until
// the whole item has hashed to its recorded SHA-256, so a client never
// receives a complete tampered file: on a mismatch the connection is cut
// and a security alert logged.
func (s *Server) downloadEvidence(c *gin.Context) error {
	ctx := c.Request.Context()
	r, e, err := s.verify.OpenEvidence(ctx, actor(c), models.CaseID(c.Param("id")), models.EvidenceID(c.Param("evidence")))
	if err != nil {
		return err
	}
	defer r.Close()
	h := c.Writer.Header()
	contentHeaders(h, e.ContentType, "")
	// A download, whatever it holds (the pages show captures through
	// <img>, which ignores the disposition).
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": string(e.Kind) + "-" + e.SHA256}))
	h.Set("Content-Length", strconv.FormatInt(e.Size, 10))
	h.Set("X-Content-SHA256", e.SHA256)
	c.Status(http.StatusOK)
	if err := copyHeld(c.Writer, r); err != nil {
		s.abortStream(c, "evidence download", err)
	}
	return nil
}

// previewEvidence answers the first page of a PDF item as a PNG, for the
// auditor's page; X-Source-SHA256 names the file the picture shows.
func (s *Server) previewEvidence(c *gin.Context) error {
	b, e, err := s.verify.EvidencePreview(c.Request.Context(), actor(c), models.CaseID(c.Param("id")), models.EvidenceID(c.Param("evidence")))
	if err != nil {
		return err
	}
	c.Header("X-Source-SHA256", e.SHA256)
	c.Header("Cache-Control", "private, no-store")
	c.Data(http.StatusOK, "image/png", b)
	return nil
}

// playRecording streams a recorded video segment as WebM (remuxed, not
// re-encoded) for the page's player; the source is re-hashed while read,
// and its recorded hash is in X-Source-SHA256.
func (s *Server) playRecording(c *gin.Context) error {
	ctx := c.Request.Context()
	r, e, err := s.verify.OpenRecording(ctx, actor(c), models.CaseID(c.Param("id")), models.EvidenceID(c.Param("evidence")))
	if err != nil {
		return err
	}
	defer r.Close()
	h := c.Writer.Header()
	contentHeaders(h, replay.ContentType, "recording-"+e.SHA256+".webm")
	h.Set("X-Source-SHA256", e.SHA256)
	w := &lazyWriter{c: c}
	if _, err := replay.IVFToWebM(w, r); err != nil {
		if !w.started {
			switch {
			case models.ErrorCodeOf(err) == models.ECONFLICT: // the stored bytes do not hash to the record
				s.log.ErrorContext(ctx, "SECURITY ALERT: evidence does not match its recorded hash", "what", "recording playback",
					"route", c.FullPath(), "case_id", c.Param("id"), "request_id", requestID(c), "err", err)
			case errors.Is(err, replay.ErrNotIVF) || errors.Is(err, replay.ErrUnsupported) || errors.Is(err, replay.ErrNoKeyFrame):
				err = models.Errorf(models.EUNSUPPORTED, "recording %s cannot be played: %v", e.ID, err)
			}
			return err
		}
		s.abortStream(c, "recording playback", err)
	}
	return nil
}

func (s *Server) downloadBundle(c *gin.Context) error {
	id := c.Param("id")
	h := c.Writer.Header()
	contentHeaders(h, "application/zip", "evidence-"+id+".zip")
	w := &lazyWriter{c: c}
	if err := s.verify.WriteBundle(c.Request.Context(), actor(c), models.CaseID(id), w); err != nil {
		if !w.started {
			h.Del("Content-Disposition")
			return err
		}
		s.abortStream(c, "evidence bundle", err)
	}
	return nil
}

// abortStream ends a response whose body is already under way: a
// mismatch with the recorded hash is a security alert.
func (s *Server) abortStream(c *gin.Context, what string, err error) {
	if models.ErrorCodeOf(err) == models.ECONFLICT {
		s.log.ErrorContext(c.Request.Context(), "SECURITY ALERT: evidence does not match its recorded hash", "what", what,
			"route", c.FullPath(), "case_id", c.Param("id"), "request_id", requestID(c), "err", err)
	} else {
		s.log.WarnContext(c.Request.Context(), what+" interrupted", "case_id", c.Param("id"), "request_id", requestID(c), "err", err)
	}
	panic(http.ErrAbortHandler)
}

// lazyWriter sends the status line only with the first byte, so errors
// before any output still get a JSON error answer.
type lazyWriter struct {
	c       *gin.Context
	started bool
}

func (w *lazyWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.started = true
		w.c.Status(http.StatusOK)
	}
	return w.c.Writer.Write(p)
}

// copyHeld copies r to w, always holding back the latest chunk until the
// next read succeeds: an error reported with the end of the data (a hash
// mismatch) keeps the final bytes from the client.
func copyHeld(w io.Writer, r io.Reader) error {
	buf := make([]byte, 64<<10)
	held := make([]byte, 0, 64<<10)
	for {
		n, err := r.Read(buf)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if n > 0 {
			if len(held) > 0 {
				if _, werr := w.Write(held); werr != nil {
					return werr
				}
			}
			held = append(held[:0], buf[:n]...)
		}
		if errors.Is(err, io.EOF) {
			if len(held) > 0 {
				if _, werr := w.Write(held); werr != nil {
					return werr
				}
			}
			return nil
		}
	}
}

type legalHoldRequest struct {
	On     *bool  `json:"on"`
	Reason string `json:"reason"`
}

// setLegalHold: admins only, after a step-up within the last 5 minutes.
func (s *Server) setLegalHold(c *gin.Context) error {
	var req legalHoldRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.On == nil || req.Reason == "" {
		return models.Errorf(models.EINVALID, "on (true or false) and a reason are required")
	}
	if !s.access.SteppedUp(principal(c)) {
		return models.Errorf(models.EPRECONDITION, "re-enter your password (POST /api/auth/step-up) within 5 minutes before changing a legal hold")
	}
	err := s.verify.SetLegalHold(c.Request.Context(), actor(c), models.CaseID(c.Param("id")), models.EvidenceID(c.Param("evidence")), *req.On, req.Reason)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"evidence": c.Param("evidence"), "legal_hold": *req.On})
	return nil
}
