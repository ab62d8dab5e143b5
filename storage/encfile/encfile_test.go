package encfile

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"remoteidv/models"
)

func testKey(t testing.TB, b byte) *Key {
	t.Helper()
	k, err := NewKey(bytes.Repeat([]byte{b}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// plaintext is recognisable text, so a leak would show in the file.
func plaintext(n int) []byte {
	line := []byte("PASSPORT E12345678 Jane Customer born 1990-01-01\n")
	b := bytes.Repeat(line, n/len(line)+1)
	return b[:n]
}

func writeFile(t testing.TB, k *Key, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := k.NewWriter(f, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Odd write sizes cross chunk boundaries.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 7777)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(path string, k *Key) ([]byte, error) {
	r, err := Open(path, k)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func TestRoundTrip(t *testing.T) {
	k := testKey(t, 1)
	for _, n := range []int{0, 1, 100, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3 * ChunkSize, 3*ChunkSize + 5} {
		data := plaintext(n)
		path := writeFile(t, k, data)
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != SealedSize(int64(n)) {
			t.Errorf("size %d: file is %d bytes, SealedSize = %d", n, st.Size(), SealedSize(int64(n)))
		}
		raw, _ := os.ReadFile(path)
		if n >= 20 && bytes.Contains(raw, data[:20]) {
			t.Errorf("size %d: the file holds the plaintext", n)
		}
		if enc, id, err := Encrypted(path); err != nil || !enc || id != k.ID() {
			t.Errorf("Encrypted(size %d) = %v, %q, %v, want true, %q", n, enc, id, err, k.ID())
		}
		got, err := readFile(path, k)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("read back size %d = %d bytes, %v, want the %d written", n, len(got), err, n)
		}
	}
}

func TestPlaintextStillRead(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("x"), plaintext(3 * ChunkSize)} {
		path := filepath.Join(t.TempDir(), "legacy")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if enc, _, err := Encrypted(path); err != nil || enc {
			t.Errorf("Encrypted(plaintext) = %v, %v, want false", enc, err)
		}
		got, err := readFile(path, testKey(t, 1))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("Open(plaintext of %d bytes) = %d bytes, %v", len(data), len(got), err)
		}
	}
}

func TestWrongKeyKeepsFile(t *testing.T) {
	data := plaintext(2*ChunkSize + 3)
	path := writeFile(t, testKey(t, 1), data)
	before, _ := os.ReadFile(path)
	for _, tt := range []struct {
		name string
		key  *Key
	}{{"other key", testKey(t, 2)}, {"no key", nil}} {
		_, err := readFile(path, tt.key)
		if !errors.Is(err, ErrWrongKey) || models.ErrorCodeOf(err) != models.EPRECONDITION {
			t.Errorf("Open(%s) = %v, want ErrWrongKey of kind %q", tt.name, err, models.EPRECONDITION)
		}
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("a read with the wrong key changed the file")
	}
	if got, err := readFile(path, testKey(t, 1)); err != nil || !bytes.Equal(got, data) {
		t.Errorf("read with the right key afterwards = %d bytes, %v", len(got), err)
	}
}

func TestTamper(t *testing.T) {
	k := testKey(t, 1)
	data := plaintext(2*ChunkSize + 10)
	path := writeFile(t, k, data)
	orig, _ := os.ReadFile(path)
	tests := []struct {
		name string
		edit func([]byte) []byte
	}{
		{"flipped byte", func(b []byte) []byte { b[headerLen+5] ^= 1; return b }},
		{"cut at a chunk boundary", func(b []byte) []byte { return b[:headerLen+2*sealedSize] }},
		{"cut mid-chunk", func(b []byte) []byte { return b[:len(b)-3] }},
		{"chunks swapped", func(b []byte) []byte {
			c0 := append([]byte(nil), b[headerLen:headerLen+sealedSize]...)
			copy(b[headerLen:], b[headerLen+sealedSize:headerLen+2*sealedSize])
			copy(b[headerLen+sealedSize:], c0)
			return b
		}},
		{"nonce changed", func(b []byte) []byte { b[headerLen-1] ^= 1; return b }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(p, tt.edit(append([]byte(nil), orig...)), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := readFile(p, k)
			if models.ErrorCodeOf(err) != models.ECONFLICT {
				t.Errorf("read = %v, want kind %q", err, models.ECONFLICT)
			}
		})
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "staging.key")
	refuse := errors.New("encrypted files wait")
	if _, _, err := LoadOrCreateKey(path, rand.Reader, func() error { return refuse }); !errors.Is(err, refuse) {
		t.Fatalf("LoadOrCreateKey(refused) = %v, want %v", err, refuse)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused creation left %s: %v", path, err)
	}
	k1, created, err := LoadOrCreateKey(path, rand.Reader, nil)
	if err != nil || !created {
		t.Fatalf("LoadOrCreateKey(new) = %v, %v", created, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKey(path, rand.Reader, func() error { return refuse })
	if err != nil || created || k2.ID() != k1.ID() {
		t.Errorf("LoadOrCreateKey(existing) = %v, %v, %v, want the same key", k2.ID(), created, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad"), []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKey(filepath.Join(dir, "bad"), rand.Reader, nil); models.ErrorCodeOf(err) != models.EINVALID {
		t.Errorf("LoadOrCreateKey(5-byte key) = %v, want kind %q", err, models.EINVALID)
	}
}

// TestOpenPartial reads what a writer that never reached Close left: every
// whole chunk, and nothing of a torn one; Open refuses the same file.
func TestOpenPartial(t *testing.T) {
	k := testKey(t, 1)
	data := plaintext(3*ChunkSize + 100)
	tests := []struct {
		name string
		cut  func(full []byte) []byte // the file a crash left
		want int                      // plaintext bytes recovered
	}{
		{"stopped after two chunks", func(b []byte) []byte { return b[:headerLen+2*sealedSize] }, 2 * ChunkSize},
		{"torn third chunk", func(b []byte) []byte { return b[:headerLen+2*sealedSize+999] }, 2 * ChunkSize},
		{"header only", func(b []byte) []byte { return b[:headerLen] }, 0},
		{"closed", func(b []byte) []byte { return b }, len(data)},
	}
	full, _ := os.ReadFile(writeFile(t, k, data))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rec")
			if err := os.WriteFile(path, tt.cut(full), 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := OpenPartial(path, k)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, data[:tt.want]) {
				t.Errorf("OpenPartial = %d bytes, %v, want the first %d", len(got), err, tt.want)
			}
			if tt.want < len(data) {
				if _, err := readFile(path, k); models.ErrorCodeOf(err) != models.ECONFLICT {
					t.Errorf("Open(cut file) = %v, want kind %q", err, models.ECONFLICT)
				}
			}
		})
	}
	// A chunk altered before the end is still an error.
	bad := append([]byte(nil), full...)
	bad[headerLen+10] ^= 1
	path := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := OpenPartial(path, k)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.ReadAll(r); models.ErrorCodeOf(err) != models.ECONFLICT {
		t.Errorf("OpenPartial(altered first chunk) read = %v, want kind %q", err, models.ECONFLICT)
	}
}

func TestBlob(t *testing.T) {
	k := testKey(t, 1)
	plain := plaintext(512)
	blob, err := k.SealBlob(rand.Reader, plain, []byte("row 1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(blob) != 512+BlobOverhead || bytes.Contains(blob, plain[:16]) {
		t.Fatalf("SealBlob = %d bytes (want %d), plaintext visible %v", len(blob), 512+BlobOverhead, bytes.Contains(blob, plain[:16]))
	}
	if got, err := k.OpenBlob(blob, []byte("row 1")); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("OpenBlob = %d bytes, %v", len(got), err)
	}
	flipped := append([]byte(nil), blob...)
	flipped[40] ^= 1
	tests := []struct {
		name string
		key  *Key
		blob []byte
		ad   string
		want models.ErrorCode
	}{
		{"other row", k, blob, "row 2", models.ECONFLICT},
		{"altered", k, flipped, "row 1", models.ECONFLICT},
		{"other key", testKey(t, 2), blob, "row 1", models.EPRECONDITION},
		{"plaintext", k, plain, "row 1", models.ECONFLICT},
	}
	for _, tt := range tests {
		if _, err := tt.key.OpenBlob(tt.blob, []byte(tt.ad)); models.ErrorCodeOf(err) != tt.want {
			t.Errorf("OpenBlob(%s) = %v, want kind %q", tt.name, err, tt.want)
		}
	}
}
