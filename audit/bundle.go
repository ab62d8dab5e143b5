package audit

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"remoteidv/models"
)

// Bundle file names. Artifacts are under BundleItems + their key.
const (
	BundleManifest    = "manifest.json"
	BundleSignature   = "manifest.sig"   // base64 Ed25519 signature of manifest.json
	BundlePublicKey   = "public-key.pem" // the service's key (PKIX PEM)
	BundleEvents      = "audit/events.jsonl"
	BundleCheckpoints = "audit/checkpoints.json"
	BundleProof       = "audit/seal.tlog-proof" // C2SP tlog-proof of the seal event
	BundleItems       = "items/"
	BundleReadme      = "README.txt"
)

// SealAction is the audit action of the event that records a manifest.
const SealAction = "case.seal"

// Seal event detail keys.
const (
	DetailManifestKey       = "manifest_key"
	DetailManifestSHA256    = "manifest_sha256"
	DetailManifestSignature = "manifest_signature"
	DetailKeyID             = "key_id"
)

// bundleEvent is one line of audit/events.jsonl. Events of other cases are
// redacted to their chain links (seq, prev_hash, hash): enough to check
// that the case's events sit in one unbroken chain, without disclosing
// other customers' data.
type bundleEvent struct {
	Seq      int64             `json:"seq"`
	Redacted bool              `json:"redacted,omitempty"`
	At       *time.Time        `json:"at,omitempty"`
	Actor    string            `json:"actor,omitempty"`
	Action   string            `json:"action,omitempty"`
	CaseID   models.CaseID     `json:"case_id,omitempty"`
	Detail   map[string]string `json:"detail,omitempty"`
	PrevHash string            `json:"prev_hash"`
	Hash     string            `json:"hash"`
}

// Bundle is what an auditor downloads for a sealed case.
type Bundle struct {
	Manifest  []byte // exactly as stored and signed
	Signature []byte
	PublicKey ed25519.PublicKey
	// Events is the chain from seq 1 up to at least the case's seal event;
	// events of other cases are written redacted.
	Events      []*models.AuditEvent
	Checkpoints []*models.Checkpoint
	// Proof is the C2SP tlog-proof (FormatProof, Checkpointer.Prove) that
	// the seal event's hash is leaf seq-1 of the Merkle log, ending with
	// the signed checkpoint note it verifies against.
	Proof []byte
}

// OpenFunc opens an artifact's stored bytes.
type OpenFunc func(it ManifestItem) (io.ReadCloser, error)

const bundleReadme = `remoteidv evidence bundle

manifest.json            every artifact of the case (key, version, size, SHA-256, kind, time, actor),
                         the audit chain head when sealed, and a case summary
manifest.sig             base64 Ed25519 signature of manifest.json ("remoteidv case manifest v1\n" + bytes)
public-key.pem           the service's public key; compare its key id with the one the bank publishes
audit/events.jsonl       the audit chain from seq 1 to the case's seal event; other cases' events are
                         redacted to (seq, prev_hash, hash) so the links can be checked without their data
audit/checkpoints.json   signed checkpoints of the chain head within that range (with the Merkle log's
                         size, root and C2SP signed note, for those made since the log existed)
audit/seal.tlog-proof    C2SP tlog-proof: the seal event's hash is leaf (seq - 1) of the RFC 6962 Merkle
                         log; the RFC 6962 inclusion proof; the signed checkpoint note (origin
                         remoteidv/audit, tree size, root) it leads to, signed by the same key
items/<key>              the artifacts

Check it offline with: idv evidence verify bundle.zip [-key trusted-public-key.pem]
`

// WriteBundle writes b and every manifest artifact as a zip to w,
// re-hashing each artifact while it streams. A mismatch with the manifest
// stops the bundle with an ECONFLICT error naming the item (the caller must
// treat it as a security alert). Memory does not grow with artifact size.
func WriteBundle(w io.Writer, b Bundle, open OpenFunc) error {
	m, err := DecodeManifest(b.Manifest)
	if err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	if len(b.Proof) == 0 {
		return models.Errorf(models.EINVALID, "write bundle of %s: no inclusion proof of the seal event", m.Case.ID)
	}
	pem, err := MarshalPublicKey(b.PublicKey)
	if err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	var events bytes.Buffer
	enc := json.NewEncoder(&events)
	for _, e := range b.Events {
		be := bundleEvent{Seq: e.Seq, PrevHash: e.PrevHash, Hash: e.Hash}
		if e.CaseID == m.Case.ID {
			at := e.At.UTC()
			be.At, be.Actor, be.Action, be.CaseID, be.Detail = &at, e.Actor, e.Action, e.CaseID, e.Detail
		} else {
			be.Redacted = true
		}
		if err := enc.Encode(be); err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
	}
	var last int64
	if n := len(b.Events); n > 0 {
		last = b.Events[n-1].Seq
	}
	inRange := []*models.Checkpoint{}
	for _, cp := range b.Checkpoints {
		if cp.Seq <= last {
			inRange = append(inRange, cp)
		}
	}
	cps, err := json.MarshalIndent(inRange, "", "  ")
	if err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	zw := zip.NewWriter(w)
	for _, f := range []struct {
		name string
		body []byte
	}{
		{BundleReadme, []byte(bundleReadme)},
		{BundleManifest, b.Manifest},
		{BundleSignature, []byte(base64.StdEncoding.EncodeToString(b.Signature) + "\n")},
		{BundlePublicKey, pem},
		{BundleEvents, events.Bytes()},
		{BundleCheckpoints, cps},
		{BundleProof, b.Proof},
	} {
		fw, err := zw.Create(f.name)
		if err == nil {
			_, err = fw.Write(f.body)
		}
		if err != nil {
			return fmt.Errorf("write bundle %s: %w", f.name, err)
		}
	}
	for _, it := range m.Items {
		if err := copyItem(zw, it, open); err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	return nil
}

func copyItem(zw *zip.Writer, it ManifestItem, open OpenFunc) error {
	r, err := open(it)
	if err != nil {
		return fmt.Errorf("open %s: %w", it.Key, err)
	}
	defer r.Close()
	// Artifacts are mostly compressed media: store them as they are.
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: BundleItems + it.Key, Method: zip.Store, Modified: it.CreatedAt})
	if err != nil {
		return fmt.Errorf("add %s: %w", it.Key, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(fw, h), r)
	if err != nil {
		return fmt.Errorf("copy %s: %w", it.Key, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != it.SHA256 || n != it.Size {
		return models.Errorf(models.ECONFLICT, "%s: the store returned %d bytes with SHA-256 %s, the manifest says %d bytes with %s", it.Key, n, got, it.Size, it.SHA256)
	}
	return nil
}

// ItemResult is the verdict on one manifest item.
type ItemResult struct {
	Key     string
	Kind    models.EvidenceKind
	Size    int64
	OK      bool
	Problem string
}

// BundleReport is what VerifyBundle found.
type BundleReport struct {
	Case   models.CaseID
	KeyID  string
	Items  []ItemResult
	Events int // audit events in the bundle (redacted ones included)
	// SealSeq is the seal event's sequence number; LogSize and LogRoot
	// (hex) the signed checkpoint its inclusion proof verified against
	// (zero when it did not).
	SealSeq  int64
	LogSize  int64
	LogRoot  string
	Problems []string
}

// OK reports whether nothing was wrong.
func (r *BundleReport) OK() bool {
	if len(r.Problems) > 0 {
		return false
	}
	for _, it := range r.Items {
		if !it.OK {
			return false
		}
	}
	return true
}

// VerifyBundle checks a bundle offline: the manifest's signature by the
// bundled key (and, when trusted is not nil, that the bundled key is the
// trusted one); every item's presence, size and SHA-256; no files beyond
// the manifest's; the audit events as one unbroken chain from seq 1 (full
// events re-hashed, redacted ones checked by their links); that the
// manifest's audit head is in that chain; that the case's seal event
// records the manifest's SHA-256 and signature; the checkpoints'
// signatures and hashes, and their notes' roots against the Merkle log
// recomputed from the bundled events; and the seal event's inclusion
// proof: leaf seq-1, proof, checkpoint note signed by the (trusted) key.
// It names every problem.
//
// It cannot tell whether the bundled key is the bank's: pass trusted, or
// compare the reported key id with the one the bank publishes.
func VerifyBundle(fsys fs.FS, trusted ed25519.PublicKey) *BundleReport {
	r := &BundleReport{}
	bad := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }

	var pub ed25519.PublicKey
	if b, err := fs.ReadFile(fsys, BundlePublicKey); err != nil {
		bad("%s: missing: %v", BundlePublicKey, err)
	} else if pub, err = ParsePublicKey(b); err != nil {
		bad("%s: %v", BundlePublicKey, err)
	} else {
		r.KeyID = KeyID(pub)
	}
	if trusted != nil && pub != nil && !pub.Equal(trusted) {
		bad("%s: key %s is not the trusted key %s", BundlePublicKey, KeyID(pub), KeyID(trusted))
	}
	mb, err := fs.ReadFile(fsys, BundleManifest)
	if err != nil {
		bad("%s: missing: %v", BundleManifest, err)
		return r
	}
	var sig []byte
	if sb, err := fs.ReadFile(fsys, BundleSignature); err != nil {
		bad("%s: missing: %v", BundleSignature, err)
	} else if sig, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(sb))); err != nil {
		bad("%s: not base64: %v", BundleSignature, err)
	}
	verifyWith := pub
	if trusted != nil {
		verifyWith = trusted
	}
	m, err := DecodeManifest(mb)
	if err != nil {
		bad("%s: %v", BundleManifest, err)
		return r
	}
	r.Case = m.Case.ID
	if verifyWith != nil && sig != nil {
		if _, err := VerifyManifest(verifyWith, mb, sig); err != nil {
			bad("%s: %v (edited manifest, or signed by another key)", BundleManifest, models.ErrorMessageOf(err))
		}
	}
	listed := map[string]bool{}
	for _, it := range m.Items {
		listed[BundleItems+it.Key] = true
		r.Items = append(r.Items, checkBundleItem(fsys, it))
	}
	_ = fs.WalkDir(fsys, strings.TrimSuffix(BundleItems, "/"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !listed[p] {
			bad("%s: not listed in the manifest", p)
		}
		return nil
	})
	r.Events = verifyBundleChain(fsys, m, mb, sig, verifyWith, r, bad)
	return r
}

func checkBundleItem(fsys fs.FS, it ManifestItem) ItemResult {
	res := ItemResult{Key: it.Key, Kind: it.Kind, Size: it.Size}
	f, err := fsys.Open(BundleItems + it.Key)
	if err != nil {
		res.Problem = "missing from the bundle"
		return res
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	switch got := hex.EncodeToString(h.Sum(nil)); {
	case err != nil:
		res.Problem = fmt.Sprintf("unreadable: %v", err)
	case n != it.Size:
		res.Problem = fmt.Sprintf("size %d, manifest says %d", n, it.Size)
	case got != it.SHA256:
		res.Problem = fmt.Sprintf("SHA-256 %s, manifest says %s", got, it.SHA256)
	default:
		res.OK = true
	}
	return res
}

func verifyBundleChain(fsys fs.FS, m *Manifest, mb, sig []byte, pub ed25519.PublicKey, r *BundleReport, bad func(string, ...any)) int {
	f, err := fsys.Open(BundleEvents)
	if err != nil {
		bad("%s: missing: %v", BundleEvents, err)
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	prev, n := ZeroHash, int64(0)
	hashAt := map[int64]string{}
	var leaves []string
	var seal *models.AuditEvent
	for sc.Scan() {
		n++
		var be bundleEvent
		if err := json.Unmarshal(sc.Bytes(), &be); err != nil {
			bad("%s line %d: %v", BundleEvents, n, err)
			return int(n)
		}
		if be.Seq != n {
			bad("audit seq %d: out of sequence at line %d (missing, inserted or reordered events)", be.Seq, n)
		}
		if be.PrevHash != prev {
			bad("audit seq %d: prev_hash does not link to the event before it", be.Seq)
		}
		if !be.Redacted {
			e := &models.AuditEvent{Seq: be.Seq, Actor: be.Actor, Action: be.Action, CaseID: be.CaseID, Detail: be.Detail, PrevHash: be.PrevHash, Hash: be.Hash}
			if be.At != nil {
				e.At = *be.At
			}
			if Hash(be.PrevHash, e) != be.Hash {
				bad("audit seq %d (%s): content does not match its hash (event edited)", be.Seq, be.Action)
			}
			if e.CaseID == m.Case.ID && e.Action == SealAction && e.Detail[DetailManifestSHA256] == SHA256Hex(mb) {
				seal = e
			}
		}
		hashAt[be.Seq] = be.Hash
		leaves = append(leaves, be.Hash)
		prev = be.Hash
	}
	if err := sc.Err(); err != nil {
		bad("%s: %v", BundleEvents, err)
	}
	if h, ok := hashAt[m.AuditHead.Seq]; m.AuditHead.Seq > 0 && (!ok || h != m.AuditHead.Hash) {
		bad("manifest audit head seq %d is not in the bundled chain", m.AuditHead.Seq)
	}
	switch {
	case seal == nil:
		bad("audit: no %s event of case %s records this manifest's SHA-256 %s", SealAction, m.Case.ID, SHA256Hex(mb))
	case seal.Detail[DetailManifestSignature] != base64.StdEncoding.EncodeToString(sig):
		bad("audit seq %d: the seal event records another signature than %s", seal.Seq, BundleSignature)
	case seal.Seq <= m.AuditHead.Seq:
		bad("audit seq %d: the seal event is not after the manifest's head %d", seal.Seq, m.AuditHead.Seq)
	}
	tree := newMemTree(leaves)
	if seal != nil {
		r.SealSeq = seal.Seq
	}
	if t, ok := verifyBundleProof(fsys, seal, pub, tree, bad); ok {
		r.LogSize, r.LogRoot = t.N, hex.EncodeToString(t.Hash[:])
	}
	cb, err := fs.ReadFile(fsys, BundleCheckpoints)
	if err != nil {
		bad("%s: missing: %v", BundleCheckpoints, err)
		return int(n)
	}
	var cps []*models.Checkpoint
	if err := json.Unmarshal(cb, &cps); err != nil {
		bad("%s: %v", BundleCheckpoints, err)
		return int(n)
	}
	sort.Slice(cps, func(i, j int) bool { return cps[i].Seq < cps[j].Seq })
	for _, cp := range cps {
		switch h, ok := hashAt[cp.Seq]; {
		case pub == nil:
		case !VerifyCheckpoint(pub, cp):
			bad("checkpoint seq %d: signature invalid", cp.Seq)
		case !ok:
			bad("checkpoint seq %d: beyond the bundled chain", cp.Seq)
		case h != cp.Hash:
			bad("checkpoint seq %d: hash differs from the chain's (history rewritten)", cp.Seq)
		case cp.Note == "":
		default:
			t, err := OpenCheckpointNote(pub, []byte(cp.Note))
			switch {
			case err != nil:
				bad("checkpoint seq %d: %s", cp.Seq, problemText(err))
			case t.N != cp.Seq || hex.EncodeToString(t.Hash[:]) != cp.Root || t.N > tree.n:
				bad("checkpoint seq %d: its note is for size %d root %x, the checkpoint says %s", cp.Seq, t.N, t.Hash[:], cp.Root)
			case tree.root(t.N) != t.Hash:
				bad("checkpoint seq %d: note root differs from the merkle log of the bundled events", cp.Seq)
			}
		}
	}
	return int(n)
}

// verifyBundleProof checks the seal event's inclusion proof: manifest
// hash -> seal event -> leaf -> proof -> signed checkpoint -> pub. When
// the checkpoint's tree is no larger than the bundled chain, its root must
// also equal the one recomputed from the bundled events.
func verifyBundleProof(fsys fs.FS, seal *models.AuditEvent, pub ed25519.PublicKey, tree *memTree, bad func(string, ...any)) (tlog.Tree, bool) {
	b, err := fs.ReadFile(fsys, BundleProof)
	if err != nil {
		bad("%s: missing: %v", BundleProof, err)
		return tlog.Tree{}, false
	}
	index, proof, cp, err := ParseProof(b)
	if err != nil {
		bad("%s: %s", BundleProof, problemText(err))
		return tlog.Tree{}, false
	}
	if pub == nil || seal == nil {
		return tlog.Tree{}, false // reported already: no key, or no seal event to prove
	}
	t, err := OpenCheckpointNote(pub, cp)
	if err != nil {
		bad("%s: %s", BundleProof, problemText(err))
		return tlog.Tree{}, false
	}
	if index != seal.Seq-1 {
		bad("%s: proves leaf %d, the seal event is leaf %d", BundleProof, index, seal.Seq-1)
		return tlog.Tree{}, false
	}
	if err := CheckInclusion(t, index, seal.Hash, proof); err != nil {
		bad("%s: %s (tampered proof or checkpoint)", BundleProof, problemText(err))
		return tlog.Tree{}, false
	}
	if t.N <= tree.n && tree.root(t.N) != t.Hash {
		bad("%s: checkpoint root differs from the merkle log of the bundled events", BundleProof)
		return tlog.Tree{}, false
	}
	return t, true
}
