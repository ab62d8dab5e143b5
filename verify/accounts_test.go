package verify_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
	"remoteidv/verify"
)

// flagChecker flags the photos whose bytes are bad.
type flagChecker struct{ bad []byte }

func (c flagChecker) CheckReference(_ context.Context, img []byte) (string, error) {
	if bytes.Equal(img, c.bad) {
		return "face image rejected: NO_FACE", nil
	}
	return "", nil
}

// cancelAfter cancels its context when the import checks the nth photo.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) CheckReference(context.Context, []byte) (string, error) {
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return "", nil
}

func TestImportRunRecorded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	good, flagged := pngBytes(t, 64, 64), pngBytes(t, 48, 48)
	images := fstest.MapFS{"p.png": {Data: good}, "f.png": {Data: flagged}, "s.png": {Data: pngBytes(t, 80, 30)}}
	f.clock.t = f.clock.t.Add(time.Minute)
	started := f.clock.t
	rows := csvHead +
		"12345678,Ann Lee,A1234567,ann@example.com,+44,Europe/London,en,p.png;f.png,s.png\n" +
		"12345679,Bad Zone,A1234567,b@example.com,+44,Nowhere/City,en,p.png,s.png\n" +
		"12345680,Bo Li,A1234567,bo@example.com,+44,Europe/London,en,p.png,s.png\n"
	rep, err := f.accounts.ImportFrom(ctx, "cli", "accounts.csv", strings.NewReader(rows), images, flagChecker{bad: flagged})
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []verify.ImportRow{
		{Line: 2, AccountNo: "12345678", Problems: []string{"f.png: face image rejected: NO_FACE"}},
		{Line: 3, AccountNo: "12345679", Error: `time zone "Nowhere/City" is not an IANA zone name such as America/New_York`},
		{Line: 4, AccountNo: "12345680"},
	}
	if rep.Imported != 2 || rep.Failed != 1 || rep.Flagged != 1 || rep.Run == "" {
		t.Fatalf("ImportFrom = %+v, want 2 imported (1 flagged), 1 failed, a run ID", rep)
	}
	var runs []*models.ImportRun
	var total int
	var events []*models.AuditEvent
	err = f.g.Store.Transact(ctx, func(tx models.Tx) (err error) {
		if runs, total, err = tx.ImportRuns(ctx, 10, 0); err != nil {
			return err
		}
		events, err = tx.AuditEvents(ctx, models.AuditFilter{Limit: 1000})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's own import is the older run.
	if total != 2 || len(runs) != 2 {
		t.Fatalf("ImportRuns = %d runs of %d, want 2", len(runs), total)
	}
	want := &models.ImportRun{ID: rep.Run, StartedAt: started, FinishedAt: started, Actor: "cli", Source: "accounts.csv",
		Imported: 2, Failed: 1, Flagged: 1, Rows: wantRows}
	if diff := cmp.Diff(want, runs[0]); diff != "" {
		t.Errorf("recorded run (-want +got):\n%s", diff)
	}
	if runs[1].Source != verify.DefaultImportSource || runs[1].Actor != "system" {
		t.Errorf("fixture's run = %+v, want source %q by system", runs[1], verify.DefaultImportSource)
	}
	last := events[len(events)-1]
	wantDetail := map[string]string{"run": string(rep.Run), "source": "accounts.csv", "imported": "2", "failed": "1", "flagged": "1"}
	if last.Action != "accounts.import_run" || last.Actor != "cli" || !cmp.Equal(last.Detail, wantDetail) {
		t.Errorf("last audit event = %s by %s %v, want accounts.import_run by cli %v", last.Action, last.Actor, last.Detail, wantDetail)
	}
}

// An import stopped halfway (Ctrl-C) is still recorded, with the rows it
// got to.
func TestImportRunRecordedWhenCancelled(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	images := fstest.MapFS{"p.png": {Data: pngBytes(t, 64, 64)}, "s.png": {Data: pngBytes(t, 80, 30)}}
	rows := csvHead +
		"12345678,Ann Lee,A1234567,ann@example.com,+44,Europe/London,en,p.png,s.png\n" +
		"12345680,Bo Li,A1234567,bo@example.com,+44,Europe/London,en,p.png,s.png\n"
	f.clock.t = f.clock.t.Add(time.Minute)
	rep, err := f.accounts.ImportFrom(ctx, "cli", "big.csv", strings.NewReader(rows), images, &cancelAfter{n: 1, cancel: cancel})
	if err == nil || rep == nil || len(rep.Rows) != 1 || rep.Run == "" {
		t.Fatalf("ImportFrom(cancelled) = %+v, %v; want one row, a run and the context's error", rep, err)
	}
	var runs []*models.ImportRun
	err = f.g.Store.Transact(context.Background(), func(tx models.Tx) (err error) { runs, _, err = tx.ImportRuns(context.Background(), 1, 0); return })
	if err != nil || len(runs) != 1 || runs[0].ID != rep.Run || len(runs[0].Rows) != 1 {
		t.Fatalf("ImportRuns after a cancelled import = %+v, %v; want the run with its one row", runs, err)
	}
}

// enrollChecker is a ReferenceEnroller: it flags the bad photo and gives
// every other one a descriptor for its model hash.
type enrollChecker struct {
	flagChecker
	hash string
}

func (c enrollChecker) EnrollReference(ctx context.Context, img []byte) (string, *models.FaceReference, error) {
	if p, err := c.CheckReference(ctx, img); p != "" || err != nil {
		return p, nil, err
	}
	return "", &models.FaceReference{ModelHash: c.hash, Descriptor: make([]byte, 512)}, nil
}

// A checker that computes descriptors enrolls the account at import.
func TestImportEnrollsReferences(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	flagged := pngBytes(t, 48, 48)
	images := fstest.MapFS{"a.png": {Data: pngBytes(t, 64, 64)}, "b.png": {Data: pngBytes(t, 56, 56)}, "f.png": {Data: flagged}, "s.png": {Data: pngBytes(t, 80, 30)}}
	hash := strings.Repeat("ab", 32)
	rep, err := f.accounts.Import(ctx, "cli", strings.NewReader(csvHead+
		"12345678,Ann Lee,A1234567,ann@example.com,+44,Europe/London,en,a.png;f.png;b.png,s.png\n"), images, enrollChecker{flagChecker{bad: flagged}, hash})
	if err != nil || rep.Imported != 1 || rep.Flagged != 1 {
		t.Fatalf("Import = %+v, %v; want 1 imported, flagged", rep, err)
	}
	var st []*models.AccountStatus
	err = f.g.Store.Transact(ctx, func(tx models.Tx) (err error) {
		st, _, err = tx.AccountStatuses(ctx, models.AccountStatusFilter{ModelHash: hash, Limit: 10})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's account (imported without a checker) is not enrolled.
	if len(st) != 2 || st[0].No != "12345678" || st[0].Photos != 3 || st[0].Flagged != 1 || st[0].Enrolled != 2 || st[1].Enrolled != 0 {
		t.Fatalf("AccountStatuses = %+v, %+v; want Ann Lee's two usable photos enrolled", st[0], st[1:])
	}
}

// TestImportHolderNameAlt: the optional last column holder_name_alt gives
// the holder's name in the other script; files without it still import,
// and a header that names it wrongly or adds more is refused.
func TestImportHolderNameAlt(t *testing.T) {
	ctx := context.Background()
	images := fstest.MapFS{"p.png": {Data: pngBytes(t, 64, 64)}, "s.png": {Data: pngBytes(t, 80, 30)}}
	const head = "account_no,holder_name,national_id,email,phone,time_zone,language,photos,signature"
	tests := []struct {
		name    string
		csv     string
		wantAlt map[models.AccountNo]string // "" for none; nil when the header is refused
		failed  int
	}{
		{"with the column", head + ",holder_name_alt\n" +
			"12345678,Ann Lee,A1234567,ann@example.com,+44,Europe/London,en,p.png,s.png,李安\n" +
			"12345679,王军,A1234567,wj@example.com,+44,Europe/London,zh-CN,p.png,s.png,Wang Jun\n" +
			"12345680,Bo Li,A1234567,bo@example.com,+44,Europe/London,en,p.png,s.png,\n" +
			"12345681,Same Name,A1234567,sn@example.com,+44,Europe/London,en,p.png,s.png,Same Name\n" +
			"12345682,Too Long,A1234567,tl@example.com,+44,Europe/London,en,p.png,s.png," + strings.Repeat("长", 70) + "\n",
			map[models.AccountNo]string{"12345678": "李安", "12345679": "Wang Jun", "12345680": "", "12345681": ""}, 1},
		{"without it", head + "\n12345678,Ann Lee,A1234567,ann@example.com,+44,Europe/London,en,p.png,s.png\n",
			map[models.AccountNo]string{"12345678": ""}, 0},
		{"misnamed", head + ",name_zh\n12345678,Ann Lee,A1234567,ann@example.com,+44,Europe/London,en,p.png,s.png,李安\n", nil, 0},
		{"one too many", head + ",holder_name_alt,x\n12345678,Ann Lee,A1234567,ann@example.com,+44,Europe/London,en,p.png,s.png,李安,x\n", nil, 0},
		{"one too few", "account_no,holder_name,national_id,email,phone,time_zone,language,photos\n", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			rep, err := f.accounts.Import(ctx, "cli", strings.NewReader(tt.csv), images, nil)
			if tt.wantAlt == nil {
				if models.ErrorCodeOf(err) != models.EINVALID {
					t.Fatalf("Import(%s) = %+v, %v; want the header refused", tt.name, rep, err)
				}
				return
			}
			if err != nil || rep.Failed != tt.failed || rep.Imported != len(tt.wantAlt) {
				t.Fatalf("Import(%s) = %+v, %v; want %d imported, %d failed", tt.name, rep, err, len(tt.wantAlt), tt.failed)
			}
			for no, want := range tt.wantAlt {
				var a *models.Account
				err := f.g.Store.Transact(ctx, func(tx models.Tx) (err error) { a, err = tx.AccountByNo(ctx, no); return })
				if err != nil {
					t.Fatalf("account %s after Import(%s): %v", no, tt.name, err)
				}
				if a.HolderNameAlt != want {
					t.Errorf("account %s after Import(%s): second name %q, want %q", no, tt.name, a.HolderNameAlt, want)
				}
			}
		})
	}
}
