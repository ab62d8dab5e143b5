package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
	"remoteidv/verify"
	"remoteidv/verify/facematch"
)

// flagChecker flags the reference photos whose bytes are bad, as the face
// engine flags photos without a single usable face.
type flagChecker struct{ bad []byte }

func (c flagChecker) CheckReference(_ context.Context, img []byte) (string, error) {
	if bytes.Equal(img, c.bad) {
		return "face image rejected: NO_FACE", nil
	}
	return "", nil
}

func grayPNG(t testing.TB, side int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 3)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// getJSON fetches path as c, wants 200, and returns the raw body decoded
// into out.
func getJSON(t *testing.T, c *client, path string, out any) string {
	t.Helper()
	var raw json.RawMessage
	if code := c.do("GET", path, nil, &raw); code != 200 {
		t.Fatalf("GET %s = %d %s, want 200", path, code, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return string(raw)
}

// checkSchema fails when v (decoded JSON) has a property the OpenAPI
// schema does not describe or lacks one it requires, following $ref into
// objects and arrays, so the document and the answers stay in step.
func checkSchema(t *testing.T, schemas map[string]any, schema map[string]any, v any, at string) {
	t.Helper()
	if r, ok := schema["$ref"].(string); ok {
		name := strings.TrimPrefix(r, "#/components/schemas/")
		s, ok := schemas[name].(map[string]any)
		if !ok {
			t.Fatalf("%s: schema %s missing", at, name)
		}
		checkSchema(t, schemas, s, v, at)
		return
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		if props == nil {
			return // a free-form map
		}
		for k, pv := range x {
			ps, ok := props[k].(map[string]any)
			if !ok {
				t.Errorf("%s.%s is not in the OpenAPI schema", at, k)
				continue
			}
			checkSchema(t, schemas, ps, pv, at+"."+k)
		}
		req, _ := schema["required"].([]any)
		for _, k := range req {
			if _, ok := x[k.(string)]; !ok {
				t.Errorf("%s lacks %s, which the OpenAPI schema requires", at, k)
			}
		}
	case []any:
		items, _ := schema["items"].(map[string]any)
		for i, it := range x {
			if i == 0 && items != nil {
				checkSchema(t, schemas, items, it, at+"[0]")
			}
		}
	}
}

func openAPISchemas(t *testing.T, e *env) map[string]any {
	t.Helper()
	var doc struct {
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	getJSON(t, e.anon(t), "/api/openapi.json", &doc)
	return doc.Components.Schemas
}

// An import with a bad row and a flagged photo shows in the import runs
// and in the accounts needing attention, with account numbers masked.
func TestAdminImportsAndAccounts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t) // imports Li Wei's account (run 1)
	// Li Wei's photo is enrolled for the running models: ready.
	err := e.store.Transact(ctx, func(tx models.Tx) error {
		imgs, err := tx.AccountImages(ctx, "6222000011112222", models.ImagePhoto)
		if err != nil {
			return err
		}
		return tx.PutFaceReference(ctx, &models.FaceReference{ImageID: imgs[0].ID, ModelHash: string(e.ver.ModelHash()), Descriptor: make([]byte, 512), CreatedAt: e.now})
	})
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Hour)
	good, flagged := grayPNG(t, 40), grayPNG(t, 41)
	rep, err := e.g.Accounts.ImportFrom(ctx, "cli", "branch-7.csv", strings.NewReader(
		"account_no,holder_name,national_id,email,phone,time_zone,language,photos,signature\n"+
			"6222000033334444,Zhang Min,110101199203041111,zhang.min@example.com,+1 416 555 0100,America/Toronto,zh-CN,a.png;b.png,s.png\n"+
			"6222000055556666,Bad Zone,110101199203042222,bad@example.com,+44,Mars/Olympus,en,a.png,s.png\n"),
		fstest.MapFS{"a.png": {Data: good}, "b.png": {Data: flagged}, "s.png": {Data: pngFixture(t)}}, flagChecker{bad: flagged})
	if err != nil || rep.Imported != 1 || rep.Failed != 1 || rep.Flagged != 1 {
		t.Fatalf("import = %+v, %v; want 1 imported (flagged), 1 failed", rep, err)
	}
	admin := e.login(t, "admin")
	schemas := openAPISchemas(t, e)

	type row struct {
		Line      int
		AccountNo string `json:"account_no"`
		Error     string
		Problems  []string
	}
	var runs struct {
		Runs []struct {
			ID                        string
			Actor, Source             string
			Imported, Failed, Flagged int
			StartedAt                 time.Time `json:"started_at"`
			Rows                      []row
		}
		Total int
	}
	raw := getJSON(t, admin, "/api/admin/imports", &runs)
	var generic map[string]any
	_ = json.Unmarshal([]byte(raw), &generic)
	checkSchema(t, schemas, map[string]any{"$ref": "#/components/schemas/ImportRuns"}, generic, "imports")
	if runs.Total != 2 || len(runs.Runs) != 2 {
		t.Fatalf("GET /api/admin/imports: %d runs of %d, want 2", len(runs.Runs), runs.Total)
	}
	r := runs.Runs[0]
	if r.ID != string(rep.Run) || r.Actor != "cli" || r.Source != "branch-7.csv" || r.Imported != 1 || r.Failed != 1 || r.Flagged != 1 || !r.StartedAt.Equal(e.now) {
		t.Errorf("newest run = %+v, want the branch-7.csv run by cli: 1 imported, 1 failed, 1 flagged", r)
	}
	wantRows := []row{
		{Line: 2, AccountNo: "************4444", Problems: []string{"b.png: face image rejected: NO_FACE"}},
		{Line: 3, AccountNo: "************6666", Error: `time zone "Mars/Olympus" is not an IANA zone name such as America/New_York`},
	}
	if diff := cmp.Diff(wantRows, r.Rows); diff != "" {
		t.Errorf("failed and flagged rows of the run (-want +got):\n%s", diff)
	}
	if len(runs.Runs[1].Rows) != 0 || runs.Runs[1].Source != verify.DefaultImportSource {
		t.Errorf("older run = %+v, want the clean fixture import", runs.Runs[1])
	}
	if strings.Contains(raw, "6222000033334444") || strings.Contains(raw, "6222000055556666") {
		t.Errorf("import runs show a full account number: %s", raw)
	}
	// Pages.
	getJSON(t, admin, "/api/admin/imports?limit=1&offset=1", &runs)
	if runs.Total != 2 || len(runs.Runs) != 1 || runs.Runs[0].Source != verify.DefaultImportSource {
		t.Errorf("GET /api/admin/imports?limit=1&offset=1 = %+v, want the older run of 2", runs)
	}

	type status struct {
		AccountNo  string `json:"account_no"`
		HolderName string `json:"holder_name"`
		Photos     int
		Flagged    int
		Problems   []string
		Signature  bool
		Enrolled   int
		Attention  []string
	}
	var accts struct {
		Accounts  []status
		Total     int
		ModelHash string `json:"model_hash"`
	}
	raw = getJSON(t, admin, "/api/admin/accounts", &accts)
	generic = nil
	_ = json.Unmarshal([]byte(raw), &generic)
	checkSchema(t, schemas, map[string]any{"$ref": "#/components/schemas/AccountStatuses"}, generic, "accounts")
	want := []status{
		{AccountNo: "************2222", HolderName: "Li Wei", Photos: 1, Problems: []string{}, Signature: true, Enrolled: 1, Attention: []string{}},
		{AccountNo: "************4444", HolderName: "Zhang Min", Photos: 2, Flagged: 1, Problems: []string{"face image rejected: NO_FACE"}, Signature: true,
			Attention: []string{models.AttentionFlaggedPhoto, models.AttentionNotEnrolled}},
	}
	if diff := cmp.Diff(want, accts.Accounts); diff != "" || accts.Total != 2 || accts.ModelHash != string(facematch.PinnedModelHash()) {
		t.Errorf("GET /api/admin/accounts: total %d, model hash %.8s; accounts (-want +got):\n%s", accts.Total, accts.ModelHash, diff)
	}
	if strings.Contains(raw, "6222000011112222") || strings.Contains(raw, "6222000033334444") {
		t.Errorf("account list shows a full account number: %s", raw)
	}
	getJSON(t, admin, "/api/admin/accounts?attention=1", &accts)
	if diff := cmp.Diff(want[1:], accts.Accounts); diff != "" || accts.Total != 1 {
		t.Errorf("GET /api/admin/accounts?attention=1: total %d; accounts (-want +got):\n%s", accts.Total, diff)
	}
	getJSON(t, admin, "/api/admin/accounts?limit=1&offset=1", &accts)
	if len(accts.Accounts) != 1 || accts.Accounts[0].HolderName != "Zhang Min" || accts.Total != 2 {
		t.Errorf("GET /api/admin/accounts?limit=1&offset=1 = %+v, want Zhang Min of 2", accts)
	}

	for _, bad := range []string{"/api/admin/accounts?attention=maybe", "/api/admin/accounts?limit=0", "/api/admin/accounts?limit=201",
		"/api/admin/accounts?offset=-1", "/api/admin/imports?limit=1000"} {
		if code := admin.do("GET", bad, nil, nil); code != 400 {
			t.Errorf("GET %s = %d, want 400", bad, code)
		}
	}
}

// The face report without and with a calibration file: the admin page
// then says what the calibration expects at the configured threshold.
func TestAdminFaceReport(t *testing.T) {
	e := newEnvWith(t, "sqlite", envOptions{face: verify.FaceConfig{Threshold: 0.36, Recognizers: 4}})
	admin := e.login(t, "admin")
	schemas := openAPISchemas(t, e)

	type report struct {
		Loaded      bool
		Threshold   float64
		Recognizers int
		ModelHash   string `json:"model_hash"`
		Liveness    struct {
			Poses         []string
			WindowSeconds float64 `json:"window_seconds"`
		}
		BLAS struct {
			Libraries []string
		}
		CalibrationFile string              `json:"calibration_file"`
		Operating       facematch.Operating `json:"operating"`
		Calibration     *struct {
			Cohort            string
			People, Photos    int
			Impostors         int     `json:"impostor_pairs"`
			TargetFMR         float64 `json:"target_fmr"`
			ProposedThreshold float64 `json:"proposed_threshold"`
			Supported         bool
			ModelMatches      bool           `json:"model_matches"`
			AtThreshold       *facematch.FMR `json:"at_threshold"`
		}
	}
	var got report
	raw := getJSON(t, admin, "/api/admin/face", &got)
	var generic map[string]any
	_ = json.Unmarshal([]byte(raw), &generic)
	checkSchema(t, schemas, map[string]any{"$ref": "#/components/schemas/FaceReport"}, generic, "face")
	if got.Loaded || got.Threshold != 0.36 || got.Recognizers != 4 || got.ModelHash != string(facematch.PinnedModelHash()) || got.Calibration != nil || got.CalibrationFile != "" ||
		!slices.Equal(got.Liveness.Poses, []string{"left", "right"}) || got.Liveness.WindowSeconds != 60 || len(got.BLAS.Libraries) == 0 {
		t.Errorf("GET /api/admin/face without engine or calibration = %+v", got)
	}

	imp := make([]float64, 8000)
	for i := range imp {
		imp[i] = 0.28 + float64(i)/40000 // 0.28 .. 0.48
	}
	path := filepath.Join(t.TempDir(), "calibration.json")
	if err := facematch.NewCalibration(facematch.PinnedModelHash(), "branch customers 2026", 90, 400, imp, 1e-3, e.now).Save(path); err != nil {
		t.Fatal(err)
	}
	cal, err := facematch.LoadCalibration(path)
	if err != nil {
		t.Fatal(err)
	}
	// The server as started with the calibration file.
	e = newEnvWith(t, "sqlite", envOptions{face: verify.FaceConfig{Threshold: 0.3, CalibrationFile: path, Calibration: cal}})
	admin = e.login(t, "admin")
	got = report{}
	raw = getJSON(t, admin, "/api/admin/face", &got)
	generic = nil
	_ = json.Unmarshal([]byte(raw), &generic)
	checkSchema(t, schemas, map[string]any{"$ref": "#/components/schemas/FaceReport"}, generic, "face")
	c := got.Calibration
	if c == nil || got.CalibrationFile != path || c.Cohort != "branch customers 2026" || c.People != 90 || c.Photos != 400 || c.Impostors != 8000 ||
		c.TargetFMR != 1e-3 || c.ProposedThreshold != cal.ProposedThreshold || !c.Supported || !c.ModelMatches {
		t.Fatalf("GET /api/admin/face calibrated = %+v / %+v", got, c)
	}
	// The calibration supports 1e-3, so the threshold in force follows the
	// target (not the configured 0.3): 8 of the 8,000 impostor pairs match.
	op := got.Operating
	if !op.FromTarget || op.Threshold != cal.ThresholdFor(1e-3) || !op.Weak || !slices.Equal(op.WeakReasons, []string{facematch.WeakFewGenuinePairs}) {
		t.Errorf("operating point = %+v, want the target's threshold, weak for want of genuine pairs", op)
	}
	matches := 0
	for _, d := range imp {
		if d <= op.Threshold {
			matches++
		}
	}
	if f := c.AtThreshold; f == nil || f.Threshold != op.Threshold || f.Matches != matches || matches != 8 || f.Impostors != 8000 || f.Rate != float64(matches)/8000 || f.Upper95 <= f.Rate {
		t.Errorf("expected FMR at the threshold in force = %+v, want %d of 8000 pairs with an upper bound", f, matches)
	}
	if strings.Contains(raw, "tail") {
		t.Errorf("the face report leaks the calibration's distance tail: %.300s", raw)
	}
}
