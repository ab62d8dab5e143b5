// Package encfile encrypts files that wait on the local disk (staged
// evidence) with AES-256-GCM under a key from configuration, so a copied
// disk, backup or stolen volume shows no customer data.
//
// A file is a 23-byte header followed by chunks, in one of two versions:
//
//	"IDVENC1\x00"        8 bytes, the format (version 1)
//	key id               8 bytes, HMAC-SHA256(key, "idv staging key id")[:8]
//	nonce prefix         7 bytes, random per file
//	chunk 0 .. chunk n   64 KiB of plaintext each (the last up to 64 KiB),
//	                     sealed with nonce = prefix | uint32 counter | final
//	                     flag and the header as additional data
//
// Version 2 ("IDVENC2\x00", same header otherwise) lets chunks be shorter,
// so a writer can put what it holds on disk before a chunk is full
// (WithFlushEvery: a recording loses at most that interval in a crash):
//
//	chunk 0 .. chunk n   uint32 big-endian sealed length L (16 + up to
//	                     64 KiB), then L bytes sealed with the same nonce
//	                     and the header | the 4 length bytes as additional
//	                     data, so the length cannot be altered either
//
// The counter stops chunks being reordered or dropped, the final flag stops
// a file being cut short at a chunk boundary, and the key id lets a reader
// say "written with another key" instead of "corrupt". This is the STREAM
// construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015) that age and
// Tink's streaming AEAD also use. The plaintext is not buffered beyond one
// chunk, so recordings of any length stream with bounded memory. Writers
// write version 1 unless asked to flush; readers read both.
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
	"time"

	"remoteidv/models"
)

// Magic starts every encrypted file of version 1 (fixed-size chunks).
const Magic = "IDVENC1\x00"

// Magic2 starts every encrypted file of version 2 (length-prefixed chunks).
const Magic2 = "IDVENC2\x00"

const (
	// ChunkSize is the plaintext size of every chunk but the last.
	ChunkSize  = 64 << 10
	keyIDLen   = 8
	prefixLen  = 7
	headerLen  = len(Magic) + keyIDLen + prefixLen
	tagLen     = 16
	sealedSize = ChunkSize + tagLen
	lenLen     = 4 // a version 2 chunk's length prefix
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
// seals the last chunk; without it the file can only be read with
// OpenPartial.
type Writer struct {
	k      *Key
	w      io.Writer
	header [headerLen]byte
	buf    []byte // plaintext of the chunk being filled
	out    []byte
	n      uint32
	closed bool
	// Version 2 only (WithFlushEvery): buf is sealed once its first byte
	// is older than every, by now.
	v2    bool
	every time.Duration
	now   func() time.Time
	since time.Time // when buf's first byte was written
	ad    [headerLen + lenLen]byte
	nb    [12]byte // nonce
}

// WriterOption configures a Writer.
type WriterOption func(*Writer)

// WithFlushEvery makes the Writer seal what it holds as a (shorter) chunk
// once the oldest byte it holds is every old by now, so a writer that
// stops without Close (a crash) loses at most about that much. The check
// runs in Write: a stream with nothing written has nothing to lose, and
// no goroutine or lock is needed. Each flush costs 20 bytes of file. The
// file is written in version 2 (see the package comment), which releases
// before it do not recognise: they would take it for plaintext. Use a
// clock with a monotonic reading (time.Now): one set back stops the
// flushes until it catches up.
func WithFlushEvery(every time.Duration, now func() time.Time) WriterOption {
	return func(e *Writer) { e.v2, e.every, e.now = true, every, now }
}

// NewWriter writes the header to w and returns a Writer; random supplies
// the nonce prefix.
func (k *Key) NewWriter(w io.Writer, random io.Reader, opts ...WriterOption) (*Writer, error) {
	e := &Writer{k: k, w: w}
	for _, o := range opts {
		o(e)
	}
	e.buf, e.out = make([]byte, 0, ChunkSize), make([]byte, 0, lenLen+sealedSize)
	magic := Magic
	if e.v2 {
		magic = Magic2
	}
	copy(e.header[:], magic)
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
// that Close can mark the last one; with WithFlushEvery, what is held is
// also sealed (p included) once it is old enough.
func (e *Writer) Write(p []byte) (int, error) {
	if e.closed {
		return 0, errors.New("encrypt: write after close")
	}
	var now time.Time
	if e.v2 && len(p) > 0 {
		now = e.now()
	}
	written := 0
	for len(p) > 0 {
		if len(e.buf) == ChunkSize {
			if err := e.seal(false); err != nil {
				return written, err
			}
		}
		if len(e.buf) == 0 {
			e.since = now
		}
		k := copy(e.buf[len(e.buf):ChunkSize], p)
		e.buf = e.buf[:len(e.buf)+k]
		p = p[k:]
		written += k
	}
	if e.v2 && len(e.buf) > 0 && now.Sub(e.since) >= e.every {
		if err := e.seal(false); err != nil {
			return written, err
		}
	}
	return written, nil
}

// Close seals the last chunk (empty when everything was flushed). It does
// not close the underlying writer.
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
	if e.v2 {
		// The length prefix, then the chunk sealed with header | prefix as
		// additional data, written at once.
		copy(e.ad[:], e.header[:])
		binary.BigEndian.PutUint32(e.ad[headerLen:], uint32(len(e.buf)+tagLen))
		e.out = append(e.out[:0], e.ad[headerLen:]...)
		e.out = e.k.aead.Seal(e.out, nonce(&e.nb, e.header[:], e.n, final), e.buf, e.ad[:])
	} else {
		e.out = e.k.aead.Seal(e.out[:0], nonce(&e.nb, e.header[:], e.n, final), e.buf, e.header[:])
	}
	e.n++
	e.buf = e.buf[:0]
	if _, err := e.w.Write(e.out); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	return nil
}

// nonce fills b (a field of its caller, so that sealing a chunk does not
// allocate) with chunk n's nonce.
func nonce(b *[12]byte, header []byte, n uint32, final bool) []byte {
	*b = [12]byte{}
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
	if n < headerLen || version(h[:]) == 0 {
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
// end may be missing: an altered chunk before it is still an error (and,
// in version 2, where every chunk's length is known, an altered whole
// last chunk too).
func OpenPartial(path string, k *Key) (io.ReadCloser, error) {
	return open(path, k, true)
}

// version is the format version of a file starting with head: 1 or 2, 0
// for plaintext.
func version(head []byte) int {
	switch {
	case bytes.HasPrefix(head, []byte(Magic)):
		return 1
	case bytes.HasPrefix(head, []byte(Magic2)):
		return 2
	}
	return 0
}

func open(path string, k *Key, partial bool) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, lenLen+sealedSize+1)
	head, err := br.Peek(headerLen)
	if err != nil || version(head) == 0 {
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
	d := &reader{k: k, r: br, path: path, partial: partial, v2: version(head) == 2}
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
	v2      bool
	header  [headerLen]byte
	ad      [headerLen + lenLen]byte // version 2: header | length prefix
	nb      [12]byte                 // nonce
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
	if d.v2 {
		return d.next2()
	}
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
	plain, oerr := d.k.aead.Open(d.out[:0], nonce(&d.nb, d.header[:], d.n, final), d.in[:n], d.header[:])
	if oerr != nil && d.partial && final {
		// The writer stopped before Close: its last whole chunk was sealed
		// as not the last, and a torn chunk after it is dropped.
		d.done = true
		if n == sealedSize {
			if plain, oerr = d.k.aead.Open(d.out[:0], nonce(&d.nb, d.header[:], d.n, false), d.in[:n], d.header[:]); oerr == nil {
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

// next2 decrypts one chunk of a version 2 file. With partial, a chunk the
// file ends inside of (a write torn by a crash), or a file ending after a
// whole chunk not sealed as the last, ends the plaintext; a whole chunk
// that does not authenticate is an error either way, as it cannot come
// from a writer that stopped.
func (d *reader) next2() error {
	if d.in == nil {
		d.in, d.out = make([]byte, sealedSize), make([]byte, 0, ChunkSize)
	}
	ad := d.ad[:]
	copy(ad, d.header[:])
	cut := func() error {
		if d.partial {
			d.done = true
			return nil
		}
		return fmt.Errorf("decrypt %s: %w", d.path, models.Errorf(models.ECONFLICT, "the file was cut short at chunk %d", d.n))
	}
	if _, err := io.ReadFull(d.r, ad[headerLen:]); errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return cut()
	} else if err != nil {
		return fmt.Errorf("decrypt %s: %w", d.path, err)
	}
	size := binary.BigEndian.Uint32(ad[headerLen:])
	if size < tagLen || size > sealedSize {
		return fmt.Errorf("decrypt %s: %w", d.path, models.Errorf(models.ECONFLICT, "chunk %d has an impossible length %d: the file was altered", d.n, size))
	}
	in := d.in[:size]
	if _, err := io.ReadFull(d.r, in); errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return cut()
	} else if err != nil {
		return fmt.Errorf("decrypt %s: %w", d.path, err)
	}
	final := false
	if _, err := d.r.Peek(1); errors.Is(err, io.EOF) {
		final = true
	} else if err != nil {
		return fmt.Errorf("decrypt %s: %w", d.path, err)
	}
	plain, err := d.k.aead.Open(d.out[:0], nonce(&d.nb, d.header[:], d.n, final), in, ad)
	if err != nil && final && d.partial {
		// The writer stopped before Close, after this chunk.
		if plain, err = d.k.aead.Open(d.out[:0], nonce(&d.nb, d.header[:], d.n, false), in, ad); err == nil {
			d.n++
			d.plain, d.done = plain, true
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("decrypt %s: %w", d.path, models.Errorf(models.ECONFLICT, "chunk %d was altered, moved or the file was cut short", d.n))
	}
	d.n++
	d.plain, d.done = plain, final
	return nil
}

// Whole reports whether the encrypted file at path holds size bytes of
// plaintext in whole chunks, judged by its length and (version 2) its
// chunks' length prefixes alone: a cheap check for a file cut short by a
// crash. Only Open's reader finds altered bytes, and, in version 2, a file
// cut just before an empty last chunk (a writer that flushed everything,
// then stopped before Close): without the key the last chunk's final flag
// cannot be read. A file that is not encrypted is not whole.
func Whole(path string, size int64) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	var head [headerLen]byte
	if _, err := f.ReadAt(head[:], 0); err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, fmt.Errorf("chunks of %s: %w", path, err)
	}
	switch version(head[:]) {
	case 1:
		return st.Size() == SealedSize(size), nil
	case 2:
	default:
		return false, nil
	}
	// Hop from length prefix to length prefix: a read per chunk.
	var plain, chunks int64
	var lb [lenLen]byte
	for pos := int64(headerLen); pos < st.Size(); {
		if _, err := f.ReadAt(lb[:], pos); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, fmt.Errorf("chunks of %s: %w", path, err)
		}
		n := int64(binary.BigEndian.Uint32(lb[:]))
		if n < tagLen || n > sealedSize {
			return false, nil
		}
		pos += lenLen + n
		if pos > st.Size() {
			return false, nil
		}
		plain += n - tagLen
		chunks++
	}
	return chunks > 0 && plain == size, nil
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
