package httpapi

import (
	"io"
	"math"
	"mime"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/verify/facematch"
)

// maxImageBody caps photo uploads (the face engine's own cap is 5 MiB).
const maxImageBody = 5<<20 + 1

type checkView struct {
	ID       models.CheckID    `json:"id"`
	Kind     models.CheckKind  `json:"kind"`
	Result   string            `json:"result"`
	Detail   any               `json:"detail"`
	Evidence models.EvidenceID `json:"evidence_id,omitempty"`
	// Source says where a face check's image came from: live_call (a frame
	// the server took in the recorded call; with its call, segment and
	// media time) or upload (a clerk's photo, which never counts).
	Source       models.CheckSource `json:"source,omitempty"`
	Call         models.CallID      `json:"call_id,omitempty"`
	Segment      int                `json:"segment,omitempty"`
	MediaMS      *int64             `json:"media_ms,omitempty"`
	Actor        string             `json:"actor"`
	CreatedAt    time.Time          `json:"created_at"`
	Confirmation string             `json:"confirmation,omitempty"`
	ConfirmedBy  string             `json:"confirmed_by,omitempty"`
	ConfirmedAt  *time.Time         `json:"confirmed_at,omitempty"`
	Note         string             `json:"note,omitempty"`
}

func viewCheck(c *models.Check) checkView {
	v := checkView{ID: c.ID, Kind: c.Kind, Result: string(c.Result), Detail: jsonRaw(c.Detail), Evidence: c.Evidence, Source: c.Source, Call: c.Call,
		Segment: c.Segment, Actor: c.Actor, CreatedAt: c.CreatedAt, Confirmation: c.Confirmation, ConfirmedBy: c.ConfirmedBy,
		ConfirmedAt: c.ConfirmedAt, Note: c.Note}
	if c.Source == models.SourceLiveCall {
		ms := c.MediaMS
		v.MediaMS = &ms
	}
	return v
}

type jsonRaw []byte

func (j jsonRaw) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	return j, nil
}

func (s *Server) faceCheck(c *gin.Context) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "image/jpeg" && mt != "image/png" {
		s.fail(c, models.Errorf(models.EUNSUPPORTED, "send the photo as the body with Content-Type image/jpeg or image/png"))
		return
	}
	img, err := io.ReadAll(c.Request.Body)
	if err != nil {
		s.fail(c, err)
		return
	}
	if len(img) == 0 {
		s.fail(c, models.Errorf(models.EINVALID, "the body is empty"))
		return
	}
	fc, err := s.verify.RunFaceCheck(c.Request.Context(), actor(c), models.CaseID(c.Param("id")), img)
	if err != nil {
		s.fail(c, err)
		return
	}
	res := fc.Match
	body := gin.H{
		"check":        viewCheck(fc.Check),
		"source":       fc.Check.Source,
		"decision":     res.Decision,
		"status":       res.Status,
		"threshold":    res.Threshold,
		"references":   res.References,
		"expected_fmr": res.ExpectedFMR,
		"quality":      res.Quality,
		"counts":       false,
		"note":         "an uploaded photo is a comparison aid: it never meets the face-match requirement; only a live capture taken in the recorded call does",
	}
	if !math.IsInf(res.Distance, 0) {
		body["distance"] = res.Distance
	}
	if res.Status != facematch.StatusOK {
		body["detail"] = res.Detail
	}
	c.JSON(http.StatusCreated, body)
}

func (s *Server) listChecks(c *gin.Context) {
	checks, err := s.verify.Checks(c.Request.Context(), actor(c), models.CaseID(c.Param("id")))
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]checkView, 0, len(checks))
	for _, ch := range checks {
		out = append(out, viewCheck(ch))
	}
	c.JSON(http.StatusOK, gin.H{"checks": out})
}

type confirmRequest struct {
	Confirmed *bool  `json:"confirmed"`
	Note      string `json:"note"`
}

func (s *Server) confirmCheck(c *gin.Context) {
	var req confirmRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if req.Confirmed == nil {
		s.fail(c, models.Errorf(models.EINVALID, "confirmed (true or false) is required"))
		return
	}
	chk, err := s.verify.ConfirmFace(c.Request.Context(), actor(c), models.CaseID(c.Param("id")), models.CheckID(c.Param("check")), *req.Confirmed, req.Note)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewCheck(chk))
}
