package audit_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/tlog"

	"remoteidv/audit"
	"remoteidv/models"
)

// leaves returns n distinct chain hashes.
func leaves(n int, salt string) []string {
	out := make([]string, n)
	for i := range out {
		s := sha256.Sum256(fmt.Appendf(nil, "%s%d", salt, i))
		out[i] = hex.EncodeToString(s[:])
	}
	return out
}

func treeOf(t testing.TB, hashes []string) tlog.Tree {
	t.Helper()
	r, err := hex.DecodeString(audit.RootOf(hashes))
	if err != nil {
		t.Fatal(err)
	}
	return tlog.Tree{N: int64(len(hashes)), Hash: tlog.Hash(r)}
}

// TestRootOfMatchesRFC6962 checks the log against a direct reading of
// RFC 6962 section 2.1 (MTH with the 0x00 / 0x01 prefixes and the largest
// power of two below n as the split), computed here without tlog.
func TestRootOfMatchesRFC6962(t *testing.T) {
	var mth func(ls [][]byte) [32]byte
	mth = func(ls [][]byte) [32]byte {
		if len(ls) == 1 {
			return sha256.Sum256(append([]byte{0}, ls[0]...))
		}
		k := 1
		for k*2 < len(ls) {
			k *= 2
		}
		l, r := mth(ls[:k]), mth(ls[k:])
		return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
	}
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 100} {
		hs := leaves(n, "rfc")
		var data [][]byte
		for _, h := range hs {
			data = append(data, audit.LeafData(h))
		}
		want := mth(data)
		if got := audit.RootOf(hs); got != hex.EncodeToString(want[:]) {
			t.Errorf("RootOf(%d leaves) = %s, want %x", n, got, want)
		}
	}
}

// TestTlogRFC6962Vectors pins the tree library to the RFC 6962 reference
// vectors (certificate-transparency / transparency-dev: eight leaves, the
// root at every size).
func TestTlogRFC6962Vectors(t *testing.T) {
	leaves := []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}
	roots := []string{
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	var stored []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for n, l := range leaves {
		d, _ := hex.DecodeString(l)
		hs, err := tlog.StoredHashes(int64(n), d, r)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		got, err := tlog.TreeHash(int64(n+1), r)
		if err != nil || hex.EncodeToString(got[:]) != roots[n] {
			t.Errorf("TreeHash(%d) = %x, %v; want %s", n+1, got[:], err, roots[n])
		}
	}
}

func TestCheckInclusion(t *testing.T) {
	hs := leaves(13, "a")
	tree := treeOf(t, hs)
	proof := func(seq int64) tlog.RecordProof {
		p, err := audit.InclusionProof(hs, tree.N, seq)
		if err != nil {
			t.Fatalf("InclusionProof(%d): %v", seq, err)
		}
		return p
	}
	for seq := int64(1); seq <= tree.N; seq++ {
		if err := audit.CheckInclusion(tree, seq-1, hs[seq-1], proof(seq)); err != nil {
			t.Errorf("CheckInclusion(leaf %d) = %v, want nil", seq-1, err)
		}
	}
	flip := func(p tlog.RecordProof, i, bit int) tlog.RecordProof {
		q := append(tlog.RecordProof(nil), p...)
		q[i][bit/8] ^= 1 << (bit % 8)
		return q
	}
	p7 := proof(7)
	tests := []struct {
		name  string
		tree  tlog.Tree
		index int64
		leaf  string
		proof tlog.RecordProof
	}{
		{"first hash bit flipped", tree, 6, hs[6], flip(p7, 0, 0)},
		{"last hash bit flipped", tree, 6, hs[6], flip(p7, len(p7)-1, 255)},
		{"hash dropped", tree, 6, hs[6], p7[1:]},
		{"hash added", tree, 6, hs[6], append(append(tlog.RecordProof(nil), p7...), p7[0])},
		{"empty proof", tree, 6, hs[6], nil},
		{"other leaf", tree, 6, hs[5], p7},
		{"other index", tree, 5, hs[6], p7},
		{"index = size", tree, tree.N, hs[6], p7},
		{"index past size", tree, tree.N + 5, hs[6], p7},
		{"negative index", tree, -1, hs[6], p7},
		{"other root", tlog.Tree{N: tree.N, Hash: treeOf(t, leaves(13, "b")).Hash}, 6, hs[6], p7},
		{"other size", tlog.Tree{N: 7, Hash: tree.Hash}, 6, hs[6], p7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := audit.CheckInclusion(tt.tree, tt.index, tt.leaf, tt.proof)
			if models.ErrorCodeOf(err) != models.ECONFLICT {
				t.Errorf("CheckInclusion(%s) = %v, want ECONFLICT", tt.name, err)
			}
		})
	}
	if _, err := audit.InclusionProof(hs, tree.N, tree.N+1); models.ErrorCodeOf(err) != models.EINVALID {
		t.Errorf("InclusionProof(seq past size) = %v, want EINVALID", err)
	}
	if _, err := audit.InclusionProof(hs, 0, 0); models.ErrorCodeOf(err) != models.EINVALID {
		t.Errorf("InclusionProof(seq 0) = %v, want EINVALID", err)
	}
}

func TestCheckConsistency(t *testing.T) {
	hs := leaves(21, "c")
	fork := append(append([]string(nil), hs[:9]...), leaves(12, "fork")...)
	tree := func(h []string, n int) tlog.Tree { return treeOf(t, h[:n]) }
	proof := func(h []string, o, n int64) tlog.TreeProof {
		p, err := audit.ConsistencyProof(h, o, n)
		if err != nil {
			t.Fatalf("ConsistencyProof(%d, %d): %v", o, n, err)
		}
		return p
	}
	for o := 1; o <= len(hs); o++ {
		for _, n := range []int{o, o + 1, len(hs)} {
			if n > len(hs) {
				continue
			}
			if err := audit.CheckConsistency(tree(hs, o), tree(hs, n), proof(hs, int64(o), int64(n))); err != nil {
				t.Errorf("CheckConsistency(%d, %d) = %v, want nil", o, n, err)
			}
		}
	}
	p := proof(hs, 6, 21)
	flipped := append(tlog.TreeProof(nil), p...)
	flipped[1][31] ^= 0x80
	tests := []struct {
		name       string
		old, newer tlog.Tree
		proof      tlog.TreeProof
		want       string
	}{
		{"bit flipped", tree(hs, 6), tree(hs, 21), flipped, "forked"},
		{"hash dropped", tree(hs, 6), tree(hs, 21), p[1:], "forked"},
		{"proof for other sizes", tree(hs, 6), tree(hs, 21), proof(hs, 5, 21), "forked"},
		{"rolled back", tree(hs, 21), tree(hs, 6), p, "rolled back"},
		{"fork at the same size", tree(hs, 15), tree(fork, 15), nil, "two roots at size 15"},
		{"fork after a shared prefix", tree(hs, 6), tree(fork, 21), proof(fork, 6, 21), ""},
		{"fork diverging before the old size", tree(hs, 12), tree(fork, 21), proof(fork, 12, 21), "does not extend"},
		{"honest proof, forked new root", tree(hs, 12), tree(fork, 21), proof(hs, 12, 21), "does not extend"},
		{"non-empty proof between equal trees", tree(hs, 9), tree(hs, 9), p[:1], "must be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := audit.CheckConsistency(tt.old, tt.newer, tt.proof)
			if tt.want == "" {
				// The fork keeps the first 9 leaves: a tree of 6 is a
				// genuine prefix of it, so this one must pass.
				if err != nil {
					t.Fatalf("CheckConsistency(%s) = %v, want nil", tt.name, err)
				}
				return
			}
			if models.ErrorCodeOf(err) != models.ECONFLICT || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckConsistency(%s) = %v, want ECONFLICT mentioning %q", tt.name, err, tt.want)
			}
		})
	}
}

func TestVerifyNewer(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	hs := leaves(10, "n")
	fork := append(append([]string(nil), hs[:3]...), leaves(7, "f")...)
	note := func(k ed25519.PrivateKey, h []string, n int) []byte {
		b, err := audit.SignCheckpointNote(k, treeOf(t, h[:n]))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	p46 := func(h []string) tlog.TreeProof { p, _ := audit.ConsistencyProof(h, 4, 6); return p }
	old := note(priv, hs, 4)
	if got, err := audit.VerifyNewer(pub, old, note(priv, hs, 6), p46(hs)); err != nil || got.N != 6 {
		t.Fatalf("VerifyNewer(honest) = %v, %v; want size 6", got, err)
	}
	tampered := note(priv, hs, 6)
	tampered[len(audit.Origin)+1] = '7' // the size line
	for _, tt := range []struct {
		name  string
		newer []byte
		proof tlog.TreeProof
		want  string
	}{
		{"forked", note(priv, fork, 6), p46(fork), "forked"},
		{"rolled back", note(priv, hs, 3), nil, "rolled back"},
		{"older served as newer", old, nil, ""},
		{"signed by another key", note(other, hs, 6), p46(hs), "not signed"},
		{"edited note", tampered, p46(hs), "not signed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := audit.VerifyNewer(pub, old, tt.newer, tt.proof)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("VerifyNewer(same checkpoint again) = %v, want nil (nothing new is not a fork)", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("VerifyNewer(%s) = %v, want an error mentioning %q", tt.name, err, tt.want)
			}
		})
	}
}

func TestProofFormat(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	hs := leaves(9, "p")
	cp, err := audit.SignCheckpointNote(priv, treeOf(t, hs))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(cp), audit.Origin+"\n9\n") || !strings.Contains(string(cp), "\n\n— "+audit.Origin+" ") {
		t.Fatalf("SignCheckpointNote = %q, want a C2SP checkpoint note", cp)
	}
	p, _ := audit.InclusionProof(hs, 9, 4)
	b := audit.FormatProof(3, p, cp)
	index, got, gotCP, err := audit.ParseProof(b)
	if err != nil || index != 3 || string(gotCP) != string(cp) {
		t.Fatalf("ParseProof(FormatProof) = %d, %v, %q; want 3, the checkpoint", index, err, gotCP)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("ParseProof hashes (-want +got):\n%s", diff)
	}
	cp46, _ := audit.ConsistencyProof(hs, 4, 6)
	if got, err := audit.DecodeTreeProof(audit.EncodeTreeProof(cp46)); err != nil || !cmp.Equal(got, cp46) {
		t.Errorf("DecodeTreeProof(EncodeTreeProof(p)) = %v, %v; want p", got, err)
	}
	if _, err := audit.DecodeTreeProof([]string{"AAAA"}); models.ErrorCodeOf(err) != models.EINVALID {
		t.Errorf("DecodeTreeProof(short hash) = %v, want EINVALID", err)
	}
	for _, bad := range []string{
		"", "c2sp.org/tlog-proof@v2\nindex 1\n\nx", audit.ProofHeader + "\nindex 01\n\nx",
		audit.ProofHeader + "\nindex -1\n\nx", audit.ProofHeader + "\nindex 1\nnot base64\n\nx", audit.ProofHeader + "\n\nx",
	} {
		if _, _, _, err := audit.ParseProof([]byte(bad)); models.ErrorCodeOf(err) != models.EINVALID {
			t.Errorf("ParseProof(%q) = %v, want EINVALID", bad, err)
		}
	}
}

func TestConsistencyFormat(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	hs := leaves(9, "c")
	cp, err := audit.SignCheckpointNote(priv, treeOf(t, hs))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := audit.ConsistencyProof(hs, 4, 9)
	old, got, gotCP, err := audit.ParseConsistency(audit.FormatConsistency(4, p, cp))
	if err != nil || old != 4 || string(gotCP) != string(cp) {
		t.Fatalf("ParseConsistency(FormatConsistency) = %d, %v, %q; want 4, the checkpoint", old, err, gotCP)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("ParseConsistency hashes (-want +got):\n%s", diff)
	}
	if old, got, _, err := audit.ParseConsistency(audit.FormatConsistency(9, nil, cp)); err != nil || old != 9 || len(got) != 0 {
		t.Errorf("ParseConsistency(empty proof) = %d, %d hashes, %v; want 9, none", old, len(got), err)
	}
	for _, bad := range []string{
		"", audit.ConsistencyHeader + "\nold 4\nx", "remoteidv/audit consistency-proof v2\nold 4\n\nx", audit.ConsistencyHeader + "\nold 04\n\nx",
		audit.ConsistencyHeader + "\nold 0\n\nx", audit.ConsistencyHeader + "\nold 4\nnot base64\n\nx", audit.ConsistencyHeader + "\n\nx",
	} {
		if _, _, _, err := audit.ParseConsistency([]byte(bad)); models.ErrorCodeOf(err) != models.EINVALID {
			t.Errorf("ParseConsistency(%q) = %v, want EINVALID", bad, err)
		}
	}
}

func TestFingerprint(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	fp := audit.Fingerprint(pub)
	if len(fp) != 64 || !strings.HasPrefix(fp, audit.KeyID(pub)) {
		t.Fatalf("Fingerprint = %q, want 64 hex digits starting with the key id %s", fp, audit.KeyID(pub))
	}
	for _, in := range []string{fp, strings.ToUpper(fp), "SHA256:" + fp, "sha256:" + fp[:32] + " " + fp[32:], " " + fp[:2] + ":" + fp[2:] + "\n"} {
		if got, err := audit.ParseFingerprint(in); err != nil || got != fp {
			t.Errorf("ParseFingerprint(%q) = %q, %v; want %s", in, got, err, fp)
		}
	}
	for in, want := range map[string]string{
		audit.KeyID(pub): "that is a key id",
		fp[:63]:          "want the 64 hex digits",
		fp[:63] + "g":    "want the 64 hex digits",
		"":               "want the 64 hex digits",
	} {
		if _, err := audit.ParseFingerprint(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFingerprint(%q) = %v, want an error saying %q", in, err, want)
		}
	}
}
