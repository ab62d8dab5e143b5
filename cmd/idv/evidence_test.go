package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/archiver/archivertest"
	"remoteidv/verify"
)

// sealedBundle wires the app as `idv serve` does (local evidence folder),
// archives and seals a case with three artifacts, its events interleaved
// with another case's and with signed checkpoints, seals that other case
// too, and writes both bundles as an auditor downloads them. It returns
// their entries; dir holds the bank's public key as bank.pem.
func sealedBundle(t *testing.T) (dir string, files, other map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	cfg := defaultConfig()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "idv.db")
	cfg.SigningKey = filepath.Join(dir, "key.pem")
	cfg.EvidenceDir = filepath.Join(dir, "evidence")
	cfg.DataDir = dir
	a, err := openApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	wf, err := a.newWorkflow(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	arc, err := a.openArchiver(wf.evidence, wf.evidenceName, "")
	if err != nil {
		t.Fatal(err)
	}
	arc.Start()
	defer arc.Close()
	st, err := archiver.NewStager(filepath.Join(dir, "staging"), time.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auditor := verify.Actor{Name: "staff:stf_aud", StaffID: "stf_aud", Roles: []models.Role{models.RoleAuditor}}
	cpr := audit.Checkpointer{Store: a.store, Key: a.key, Now: time.Now, Publish: wf.evidence}
	c := archivertest.SeedCase(t, a.store, models.StateInSession)
	c2 := archivertest.SeedCase(t, a.store, models.StateInSession)
	archivertest.Stage(t, a.store, st, c.ID, models.EvidenceCapture, 2, 20<<10, 1)
	archivertest.Stage(t, a.store, st, c.ID, models.EvidenceLetter, 1, 30<<10, 7)
	archivertest.Stage(t, a.store, st, c2.ID, models.EvidenceCapture, 1, 10<<10, 3)
	arc.Kick()
	archivertest.WaitArchived(t, a.store, c.ID, 20*time.Second)
	archivertest.WaitArchived(t, a.store, c2.ID, 20*time.Second)
	// Audited reads: the two cases' events interleaved, checkpoints between.
	for i, id := range []models.CaseID{c.ID, c2.ID, c.ID, c2.ID, c2.ID, c.ID} {
		if _, err := wf.verify.EvidenceList(ctx, auditor, id); err != nil {
			t.Fatal(err)
		}
		if i == 1 || i == 4 {
			if err := cpr.CheckpointAndPublish(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range []models.CaseID{c.ID, c2.ID} {
		err = a.store.Transact(ctx, func(tx models.Tx) error {
			cur, err := tx.CaseByID(ctx, id)
			if err != nil {
				return err
			}
			cur.State = models.StateApproved // approval is tested in verify
			return tx.UpdateCase(ctx, cur)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wf.verify.Seal(ctx, id); err != nil {
			t.Fatalf("Seal: %v", err)
		}
	}
	// More events after the seals, signed: the bundle's proof spans them.
	if _, err := wf.verify.EvidenceList(ctx, auditor, c2.ID); err != nil {
		t.Fatal(err)
	}
	if err := cpr.CheckpointAndPublish(ctx); err != nil {
		t.Fatal(err)
	}
	pem, err := audit.MarshalPublicKey(a.key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bank.pem"), pem, 0o644); err != nil {
		t.Fatal(err)
	}
	bundle := func(id models.CaseID) map[string][]byte {
		var buf bytes.Buffer
		if err := wf.verify.WriteBundle(ctx, auditor, id, &buf); err != nil {
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
	return dir, bundle(c.ID), bundle(c2.ID)
}

func writeZip(t *testing.T, path string, files map[string][]byte) {
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
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func entry(files map[string][]byte, kind string) string {
	for name := range files {
		if strings.HasPrefix(name, audit.BundleItems) && strings.Contains(name, "/"+kind+"/") {
			return name
		}
	}
	return ""
}

// bundleLine is a line of audit/events.jsonl as an auditor (or a forger)
// reads it.
type bundleLine struct {
	Seq      int64             `json:"seq"`
	At       time.Time         `json:"at"`
	Actor    string            `json:"actor"`
	Action   string            `json:"action"`
	CaseID   models.CaseID     `json:"case_id"`
	Detail   map[string]string `json:"detail"`
	PrevHash string            `json:"prev_hash"`
	Hash     string            `json:"hash"`
}

// bundleParts is a bundle's audit files, parsed, for tampering with.
type bundleParts struct {
	events []*models.AuditEvent
	leaves []string
	cps    []*models.Checkpoint
}

func splitLines(b []byte) []string { return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") }

func parseParts(t *testing.T, f map[string][]byte) *bundleParts {
	t.Helper()
	p := &bundleParts{leaves: splitLines(f[audit.BundleLeaves])}
	for _, l := range splitLines(f[audit.BundleEvents]) {
		var bl bundleLine
		if err := json.Unmarshal([]byte(l), &bl); err != nil {
			t.Fatal(err)
		}
		e := models.AuditEvent(bl)
		p.events = append(p.events, &e)
	}
	if err := json.Unmarshal(f[audit.BundleCheckpoints], &p.cps); err != nil {
		t.Fatal(err)
	}
	return p
}

// put writes the parts back into f.
func (p *bundleParts) put(t *testing.T, f map[string][]byte) {
	t.Helper()
	var ev bytes.Buffer
	for _, e := range p.events {
		b, err := json.Marshal(bundleLine(*e))
		if err != nil {
			t.Fatal(err)
		}
		ev.Write(append(b, '\n'))
	}
	f[audit.BundleEvents] = ev.Bytes()
	f[audit.BundleLeaves] = []byte(strings.Join(p.leaves, "\n") + "\n")
	var err error
	if f[audit.BundleCheckpoints], err = json.MarshalIndent(p.cps, "", "  "); err != nil {
		t.Fatal(err)
	}
}

// resign forges f with key k as someone holding another key would: the
// manifest names k and is signed with it; the seal event records that
// signature and the checkpoints before it, re-signed with k; its leaf
// changes; a new checkpoint of the seal, signed with k, ends an empty
// proof; public-key.pem is k's. The result is consistent with k.
func resign(t *testing.T, f map[string][]byte, k ed25519.PrivateKey) {
	t.Helper()
	pub := k.Public().(ed25519.PublicKey)
	m, err := audit.DecodeManifest(f[audit.BundleManifest])
	if err != nil {
		t.Fatal(err)
	}
	m.KeyID = audit.KeyID(pub)
	mb, err := audit.EncodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	sig := audit.SignManifest(k, mb)
	p := parseParts(t, f)
	s := int64(len(p.leaves))
	var cps []*models.Checkpoint
	for _, cp := range p.cps {
		if cp.Seq >= s {
			continue
		}
		re, err := audit.SignCheckpoint(k, models.AuditHead{Seq: cp.Seq, Hash: cp.Hash}, audit.RootOf(p.leaves[:cp.Seq]), cp.At)
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, re)
	}
	seal := p.events[len(p.events)-1]
	seal.Detail[audit.DetailManifestSHA256] = audit.SHA256Hex(mb)
	seal.Detail[audit.DetailManifestSignature] = base64.StdEncoding.EncodeToString(sig)
	seal.Detail[audit.DetailKeyID] = m.KeyID
	seal.Detail[audit.DetailCheckpointsSHA256] = audit.CheckpointsDigest(cps)
	seal.Hash = audit.Hash(seal.PrevHash, seal)
	p.leaves[s-1] = seal.Hash
	last, err := audit.SignCheckpoint(k, models.AuditHead{Seq: s, Hash: seal.Hash}, audit.RootOf(p.leaves), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p.cps = append(cps, last)
	p.put(t, f)
	pem, err := audit.MarshalPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	f[audit.BundleManifest], f[audit.BundleSignature], f[audit.BundlePublicKey] = mb, []byte(base64.StdEncoding.EncodeToString(sig)+"\n"), pem
	f[audit.BundleProof] = audit.FormatConsistency(s, nil, []byte(last.Note))
}

// TestEvidenceVerify edits, hides, reorders and trims each part of a real
// bundle of a sealed case; `idv evidence verify` catches and names each.
func TestEvidenceVerify(t *testing.T) {
	dir, orig, otherCase := sealedBundle(t)
	bankKey := filepath.Join(dir, "bank.pem")
	bankPEM, err := os.ReadFile(bankKey)
	if err != nil {
		t.Fatal(err)
	}
	bank, err := audit.ParsePublicKey(bankPEM)
	if err != nil {
		t.Fatal(err)
	}
	fp := audit.Fingerprint(bank)
	_, forger, _ := ed25519.GenerateKey(rand.Reader)
	forgerPEM, _ := audit.MarshalPublicKey(forger.Public().(ed25519.PublicKey))
	forgerKey := filepath.Join(t.TempDir(), "forger.pem")
	if err := os.WriteFile(forgerKey, forgerPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	// The case's events before the seal, and another case's leaf among them.
	parts := parseParts(t, orig)
	seal := parts.events[len(parts.events)-1]
	first, second := parts.events[0], parts.events[1]
	mine := map[int64]bool{}
	for _, e := range parts.events {
		mine[e.Seq] = true
	}
	var otherLeaf int64
	for seq := first.Seq + 1; seq < seal.Seq; seq++ {
		if !mine[seq] {
			otherLeaf = seq
			break
		}
	}
	if len(parts.events) < 4 || otherLeaf == 0 || seal.Action != audit.SealAction {
		t.Fatalf("bundle has %d events of the case, another case's leaf at %d, last event %s; want at least 4, one, the seal", len(parts.events), otherLeaf, seal.Action)
	}
	seq := func(n int64) string { return strconv.FormatInt(n, 10) }
	edit := func(f map[string][]byte, fn func(p *bundleParts)) {
		p := parseParts(t, f)
		fn(p)
		p.put(t, f)
	}
	for _, tc := range []struct {
		name   string
		mutate func(f map[string][]byte)
		args   []string // the trust flags
		want   []string // what the output must name; none: verified
	}{
		{"intact, trusted key", func(map[string][]byte) {}, []string{"-key", bankKey}, nil},
		{"intact, trusted fingerprint", func(map[string][]byte) {}, []string{"-fingerprint", fp}, nil},
		{"intact, fingerprint as copied", func(map[string][]byte) {}, []string{"-fingerprint", "SHA256:" + strings.ToUpper(fp[:32]) + " " + fp[32:]}, nil},
		{"no trusted key", func(map[string][]byte) {}, nil, []string{"a trusted key is required", "idv audit key"}},
		{"key id for a fingerprint", func(map[string][]byte) {}, []string{"-fingerprint", audit.KeyID(bank)}, []string{"that is a key id"}},
		{"one altered byte", func(f map[string][]byte) {
			k := entry(f, "letter")
			f[k] = append([]byte(nil), f[k]...)
			f[k][1234] ^= 0x01
		}, []string{"-key", bankKey}, []string{"MISMATCH letter"}},
		{"edited manifest", func(f map[string][]byte) {
			f[audit.BundleManifest] = bytes.Replace(f[audit.BundleManifest], []byte(`"purpose": "transaction_statement"`), []byte(`"purpose": "transaction_statement" `), 1)
		}, []string{"-key", bankKey}, []string{"manifest.json: manifest signature does not verify"}},
		{"manifest swapped for another sealed case's", func(f map[string][]byte) {
			f[audit.BundleManifest], f[audit.BundleSignature] = otherCase[audit.BundleManifest], otherCase[audit.BundleSignature]
		}, []string{"-key", bankKey}, []string{"no authentic case.seal event of case"}},
		{"case event edited", func(f map[string][]byte) {
			edit(f, func(p *bundleParts) { p.events[1].Actor = "staff:mallory" })
		}, []string{"-key", bankKey}, []string{"audit seq " + seq(second.Seq) + " (evidence.listed): content does not match its hash (event edited)"}},
		{"case event edited and rehashed", func(f map[string][]byte) {
			edit(f, func(p *bundleParts) { e := p.events[1]; e.Actor = "staff:mallory"; e.Hash = audit.Hash(e.PrevHash, e) })
		}, []string{"-key", bankKey}, []string{"audit seq " + seq(second.Seq) + " (evidence.listed): its hash is not leaf " + seq(second.Seq-1)}},
		{"case event rewritten, its leaf replaced, the next linked to it", func(f map[string][]byte) {
			edit(f, func(p *bundleParts) {
				e := p.events[0]
				e.Actor = "staff:mallory"
				e.Hash = audit.Hash(e.PrevHash, e)
				p.leaves[e.Seq-1] = e.Hash
			})
		}, []string{"-key", bankKey}, []string{"is not a prefix of the signed log of size", "(a leaf altered, added or removed, or the proof tampered)"}},
		{"case event left out", func(f map[string][]byte) {
			edit(f, func(p *bundleParts) { p.events = slices.Delete(p.events, 1, 2) })
		}, []string{"-key", bankKey}, []string{"audit seq " + seq(second.Seq) + ": an event of the case that the seal event lists is missing from audit/events.jsonl"}},
		{"case event passed off as another case's", func(f map[string][]byte) {
			edit(f, func(p *bundleParts) { e := p.events[1]; e.CaseID = "case_other"; e.Hash = audit.Hash(e.PrevHash, e) })
		}, []string{"-key", bankKey}, []string{`an event of case "case_other"`, "audit seq " + seq(second.Seq) + ": an event of the case that the seal event lists is missing"}},
		{"format 1: the case event as a redacted line", func(f map[string][]byte) {
			ls := splitLines(f[audit.BundleEvents])
			ls[1] = fmt.Sprintf(`{"seq":%d,"redacted":true,"prev_hash":%q,"hash":%q}`, second.Seq, second.PrevHash, second.Hash)
			f[audit.BundleEvents] = []byte(strings.Join(ls, "\n") + "\n")
		}, []string{"-key", bankKey}, []string{`unknown field "redacted"`, "audit seq " + seq(second.Seq) + ": an event of the case that the seal event lists is missing"}},
		{"case events reordered", func(f map[string][]byte) {
			edit(f, func(p *bundleParts) { p.events[0], p.events[1] = p.events[1], p.events[0] })
		}, []string{"-key", bankKey}, []string{"comes after seq " + seq(second.Seq) + " in audit/events.jsonl (events reordered or repeated)"}},
		{"another case's leaf changed", func(f map[string][]byte) {
			edit(f, func(p *bundleParts) { p.leaves[otherLeaf-1] = strings.Repeat("0f", 32) })
		}, []string{"-key", bankKey}, []string{"is not a prefix of the signed log"}},
		{"leaves trimmed before the seal", func(f map[string][]byte) {
			edit(f, func(p *bundleParts) { p.leaves = p.leaves[:len(p.leaves)-1] })
		}, []string{"-key", bankKey}, []string{"audit seq " + seq(seal.Seq) + " (case.seal): outside the " + seq(seal.Seq-1) + " leaves", "no authentic case.seal event"}},
		{"leaves removed", func(f map[string][]byte) { delete(f, audit.BundleLeaves) }, []string{"-key", bankKey}, []string{"audit/leaves.txt: missing"}},
		{"checkpoints emptied", func(f map[string][]byte) { f[audit.BundleCheckpoints] = []byte("[]\n") }, []string{"-key", bankKey},
			[]string{"audit/checkpoints.json: lacks the checkpoint of size", "(checkpoints removed, added or altered)"}},
		{"checkpoints file removed", func(f map[string][]byte) { delete(f, audit.BundleCheckpoints) }, []string{"-key", bankKey}, []string{"audit/checkpoints.json: missing"}},
		{"a checkpoint before the seal removed", func(f map[string][]byte) {
			edit(f, func(p *bundleParts) { p.cps = p.cps[1:] })
		}, []string{"-key", bankKey}, []string{"checkpoints from before the seal", "(checkpoints removed, added or altered)"}},
		{"proof removed", func(f map[string][]byte) { delete(f, audit.BundleProof) }, []string{"-key", bankKey}, []string{"audit/log.proof: missing"}},
		{"proof hash altered", func(f map[string][]byte) {
			ls := strings.Split(string(f[audit.BundleProof]), "\n")
			ls[2] = base64.StdEncoding.EncodeToString(make([]byte, 32))
			f[audit.BundleProof] = []byte(strings.Join(ls, "\n"))
		}, []string{"-key", bankKey}, []string{"audit/log.proof: the log of the " + seq(seal.Seq) + " bundled leaves is not a prefix"}},
		{"key swapped", func(f map[string][]byte) { f[audit.BundlePublicKey] = forgerPEM }, []string{"-fingerprint", fp},
			[]string{"public-key.pem: key fingerprint " + audit.Fingerprint(forger.Public().(ed25519.PublicKey)) + " is not the trusted " + fp}},
		{"re-signed with another key, trusted key", func(f map[string][]byte) { resign(t, f, forger) }, []string{"-key", bankKey},
			[]string{"is not the trusted key " + fp + " (bundle signed with another key)", "manifest signature does not verify"}},
		{"re-signed with another key, trusted fingerprint", func(f map[string][]byte) { resign(t, f, forger) }, []string{"-fingerprint", fp},
			[]string{"is not the trusted " + fp + " (bundle signed with another key)"}},
		{"re-signed with another key, the forger's key", func(f map[string][]byte) { resign(t, f, forger) }, []string{"-key", forgerKey}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := maps.Clone(orig)
			tc.mutate(files)
			path := filepath.Join(t.TempDir(), "bundle.zip")
			writeZip(t, path, files)
			args := append(append([]string{"evidence", "verify"}, tc.args...), path)
			out, err := runCLI(t, dir, args...)
			if len(tc.want) == 0 {
				if err != nil || !strings.Contains(out, "verified: 3 items") || strings.Count(out, "\nOK ") != 3 || !strings.Contains(out, "are a prefix of the audit merkle log") ||
					!strings.Contains(out, "none left out") || strings.Contains(out, "WARNING") {
					t.Fatalf("evidence verify(%s) = %v\n%s\nwant success with 3 OK items", tc.name, err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("evidence verify(%s) succeeded:\n%s", tc.name, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+err.Error(), w) {
					t.Errorf("evidence verify(%s) = %v\n%s\nwant it to name %q", tc.name, err, out, w)
				}
			}
		})
	}
}
