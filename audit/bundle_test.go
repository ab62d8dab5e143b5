package audit_test

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"remoteidv/audit"
	"remoteidv/models"
)

// testBundle is a sealed case built in memory: a chain with another case's
// events interleaved, two artifacts, a signed manifest, its seal event
// recording what the bundle must hold, checkpoints before and after it.
type testBundle struct {
	key       ed25519.PrivateKey
	manifest  []byte
	sig       []byte
	events    []*models.AuditEvent // 1..S, S the seal
	artifacts map[string][]byte
	cps       []*models.Checkpoint // of sizes 2 and 5 (before the seal), S and S+1
	proof     []byte               // from S to the checkpoint of S+1
}

// Sizes in the test bundle.
const (
	tbSeal  = 6 // the seal event's seq
	tbProof = 7 // the checkpoint the proof leads to
)

func newTestBundle(t *testing.T) *testBundle {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return buildTestBundle(t, key, true)
}

// buildTestBundle makes the bundle; binding false makes a seal event as
// sealed before format 2, without the list of case events and checkpoints.
func buildTestBundle(t testing.TB, key ed25519.PrivateKey, binding bool) *testBundle {
	t.Helper()
	tb := &testBundle{key: key, artifacts: map[string][]byte{}}
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	c := &models.Case{ID: "case_one", AccountNo: "6222020200112233", Purpose: models.PurposeStatement, PeriodFrom: "2025-01-01",
		PeriodTo: "2025-12-31", State: models.StateApproved, ClerkID: "stf_clerk", CreatedAt: now}
	head := models.AuditHead{Hash: audit.ZeroHash}
	var all []*models.AuditEvent
	add := func(caseID models.CaseID, action string, detail map[string]string) {
		e := &models.AuditEvent{Seq: head.Seq + 1, At: now.Add(time.Duration(head.Seq) * time.Minute), Actor: "staff:stf_clerk",
			Action: action, CaseID: caseID, Detail: detail, PrevHash: head.Hash}
		e.Hash = audit.Hash(head.Hash, e)
		all = append(all, e)
		head = models.AuditHead{Seq: e.Seq, Hash: e.Hash}
	}
	sign := func(n int, at time.Time) *models.Checkpoint {
		var hashes []string
		for _, e := range all[:n] {
			hashes = append(hashes, e.Hash)
		}
		cp, err := audit.SignCheckpoint(key, models.AuditHead{Seq: int64(n), Hash: hashes[n-1]}, audit.RootOf(hashes), at)
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	add(c.ID, "case.created", map[string]string{"account": "6222020200112233"})
	add("case_other", "case.created", map[string]string{"account": "6222999999999999"})
	tb.cps = append(tb.cps, sign(2, now.Add(time.Minute)))
	var items []*models.Evidence
	for i, body := range []string{"first artifact", "second, a letter"} {
		sum := audit.SHA256Hex([]byte(body))
		kind := []models.EvidenceKind{models.EvidenceCapture, models.EvidenceLetter}[i]
		k, _ := models.EvidenceKey(c.ID, kind, sum)
		at := now.Add(time.Hour)
		items = append(items, &models.Evidence{ID: models.EvidenceID("evd_" + string(rune('a'+i))), CaseID: c.ID, Kind: kind, Key: k, SHA256: sum,
			Size: int64(len(body)), ContentType: "application/octet-stream", Actor: "staff:stf_clerk", CreatedAt: now, ArchivedAt: &at, VersionID: "v1"})
		tb.artifacts[k] = []byte(body)
		add(c.ID, "check.recorded", map[string]string{"sha256": sum})
	}
	add("case_other", "case.cancel", nil)
	tb.cps = append(tb.cps, sign(5, now.Add(2*time.Hour)))
	m, err := audit.NewManifest(c, items, head, "system", now.Add(2*time.Hour), audit.KeyID(key.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	if tb.manifest, err = audit.EncodeManifest(m); err != nil {
		t.Fatal(err)
	}
	tb.sig = audit.SignManifest(key, tb.manifest)
	detail := map[string]string{audit.DetailManifestSHA256: audit.SHA256Hex(tb.manifest),
		audit.DetailManifestSignature: base64.StdEncoding.EncodeToString(tb.sig), audit.DetailKeyID: m.KeyID}
	if binding {
		var mine []*models.AuditEvent
		for _, e := range all {
			if e.CaseID == c.ID {
				mine = append(mine, e)
			}
		}
		maps.Copy(detail, audit.SealBinding(mine, tb.cps))
	}
	add(c.ID, audit.SealAction, detail)
	// The chain goes on past the seal (the bundle download itself is an
	// event); the newest checkpoint covers it.
	tb.cps = append(tb.cps, sign(tbSeal, now.Add(3*time.Hour)))
	add("case_other", "case.created", nil)
	tb.cps = append(tb.cps, sign(tbProof, now.Add(4*time.Hour)))
	var hashes []string
	for _, e := range all {
		hashes = append(hashes, e.Hash)
	}
	p, err := audit.ConsistencyProof(hashes, tbSeal, tbProof)
	if err != nil {
		t.Fatal(err)
	}
	tb.proof = audit.FormatConsistency(tbSeal, p, []byte(tb.cps[3].Note))
	tb.events = all[:tbSeal]
	return tb
}

func (tb *testBundle) zip(t testing.TB) map[string][]byte {
	t.Helper()
	var buf bytes.Buffer
	err := audit.WriteBundle(&buf, audit.Bundle{Manifest: tb.manifest, Signature: tb.sig, PublicKey: tb.key.Public().(ed25519.PublicKey),
		Events: tb.events, Checkpoints: tb.cps, Proof: tb.proof}, func(it audit.ManifestItem) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tb.artifacts[it.Key])), nil
	})
	if err != nil {
		t.Fatalf("WriteBundle: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		r, _ := f.Open()
		files[f.Name], _ = io.ReadAll(r)
		r.Close()
	}
	return files
}

// rezip writes files back as a zip and opens it as the verifier will.
func rezip(t *testing.T, files map[string][]byte) *zip.Reader {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range files {
		w, _ := zw.Create(name)
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

func itemKey(files map[string][]byte, kind string) string {
	for name := range files {
		if strings.HasPrefix(name, audit.BundleItems) && strings.Contains(name, "/"+kind+"/") {
			return name
		}
	}
	return ""
}

// lines splits a bundle file into its lines (without the newlines).
func lines(b []byte) []string { return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") }

func join(ls []string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

// editEvent rewrites the events.jsonl line of seq with edit; rehash also
// recomputes its hash (a forger who knows the format).
func editEvent(t *testing.T, f map[string][]byte, seq int64, rehash bool, edit func(e *models.AuditEvent)) *models.AuditEvent {
	t.Helper()
	ls := lines(f[audit.BundleEvents])
	for i, l := range ls {
		var e models.AuditEvent
		var raw struct {
			Seq      int64             `json:"seq"`
			At       time.Time         `json:"at"`
			Actor    string            `json:"actor"`
			Action   string            `json:"action"`
			CaseID   models.CaseID     `json:"case_id"`
			Detail   map[string]string `json:"detail"`
			PrevHash string            `json:"prev_hash"`
			Hash     string            `json:"hash"`
		}
		if err := json.Unmarshal([]byte(l), &raw); err != nil {
			t.Fatal(err)
		}
		if raw.Seq != seq {
			continue
		}
		e = models.AuditEvent(raw)
		edit(&e)
		if rehash {
			e.Hash = audit.Hash(e.PrevHash, &e)
		}
		raw = struct {
			Seq      int64             `json:"seq"`
			At       time.Time         `json:"at"`
			Actor    string            `json:"actor"`
			Action   string            `json:"action"`
			CaseID   models.CaseID     `json:"case_id"`
			Detail   map[string]string `json:"detail"`
			PrevHash string            `json:"prev_hash"`
			Hash     string            `json:"hash"`
		}(e)
		b, _ := json.Marshal(raw)
		ls[i] = string(b)
		f[audit.BundleEvents] = join(ls)
		return &e
	}
	t.Fatalf("no event %d in the bundle", seq)
	return nil
}

// dropLine removes the lines of name for which drop is true.
func dropLine(f map[string][]byte, name string, drop func(l string) bool) {
	var keep []string
	for _, l := range lines(f[name]) {
		if !drop(l) {
			keep = append(keep, l)
		}
	}
	f[name] = join(keep)
}

func setLeaf(f map[string][]byte, seq int64, h string) {
	ls := lines(f[audit.BundleLeaves])
	ls[seq-1] = h
	f[audit.BundleLeaves] = join(ls)
}

func TestVerifyBundle(t *testing.T) {
	tb := newTestBundle(t)
	pub := tb.key.Public().(ed25519.PublicKey)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherPEM, _ := audit.MarshalPublicKey(other.Public().(ed25519.PublicKey))
	for _, tc := range []struct {
		name    string
		mutate  func(files map[string][]byte)
		trusted ed25519.PublicKey
		want    []string // in the problems or an item's problem; none = accepted
	}{
		{"intact", func(map[string][]byte) {}, pub, nil},
		{"no trusted key", func(map[string][]byte) {}, nil, []string{"no trusted key"}},
		{"untrusted key", func(map[string][]byte) {}, other.Public().(ed25519.PublicKey), []string{"not the trusted key " + audit.Fingerprint(other.Public().(ed25519.PublicKey))}},
		{"one altered byte", func(f map[string][]byte) { k := itemKey(f, "letter"); f[k][3] ^= 1 }, pub, []string{"letter/"}},
		{"missing item", func(f map[string][]byte) { delete(f, itemKey(f, "capture")) }, pub, []string{"capture/"}},
		{"extra file", func(f map[string][]byte) { f[audit.BundleItems+"cases/case_one/capture/x"] = []byte("x") }, pub, []string{"not listed"}},
		{"edited manifest", func(f map[string][]byte) {
			f[audit.BundleManifest] = bytes.Replace(f[audit.BundleManifest], []byte(`"sealed_by": "system"`), []byte(`"sealed_by": "mallory"`), 1)
		}, pub, []string{"manifest.json", "no authentic case.seal event"}},
		{"wrong key in bundle", func(f map[string][]byte) { f[audit.BundlePublicKey] = otherPEM }, pub, []string{"not the trusted key"}},
		{"no format file", func(f map[string][]byte) { delete(f, audit.BundleFormat) }, pub, []string{"format.txt: missing"}},
		{"format 1 event line", func(f map[string][]byte) {
			f[audit.BundleEvents] = append(f[audit.BundleEvents], `{"seq":2,"redacted":true,"prev_hash":"00","hash":"00"}`+"\n"...)
		}, pub, []string{`unknown field "redacted"`}},
		{"edited case event", func(f map[string][]byte) {
			editEvent(t, f, 3, false, func(e *models.AuditEvent) { e.Action = "check.removed" })
		}, pub, []string{"audit seq 3 (check.removed): content does not match its hash (event edited)"}},
		{"edited and rehashed case event", func(f map[string][]byte) {
			editEvent(t, f, 3, true, func(e *models.AuditEvent) { e.Detail["sha256"] = "00" })
		}, pub, []string{"audit seq 3 (check.recorded): its hash is not leaf 2"}},
		{"edited case event, rehashed, its leaf replaced and the next repointed", func(f map[string][]byte) {
			e := editEvent(t, f, 3, true, func(e *models.AuditEvent) { e.Detail["sha256"] = "00" })
			setLeaf(f, 3, e.Hash)
			editEvent(t, f, 4, false, func(n *models.AuditEvent) { n.PrevHash = e.Hash })
		}, pub, []string{"audit seq 4 (check.recorded): content does not match its hash", "log.proof: the log of the 6 bundled leaves is not a prefix of the signed log of size 7"}},
		{"case event dropped", func(f map[string][]byte) {
			dropLine(f, audit.BundleEvents, func(l string) bool { return strings.HasPrefix(l, `{"seq":3,`) })
		}, pub, []string{"audit seq 3: an event of the case that the seal event lists is missing from audit/events.jsonl"}},
		{"case event passed off as another case's", func(f map[string][]byte) {
			editEvent(t, f, 4, true, func(e *models.AuditEvent) { e.CaseID = "case_other" })
		}, pub, []string{`audit seq 4 (check.recorded): an event of case "case_other"`, "audit seq 4: an event of the case that the seal event lists is missing"}},
		{"case events reordered", func(f map[string][]byte) {
			ls := lines(f[audit.BundleEvents])
			ls[1], ls[2] = ls[2], ls[1]
			f[audit.BundleEvents] = join(ls)
		}, pub, []string{"audit seq 3 (check.recorded): comes after seq 4 in audit/events.jsonl (events reordered or repeated)"}},
		{"another case's leaf changed", func(f map[string][]byte) {
			setLeaf(f, 5, strings.Repeat("ab", 32))
		}, pub, []string{"checkpoint seq 5: its chain hash is not leaf 4", "not a prefix of the signed log"}},
		{"leaves reordered", func(f map[string][]byte) {
			ls := lines(f[audit.BundleLeaves])
			ls[1], ls[4] = ls[4], ls[1]
			f[audit.BundleLeaves] = join(ls)
		}, pub, []string{"not a prefix of the signed log"}},
		{"leaves trimmed", func(f map[string][]byte) {
			ls := lines(f[audit.BundleLeaves])
			f[audit.BundleLeaves] = join(ls[:len(ls)-1])
		}, pub, []string{"outside the 5 leaves", "no authentic case.seal event"}},
		{"leaf added", func(f map[string][]byte) {
			f[audit.BundleLeaves] = append(f[audit.BundleLeaves], strings.Repeat("ab", 32)+"\n"...)
		}, pub, []string{"7 leaves, but the seal event is seq 6", "proves a log of 6 leaves, the bundle has 7"}},
		{"no leaves", func(f map[string][]byte) { delete(f, audit.BundleLeaves) }, pub, []string{"leaves.txt: missing"}},
		{"checkpoints emptied", func(f map[string][]byte) { f[audit.BundleCheckpoints] = []byte("[]") }, pub,
			[]string{"checkpoints.json: lacks the checkpoint of size 7 that audit/log.proof leads to", "checkpoints.json: 0 checkpoints from before the seal"}},
		{"checkpoints removed", func(f map[string][]byte) { delete(f, audit.BundleCheckpoints) }, pub, []string{"checkpoints.json: missing"}},
		{"checkpoints unreadable", func(f map[string][]byte) { f[audit.BundleCheckpoints] = []byte("[{") }, pub, []string{"checkpoints.json: unexpected end"}},
		{"checkpoint before the seal trimmed", func(f map[string][]byte) {
			var cps []*models.Checkpoint
			json.Unmarshal(f[audit.BundleCheckpoints], &cps)
			f[audit.BundleCheckpoints], _ = json.Marshal(cps[1:])
		}, pub, []string{"checkpoints.json: 1 checkpoints from before the seal", "the seal event records 2"}},
		{"checkpoint of another log", func(f map[string][]byte) {
			f[audit.BundleCheckpoints] = bytes.Replace(f[audit.BundleCheckpoints], []byte(`"Root": "`), []byte(`"Root": "0`), 1)
		}, pub, []string{"its note is for size"}},
		{"no proof", func(f map[string][]byte) { delete(f, audit.BundleProof) }, pub, []string{"log.proof: missing"}},
		{"proof hash flipped", func(f map[string][]byte) { flipProofLine(f, 2) }, pub, []string{"not a prefix of the signed log"}},
		{"proof hash dropped", func(f map[string][]byte) {
			ls := strings.SplitAfter(string(f[audit.BundleProof]), "\n")
			f[audit.BundleProof] = []byte(strings.Join(append(ls[:2:2], ls[3:]...), ""))
		}, pub, []string{"not a prefix of the signed log"}},
		{"proof size changed", func(f map[string][]byte) {
			f[audit.BundleProof] = bytes.Replace(f[audit.BundleProof], []byte("\nold 6\n"), []byte("\nold 5\n"), 1)
		}, pub, []string{"proves a log of 5 leaves, the bundle has 6"}},
		{"proof checkpoint root changed", func(f map[string][]byte) { flipProofLine(f, -1) }, pub, []string{"log.proof: checkpoint note: not signed by key"}},
		{"proof checkpoint by another key", func(f map[string][]byte) {
			_, _, cp, _ := audit.ParseConsistency(buildTestBundle(t, other, true).proof)
			head, _, _ := bytes.Cut(f[audit.BundleProof], []byte("\n\n"))
			f[audit.BundleProof] = append(append(head, "\n\n"...), cp...)
		}, pub, []string{"log.proof: checkpoint note: not signed by key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := tb.zip(t)
			tc.mutate(files)
			r := audit.VerifyBundle(rezip(t, files), tc.trusted)
			all := strings.Join(r.Problems, "\n")
			for _, it := range r.Items {
				if !it.OK {
					all += "\n" + it.Key + ": " + it.Problem
				}
			}
			if len(tc.want) == 0 {
				if !r.Proven() || len(r.Items) != 2 || r.Events != 4 || r.SealSeq != tbSeal || r.LogSize != tbProof || r.Checkpoints != 4 || len(r.Warnings) != 0 {
					t.Fatalf("VerifyBundle(intact) = %+v, problems:\n%s; want ok, 2 items, 4 events, seal %d proven in %d, 4 checkpoints", r, all, tbSeal, tbProof)
				}
				return
			}
			if r.OK() {
				t.Fatalf("VerifyBundle(%s) = ok, want problems naming %q", tc.name, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("VerifyBundle(%s) problems:\n%s\nwant one naming %q", tc.name, all, w)
				}
			}
		})
	}
}

// A bundle whose proof leads to a checkpoint of the seal itself (no
// event after it yet) has an empty proof; it verifies, and a proof
// padded with a hash does not.
func TestVerifyBundleProofAtSeal(t *testing.T) {
	tb := newTestBundle(t)
	tb.proof = audit.FormatConsistency(tbSeal, nil, []byte(tb.cps[2].Note))
	files := tb.zip(t)
	pub := tb.key.Public().(ed25519.PublicKey)
	if r := audit.VerifyBundle(rezip(t, files), pub); !r.OK() || r.LogSize != tbSeal || r.Checkpoints != 3 {
		t.Fatalf("VerifyBundle(proof at the seal) = %+v; want OK against the checkpoint of size %d, 3 checkpoints", r, tbSeal)
	}
	files[audit.BundleProof] = audit.FormatConsistency(tbSeal, make(tlog.TreeProof, 1), []byte(tb.cps[2].Note))
	if r := audit.VerifyBundle(rezip(t, files), pub); r.OK() || !strings.Contains(strings.Join(r.Problems, "\n"), "must be empty") {
		t.Fatalf("VerifyBundle(padded proof) = %+v; want a problem", r.Problems)
	}
}

// A case sealed before format 2 has no list of its events in the seal
// event: nothing in the bundle is wrong, but completeness is not proven,
// so the bundle is not Proven.
func TestVerifyBundleSealedBeforeFormat2(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	tb := buildTestBundle(t, key, false)
	r := audit.VerifyBundle(rezip(t, tb.zip(t)), key.Public().(ed25519.PublicKey))
	if !r.OK() || r.Proven() || len(r.Warnings) != 2 || !strings.Contains(r.Warnings[0], "that none was left out is not proven") {
		t.Fatalf("VerifyBundle(sealed before format 2) = ok %v, proven %v, problems %q, warnings %q; want OK, not proven, 2 warnings", r.OK(), r.Proven(), r.Problems, r.Warnings)
	}
}

// flipProofLine flips a bit in line i of the bundled proof (-1: the
// checkpoint's root line).
func flipProofLine(f map[string][]byte, i int) {
	lines := strings.Split(string(f[audit.BundleProof]), "\n")
	if i < 0 {
		i = len(lines) - 4 // root, empty line, signature, final newline
	}
	b, err := base64.StdEncoding.DecodeString(lines[i])
	if err != nil {
		panic(fmt.Sprintf("proof line %d %q: %v", i, lines[i], err))
	}
	b[7] ^= 0x10
	lines[i] = base64.StdEncoding.EncodeToString(b)
	f[audit.BundleProof] = []byte(strings.Join(lines, "\n"))
}

// Other cases' events appear only as leaves: none of their data is in
// the bundle, and every leaf is.
func TestBundleHidesOtherCases(t *testing.T) {
	tb := newTestBundle(t)
	files := tb.zip(t)
	if ev := string(files[audit.BundleEvents]); strings.Contains(ev, "6222999999999999") || strings.Contains(ev, "case_other") {
		t.Errorf("events.jsonl = %s; want no event of the other case", ev)
	}
	var want []string
	for _, e := range tb.events {
		want = append(want, e.Hash)
	}
	if got := lines(files[audit.BundleLeaves]); !slices.Equal(got, want) {
		t.Errorf("leaves.txt = %q, want the chain hashes 1..%d", got, tbSeal)
	}
	fp := audit.Fingerprint(tb.key.Public().(ed25519.PublicKey))
	if !strings.Contains(string(files[audit.BundleReadme]), "-fingerprint "+fp) {
		t.Errorf("README.txt does not give the key's fingerprint %s:\n%s", fp, files[audit.BundleReadme])
	}
}

func TestWriteBundleRefusesCorruptArtifact(t *testing.T) {
	tb := newTestBundle(t)
	err := audit.WriteBundle(io.Discard, audit.Bundle{Manifest: tb.manifest, Signature: tb.sig, PublicKey: tb.key.Public().(ed25519.PublicKey),
		Events: tb.events, Checkpoints: tb.cps, Proof: tb.proof}, func(it audit.ManifestItem) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("tampered")), nil
	})
	if models.ErrorCodeOf(err) != models.ECONFLICT || !strings.Contains(err.Error(), "cases/case_one/") {
		t.Errorf("WriteBundle(corrupt store) = %v, want ECONFLICT naming the item", err)
	}
}

func TestNewManifestRefusesUnarchived(t *testing.T) {
	c := &models.Case{ID: "case_one", State: models.StateApproved}
	_, err := audit.NewManifest(c, []*models.Evidence{{Key: "cases/case_one/capture/aa"}}, models.AuditHead{}, "system", time.Now(), "k")
	if models.ErrorCodeOf(err) != models.EPRECONDITION || len(models.ErrorDetailsOf(err)) != 1 {
		t.Errorf("NewManifest(unarchived item) = %v, want EPRECONDITION naming it", err)
	}
}

func TestCheckObject(t *testing.T) {
	until := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	it := audit.ManifestItem{Key: "k", Size: 3, SHA256: "aa", VersionID: "v1", RetainUntil: &until}
	for _, tc := range []struct {
		name string
		info models.ObjectInfo
		ok   bool
	}{
		{"same", models.ObjectInfo{Size: 3, SHA256: "aa", VersionID: "v1", Mode: models.RetentionCompliance, RetainUntil: until}, true},
		{"local store", models.ObjectInfo{Size: 3, SHA256: "aa", VersionID: "v1"}, true},
		{"size", models.ObjectInfo{Size: 4, SHA256: "aa", VersionID: "v1"}, false},
		{"hash", models.ObjectInfo{Size: 3, SHA256: "ab", VersionID: "v1"}, false},
		{"version", models.ObjectInfo{Size: 3, SHA256: "aa", VersionID: "v2"}, false},
		{"governance", models.ObjectInfo{Size: 3, SHA256: "aa", VersionID: "v1", Mode: models.RetentionGovernance, RetainUntil: until}, false},
		{"shortened", models.ObjectInfo{Size: 3, SHA256: "aa", VersionID: "v1", Mode: models.RetentionCompliance, RetainUntil: until.AddDate(-1, 0, 0)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := audit.CheckObject(it, tc.info); (err == nil) != tc.ok {
				t.Errorf("CheckObject(%+v) = %v, want ok %v", tc.info, err, tc.ok)
			}
		})
	}
}
