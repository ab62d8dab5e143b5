package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/audit"
	"remoteidv/models"
)

type accountView struct {
	No         string `json:"account_no"` // masked
	Ref        string `json:"ref"`        // the full number, for creating a case
	HolderName string `json:"holder_name"`
	NationalID string `json:"national_id"` // masked
	Email      string `json:"email"`
	TimeZone   string `json:"time_zone"`
	Language   string `json:"language"`
}

func viewAccount(a *models.Account) accountView {
	return accountView{No: models.MaskAccountNo(a.No), Ref: string(a.No), HolderName: a.HolderName, NationalID: models.MaskNationalID(a.NationalID),
		Email: a.Email, TimeZone: a.TimeZone, Language: a.Language}
}

func (s *Server) searchAccounts(c *gin.Context) {
	q := strings.TrimSpace(c.Query("q"))
	if len([]rune(q)) < 2 || len(q) > 64 {
		s.fail(c, models.Errorf(models.EINVALID, "q must be 2 to 64 characters"))
		return
	}
	limit, err := intQuery(c, "limit", 20, 1, 100)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	var accts []*models.Account
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { accts, err = tx.SearchAccounts(ctx, q, limit); return }); err != nil {
		s.fail(c, err)
		return
	}
	out := make([]accountView, 0, len(accts))
	for _, a := range accts {
		out = append(out, viewAccount(a))
	}
	c.JSON(http.StatusOK, gin.H{"accounts": out})
}

func (s *Server) getAccount(c *gin.Context) {
	ctx := c.Request.Context()
	var a *models.Account
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { a, err = tx.AccountByNo(ctx, models.AccountNo(c.Param("no"))); return }); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewAccount(a))
}

type staffView struct {
	ID          models.StaffID `json:"id"`
	Username    string         `json:"username"`
	DisplayName string         `json:"display_name"`
	Roles       []models.Role  `json:"roles"`
	Disabled    bool           `json:"disabled"`
	CreatedAt   time.Time      `json:"created_at"`
}

func (s *Server) listStaff(c *gin.Context) {
	ctx := c.Request.Context()
	var all []*models.Staff
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { all, err = tx.ListStaff(ctx); return }); err != nil {
		s.fail(c, err)
		return
	}
	out := make([]staffView, 0, len(all))
	for _, st := range all {
		out = append(out, staffView{ID: st.ID, Username: st.Username, DisplayName: st.DisplayName, Roles: st.Roles, Disabled: !st.Active(), CreatedAt: st.CreatedAt})
	}
	c.JSON(http.StatusOK, gin.H{"staff": out})
}

type newStaffRequest struct {
	Username    string   `json:"username"`
	DisplayName string   `json:"display_name"`
	Password    string   `json:"password"`
	Roles       []string `json:"roles"`
}

func (s *Server) createStaff(c *gin.Context) {
	var req newStaffRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	var roles []models.Role
	for _, r := range req.Roles {
		role, err := models.ParseRole(r)
		if err != nil {
			s.fail(c, err)
			return
		}
		roles = append(roles, role)
	}
	st, err := s.access.CreateStaff(c.Request.Context(), principal(c).Actor(), req.Username, req.DisplayName, req.Password, roles)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, staffView{ID: st.ID, Username: st.Username, DisplayName: st.DisplayName, Roles: st.Roles, CreatedAt: st.CreatedAt})
}

func (s *Server) setDisabled(disabled bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principal(c)
		if disabled && c.Param("username") == p.Staff.Username {
			s.fail(c, models.Errorf(models.ECONFLICT, "you cannot disable yourself"))
			return
		}
		ctx := c.Request.Context()
		if err := s.access.SetDisabled(ctx, p.Actor(), c.Param("username"), disabled); err != nil {
			s.fail(c, err)
			return
		}
		if disabled {
			// Their sessions are gone; their live call sockets go now too.
			var st *models.Staff
			err := s.store.Transact(ctx, func(tx models.Tx) (err error) { st, err = tx.StaffByUsername(ctx, c.Param("username")); return })
			if err != nil {
				s.fail(c, err)
				return
			}
			s.call.hub.EndStaff(st.ID, "staff member disabled")
		}
		c.Status(http.StatusNoContent)
	}
}

type newTokenRequest struct {
	Username string `json:"username"`
	Name     string `json:"name"`
}

func (s *Server) createToken(c *gin.Context) {
	var req newTokenRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	raw, tok, err := s.access.CreateToken(c.Request.Context(), principal(c).Actor(), req.Username, req.Name)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"id": tok.ID, "name": tok.Name, "token": raw, "note": "shown once; only its hash is kept"})
}

func (s *Server) auditEvents(c *gin.Context) {
	after, err := intQuery(c, "after_seq", 0, 0, 1<<62)
	if err != nil {
		s.fail(c, err)
		return
	}
	limit, err := intQuery(c, "limit", 100, 1, 1000)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	var evs []*models.AuditEvent
	f := models.AuditFilter{AfterSeq: int64(after), Limit: limit, CaseID: models.CaseID(c.Query("case_id"))}
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { evs, err = tx.AuditEvents(ctx, f); return }); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"events": eventViews(evs)})
}

func (s *Server) auditVerify(c *gin.Context) {
	ctx := c.Request.Context()
	rep, err := audit.VerifyStore(ctx, s.store, s.cfg.AuditKey)
	if err != nil {
		s.fail(c, err)
		return
	}
	problems := make([]string, 0, len(rep.Problems))
	for _, p := range rep.Problems {
		problems = append(problems, p.String())
	}
	pub := s.publishedCheck(ctx)
	out := gin.H{"ok": rep.OK() && pub.OK, "events": rep.Events, "checkpoints": rep.Checkpoints, "head_seq": rep.Head.Seq, "head_hash": rep.Head.Hash,
		"tree_size": rep.TreeSize, "root_hash": rep.Root, "latest_checkpoint": nil, "problems": problems, "published": pub,
		"key_id": audit.KeyID(s.cfg.AuditKey), "key_fingerprint": audit.Fingerprint(s.cfg.AuditKey)}
	if cp := rep.Latest; cp != nil {
		out["latest_checkpoint"] = checkpointView{TreeSize: cp.Seq, RootHash: cp.Root, HeadHash: cp.Hash, At: cp.At, KeyID: cp.KeyID, Note: cp.Note}
	}
	c.JSON(http.StatusOK, out)
}

// publishedView is the check of the checkpoint notes published to the
// write-once evidence store, as `idv audit verify` makes it.
type publishedView struct {
	OK      bool   `json:"ok"`
	Notes   int    `json:"notes"`  // notes that the log still matches
	Newest  int64  `json:"newest"` // the largest size among them
	Problem string `json:"problem,omitempty"`
}

// publishedCheck runs audit.VerifyPublished against the evidence store.
func (s *Server) publishedCheck(ctx context.Context) publishedView {
	n, newest, err := audit.VerifyPublished(ctx, s.store, s.cfg.AuditKey, s.evidence)
	switch {
	case models.ErrorCodeOf(err) == models.ECONFLICT:
		s.log.ErrorContext(ctx, "SECURITY ALERT: the audit log does not match its published checkpoints", "err", err)
		return publishedView{Notes: n, Newest: newest, Problem: models.ErrorMessageOf(err)}
	case err != nil:
		s.log.WarnContext(ctx, "check published checkpoints", "err", err)
		return publishedView{Problem: "the published checkpoints could not be checked: " + models.ErrorMessageOf(err)}
	}
	return publishedView{OK: true, Notes: n, Newest: newest}
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

// latestCheckpoint reads the newest checkpoint that has a note.
func (s *Server) latestCheckpoint(ctx context.Context) (*models.Checkpoint, error) {
	var cps []*models.Checkpoint
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { cps, err = tx.Checkpoints(ctx); return }); err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	if cp := audit.LatestCheckpoint(cps); cp != nil {
		return cp, nil
	}
	return nil, models.Errorf(models.ENOTFOUND, "no signed checkpoint of the audit log yet")
}

// auditCheckpointLatest answers the newest signed checkpoint note as text,
// exactly as signed, for auditors to keep and compare later.
func (s *Server) auditCheckpointLatest(c *gin.Context) {
	cp, err := s.latestCheckpoint(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(cp.Note))
}

// auditConsistency answers the proof that the newest checkpoint's log
// extends the log of size "from" (the size of a checkpoint the auditor
// kept), for audit.VerifyNewer.
func (s *Server) auditConsistency(c *gin.Context) {
	from, err := intQuery(c, "from", 0, 1, 1<<62)
	if err != nil {
		s.fail(c, err)
		return
	}
	if from == 0 {
		s.fail(c, models.Errorf(models.EINVALID, "from (the size of the checkpoint you hold) is required"))
		return
	}
	ctx := c.Request.Context()
	cp, err := s.latestCheckpoint(ctx)
	if err != nil {
		s.fail(c, err)
		return
	}
	if int64(from) > cp.Seq {
		s.fail(c, models.Errorf(models.ECONFLICT, "the newest checkpoint has size %d, smaller than %d: the log you hold is not this one, or it was rolled back", cp.Seq, from))
		return
	}
	var proof []string
	err = s.store.Transact(ctx, func(tx models.Tx) error {
		p, err := audit.ProveConsistency(ctx, tx, int64(from), cp.Seq)
		proof = audit.EncodeTreeProof(p)
		return err
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"from": from, "to": cp.Seq, "checkpoint": cp.Note, "proof": proof})
}

// importRowView is a failed or flagged CSV row of an import run.
type importRowView struct {
	Line      int      `json:"line"`
	AccountNo string   `json:"account_no"` // masked
	Error     string   `json:"error,omitempty"`
	Problems  []string `json:"problems,omitempty"`
}

type importRunView struct {
	ID         models.ImportRunID `json:"id"`
	StartedAt  time.Time          `json:"started_at"`
	FinishedAt time.Time          `json:"finished_at"`
	Actor      string             `json:"actor"`
	Source     string             `json:"source"`
	Imported   int                `json:"imported"`
	Failed     int                `json:"failed"`
	Flagged    int                `json:"flagged"`
	// Rows are the rows that failed or were flagged; good rows are only
	// counted, so a large import stays a small answer.
	Rows []importRowView `json:"rows"`
}

func viewImportRun(r *models.ImportRun) importRunView {
	v := importRunView{ID: r.ID, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Actor: r.Actor, Source: r.Source,
		Imported: r.Imported, Failed: r.Failed, Flagged: r.Flagged, Rows: []importRowView{}}
	for _, row := range r.Rows {
		if row.Error != "" || len(row.Problems) > 0 {
			v.Rows = append(v.Rows, importRowView{Line: row.Line, AccountNo: models.MaskAccountNo(row.AccountNo), Error: row.Error, Problems: row.Problems})
		}
	}
	return v
}

func (s *Server) importRuns(c *gin.Context) {
	limit, err := intQuery(c, "limit", 10, 1, 100)
	if err != nil {
		s.fail(c, err)
		return
	}
	offset, err := intQuery(c, "offset", 0, 0, 1_000_000)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	var runs []*models.ImportRun
	var total int
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { runs, total, err = tx.ImportRuns(ctx, limit, offset); return }); err != nil {
		s.fail(c, err)
		return
	}
	out := make([]importRunView, 0, len(runs))
	for _, r := range runs {
		out = append(out, viewImportRun(r))
	}
	c.JSON(http.StatusOK, gin.H{"runs": out, "total": total})
}

type accountStatusView struct {
	No         string    `json:"account_no"` // masked
	HolderName string    `json:"holder_name"`
	ImportedAt time.Time `json:"imported_at"`
	Photos     int       `json:"photos"`
	Flagged    int       `json:"flagged"`
	Problems   []string  `json:"problems"`
	Signature  bool      `json:"signature"`
	Enrolled   int       `json:"enrolled"`
	// Attention lists why the account needs an admin (models.Attention*);
	// empty when it is ready.
	Attention []string `json:"attention"`
}

func (s *Server) accountStatuses(c *gin.Context) {
	f := models.AccountStatusFilter{ModelHash: string(s.verify.ModelHash())}
	switch c.Query("attention") {
	case "", "0", "false":
	case "1", "true":
		f.Attention = true
	default:
		s.fail(c, models.Errorf(models.EINVALID, "attention must be 1 or 0"))
		return
	}
	var err error
	if f.Limit, err = intQuery(c, "limit", 50, 1, 200); err != nil {
		s.fail(c, err)
		return
	}
	if f.Offset, err = intQuery(c, "offset", 0, 0, 1_000_000); err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	var list []*models.AccountStatus
	var total int
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { list, total, err = tx.AccountStatuses(ctx, f); return }); err != nil {
		s.fail(c, err)
		return
	}
	out := make([]accountStatusView, 0, len(list))
	for _, a := range list {
		v := accountStatusView{No: models.MaskAccountNo(a.No), HolderName: a.HolderName, ImportedAt: a.ImportedAt, Photos: a.Photos, Flagged: a.Flagged,
			Problems: a.Problems, Signature: a.Signature, Enrolled: a.Enrolled, Attention: a.Attention()}
		if v.Problems == nil {
			v.Problems = []string{}
		}
		if v.Attention == nil {
			v.Attention = []string{}
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"accounts": out, "total": total, "model_hash": f.ModelHash})
}

func (s *Server) faceReport(c *gin.Context) {
	c.JSON(http.StatusOK, s.verify.FaceReport(c.Request.Context()))
}
