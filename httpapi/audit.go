package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/audit"
	"remoteidv/models"
)

// The audit trail, for auditors (and admins for its verification):
// events, the chain's verification, signed checkpoints and consistency
// proofs.

func (s *Server) auditEvents(c *gin.Context) error {
	after, err := intQuery(c, "after_seq", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := intQuery(c, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	evs, err := s.verify.AuditEvents(c.Request.Context(), models.AuditFilter{AfterSeq: int64(after), Limit: limit, CaseID: models.CaseID(c.Query("case_id"))})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"events": s.narrator(c.Request.Context(), s.pageLang(c)).views(evs, "")})
	return nil
}

func (s *Server) auditVerify(c *gin.Context) error {
	ctx := c.Request.Context()
	rep, err := s.verify.VerifyAudit(ctx, s.cfg.AuditKey)
	if err != nil {
		return err
	}
	problems := make([]string, 0, len(rep.Problems))
	for _, p := range rep.Problems {
		problems = append(problems, p.String())
	}
	pc := s.verify.CheckPublished(ctx, s.cfg.AuditKey)
	pub := publishedView{OK: pc.OK, Notes: pc.Notes, Newest: pc.Newest, Problem: pc.Problem}
	out := gin.H{"ok": rep.OK() && pub.OK, "events": rep.Events, "checkpoints": rep.Checkpoints, "head_seq": rep.Head.Seq, "head_hash": rep.Head.Hash,
		"tree_size": rep.TreeSize, "root_hash": rep.Root, "latest_checkpoint": nil, "problems": problems, "published": pub,
		"key_id": audit.KeyID(s.cfg.AuditKey), "key_fingerprint": audit.Fingerprint(s.cfg.AuditKey)}
	if cp := rep.Latest; cp != nil {
		out["latest_checkpoint"] = checkpointView{TreeSize: cp.Seq, RootHash: cp.Root, HeadHash: cp.Hash, At: cp.At, KeyID: cp.KeyID, Note: cp.Note}
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// publishedView is the check of the checkpoint notes published to the
// write-once evidence store (verify.PublishedCheck).
type publishedView struct {
	OK      bool   `json:"ok"`
	Notes   int    `json:"notes"`  // notes that the log still matches
	Newest  int64  `json:"newest"` // the largest size among them
	Problem string `json:"problem,omitempty"`
}

// checkpointView is a signed checkpoint as auditors read it; Note is the
// C2SP signed note that audit.OpenCheckpointNote verifies.
type checkpointView struct {
	TreeSize int64     `json:"tree_size"`
	RootHash string    `json:"root_hash"` // hex
	HeadHash string    `json:"head_hash"` // the chain hash of event tree_size
	At       time.Time `json:"at"`
	KeyID    string    `json:"key_id"`
	Note     string    `json:"note"`
}

// auditCheckpointLatest answers the newest signed checkpoint note as text,
// exactly as signed, for auditors to keep and compare later.
func (s *Server) auditCheckpointLatest(c *gin.Context) error {
	cp, err := s.verify.LatestCheckpoint(c.Request.Context())
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(cp.Note))
	return nil
}

// auditConsistency answers the proof that the newest checkpoint's log
// extends the log of size "from" (the size of a checkpoint the auditor
// kept), for audit.VerifyNewer.
func (s *Server) auditConsistency(c *gin.Context) error {
	from, err := intQuery(c, "from", 0, 1, 1<<62)
	if err != nil {
		return err
	}
	if from == 0 {
		return models.Errorf(models.EINVALID, "from (the size of the checkpoint you hold) is required")
	}
	cp, proof, err := s.verify.ConsistencyProof(c.Request.Context(), int64(from))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"from": from, "to": cp.Seq, "checkpoint": cp.Note, "proof": proof})
	return nil
}
