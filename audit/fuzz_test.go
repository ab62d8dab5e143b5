package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"remoteidv/audit"
	"remoteidv/models"
)

// FuzzProof: any bytes either fail to parse with EINVALID, or parse to a
// proof that writes back to a form parsing the same, and checking it
// against a bank key never panics; a forged input never verifies.
func FuzzProof(f *testing.F) {
	// A fixed key, so that the seeds' signatures stay valid.
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	hs := leaves(6, "fuzz")
	note, err := audit.SignCheckpointNote(key, treeOf(f, hs))
	if err != nil {
		f.Fatal(err)
	}
	p, _ := audit.InclusionProof(hs, 6, 3)
	good := audit.FormatProof(2, p, note)
	for _, seed := range [][]byte{good, note, nil, []byte(audit.ProofHeader + "\nindex 0\n\n"), bytes.Replace(good, []byte("index 2"), []byte("index 9"), 1),
		append([]byte(audit.ProofHeader+"\nextra AAAA\n"), good[len(audit.ProofHeader)+1:]...)} {
		f.Add(seed)
	}
	pub := key.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		index, proof, cp, err := audit.ParseProof(b)
		if err != nil {
			if models.ErrorCodeOf(err) != models.EINVALID {
				t.Fatalf("ParseProof(%q) = %v, want EINVALID", b, err)
			}
			return
		}
		i2, p2, cp2, err := audit.ParseProof(audit.FormatProof(index, proof, cp))
		if err != nil || i2 != index || len(p2) != len(proof) || !bytes.Equal(cp2, cp) {
			t.Fatalf("ParseProof(FormatProof(ParseProof(%q))) = %d, %d hashes, %v; want the same proof", b, i2, len(p2), err)
		}
		tree, err := audit.OpenCheckpointNote(pub, cp)
		if err != nil {
			return
		}
		if audit.CheckInclusion(tree, index, hs[2], proof) == nil && (index != 2 || tree.N != 6) {
			t.Fatalf("CheckInclusion accepted leaf 2 as %d in a tree of %d: %q", index, tree.N, b)
		}
	})
}

// FuzzConsistency: any bytes either fail to parse with EINVALID, or parse
// to a proof that writes back the same; a forged input never shows that a
// log of other leaves is a prefix of the signed one.
func FuzzConsistency(f *testing.F) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	hs := leaves(6, "fuzz")
	note, err := audit.SignCheckpointNote(key, treeOf(f, hs))
	if err != nil {
		f.Fatal(err)
	}
	p, _ := audit.ConsistencyProof(hs, 3, 6)
	good := audit.FormatConsistency(3, p, note)
	for _, seed := range [][]byte{good, note, nil, audit.FormatConsistency(6, nil, note), bytes.Replace(good, []byte("old 3"), []byte("old 4"), 1)} {
		f.Add(seed)
	}
	pub := key.Public().(ed25519.PublicKey)
	other := treeOf(f, leaves(6, "other"))
	f.Fuzz(func(t *testing.T, b []byte) {
		old, proof, cp, err := audit.ParseConsistency(b)
		if err != nil {
			if models.ErrorCodeOf(err) != models.EINVALID {
				t.Fatalf("ParseConsistency(%q) = %v, want EINVALID", b, err)
			}
			return
		}
		o2, p2, cp2, err := audit.ParseConsistency(audit.FormatConsistency(old, proof, cp))
		if err != nil || o2 != old || len(p2) != len(proof) || !bytes.Equal(cp2, cp) {
			t.Fatalf("ParseConsistency(FormatConsistency(ParseConsistency(%q))) = %d, %d hashes, %v; want the same proof", b, o2, len(p2), err)
		}
		signed, err := audit.OpenCheckpointNote(pub, cp)
		if err != nil || old < 1 || old > 6 {
			return
		}
		prefix := treeOf(t, leaves(6, "other")[:old])
		if old == 6 {
			prefix = other
		}
		if audit.CheckConsistency(prefix, signed, proof) == nil {
			t.Fatalf("CheckConsistency accepted leaves of another log as a prefix of size %d of the signed one: %q", old, b)
		}
	})
}
