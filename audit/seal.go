package audit

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"remoteidv/models"
)

// Seal event detail keys that say what a bundle must hold (format 2). The
// seal event is a leaf of the Merkle log, so these are as trustworthy as
// the signed checkpoint a bundle's proof leads to.
const (
	// DetailCaseEventSeqs lists, comma-separated and ascending, the seqs
	// of every event of the case before the seal event: a bundle must
	// hold each in full, so none can be left out or passed off as another
	// case's leaf.
	DetailCaseEventSeqs = "case_event_seqs"
	// DetailCheckpoints and DetailCheckpointsSHA256 are how many signed
	// checkpoints existed when the case was sealed (all of them of a
	// smaller log) and the digest of them (CheckpointsDigest): a bundle's
	// checkpoints.json must hold exactly those.
	DetailCheckpoints       = "checkpoints"
	DetailCheckpointsSHA256 = "checkpoints_sha256"
)

// SealBinding returns the seal event's detail entries above. caseEvents
// are the case's events and cps every checkpoint, both read in the
// transaction that appends the seal event after locking the chain head
// (AuditHeadForUpdate), so that nothing is appended or signed in between.
func SealBinding(caseEvents []*models.AuditEvent, cps []*models.Checkpoint) map[string]string {
	seqs := make([]int64, len(caseEvents))
	for i, e := range caseEvents {
		seqs[i] = e.Seq
	}
	return map[string]string{
		DetailCaseEventSeqs:     formatSeqs(seqs),
		DetailCheckpoints:       strconv.Itoa(len(cps)),
		DetailCheckpointsSHA256: CheckpointsDigest(cps),
	}
}

// CheckpointsDigest is the hex SHA-256 of one line per checkpoint, by
// seq: "seq chain-hash base64-signature sha256-of-note\n". It binds each
// checkpoint's signed content.
func CheckpointsDigest(cps []*models.Checkpoint) string {
	sorted := append([]*models.Checkpoint(nil), cps...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Seq < sorted[j].Seq })
	var b strings.Builder
	for _, cp := range sorted {
		fmt.Fprintf(&b, "%d %s %s %s\n", cp.Seq, cp.Hash, base64.StdEncoding.EncodeToString(cp.Signature), SHA256Hex([]byte(cp.Note)))
	}
	return SHA256Hex([]byte(b.String()))
}

func formatSeqs(seqs []int64) string {
	var b strings.Builder
	for i, s := range seqs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(s, 10))
	}
	return b.String()
}

// parseSeqs reads what formatSeqs wrote: positive, strictly ascending.
func parseSeqs(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	var out []int64
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 1 || strconv.FormatInt(n, 10) != f || (len(out) > 0 && n <= out[len(out)-1]) {
			return nil, fmt.Errorf("%q is not an ascending list of seqs", s)
		}
		out = append(out, n)
	}
	return out, nil
}
