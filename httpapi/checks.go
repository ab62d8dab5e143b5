package httpapi

import (
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/verify"
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
	// Who and ConfirmedByWho are Actor and ConfirmedBy as people read
	// them, AtBranch CreatedAt in the branch's zone (the narrator, record.go).
	Who            string `json:"who,omitempty"`
	ConfirmedByWho string `json:"confirmed_by_who,omitempty"`
	AtBranch       string `json:"at_branch,omitempty"`
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

func (s *Server) faceCheck(c *gin.Context) error {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "image/jpeg" && mt != "image/png" {
		return models.Errorf(models.EUNSUPPORTED, "send the photo as the body with Content-Type image/jpeg or image/png")
	}
	img, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return err
	}
	if len(img) == 0 {
		return models.Errorf(models.EINVALID, "the body is empty")
	}
	fc, err := s.verify.RunFaceCheck(c.Request.Context(), actor(c), models.CaseID(c.Param("id")), img)
	if err != nil {
		return err
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
	return nil
}

func (s *Server) listChecks(c *gin.Context) error {
	checks, err := s.verify.Checks(c.Request.Context(), actor(c), models.CaseID(c.Param("id")))
	if err != nil {
		return err
	}
	n := s.narrator(c.Request.Context(), s.pageLang(c))
	out := make([]checkView, 0, len(checks))
	for _, ch := range checks {
		v := viewCheck(ch)
		v.Who, v.AtBranch = n.party(ch.Actor, "check."+string(ch.Kind)).Name, n.at(ch.CreatedAt)
		if ch.ConfirmedBy != "" {
			v.ConfirmedByWho = n.party(ch.ConfirmedBy, "check.face_confirmed").Name
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"checks": out})
	return nil
}

type confirmRequest struct {
	Confirmed *bool  `json:"confirmed"`
	Note      string `json:"note"`
}

func (s *Server) confirmCheck(c *gin.Context) error {
	var req confirmRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Confirmed == nil {
		return models.Errorf(models.EINVALID, "confirmed (true or false) is required")
	}
	chk, err := s.verify.ConfirmFace(c.Request.Context(), actor(c), models.CaseID(c.Param("id")), models.CheckID(c.Param("check")), *req.Confirmed, req.Note)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, viewCheck(chk))
	return nil
}

// referencePhoto sends the n-th reference photo of the case's account
// (from account opening), for the clerk's and the supervisor's side-by-side
// comparison with the live capture. Every view is audited, like the
// specimen's.
func (s *Server) referencePhoto(c *gin.Context) error {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil {
		return models.Errorf(models.EINVALID, "n must be the photo's index: 0, 1, ...")
	}
	img, err := s.verify.ReferencePhoto(c.Request.Context(), actor(c), models.CaseID(c.Param("id")), n)
	if err != nil {
		return err
	}
	sendFile(c, img.ContentType, "", img.Data)
	return nil
}

func (s *Server) signatureCheck(c *gin.Context) error {
	d := s.desk
	var req struct {
		Letter  models.LetterID `json:"letter_id"`
		Region  verify.Region   `json:"region"`
		Verdict string          `json:"verdict"`
		Reason  string          `json:"reason"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	chk, err := d.RecordSignature(c.Request.Context(), actor(c), caseID(c), verify.SignatureInput{Letter: req.Letter, Region: req.Region, Verdict: req.Verdict, Reason: req.Reason})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, viewCheck(chk))
	return nil
}

func (s *Server) registryCheck(c *gin.Context) error {
	d := s.desk
	rc, err := d.RunRegistryCheck(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		return err
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
	return nil
}

// faceCalibrate calibrates from the enrolled accounts on demand.
func (s *Server) faceCalibrate(c *gin.Context) error {
	if _, err := s.verify.Calibrator().CalibrateFaces(c.Request.Context(), actor(c).Name); err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.verify.FaceReport(c.Request.Context()))
	return nil
}

// faceReport is the face engine's settings and calibration, for admins.
func (s *Server) faceReport(c *gin.Context) error {
	c.JSON(http.StatusOK, s.verify.FaceReport(c.Request.Context()))
	return nil
}
