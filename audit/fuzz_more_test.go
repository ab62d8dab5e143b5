package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
)

// fuzzKey is fixed, so that the committed seeds keep their signatures.
var fuzzKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// FuzzManifest: any bytes either fail DecodeManifest with EINVALID, or
// decode to a manifest that EncodeManifest writes back to bytes decoding
// the same; VerifyManifest accepts the signature of the seed manifest
// only over exactly its bytes.
func FuzzManifest(f *testing.F) {
	tb := buildTestBundle(f, fuzzKey, true)
	f.Add(tb.manifest)
	f.Add(bytes.Replace(tb.manifest, []byte(`"version": 1`), []byte(`"version": 2`), 1))
	f.Add(bytes.Replace(tb.manifest, []byte(`"size": 14`), []byte(`"size": 15`), 1))
	f.Add([]byte(`{"version":1,"items":[{"key":"x"}]}`))
	f.Add([]byte(`{"version":1,"extra":true}`))
	f.Add([]byte("null"))
	pub := fuzzKey.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := audit.VerifyManifest(pub, b, tb.sig); err == nil && !bytes.Equal(b, tb.manifest) {
			t.Fatalf("VerifyManifest accepted the seed's signature over other bytes: %q", b)
		}
		m, err := audit.DecodeManifest(b)
		if err != nil {
			if models.ErrorCodeOf(err) != models.EINVALID {
				t.Fatalf("DecodeManifest(%q) = %v, want EINVALID", b, err)
			}
			return
		}
		enc, err := audit.EncodeManifest(m)
		if err != nil {
			t.Fatalf("EncodeManifest(DecodeManifest(%q)): %v", b, err)
		}
		m2, err := audit.DecodeManifest(enc)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("DecodeManifest(EncodeManifest(DecodeManifest(%q))) = %+v, %v; want %+v", b, m2, err, m)
		}
	})
}

// bundleFiles are the files FuzzBundle replaces, by the fuzzer's index.
var bundleFiles = []string{audit.BundleFormat, audit.BundleManifest, audit.BundleSignature, audit.BundlePublicKey, audit.BundleEvents,
	audit.BundleLeaves, audit.BundleCheckpoints, audit.BundleProof, audit.BundleItems + "(first item)", audit.BundleItems + "extra"}

// FuzzBundle: a genuine bundle with one file replaced by fuzzed bytes (or
// added) is checked by VerifyBundle without a panic; whenever the
// manifest, an artifact or the leaves (but for the last newline) differ
// from the genuine ones, or a file not in the manifest is added, it fails.
func FuzzBundle(f *testing.F) {
	tb := buildTestBundle(f, fuzzKey, true)
	genuine := tb.zip(f)
	var first string
	for name := range genuine {
		if strings.HasPrefix(name, audit.BundleItems) && (first == "" || name < first) {
			first = name
		}
	}
	for i, name := range bundleFiles {
		if name == audit.BundleItems+"(first item)" {
			name = first
		}
		b := genuine[name]
		f.Add(uint8(i), b)
		if len(b) > 0 {
			f.Add(uint8(i), b[:len(b)-1])
			f.Add(uint8(i), append(slices.Clone(b), '\n'))
		}
	}
	f.Add(uint8(4), []byte(`{"seq":1,"extra":1}`+"\n"))
	f.Add(uint8(5), []byte("00\n"))
	f.Add(uint8(6), []byte(`[null]`))
	pub := fuzzKey.Public().(ed25519.PublicKey)
	if r := audit.VerifyBundle(mapFS(genuine), pub); !r.Proven() {
		f.Fatalf("the genuine bundle does not verify: %v %v", r.Problems, r.Warnings)
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		files := maps.Clone(genuine)
		name := bundleFiles[int(which)%len(bundleFiles)]
		if name == audit.BundleItems+"(first item)" {
			name = first
		}
		old, had := files[name]
		files[name] = b
		start := time.Now()
		r := audit.VerifyBundle(mapFS(files), pub)
		if d := time.Since(start); d > 2*time.Second { // a hostile bundle does not stall the verifier
			t.Fatalf("VerifyBundle took %s with %s = %q", d, name, b)
		}
		strict := name == audit.BundleManifest || name == audit.BundleLeaves || strings.HasPrefix(name, audit.BundleItems)
		same := had && bytes.Equal(old, b)
		if name == audit.BundleLeaves { // the last newline is optional
			same = bytes.Equal(bytes.TrimSuffix(old, []byte("\n")), bytes.TrimSuffix(b, []byte("\n")))
		}
		if strict && !same && r.OK() {
			t.Fatalf("VerifyBundle accepted a bundle whose %s is %q instead of %q", name, b, old)
		}
		if r.OK() && r.Case != "case_one" {
			t.Fatalf("VerifyBundle accepted a bundle of case %q", r.Case)
		}
	})
}

func mapFS(files map[string][]byte) fstest.MapFS {
	fs := fstest.MapFS{}
	for name, b := range files {
		fs[name] = &fstest.MapFile{Data: b}
	}
	return fs
}

// fuzzChain is a chain of n events with checkpoints at 2 and n.
func fuzzChain(t testing.TB, n int) ([]*models.AuditEvent, []*models.Checkpoint) {
	prev := audit.ZeroHash
	var events []*models.AuditEvent
	var hashes []string
	for i := 1; i <= n; i++ {
		e := &models.AuditEvent{Seq: int64(i), At: time.Date(2026, 3, 1, 9, i, 0, 0, time.UTC), Actor: "staff:stf_a", Action: "case.created",
			CaseID: models.CaseID(fmt.Sprintf("case_%d", i%2)), Detail: map[string]string{"n": fmt.Sprint(i)}, PrevHash: prev}
		e.Hash = audit.Hash(prev, e)
		prev = e.Hash
		events = append(events, e)
		hashes = append(hashes, e.Hash)
	}
	var cps []*models.Checkpoint
	for _, k := range []int{2, n} {
		cp, err := audit.SignCheckpoint(fuzzKey, models.AuditHead{Seq: int64(k), Hash: hashes[k-1]}, audit.RootOf(hashes[:k]), events[k-1].At)
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, cp)
	}
	return events, cps
}

// FuzzChainVerify: one fuzzed change to a genuine chain (an event's field,
// an event removed, repeated or swapped, a checkpoint's hash, root or
// note) is found by Verify exactly when it changes what the chain
// protects: the canonical bytes, links and hashes of the events, the
// order, the signed checkpoints and their notes (a note removed from a
// checkpoint that has a root, or that follows one with a note, is found
// too). Verify never panics.
func FuzzChainVerify(f *testing.F) {
	for op := range 14 {
		f.Add(uint8(op), uint8(3), "x")
	}
	f.Add(uint8(0), uint8(1), "case.created")          // the same value: no change
	f.Add(uint8(6), uint8(2), "3")                     // seq of another row
	f.Add(uint8(4), uint8(0), strings.Repeat("0", 64)) // the zero hash as prev of row 1: no change
	f.Add(uint8(3), uint8(2), "\xff")
	pub := fuzzKey.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, op, at uint8, val string) {
		events, cps := fuzzChain(t, 6)
		orig, origCPs := cloneEvents(events), cloneCheckpoints(cps)
		i := int(at) % len(events)
		e := events[i]
		switch op % 14 {
		case 0:
			e.Action = val
		case 1:
			e.Actor = val
		case 2:
			e.CaseID = models.CaseID(val)
		case 3:
			e.Detail["n"] = val
		case 4:
			e.PrevHash = val
		case 5:
			e.Hash = val
		case 6:
			var n int64
			fmt.Sscan(val, &n)
			e.Seq = n
		case 7:
			e.At = e.At.Add(time.Duration(len(val)) * time.Millisecond)
		case 8:
			events = slices.Delete(events, i, i+1)
		case 9:
			if i+1 < len(events) {
				events[i], events[i+1] = events[i+1], events[i]
			}
		case 10:
			events = slices.Insert(events, i, e)
		case 11:
			cps[i%len(cps)].Hash = val
		case 12:
			cps[i%len(cps)].Note = val
		case 13:
			cps[i%len(cps)].Root = val
		}
		r := audit.Verify(events, cps, pub, models.AuditHead{})
		changed := !sameChain(orig, events) || !reflect.DeepEqual(origCPs, cps)
		if changed == r.OK() {
			t.Fatalf("op %d at %d with %q: changed %v, Verify OK %v (%v)", op%14, i, val, changed, r.OK(), r.Problems)
		}
	})
}

// sameChain compares what the chain protects: per row, in order, the
// canonical bytes, the links and the hashes.
func sameChain(a, b []*models.AuditEvent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(audit.Canonical(a[i]), audit.Canonical(b[i])) || a[i].PrevHash != b[i].PrevHash || a[i].Hash != b[i].Hash {
			return false
		}
	}
	return true
}

func cloneEvents(es []*models.AuditEvent) []*models.AuditEvent {
	var out []*models.AuditEvent
	for _, e := range es {
		c := *e
		c.Detail = maps.Clone(e.Detail)
		out = append(out, &c)
	}
	return out
}

func cloneCheckpoints(cps []*models.Checkpoint) []*models.Checkpoint {
	var out []*models.Checkpoint
	for _, cp := range cps {
		c := *cp
		out = append(out, &c)
	}
	return out
}
