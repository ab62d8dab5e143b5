// Package verified streams an evidence object's bytes while checking them:
// the declared size and SHA-256 must hold, or the last bytes are withheld
// and the read fails. Both evidence stores use it, so that a mismatched
// body can never be stored whole.
package verified

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"remoteidv/models"
)

// Reader passes exactly size bytes of r through while hashing them, and
// withholds the last bytes unless they hash to want and r holds nothing
// more. A consumer therefore never sees the complete body of a mismatched
// upload: it fails with an EINVALID error instead.
type Reader struct {
	ctx      context.Context
	r        io.Reader
	size     int64
	want     string
	n        int64
	h        hash.Hash
	verified bool
	err      error
}

// NewReader verifies r against size and the hex SHA-256 want.
func NewReader(ctx context.Context, r io.Reader, size int64, want string) *Reader {
	return &Reader{ctx: ctx, r: r, size: size, want: want, h: sha256.New()}
}

// Read implements io.Reader.
func (v *Reader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if err := v.ctx.Err(); err != nil {
		v.err = err
		return 0, err
	}
	if v.n == v.size {
		if !v.verified {
			if err := v.finish(); err != nil {
				return 0, err
			}
		}
		return 0, io.EOF
	}
	if rem := v.size - v.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	k, err := v.r.Read(p)
	v.h.Write(p[:k])
	v.n += int64(k)
	if v.n == v.size {
		if err := v.finish(); err != nil {
			return 0, err
		}
		return k, nil
	}
	switch {
	case err == io.EOF:
		v.err = models.Errorf(models.EINVALID, "body is %d bytes, shorter than the declared %d", v.n, v.size)
		return 0, v.err
	case err != nil:
		v.err = fmt.Errorf("read body: %w", err)
		return k, v.err
	}
	return k, nil
}

// finish checks that r is exhausted and that the hash matches.
func (v *Reader) finish() error {
	var one [1]byte
	m, err := io.ReadFull(v.r, one[:])
	switch {
	case m > 0:
		v.err = models.Errorf(models.EINVALID, "body is longer than the declared %d bytes", v.size)
	case err != nil && err != io.EOF:
		v.err = fmt.Errorf("read body: %w", err)
	default:
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			v.err = models.Errorf(models.EINVALID, "body hashes to sha256 %s, want %s", got, v.want)
		}
	}
	if v.err != nil {
		return v.err
	}
	v.verified = true
	return nil
}

// Err returns the error that stopped the reader, if any (a size or hash
// mismatch, the reader's own error, or the context's).
func (v *Reader) Err() error { return v.err }

// Verified reports whether all size bytes were read and matched.
func (v *Reader) Verified() bool { return v.verified }
