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

// checkpointOf signs the head and log root of the first n events.
func checkpointOf(t testing.TB, key ed25519.PrivateKey, events []*models.AuditEvent, n int, at time.Time) *models.Checkpoint {
	t.Helper()
	var hashes []string
	for _, e := range events[:n] {
		hashes = append(hashes, e.Hash)
	}
	cp, err := SignCheckpoint(key, models.AuditHead{Seq: int64(n), Hash: events[n-1].Hash}, RootOf(hashes), at)
	if err != nil {
		t.Fatalf("SignCheckpoint: %v", err)
	}
	return cp
}

func TestVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	good := chainOf(5)
	head := models.AuditHead{Seq: 5, Hash: good[4].Hash}
	cp := checkpointOf(t, priv, good, 4, time.Unix(100, 0))
	cp2 := checkpointOf(t, priv, good, 2, time.Unix(50, 0))
	cp5 := checkpointOf(t, priv, good, 5, time.Unix(150, 0))
	// An alternate history: the same first two events, then others.
	alt := chainOf(5)
	for i := 2; i < 5; i++ {
		alt[i].Action, alt[i].PrevHash = "alternate", alt[i-1].Hash
		alt[i].Hash = Hash(alt[i].PrevHash, alt[i])
	}
	altCP := checkpointOf(t, priv, alt, 4, time.Unix(100, 0))
	legacy := *cp
	legacy.Root, legacy.Note = "", ""
	edit := func(c *models.Checkpoint, f func(*models.Checkpoint)) []*models.Checkpoint {
		d := *c
		f(&d)
		return []*models.Checkpoint{&d}
	}
	tests := []struct {
		name   string
		events func() []*models.AuditEvent
		cps    []*models.Checkpoint
		head   models.AuditHead
		want   string // "" = OK
	}{
		{"intact", func() []*models.AuditEvent { return chainOf(5) }, []*models.Checkpoint{cp}, head, ""},
		{"intact, successive checkpoints", func() []*models.AuditEvent { return chainOf(5) }, []*models.Checkpoint{cp2, cp, cp5}, head, ""},
		{"checkpoint from before the log", func() []*models.AuditEvent { return chainOf(5) }, []*models.Checkpoint{&legacy, cp5}, head, ""},
		{"empty", func() []*models.AuditEvent { return nil }, nil, models.AuditHead{Hash: ZeroHash}, ""},
		{"edited", func() []*models.AuditEvent { c := chainOf(5); c[2].Actor = "mallory"; return c }, nil, head, "row edited"},
		{"deleted", func() []*models.AuditEvent { c := chainOf(5); return append(c[:2], c[3:]...) }, nil, head, "out of sequence"},
		{"reordered", func() []*models.AuditEvent { c := chainOf(5); c[1], c[2] = c[2], c[1]; return c }, nil, head, "prev_hash"},
		{"truncated", func() []*models.AuditEvent { return chainOf(3) }, []*models.Checkpoint{cp}, models.AuditHead{}, "not in the chain"},
		{"rolled back", func() []*models.AuditEvent { return chainOf(3) }, []*models.Checkpoint{cp}, models.AuditHead{}, "rolled back"},
		{"head ahead", func() []*models.AuditEvent { return chainOf(4) }, nil, head, "head row"},
		{"foreign key", func() []*models.AuditEvent { return chainOf(5) }, []*models.Checkpoint{checkpointOf(t, otherPriv, good, 5, time.Unix(1, 0))}, head, "signed by key"},
		{"forged checkpoint", func() []*models.AuditEvent { return chainOf(5) }, []*models.Checkpoint{{Seq: 4, Hash: good[2].Hash, At: cp.At, KeyID: cp.KeyID, Signature: cp.Signature}}, head, "signature invalid"},
		{"note by another key", func() []*models.AuditEvent { return chainOf(5) },
			edit(cp, func(c *models.Checkpoint) { c.Note = checkpointOf(t, otherPriv, good, 4, cp.At).Note }), head, "not signed by key"},
		{"note bit flipped", func() []*models.AuditEvent { return chainOf(5) },
			edit(cp, func(c *models.Checkpoint) { b := []byte(c.Note); b[len(Origin)+4] ^= 1; c.Note = string(b) }), head, "not signed by key"},
		{"note of another size", func() []*models.AuditEvent { return chainOf(5) },
			edit(cp, func(c *models.Checkpoint) { c.Note = cp2.Note }), head, "the row says"},
		{"forked log", func() []*models.AuditEvent { return chainOf(5) }, []*models.Checkpoint{cp2, altCP}, head, "history rewritten or forked"},
		{"older served as newer", func() []*models.AuditEvent { return chainOf(5) }, []*models.Checkpoint{cp5, cp}, head, "rolled back: size 4 offered after size 5"},
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
