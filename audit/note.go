package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"remoteidv/models"
)

// Origin is the first line of every checkpoint note: the log's identity
// (C2SP tlog-checkpoint), and the name of the note key.
const Origin = "remoteidv/audit"

// The note key is the service's own Ed25519 key under the name Origin, so
// an auditor needs only the one public key the bank publishes. Signatures
// cannot be confused across uses: a note signs its text, which starts with
// "remoteidv/audit\n", while manifests and the older checkpoint signature
// sign messages starting "remoteidv case manifest v1\n" and "remoteidv audit
// checkpoint v1\n".

type noteSigner struct {
	key  ed25519.PrivateKey
	hash uint32
}

func (s noteSigner) Name() string                    { return Origin }
func (s noteSigner) KeyHash() uint32                 { return s.hash }
func (s noteSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.key, msg), nil }

// NoteVerifierKey returns the signed-note verifier key of pub
// ("remoteidv/audit+<key hash>+<base64 key>"), as other note tools take it.
func NoteVerifierKey(pub ed25519.PublicKey) (string, error) {
	vkey, err := note.NewEd25519VerifierKey(Origin, pub)
	if err != nil {
		return "", fmt.Errorf("note verifier key: %w", err)
	}
	return vkey, nil
}

func noteVerifier(pub ed25519.PublicKey) (note.Verifier, error) {
	vkey, err := NoteVerifierKey(pub)
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("note verifier: %w", err)
	}
	return v, nil
}

// SignCheckpointNote returns the C2SP checkpoint of the tree as a note
// signed with key:
//
//	remoteidv/audit
//	<size>
//	<base64 root hash>
//
//	— remoteidv/audit <base64 key hash and signature>
func SignCheckpointNote(key ed25519.PrivateKey, tree tlog.Tree) ([]byte, error) {
	v, err := noteVerifier(key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", Origin, tree.N, base64.StdEncoding.EncodeToString(tree.Hash[:]))
	b, err := note.Sign(&note.Note{Text: text}, noteSigner{key: key, hash: v.KeyHash()})
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint note: %w", err)
	}
	return b, nil
}

// OpenCheckpointNote checks a checkpoint note's signature by pub and
// parses its text: origin Origin, a decimal size without leading zeros, a
// base64 root hash (extension lines are ignored). It returns ECONFLICT
// when the signature does not verify and EINVALID for a malformed note.
// The caller must still compare the tree with the leaves (Verify) or a
// proof (CheckInclusion, CheckConsistency).
func OpenCheckpointNote(pub ed25519.PublicKey, msg []byte) (tlog.Tree, error) {
	v, err := noteVerifier(pub)
	if err != nil {
		return tlog.Tree{}, err
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return tlog.Tree{}, models.Errorf(models.ECONFLICT, "checkpoint note: not signed by key %s: %v", KeyID(pub), err)
	}
	return parseCheckpointText(n.Text)
}

func parseCheckpointText(text string) (tlog.Tree, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] != Origin {
		return tlog.Tree{}, models.Errorf(models.EINVALID, "checkpoint note: want origin %q, a size and a root hash", Origin)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return tlog.Tree{}, models.Errorf(models.EINVALID, "checkpoint note: size %q is not a decimal number", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return tlog.Tree{}, models.Errorf(models.EINVALID, "checkpoint note: root %q is not a base64 SHA-256 hash", lines[2])
	}
	return tlog.Tree{N: size, Hash: tlog.Hash(root)}, nil
}

// ProofHeader is the first line of a C2SP tlog-proof.
const ProofHeader = "c2sp.org/tlog-proof@v1"

// FormatProof writes a C2SP tlog-proof: the header, "index N", the
// inclusion proof's hashes in base64 one a line, an empty line, and the
// signed checkpoint note the proof leads to.
func FormatProof(index int64, proof tlog.RecordProof, checkpoint []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nindex %d\n", ProofHeader, index)
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(checkpoint)
	return b.Bytes()
}

// ParseProof reads a C2SP tlog-proof written by FormatProof (an "extra"
// line is accepted and ignored). It checks the format only.
func ParseProof(b []byte) (index int64, proof tlog.RecordProof, checkpoint []byte, err error) {
	head, cp, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		return 0, nil, nil, models.Errorf(models.EINVALID, "tlog proof: no empty line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != ProofHeader {
		return 0, nil, nil, models.Errorf(models.EINVALID, "tlog proof: first line %q, want %q", lines[0], ProofHeader)
	}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return 0, nil, nil, models.Errorf(models.EINVALID, "tlog proof: no index line")
	}
	idx := strings.TrimPrefix(lines[0], "index ")
	index, err = strconv.ParseInt(idx, 10, 64)
	if err != nil || index < 0 || strconv.FormatInt(index, 10) != idx {
		return 0, nil, nil, models.Errorf(models.EINVALID, "tlog proof: index %q is not a decimal number", idx)
	}
	proof = tlog.RecordProof{}
	for _, l := range lines[1:] {
		h, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(h) != tlog.HashSize {
			return 0, nil, nil, models.Errorf(models.EINVALID, "tlog proof: %q is not a base64 SHA-256 hash", l)
		}
		proof = append(proof, tlog.Hash(h))
	}
	return index, proof, cp, nil
}

// EncodeTreeProof writes a consistency proof as base64 hashes, as GET
// /api/audit/checkpoints/consistency answers it.
func EncodeTreeProof(p tlog.TreeProof) []string {
	out := make([]string, len(p))
	for i, h := range p {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

// DecodeTreeProof reads what EncodeTreeProof wrote (EINVALID otherwise).
func DecodeTreeProof(hashes []string) (tlog.TreeProof, error) {
	p := make(tlog.TreeProof, len(hashes))
	for i, s := range hashes {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, models.Errorf(models.EINVALID, "consistency proof: %q is not a base64 SHA-256 hash", s)
		}
		p[i] = tlog.Hash(b)
	}
	return p, nil
}

// ConsistencyHeader is the first line of a consistency proof file.
const ConsistencyHeader = "remoteidv/audit consistency-proof v1"

// FormatConsistency writes, in the style of a C2SP tlog-proof, the proof
// that the signed log (the checkpoint note that ends it) extends the log
// of size old: the header, "old N", the RFC 6962 consistency proof's
// hashes in base64 one a line, an empty line, and the note. When old is
// the note's size the proof has no hashes.
func FormatConsistency(old int64, proof tlog.TreeProof, checkpoint []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nold %d\n", ConsistencyHeader, old)
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(checkpoint)
	return b.Bytes()
}

// ParseConsistency reads what FormatConsistency wrote. It checks the
// format only (EINVALID otherwise): the caller opens the note with the
// trusted key and checks the proof (CheckConsistency).
func ParseConsistency(b []byte) (old int64, proof tlog.TreeProof, checkpoint []byte, err error) {
	head, cp, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		return 0, nil, nil, models.Errorf(models.EINVALID, "consistency proof: no empty line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != ConsistencyHeader {
		return 0, nil, nil, models.Errorf(models.EINVALID, "consistency proof: first line %q, want %q", lines[0], ConsistencyHeader)
	}
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "old ") {
		return 0, nil, nil, models.Errorf(models.EINVALID, "consistency proof: no \"old\" line")
	}
	n := strings.TrimPrefix(lines[1], "old ")
	old, err = strconv.ParseInt(n, 10, 64)
	if err != nil || old < 1 || strconv.FormatInt(old, 10) != n {
		return 0, nil, nil, models.Errorf(models.EINVALID, "consistency proof: old size %q is not a positive decimal number", n)
	}
	proof = tlog.TreeProof{}
	for _, l := range lines[2:] {
		h, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(h) != tlog.HashSize {
			return 0, nil, nil, models.Errorf(models.EINVALID, "consistency proof: %q is not a base64 SHA-256 hash", l)
		}
		proof = append(proof, tlog.Hash(h))
	}
	return old, proof, cp, nil
}
