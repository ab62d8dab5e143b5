package audit_test

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
)

// testBundle is a sealed case built in memory: a chain with another case's
// events interleaved, two artifacts, a signed manifest and its seal event.
type testBundle struct {
	key       ed25519.PrivateKey
	manifest  []byte
	sig       []byte
	events    []*models.AuditEvent
	artifacts map[string][]byte
	cps       []*models.Checkpoint
	proof     []byte // of the seal event, against a checkpoint one event past it
	later     []*models.AuditEvent
}

func newTestBundle(t *testing.T) *testBundle {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tb := &testBundle{key: key, artifacts: map[string][]byte{}}
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	c := &models.Case{ID: "case_one", AccountNo: "6222020200112233", Purpose: models.PurposeStatement, PeriodFrom: "2025-01-01",
		PeriodTo: "2025-12-31", State: models.StateApproved, ClerkID: "stf_clerk", CreatedAt: now}
	head := models.AuditHead{Hash: audit.ZeroHash}
	add := func(caseID models.CaseID, action string, detail map[string]string) {
		e := &models.AuditEvent{Seq: head.Seq + 1, At: now.Add(time.Duration(head.Seq) * time.Minute), Actor: "staff:stf_clerk",
			Action: action, CaseID: caseID, Detail: detail, PrevHash: head.Hash}
		e.Hash = audit.Hash(head.Hash, e)
		tb.events = append(tb.events, e)
		head = models.AuditHead{Seq: e.Seq, Hash: e.Hash}
	}
	add(c.ID, "case.created", map[string]string{"account": "6222020200112233"})
	add("case_other", "case.created", map[string]string{"account": "6222999999999999"})
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
	m, err := audit.NewManifest(c, items, head, "system", now.Add(2*time.Hour), audit.KeyID(key.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	if tb.manifest, err = audit.EncodeManifest(m); err != nil {
		t.Fatal(err)
	}
	tb.sig = audit.SignManifest(key, tb.manifest)
	add(c.ID, audit.SealAction, map[string]string{audit.DetailManifestSHA256: audit.SHA256Hex(tb.manifest),
		audit.DetailManifestSignature: base64.StdEncoding.EncodeToString(tb.sig), audit.DetailKeyID: m.KeyID})
	// The chain goes on past the seal (the bundle download itself is an
	// event); the newest checkpoint covers it.
	sealEvents := len(tb.events)
	add("case_other", "case.created", nil)
	var hashes []string
	for _, e := range tb.events {
		hashes = append(hashes, e.Hash)
	}
	sign := func(n int, at time.Time) *models.Checkpoint {
		cp, err := audit.SignCheckpoint(key, models.AuditHead{Seq: int64(n), Hash: hashes[n-1]}, audit.RootOf(hashes[:n]), at)
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	tb.cps = []*models.Checkpoint{sign(3, now.Add(time.Hour)), sign(sealEvents, now.Add(3*time.Hour)), sign(len(hashes), now.Add(4*time.Hour))}
	p, err := audit.InclusionProof(hashes, int64(len(hashes)), int64(sealEvents))
	if err != nil {
		t.Fatal(err)
	}
	tb.proof = audit.FormatProof(int64(sealEvents-1), p, []byte(tb.cps[2].Note))
	tb.events, tb.later = tb.events[:sealEvents], tb.events[sealEvents:]
	return tb
}

func (tb *testBundle) zip(t *testing.T) map[string][]byte {
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

func TestVerifyBundle(t *testing.T) {
	tb := newTestBundle(t)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherPEM, _ := audit.MarshalPublicKey(other.Public().(ed25519.PublicKey))
	for _, tc := range []struct {
		name    string
		mutate  func(files map[string][]byte)
		trusted ed25519.PublicKey
		want    string // in a problem or an item's problem; "" = accepted
	}{
		{"intact", func(map[string][]byte) {}, nil, ""},
		{"intact with trusted key", func(map[string][]byte) {}, tb.key.Public().(ed25519.PublicKey), ""},
		{"one altered byte", func(f map[string][]byte) { k := itemKey(f, "letter"); f[k][3] ^= 1 }, nil, "letter/"},
		{"missing item", func(f map[string][]byte) { delete(f, itemKey(f, "capture")) }, nil, "capture/"},
		{"extra file", func(f map[string][]byte) { f[audit.BundleItems+"cases/case_one/capture/x"] = []byte("x") }, nil, "not listed"},
		{"edited manifest", func(f map[string][]byte) {
			f[audit.BundleManifest] = bytes.Replace(f[audit.BundleManifest], []byte(`"sealed_by": "system"`), []byte(`"sealed_by": "mallory"`), 1)
		}, nil, "manifest.json"},
		{"wrong key in bundle", func(f map[string][]byte) { f[audit.BundlePublicKey] = otherPEM }, nil, "signature does not verify"},
		{"untrusted key", func(map[string][]byte) {}, other.Public().(ed25519.PublicKey), "not the trusted key"},
		{"edited audit event", func(f map[string][]byte) {
			f[audit.BundleEvents] = bytes.Replace(f[audit.BundleEvents], []byte(`"check.recorded"`), []byte(`"check.removed"`), 1)
		}, nil, "event edited"},
		{"dropped audit event", func(f map[string][]byte) {
			lines := strings.SplitAfter(string(f[audit.BundleEvents]), "\n")
			f[audit.BundleEvents] = []byte(strings.Join(append(lines[:2:2], lines[3:]...), ""))
		}, nil, "out of sequence"},
		{"no inclusion proof", func(f map[string][]byte) { delete(f, audit.BundleProof) }, nil, "seal.tlog-proof: missing"},
		{"proof hash bit flipped", func(f map[string][]byte) { flipProofLine(f, 2) }, nil, "does not verify"},
		{"proof index changed", func(f map[string][]byte) {
			f[audit.BundleProof] = bytes.Replace(f[audit.BundleProof], []byte("index 5\n"), []byte("index 4\n"), 1)
		}, nil, "the seal event is leaf 5"},
		{"proof hash dropped", func(f map[string][]byte) {
			lines := strings.SplitAfter(string(f[audit.BundleProof]), "\n")
			f[audit.BundleProof] = []byte(strings.Join(append(lines[:2:2], lines[3:]...), ""))
		}, nil, "does not verify"},
		{"proof checkpoint root changed", func(f map[string][]byte) { flipProofLine(f, -1) }, nil, "not signed by key"},
		{"proof checkpoint by another key", func(f map[string][]byte) {
			tb2 := newTestBundle(t)
			_, _, cp, _ := audit.ParseProof(tb2.proof)
			head, _, _ := bytes.Cut(f[audit.BundleProof], []byte("\n\n"))
			f[audit.BundleProof] = append(append(head, "\n\n"...), cp...)
		}, tb.key.Public().(ed25519.PublicKey), "not signed by key"},
		{"checkpoint note of another log", func(f map[string][]byte) {
			f[audit.BundleCheckpoints] = bytes.Replace(f[audit.BundleCheckpoints], []byte(`"Root": "`), []byte(`"Root": "0`), 1)
		}, nil, "its note"},
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
			if tc.want == "" {
				if !r.OK() || len(r.Items) != 2 || r.Events != len(tb.events) {
					t.Fatalf("VerifyBundle(intact) = ok %v, %d items, %d events, problems:\n%s; want ok, 2, %d", r.OK(), len(r.Items), r.Events, all, len(tb.events))
				}
				return
			}
			if r.OK() || !strings.Contains(all, tc.want) {
				t.Fatalf("VerifyBundle(%s) = ok %v, problems:\n%s\nwant a problem naming %q", tc.name, r.OK(), all, tc.want)
			}
		})
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

func TestBundleRedactsOtherCases(t *testing.T) {
	files := newTestBundle(t).zip(t)
	if ev := string(files[audit.BundleEvents]); strings.Contains(ev, "6222999999999999") || !strings.Contains(ev, `"redacted":true`) {
		t.Errorf("events.jsonl = %s; want the other case's events redacted", ev)
	}
}

func TestWriteBundleRefusesCorruptArtifact(t *testing.T) {
	tb := newTestBundle(t)
	err := audit.WriteBundle(io.Discard, audit.Bundle{Manifest: tb.manifest, Signature: tb.sig, PublicKey: tb.key.Public().(ed25519.PublicKey),
		Events: tb.events, Proof: tb.proof}, func(it audit.ManifestItem) (io.ReadCloser, error) {
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
