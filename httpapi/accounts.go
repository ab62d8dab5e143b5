package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/verify"
)

// Accounts: the clerk's look-up, and the admin's view of the import runs
// and of the accounts that need attention.

type accountView struct {
	No         string `json:"account_no"` // masked
	Ref        string `json:"ref"`        // the full number, for creating a case
	HolderName string `json:"holder_name"`
	// HolderNameAlt is the name in the other script, when the bank has it.
	HolderNameAlt string `json:"holder_name_alt,omitempty"`
	NationalID    string `json:"national_id"` // masked
	Email         string `json:"email"`
	TimeZone      string `json:"time_zone"`
	Language      string `json:"language"`
	// Flags are the account's open fraud flags, oldest first: whoever
	// opens a new case for it is shown them.
	Flags []flagView `json:"account_flags"`
}

// flagView is a fraud flag as staff see it.
type flagView struct {
	ID          models.FlagID       `json:"id"`
	Category    models.FlagCategory `json:"category"`
	Reason      string              `json:"reason"`
	CaseID      models.CaseID       `json:"case_id"`   // the aborted case that raised it
	RaisedBy    string              `json:"raised_by"` // display name
	RaisedByID  models.StaffID      `json:"raised_by_id"`
	CreatedAt   time.Time           `json:"created_at"`
	ClearedAt   *time.Time          `json:"cleared_at,omitempty"`
	ClearedBy   string              `json:"cleared_by,omitempty"` // display name
	ClearReason string              `json:"clear_reason,omitempty"`
}

func viewFlag(f verify.Flag) flagView {
	return flagView{ID: f.ID, Category: f.Category, Reason: f.Reason, CaseID: f.CaseID, RaisedBy: f.RaisedByName, RaisedByID: f.Actor,
		CreatedAt: f.CreatedAt, ClearedAt: f.ClearedAt, ClearedBy: f.ClearedByName, ClearReason: f.ClearReason}
}

// viewFlags is nil for no flags (absent from a case's answer).
func viewFlags(fs []verify.Flag) []flagView {
	var out []flagView
	for _, f := range fs {
		out = append(out, viewFlag(f))
	}
	return out
}

func viewAccount(a *models.Account) accountView {
	return accountView{No: models.MaskAccountNo(a.No), Ref: string(a.No), HolderName: a.HolderName, HolderNameAlt: a.HolderNameAlt, NationalID: models.MaskNationalID(a.NationalID),
		Email: a.Email, TimeZone: a.TimeZone, Language: a.Language}
}

func (s *Server) searchAccounts(c *gin.Context) error {
	q := strings.TrimSpace(c.Query("q"))
	if len([]rune(q)) < 2 || len(q) > 64 {
		return models.Errorf(models.EINVALID, "q must be 2 to 64 characters")
	}
	limit, err := intQuery(c, "limit", 20, 1, 100)
	if err != nil {
		return err
	}
	accts, err := s.verify.SearchAccounts(c.Request.Context(), q, limit)
	if err != nil {
		return err
	}
	nos := make([]models.AccountNo, 0, len(accts))
	for _, a := range accts {
		nos = append(nos, a.No)
	}
	flags, err := s.verify.OpenFlags(c.Request.Context(), nos...)
	if err != nil {
		return err
	}
	out := make([]accountView, 0, len(accts))
	for _, a := range accts {
		out = append(out, viewAccountFlags(a, flags[a.No]))
	}
	c.JSON(http.StatusOK, gin.H{"accounts": out})
	return nil
}

// viewAccountFlags is the account with its open flags (an empty list when
// none).
func viewAccountFlags(a *models.Account, fs []verify.Flag) accountView {
	v := viewAccount(a)
	v.Flags = make([]flagView, 0, len(fs))
	for _, f := range fs {
		v.Flags = append(v.Flags, viewFlag(f))
	}
	return v
}

func (s *Server) getAccount(c *gin.Context) error {
	a, err := s.verify.Account(c.Request.Context(), models.AccountNo(c.Param("no")))
	if err != nil {
		return err
	}
	flags, err := s.verify.OpenFlags(c.Request.Context(), a.No)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, viewAccountFlags(a, flags[a.No]))
	return nil
}

// clearFlag clears an open fraud flag of the account (a supervisor who did
// not raise it: verify.ClearFlag).
func (s *Server) clearFlag(c *gin.Context) error {
	var req reasonRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	f, err := s.verify.ClearFlag(c.Request.Context(), actor(c), models.AccountNo(c.Param("no")), models.FlagID(c.Param("flag")), req.Reason)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, viewFlag(*f))
	return nil
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

func (s *Server) importRuns(c *gin.Context) error {
	limit, err := intQuery(c, "limit", 10, 1, 100)
	if err != nil {
		return err
	}
	offset, err := intQuery(c, "offset", 0, 0, 1_000_000)
	if err != nil {
		return err
	}
	runs, total, err := s.verify.ImportRuns(c.Request.Context(), limit, offset)
	if err != nil {
		return err
	}
	out := make([]importRunView, 0, len(runs))
	for _, r := range runs {
		out = append(out, viewImportRun(r))
	}
	c.JSON(http.StatusOK, gin.H{"runs": out, "total": total})
	return nil
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

func (s *Server) accountStatuses(c *gin.Context) error {
	f := models.AccountStatusFilter{ModelHash: string(s.verify.ModelHash())}
	switch c.Query("attention") {
	case "", "0", "false":
	case "1", "true":
		f.Attention = true
	default:
		return models.Errorf(models.EINVALID, "attention must be 1 or 0")
	}
	var err error
	if f.Limit, err = intQuery(c, "limit", 50, 1, 200); err != nil {
		return err
	}
	if f.Offset, err = intQuery(c, "offset", 0, 0, 1_000_000); err != nil {
		return err
	}
	list, total, err := s.verify.AccountStatuses(c.Request.Context(), f)
	if err != nil {
		return err
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
	return nil
}
