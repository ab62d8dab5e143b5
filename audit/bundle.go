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
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"remoteidv/models"
)

// Bundle file names. Artifacts are under BundleItems + their key.
const (
	BundleFormat      = "format.txt"
	BundleManifest    = "manifest.json"
	BundleSignature   = "manifest.sig"   // base64 Ed25519 signature of manifest.json
	BundlePublicKey   = "public-key.pem" // the service's key (PKIX PEM)
	BundleEvents      = "audit/events.jsonl"
	BundleLeaves      = "audit/leaves.txt"
	BundleCheckpoints = "audit/checkpoints.json"
	BundleProof       = "audit/log.proof" // FormatConsistency: leaves -> signed checkpoint
	BundleItems       = "items/"
	BundleReadme      = "README.txt"
)

// BundleVersion is the bundle format: 2 authenticates every event of the
// case through the Merkle log and binds what the bundle must hold in the
// seal event; format 1 (redacted event lines, no format.txt) is refused.
const BundleVersion = 2

// bundleFormatLine is the content of BundleFormat.
var bundleFormatLine = fmt.Sprintf("remoteidv evidence bundle %d", BundleVersion)

// SealAction is the audit action of the event that records a manifest.
const SealAction = "case.seal"

// Seal event detail keys (see also SealBinding).
const (
	DetailManifestKey       = "manifest_key"
	DetailManifestSHA256    = "manifest_sha256"
	DetailManifestSignature = "manifest_signature"
	DetailKeyID             = "key_id"
)

// bundleEvent is one line of audit/events.jsonl: an event of the bundle's
// case, in full. Other cases' events are only leaves (audit/leaves.txt).
type bundleEvent struct {
	Seq      int64             `json:"seq"`
	At       time.Time         `json:"at"`
	Actor    string            `json:"actor"`
	Action   string            `json:"action"`
	CaseID   models.CaseID     `json:"case_id"`
	Detail   map[string]string `json:"detail"`
	PrevHash string            `json:"prev_hash"`
	Hash     string            `json:"hash"`
}

// Bundle is what an auditor downloads for a sealed case.
type Bundle struct {
	Manifest  []byte // exactly as stored and signed
	Signature []byte
	PublicKey ed25519.PublicKey
	// Events is the whole chain from seq 1 to the case's seal event, S.
	// Their hashes become the bundle's leaves; only the case's own events
	// are written in full.
	Events []*models.AuditEvent
	// Checkpoints are the stored ones: those of size at most S, and the
	// one Proof leads to, are written.
	Checkpoints []*models.Checkpoint
	// Proof is Checkpointer.ProveFrom(S): the log of the S leaves is a
	// prefix of the log of a signed checkpoint.
	Proof []byte
}

// OpenFunc opens an artifact's stored bytes.
type OpenFunc func(it ManifestItem) (io.ReadCloser, error)

const bundleReadme = `remoteidv evidence bundle, format %d

format.txt               the format: "remoteidv evidence bundle %d"
manifest.json            every artifact of the case (key, version, size, SHA-256, kind, time, actor),
                         the audit chain head when sealed, and a case summary
manifest.sig             base64 Ed25519 signature of manifest.json ("remoteidv case manifest v1\n" + bytes)
public-key.pem           the service's public key, SHA-256 fingerprint
                         %s
                         (hex SHA-256 of the 32-byte key); trust it only if the bank publishes the same
audit/leaves.txt         the leaves of the audit Merkle log (RFC 6962) from seq 1 to the case's seal event:
                         the hex chain hash of each event, one a line; other cases' events appear only here
audit/events.jsonl       every event of this case in that range, in full; each hashes to its leaf
                         (hash = SHA-256(prev_hash || canonical JSON)), its prev_hash is the leaf before it;
                         the seal event lists the seqs of all of them and digests the checkpoints before it;
                         a call's interruptions are its call.interrupted events (participant, cause, started_at)
                         and call.resumed events (when the party's media came back); none resumed: not back;
                         a call continued on another node after its node went away has call.suspended
                         (the node shut down) and call.continued events (leg, previous) and keeps its ID
audit/log.proof          RFC 6962 consistency proof that the log of these leaves is a prefix of the log of
                         a signed checkpoint note (origin remoteidv/audit, size, root), which ends the file
audit/checkpoints.json   the signed checkpoints of the log up to the seal, and the one the proof leads to
items/<key>              the artifacts

Check it offline with: idv evidence verify -fingerprint %s bundle.zip
(or -key bank-public-key.pem). Without a trusted key nothing here proves who made the bundle.
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
	n := int64(len(b.Events))
	if n == 0 {
		return models.Errorf(models.EINVALID, "write bundle of %s: no audit events", m.Case.ID)
	}
	for i, e := range b.Events {
		if e.Seq != int64(i+1) {
			return models.Errorf(models.EINVALID, "write bundle of %s: audit event %d has seq %d; the chain must start at 1 without gaps", m.Case.ID, i+1, e.Seq)
		}
	}
	if seal := b.Events[n-1]; seal.CaseID != m.Case.ID || seal.Action != SealAction || seal.Detail[DetailManifestSHA256] != SHA256Hex(b.Manifest) {
		return models.Errorf(models.EINVALID, "write bundle of %s: the events must end with the seal event of this manifest", m.Case.ID)
	}
	old, _, note, err := ParseConsistency(b.Proof)
	if err != nil {
		return fmt.Errorf("write bundle of %s: %w", m.Case.ID, err)
	}
	if old != n {
		return models.Errorf(models.EINVALID, "write bundle of %s: the proof starts at size %d, the seal event is %d", m.Case.ID, old, n)
	}
	cps := []*models.Checkpoint{}
	proven := false
	for _, cp := range b.Checkpoints {
		switch {
		case cp.Note == string(note):
			proven = true
			cps = append(cps, cp)
		case cp.Seq <= n:
			cps = append(cps, cp)
		}
	}
	if !proven {
		return models.Errorf(models.EINVALID, "write bundle of %s: no stored checkpoint is the one the proof leads to", m.Case.ID)
	}
	pem, err := MarshalPublicKey(b.PublicKey)
	if err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	var leaves, events bytes.Buffer
	enc := json.NewEncoder(&events)
	for _, e := range b.Events {
		leaves.WriteString(e.Hash + "\n")
		if e.CaseID != m.Case.ID {
			continue
		}
		be := bundleEvent{Seq: e.Seq, At: e.At.UTC(), Actor: e.Actor, Action: e.Action, CaseID: e.CaseID, Detail: e.Detail, PrevHash: e.PrevHash, Hash: e.Hash}
		if err := enc.Encode(be); err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
	}
	cpsJSON, err := json.MarshalIndent(cps, "", "  ")
	if err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	fp := Fingerprint(b.PublicKey)
	zw := zip.NewWriter(w)
	for _, f := range []struct {
		name string
		body []byte
	}{
		{BundleReadme, fmt.Appendf(nil, bundleReadme, BundleVersion, BundleVersion, fp, fp)},
		{BundleFormat, []byte(bundleFormatLine + "\n")},
		{BundleManifest, b.Manifest},
		{BundleSignature, []byte(base64.StdEncoding.EncodeToString(b.Signature) + "\n")},
		{BundlePublicKey, pem},
		{BundleLeaves, leaves.Bytes()},
		{BundleEvents, events.Bytes()},
		{BundleCheckpoints, cpsJSON},
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
	Case models.CaseID
	// KeyID and Fingerprint name the bundled key; Trusted is whether it
	// was checked against a key the caller trusts (it must be).
	KeyID       string
	Fingerprint string
	Trusted     bool
	Items       []ItemResult
	Events      int   // the case's events in the bundle, each authenticated
	Leaves      int64 // leaves of the Merkle log in the bundle: seq 1 to the seal
	// SealSeq is the seal event's sequence number; LogSize and LogRoot
	// (hex) the signed checkpoint the bundled leaves are proven a prefix
	// of (zero when they are not).
	SealSeq     int64
	LogSize     int64
	LogRoot     string
	Checkpoints int
	Problems    []string
	// Warnings are what the bundle cannot prove without anything being
	// wrong, such as completeness for a case sealed before format 2: not
	// OK's business, but such a bundle is not Proven.
	Warnings []string
}

// Proven reports whether nothing was wrong and nothing was left unproven:
// the verdict an auditor acts on (idv evidence verify exits non-zero
// otherwise).
func (r *BundleReport) Proven() bool { return r.OK() && len(r.Warnings) == 0 }

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

// VerifyBundle checks a bundle offline against trusted, the key the
// auditor trusts (the bank's published key, or the bundled key once its
// Fingerprint matched the published one); without it the bundle fails,
// since anyone can make a bundle that is consistent with its own key.
//
// It checks: the format; the bundled key is trusted; the manifest's
// signature; every item's presence, size and SHA-256 and no files beyond
// the manifest's; the leaves (chain hashes of events 1..S, S the seal
// event) form a log that the proof shows is a prefix of a checkpoint
// note signed by trusted; every event of the case in the bundle hashes to
// its leaf and its prev_hash is the leaf before it; the seal event is
// leaf S, records this manifest's SHA-256 and signature, and lists the
// seqs of the case's earlier events, each of which must be in the bundle;
// the manifest's audit head is a leaf before the seal; and every
// checkpoint in checkpoints.json is signed by trusted and, up to size S,
// matches the leaves, the ones signed before the seal are exactly those
// the seal event digests, and the proof's checkpoint is among them. It
// names every problem.
func VerifyBundle(fsys fs.FS, trusted ed25519.PublicKey) *BundleReport {
	r := &BundleReport{}
	bad := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }

	if b, err := fs.ReadFile(fsys, BundleFormat); err != nil {
		bad("%s: missing: not a format %d bundle (download it again)", BundleFormat, BundleVersion)
	} else if got := strings.TrimSpace(string(b)); got != bundleFormatLine {
		bad("%s: %q, this verifier reads %q", BundleFormat, got, bundleFormatLine)
	}
	var pub ed25519.PublicKey
	if b, err := fs.ReadFile(fsys, BundlePublicKey); err != nil {
		bad("%s: missing: %v", BundlePublicKey, err)
	} else if pub, err = ParsePublicKey(b); err != nil {
		bad("%s: %v", BundlePublicKey, err)
	} else {
		r.KeyID, r.Fingerprint = KeyID(pub), Fingerprint(pub)
	}
	switch {
	case trusted == nil:
		bad("no trusted key: the bundle's own key proves nothing; pass the bank's public key or its SHA-256 fingerprint")
	case pub != nil && !pub.Equal(trusted):
		bad("%s: key with fingerprint %s is not the trusted key %s (bundle signed with another key)", BundlePublicKey, Fingerprint(pub), Fingerprint(trusted))
	default:
		r.Trusted = pub != nil
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
	if verifyWith != nil {
		verifyBundleLog(fsys, m, mb, sig, verifyWith, r, bad)
	}
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

// bundleLog is what verifyBundleLog reads and checks step by step.
type bundleLog struct {
	fsys   fs.FS
	pub    ed25519.PublicKey
	m      *Manifest
	leaves []string
	tree   *memTree
	events []*models.AuditEvent // the case's, authenticated, in the bundle's order
	lines  map[int64]bool       // seqs of the case's lines, authentic or not
	seal   *models.AuditEvent
	note   []byte    // the proof's checkpoint note
	signed tlog.Tree // what it signs, when the proof verified
	r      *BundleReport
	bad    func(string, ...any)
}

func verifyBundleLog(fsys fs.FS, m *Manifest, mb, sig []byte, pub ed25519.PublicKey, r *BundleReport, bad func(string, ...any)) {
	l := &bundleLog{fsys: fsys, pub: pub, m: m, r: r, bad: bad, lines: map[int64]bool{}}
	if !l.readLeaves() {
		return
	}
	l.readEvents()
	l.checkSeal(mb, sig)
	l.checkProof()
	l.checkCheckpoints()
}

// readLeaves reads audit/leaves.txt: one hex SHA-256 chain hash a line.
func (l *bundleLog) readLeaves() bool {
	b, err := fs.ReadFile(l.fsys, BundleLeaves)
	if err != nil {
		l.bad("%s: missing: %v", BundleLeaves, err)
		return false
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if h, err := hex.DecodeString(line); err != nil || len(h) != sha256.Size || hex.EncodeToString(h) != line {
			l.bad("%s line %d: %q is not a lower-case hex SHA-256 hash", BundleLeaves, i+1, line)
			return false
		}
		l.leaves = append(l.leaves, line)
	}
	l.tree = newMemTree(l.leaves)
	l.r.Leaves = l.tree.n
	return true
}

// leafBefore is the prev_hash the event at seq must have.
func (l *bundleLog) leafBefore(seq int64) string {
	if seq == 1 {
		return ZeroHash
	}
	return l.leaves[seq-2]
}

// readEvents reads and authenticates the case's events: each hashes to
// its leaf and links to the leaf before it.
func (l *bundleLog) readEvents() {
	f, err := l.fsys.Open(BundleEvents)
	if err != nil {
		l.bad("%s: missing: %v", BundleEvents, err)
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var line int
	var last int64
	for sc.Scan() {
		line++
		var be bundleEvent
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&be); err != nil {
			l.bad("%s line %d: %v", BundleEvents, line, err)
			continue
		}
		e := &models.AuditEvent{Seq: be.Seq, At: be.At, Actor: be.Actor, Action: be.Action, CaseID: be.CaseID, Detail: be.Detail, PrevHash: be.PrevHash, Hash: be.Hash}
		if e.CaseID != l.m.Case.ID {
			l.bad("audit seq %d (%s): an event of case %q; a bundle holds only its own case's events (others are leaves)", e.Seq, e.Action, e.CaseID)
			continue
		}
		if e.Seq <= last {
			l.bad("audit seq %d (%s): comes after seq %d in %s (events reordered or repeated)", e.Seq, e.Action, last, BundleEvents)
		}
		last = max(last, e.Seq)
		l.lines[e.Seq] = true
		if e.Seq < 1 || e.Seq > l.tree.n {
			l.bad("audit seq %d (%s): outside the %d leaves of %s", e.Seq, e.Action, l.tree.n, BundleLeaves)
			continue
		}
		switch {
		case Hash(e.PrevHash, e) != e.Hash:
			l.bad("audit seq %d (%s): content does not match its hash (event edited)", e.Seq, e.Action)
		case e.Hash != l.leaves[e.Seq-1]:
			l.bad("audit seq %d (%s): its hash is not leaf %d of the Merkle log (event rewritten)", e.Seq, e.Action, e.Seq-1)
		case e.PrevHash != l.leafBefore(e.Seq):
			l.bad("audit seq %d (%s): prev_hash is not the leaf before it (event rewritten)", e.Seq, e.Action)
		default:
			l.events = append(l.events, e)
		}
	}
	if err := sc.Err(); err != nil {
		l.bad("%s: %v", BundleEvents, err)
	}
	l.r.Events = len(l.events)
}

// checkSeal finds the seal event of this manifest and checks what it
// records: the last leaf, the signature, the manifest's head before it,
// and every earlier event of the case present.
func (l *bundleLog) checkSeal(mb, sig []byte) {
	for _, e := range l.events {
		if e.Action == SealAction && e.Detail[DetailManifestSHA256] == SHA256Hex(mb) {
			l.seal = e
		}
	}
	if l.seal == nil {
		l.bad("audit: no authentic %s event of case %s records this manifest's SHA-256 %s", SealAction, l.m.Case.ID, SHA256Hex(mb))
		return
	}
	seal := l.seal
	l.r.SealSeq = seal.Seq
	if seal.Seq != l.tree.n {
		l.bad("%s: %d leaves, but the seal event is seq %d: the leaves must end at the seal (trimmed or extended)", BundleLeaves, l.tree.n, seal.Seq)
	}
	if seal.Detail[DetailManifestSignature] != base64.StdEncoding.EncodeToString(sig) {
		l.bad("audit seq %d: the seal event records another signature than %s", seal.Seq, BundleSignature)
	}
	switch head := l.m.AuditHead; {
	case head.Seq >= seal.Seq:
		l.bad("audit seq %d: the seal event is not after the manifest's head %d", seal.Seq, head.Seq)
	case head.Seq > 0 && l.leaves[head.Seq-1] != head.Hash:
		l.bad("manifest audit head seq %d: its hash is not leaf %d", head.Seq, head.Seq-1)
	}
	list, ok := seal.Detail[DetailCaseEventSeqs]
	if !ok {
		l.r.Warnings = append(l.r.Warnings, fmt.Sprintf("audit seq %d: the seal event predates bundle format %d and does not list the case's events: that none was left out is not proven", seal.Seq, BundleVersion))
		return
	}
	want, err := parseSeqs(list)
	if err != nil {
		l.bad("audit seq %d: the seal event's %s: %v", seal.Seq, DetailCaseEventSeqs, err)
		return
	}
	recorded := map[int64]bool{}
	for _, seq := range want {
		recorded[seq] = true
		if !l.lines[seq] { // a line that failed its checks is reported already
			l.bad("audit seq %d: an event of the case that the seal event lists is missing from %s (left out, or hidden among other cases' leaves)", seq, BundleEvents)
		}
	}
	for _, e := range l.events {
		if e.Seq < seal.Seq && !recorded[e.Seq] {
			l.bad("audit seq %d (%s): not among the case's events the seal event lists", e.Seq, e.Action)
		}
	}
}

// checkProof checks that the log of the leaves is a prefix of the log of
// the signed checkpoint the proof ends with.
func (l *bundleLog) checkProof() {
	b, err := fs.ReadFile(l.fsys, BundleProof)
	if err != nil {
		l.bad("%s: missing: %v", BundleProof, err)
		return
	}
	old, proof, note, err := ParseConsistency(b)
	if err != nil {
		l.bad("%s: %s", BundleProof, problemText(err))
		return
	}
	l.note = note
	t, err := OpenCheckpointNote(l.pub, note)
	if err != nil {
		l.bad("%s: %s", BundleProof, problemText(err))
		return
	}
	if old != l.tree.n {
		l.bad("%s: proves a log of %d leaves, the bundle has %d", BundleProof, old, l.tree.n)
		return
	}
	if err := CheckConsistency(tlog.Tree{N: l.tree.n, Hash: l.tree.root(l.tree.n)}, t, proof); err != nil {
		l.bad("%s: the log of the %d bundled leaves is not a prefix of the signed log of size %d: %s (a leaf altered, added or removed, or the proof tampered)", BundleProof, l.tree.n, t.N, problemText(err))
		return
	}
	l.signed = t
	l.r.LogSize, l.r.LogRoot = t.N, hex.EncodeToString(t.Hash[:])
}

// checkCheckpoints checks audit/checkpoints.json: present, each checkpoint
// signed and, up to the leaves, matching them; the proof's checkpoint in
// it; and those from before the seal exactly the ones it records.
func (l *bundleLog) checkCheckpoints() {
	cb, err := fs.ReadFile(l.fsys, BundleCheckpoints)
	if err != nil {
		l.bad("%s: missing: %v", BundleCheckpoints, err)
		return
	}
	var cps []*models.Checkpoint
	if err := json.Unmarshal(cb, &cps); err != nil {
		l.bad("%s: %v", BundleCheckpoints, err)
		return
	}
	l.r.Checkpoints = len(cps)
	sort.SliceStable(cps, func(i, j int) bool { return cps[i].Seq < cps[j].Seq })
	wantKey := KeyID(l.pub)
	proven := false
	var before []*models.Checkpoint
	for i, cp := range cps {
		if cp == nil {
			l.bad("%s: a null checkpoint", BundleCheckpoints)
			continue
		}
		if i > 0 && cps[i-1] != nil && cps[i-1].Seq == cp.Seq {
			l.bad("checkpoint seq %d: listed twice in %s", cp.Seq, BundleCheckpoints)
		}
		if l.seal != nil && cp.Seq < l.seal.Seq {
			before = append(before, cp)
		}
		isProofs := l.note != nil && cp.Note == string(l.note)
		switch {
		case cp.KeyID != wantKey:
			l.bad("checkpoint seq %d: signed by key %s, expected %s", cp.Seq, cp.KeyID, wantKey)
			continue
		case !VerifyCheckpoint(l.pub, cp):
			l.bad("checkpoint seq %d: signature invalid", cp.Seq)
			continue
		case cp.Seq < 1:
			l.bad("checkpoint seq %d: not a log size", cp.Seq)
			continue
		case cp.Seq > l.tree.n && !isProofs:
			l.bad("checkpoint seq %d: beyond the seal, and not the checkpoint %s leads to", cp.Seq, BundleProof)
			continue
		case cp.Seq <= l.tree.n && cp.Hash != l.leaves[cp.Seq-1]:
			l.bad("checkpoint seq %d: its chain hash is not leaf %d (history rewritten)", cp.Seq, cp.Seq-1)
			continue
		case cp.Note == "":
			continue // signed before the Merkle log existed
		}
		t, err := OpenCheckpointNote(l.pub, []byte(cp.Note))
		switch {
		case err != nil:
			l.bad("checkpoint seq %d: %s", cp.Seq, problemText(err))
		case t.N != cp.Seq || hex.EncodeToString(t.Hash[:]) != cp.Root:
			l.bad("checkpoint seq %d: its note is for size %d root %x, the checkpoint says %s", cp.Seq, t.N, t.Hash[:], cp.Root)
		case t.N <= l.tree.n && l.tree.root(t.N) != t.Hash:
			l.bad("checkpoint seq %d: its note's root differs from the root of the bundled leaves at that size", cp.Seq)
		default:
			proven = proven || isProofs
		}
	}
	if l.note != nil && l.signed.N > 0 && !proven {
		l.bad("%s: lacks the checkpoint of size %d that %s leads to (trimmed)", BundleCheckpoints, l.signed.N, BundleProof)
	}
	if l.seal == nil {
		return
	}
	n, ok := l.seal.Detail[DetailCheckpoints]
	if !ok {
		l.r.Warnings = append(l.r.Warnings, fmt.Sprintf("audit seq %d: the seal event predates bundle format %d and does not record the checkpoints before it: that none was removed is not proven", l.seal.Seq, BundleVersion))
		return
	}
	if got, sum := strconv.Itoa(len(before)), CheckpointsDigest(before); got != n || sum != l.seal.Detail[DetailCheckpointsSHA256] {
		l.bad("%s: %s checkpoints from before the seal with digest %s; the seal event records %s with %s (checkpoints removed, added or altered)",
			BundleCheckpoints, got, sum, n, l.seal.Detail[DetailCheckpointsSHA256])
	}
}
