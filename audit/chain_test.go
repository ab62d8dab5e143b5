package audit

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
)

// TestCanonicalIsStable pins the canonical encoding and hash: changing them
// would break every chain already stored.
func TestCanonicalIsStable(t *testing.T) {
	e := &models.AuditEvent{Seq: 7, At: time.Date(2026, 11, 27, 13, 0, 0, 123456789, time.FixedZone("CST", 8*3600)),
		Actor: "staff:stf_a", Action: "case.created", CaseID: "case_x", Detail: map[string]string{"z": "1", "a": "<b>&"}}
	const want = `{"action":"case.created","actor":"staff:stf_a","at":"2026-11-27T05:00:00.123456Z","case_id":"case_x","detail":{"a":"\u003cb\u003e\u0026","z":"1"},"seq":7}`
	if got := string(Canonical(e)); got != want {
		t.Fatalf("Canonical() =\n%s\nwant\n%s", got, want)
	}
	// SHA-256 of 32 zero bytes followed by want, computed independently.
	if got, want := Hash(ZeroHash, e), "7d3e4116f07c2b3abb66025324f1cc6c3a61f5e473edbf300abab7508c877f25"; got != want {
		t.Fatalf("Hash(ZeroHash, e) = %s, want %s", got, want)
	}
	nilDetail := *e
	nilDetail.Detail = nil
	if !strings.Contains(string(Canonical(&nilDetail)), `"detail":{}`) {
		t.Fatalf("Canonical(nil detail) = %s, want an empty object", Canonical(&nilDetail))
	}
}

func chainOf(n int) []*models.AuditEvent {
	prev := ZeroHash
	var out []*models.AuditEvent
	for i := 1; i <= n; i++ {
		e := &models.AuditEvent{Seq: int64(i), At: time.Unix(int64(i), 0), Actor: "system", Action: "test", PrevHash: prev}
		e.Hash = Hash(prev, e)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func TestVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	good := chainOf(5)
	head := models.AuditHead{Seq: 5, Hash: good[4].Hash}
	cp := SignCheckpoint(priv, models.AuditHead{Seq: 4, Hash: good[3].Hash}, time.Unix(100, 0))
	tests := []struct {
		name   string
		events func() []*models.AuditEvent
		cps    []*models.Checkpoint
		head   models.AuditHead
		want   string // "" = OK
	}{
		{"intact", func() []*models.AuditEvent { return chainOf(5) }, []*models.Checkpoint{cp}, head, ""},
		{"empty", func() []*models.AuditEvent { return nil }, nil, models.AuditHead{Hash: ZeroHash}, ""},
		{"edited", func() []*models.AuditEvent { c := chainOf(5); c[2].Actor = "mallory"; return c }, nil, head, "row edited"},
		{"deleted", func() []*models.AuditEvent { c := chainOf(5); return append(c[:2], c[3:]...) }, nil, head, "out of sequence"},
		{"reordered", func() []*models.AuditEvent { c := chainOf(5); c[1], c[2] = c[2], c[1]; return c }, nil, head, "prev_hash"},
		{"truncated", func() []*models.AuditEvent { return chainOf(3) }, []*models.Checkpoint{cp}, models.AuditHead{}, "not in the chain"},
		{"head ahead", func() []*models.AuditEvent { return chainOf(4) }, nil, head, "head row"},
		{"foreign key", func() []*models.AuditEvent { return chainOf(5) }, []*models.Checkpoint{SignCheckpoint(otherPriv, head, time.Unix(1, 0))}, head, "signed by key"},
		{"forged checkpoint", func() []*models.AuditEvent { return chainOf(5) }, []*models.Checkpoint{{Seq: 4, Hash: good[2].Hash, At: cp.At, KeyID: cp.KeyID, Signature: cp.Signature}}, head, "signature invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Verify(tt.events(), tt.cps, pub, tt.head)
			if tt.want == "" {
				if !rep.OK() {
					t.Fatalf("Verify() problems = %v, want none", rep.Problems)
				}
				return
			}
			var all []string
			for _, p := range rep.Problems {
				all = append(all, p.String())
			}
			if !strings.Contains(strings.Join(all, "\n"), tt.want) {
				t.Fatalf("Verify() problems = %v, want one mentioning %q", all, tt.want)
			}
		})
	}
}
