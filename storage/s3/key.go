// Code below is kept in step with storage/localfs/key.go: the two stores
// accept exactly the same keys (the conformance suite checks it).

package s3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"regexp"
	"strings"

	"remoteidv/models"
)

// maxKeyLen bounds a key; S3 allows 1024 bytes.
const maxKeyLen = 1024

var checkpointPart = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// checkKey accepts the two key shapes the service writes:
// cases/<case>/<kind>/<sha256> (whose last part must be sum when sum is not
// empty) and checkpoints/<part>[/<part>...]. Anything else, and in particular
// anything that could climb out of the root, is EINVALID.
func checkKey(key, sum string) error {
	if len(key) == 0 || len(key) > maxKeyLen {
		return models.Errorf(models.EINVALID, "bad evidence key %q", key)
	}
	parts := strings.Split(key, "/")
	switch parts[0] {
	case "cases":
		if len(parts) != 4 {
			break
		}
		want, err := models.EvidenceKey(models.CaseID(parts[1]), models.EvidenceKind(parts[2]), parts[3])
		if err != nil || want != key {
			break
		}
		if sum != "" && parts[3] != sum {
			return models.Errorf(models.EINVALID, "evidence key %q does not name sha256 %s", key, sum)
		}
		return nil
	case "checkpoints":
		if len(parts) < 2 || len(parts) > 8 {
			break
		}
		for _, p := range parts[1:] {
			if !checkpointPart.MatchString(p) || p == "." || p == ".." {
				return models.Errorf(models.EINVALID, "bad evidence key %q", key)
			}
		}
		return nil
	}
	return models.Errorf(models.EINVALID, "bad evidence key %q", key)
}

// verifier passes exactly size bytes of r through while hashing them, and
// withholds the last bytes unless they hash to want and r holds nothing
// more. A consumer therefore never sees the complete body of a mismatched
// upload: it fails with an EINVALID error instead.
type verifier struct {
	ctx      context.Context
	r        io.Reader
	size     int64
	want     string
	n        int64
	h        hash.Hash
	verified bool
	err      error
}

func newVerifier(ctx context.Context, r io.Reader, size int64, want string) *verifier {
	return &verifier{ctx: ctx, r: r, size: size, want: want, h: sha256.New()}
}

func (v *verifier) Read(p []byte) (int, error) {
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
func (v *verifier) finish() error {
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
