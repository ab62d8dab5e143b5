// Package encfile encrypts files that wait on the local disk (staged
// evidence) with AES-256-GCM under a key from configuration, so a copied
// disk, backup or stolen volume shows no customer data.
//
// A file is a 23-byte header followed by chunks:
//
//	"IDVENC1\x00"        8 bytes, the format
//	key id               8 bytes, HMAC-SHA256(key, "idv staging key id")[:8]
//	nonce prefix         7 bytes, random per file
//	chunk 0 .. chunk n   up to 64 KiB of plaintext each, sealed with
//	                     nonce = prefix | uint32 counter | final flag
//	                     and the header as additional data
//
// The counter stops chunks being reordered, the final flag stops a file
// being cut short at a chunk boundary, and the key id lets a reader say
// "written with another key" instead of "corrupt". This is the STREAM
// construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015) that age and
// Tink's streaming AEAD also use. The plaintext is not buffered beyond one
// chunk, so recordings of any length stream with bounded memory.
//
// A file that does not start with the format's magic is read as plaintext,
// so files staged before encryption was turned on are still read.
package encfile

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"remoteidv/models"
)

// Magic starts every encrypted file.
const Magic = "IDVENC1\x00"

const (
	// ChunkSize is the plaintext size of every chunk but the last.
	ChunkSize  = 64 << 10
	keyIDLen   = 8
	prefixLen  = 7
	headerLen  = len(Magic) + keyIDLen + prefixLen
	tagLen     = 16
	sealedSize = ChunkSize + tagLen
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// Key is an AES-256-GCM key with its id. Its LogValue shows only the id.
type Key struct {
	aead cipher.AEAD
	id   [keyIDLen]byte
}

// NewKey makes a Key from 32 raw bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, models.Errorf(models.EINVALID, "staging key: %d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("staging key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("staging key: %w", err)
	}
	k := &Key{aead: aead}
	m := hmac.New(sha256.New, raw)
	m.Write([]byte("idv staging key id"))
	copy(k.id[:], m.Sum(nil))
	return k, nil
}

// ID returns the key's id in hex, safe to log and show.
func (k *Key) ID() string { return hex.EncodeToString(k.id[:]) }

// LogValue shows the id, never the key.
func (k *Key) LogValue() slog.Value { return slog.StringValue("staging-key:" + k.ID()) }

// ParseKey reads a key file's text: the base64 of 32 bytes.
func ParseKey(text []byte) (*Key, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		return nil, models.Errorf(models.EINVALID, "staging key: not base64: %v", err)
	}
	return NewKey(raw)
}

// LoadOrCreateKey reads the key file at path. When the file does not exist
// it calls mayCreate (which may refuse, for example because files
// encrypted with a lost key are waiting), then writes a new random key
// there (mode 0600, create-exclusive) and reports created.
func LoadOrCreateKey(path string, random io.Reader, mayCreate func() error) (k *Key, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKey(b)
		if err != nil {
			return nil, false, fmt.Errorf("load staging key %s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("load staging key %s: %w", path, err)
	}
	if mayCreate != nil {
		if err := mayCreate(); err != nil {
			return nil, false, fmt.Errorf("create staging key %s: %w", path, err)
		}
	}
	raw := make([]byte, KeySize)
	if _, err := io.ReadFull(random, raw); err != nil {
		return nil, false, fmt.Errorf("create staging key %s: %w", path, err)
	}
	if err := writeNew(path, []byte(base64.StdEncoding.EncodeToString(raw)+"\n")); err != nil {
		return nil, false, fmt.Errorf("create staging key %s: %w", path, err)
	}
	k, err = NewKey(raw)
	return k, true, err
}

func writeNew(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// SealedSize is the size of the encrypted file holding n bytes.
func SealedSize(n int64) int64 {
	chunks := (n + ChunkSize - 1) / ChunkSize
	if chunks == 0 {
		chunks = 1
	}
	return int64(headerLen) + n + chunks*tagLen
}

// Writer encrypts what is written to it into an underlying writer. Close
// seals the last chunk; without it the file cannot be read.
type Writer struct {
	k      *Key
	w      io.Writer
	header [headerLen]byte
	buf    []byte // plaintext of the chunk being filled
	out    []byte
	n      uint32
	closed bool
}

// NewWriter writes the header to w and returns a Writer; random supplies
// the nonce prefix.
func (k *Key) NewWriter(w io.Writer, random io.Reader) (*Writer, error) {
	e := &Writer{k: k, w: w, buf: make([]byte, 0, ChunkSize), out: make([]byte, 0, sealedSize)}
	copy(e.header[:], Magic)
	copy(e.header[len(Magic):], k.id[:])
	if _, err := io.ReadFull(random, e.header[len(Magic)+keyIDLen:]); err != nil {
		return nil, fmt.Errorf("encrypt: nonce: %w", err)
	}
	if _, err := w.Write(e.header[:]); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	return e, nil
}

// Write encrypts p. A full chunk is sealed only once more data follows, so
// that Close can mark the last one.
func (e *Writer) Write(p []byte) (int, error) {
	if e.closed {
		return 0, errors.New("encrypt: write after close")
	}
	written := 0
	for len(p) > 0 {
		if len(e.buf) == ChunkSize {
			if err := e.seal(false); err != nil {
				return written, err
			}
		}
		k := copy(e.buf[len(e.buf):ChunkSize], p)
		e.buf = e.buf[:len(e.buf)+k]
		p = p[k:]
		written += k
	}
	return written, nil
}

// Close seals the last chunk. It does not close the underlying writer.
func (e *Writer) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	return e.seal(true)
}

func (e *Writer) seal(final bool) error {
	if e.n == ^uint32(0) {
		return errors.New("encrypt: file too long")
	}
	e.out = e.k.aead.Seal(e.out[:0], nonce(e.header[:], e.n, final), e.buf, e.header[:])
	e.n++
	e.buf = e.buf[:0]
	if _, err := e.w.Write(e.out); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	return nil
}

func nonce(header []byte, n uint32, final bool) []byte {
	var b [12]byte
	copy(b[:prefixLen], header[len(Magic)+keyIDLen:])
	binary.BigEndian.PutUint32(b[prefixLen:], n)
	if final {
		b[11] = 1
	}
	return b[:]
}

// ErrWrongKey is wrapped by the error of a reader given a file encrypted
// with another key.
var ErrWrongKey = errors.New("encrypted with another staging key")

// Encrypted reports whether the file starts with this format's header and,
// if so, the id of the key it was written with.
func Encrypted(path string) (bool, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, "", err
	}
	defer f.Close()
	var h [headerLen]byte
	n, err := io.ReadFull(f, h[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, "", err
	}
	if n < headerLen || string(h[:len(Magic)]) != Magic {
		return false, "", nil
	}
	return true, hex.EncodeToString(h[len(Magic) : len(Magic)+keyIDLen]), nil
}

// Open opens a staged file for reading its plaintext: decrypted with k when
// it is encrypted, as it is otherwise (files staged before encryption was
// turned on). A file encrypted with another key, or with k nil, is an
// EPRECONDITION error wrapping ErrWrongKey; nothing is changed on disk.
// A file that was altered or cut short fails on Read with ECONFLICT.
func Open(path string, k *Key) (io.ReadCloser, error) {
	return open(path, k, false)
}

// OpenPartial is Open for a file whose writer may have stopped before
// Close (a process that crashed mid-recording): it reads every whole
// chunk and ends, without an error, where the file was cut off. Only the
// end may be missing: an altered chunk before it is still an error.
func OpenPartial(path string, k *Key) (io.ReadCloser, error) {
	return open(path, k, true)
}

func open(path string, k *Key, partial bool) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, sealedSize+1)
	head, err := br.Peek(headerLen)
	if err != nil || !bytes.Equal(head[:len(Magic)], []byte(Magic)) {
		// Shorter than a header, or without the magic: plaintext.
		return readCloser{br, f}, nil
	}
	id := head[len(Magic) : len(Magic)+keyIDLen]
	if k == nil || !bytes.Equal(id, k.id[:]) {
		f.Close()
		have := "none"
		if k != nil {
			have = k.ID()
		}
		return nil, fmt.Errorf("open %s: %w: %w", path, models.Errorf(models.EPRECONDITION,
			"file key id %x, configured key id %s: configure the staging key it was written with (IDV_STAGING_KEY_FILE); the file is kept", id, have), ErrWrongKey)
	}
	d := &reader{k: k, r: br, path: path, partial: partial}
	copy(d.header[:], head)
	br.Discard(headerLen)
	return readCloser{d, f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

type reader struct {
	k       *Key
	r       *bufio.Reader
	path    string
	partial bool
	header  [headerLen]byte
	in, out []byte
	plain   []byte // decrypted, not yet returned
	n       uint32
	done    bool
	err     error
}

func (d *reader) Read(p []byte) (int, error) {
	for len(d.plain) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		if d.done {
			return 0, io.EOF
		}
		d.err = d.next()
	}
	k := copy(p, d.plain)
	d.plain = d.plain[k:]
	return k, nil
}

// next decrypts one chunk; the last is the one with nothing after it.
func (d *reader) next() error {
	if d.in == nil {
		d.in, d.out = make([]byte, sealedSize), make([]byte, 0, ChunkSize)
	}
	n, err := io.ReadFull(d.r, d.in)
	final := false
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		final = true
	case err != nil:
		return fmt.Errorf("decrypt %s: %w", d.path, err)
	default:
		if _, perr := d.r.Peek(1); errors.Is(perr, io.EOF) {
			final = true
		} else if perr != nil {
			return fmt.Errorf("decrypt %s: %w", d.path, perr)
		}
	}
	plain, oerr := d.k.aead.Open(d.out[:0], nonce(d.header[:], d.n, final), d.in[:n], d.header[:])
	if oerr != nil && d.partial && final {
		// The writer stopped before Close: its last whole chunk was sealed
		// as not the last, and a torn chunk after it is dropped.
		d.done = true
		if n == sealedSize {
			if plain, oerr = d.k.aead.Open(d.out[:0], nonce(d.header[:], d.n, false), d.in[:n], d.header[:]); oerr == nil {
				d.n++
				d.plain = plain
			}
		}
		return nil
	}
	if oerr != nil {
		return fmt.Errorf("decrypt %s: %w", d.path, models.Errorf(models.ECONFLICT, "chunk %d was altered or the file was cut short", d.n))
	}
	d.n++
	d.plain = plain
	d.done = final
	return nil
}

// blobVersion starts a sealed blob: version, key id, nonce, ciphertext.
const blobVersion = 0x01

// BlobOverhead is how much longer a sealed blob is than its plaintext.
const BlobOverhead = 1 + keyIDLen + 12 + tagLen

// SealBlob encrypts a small value (a database field) with a random nonce
// from random, bound to ad (for example the row's key, so a value cannot
// be moved to another row).
func (k *Key) SealBlob(random io.Reader, plain, ad []byte) ([]byte, error) {
	out := make([]byte, 1+keyIDLen+12, BlobOverhead+len(plain))
	out[0] = blobVersion
	copy(out[1:], k.id[:])
	if _, err := io.ReadFull(random, out[1+keyIDLen:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return k.aead.Seal(out, out[1+keyIDLen:], plain, ad), nil
}

// OpenBlob decrypts what SealBlob made with the same ad. Another key is
// an EPRECONDITION error wrapping ErrWrongKey; an altered or moved value
// is ECONFLICT.
func (k *Key) OpenBlob(blob, ad []byte) ([]byte, error) {
	if len(blob) < BlobOverhead || blob[0] != blobVersion {
		return nil, models.Errorf(models.ECONFLICT, "not a sealed value")
	}
	if !bytes.Equal(blob[1:1+keyIDLen], k.id[:]) {
		return nil, fmt.Errorf("%w: %w", models.Errorf(models.EPRECONDITION, "value key id %x, configured key id %s", blob[1:1+keyIDLen], k.ID()), ErrWrongKey)
	}
	nonce := blob[1+keyIDLen : 1+keyIDLen+12]
	plain, err := k.aead.Open(nil, nonce, blob[1+keyIDLen+12:], ad)
	if err != nil {
		return nil, models.Errorf(models.ECONFLICT, "sealed value was altered or belongs to another row")
	}
	return plain, nil
}
