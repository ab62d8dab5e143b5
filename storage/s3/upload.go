package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"remoteidv/models"
	"remoteidv/storage/verified"
)

// abortTimeout bounds the clean-up of a failed multipart upload, which runs
// even when the Put's context is cancelled.
const abortTimeout = 30 * time.Second

// partSize returns the part size for an object of size bytes: the
// configured one, grown (in whole MiB) to stay within S3's part count.
func (s *Store) partSize(size int64) int64 {
	ps := s.cfg.PartSize
	if need := (size + maxParts - 1) / maxParts; need > ps {
		ps = (need + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return ps
}

// getBuf waits for a free part buffer of n bytes. At most cfg.Parallel
// buffers are in use in the whole store; buffers of the configured part
// size are kept for reuse (so a large upload makes no garbage), larger ones
// (for objects over PartSize*10000 bytes) are dropped after use.
func (s *Store) getBuf(ctx context.Context, n int64) ([]byte, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if n <= s.cfg.PartSize {
		select {
		case b := <-s.free:
			return b[:n], nil
		default:
			return make([]byte, n, s.cfg.PartSize), nil
		}
	}
	return make([]byte, n), nil
}

func (s *Store) putBuf(b []byte) {
	if int64(cap(b)) == s.cfg.PartSize {
		select {
		case s.free <- b[:cap(b)]:
		default:
		}
	}
	<-s.slots
}

// putMultipart streams r in parts, Parallel at a time. Each part carries
// its SHA-256 in a signed x-amz-checksum-sha256 header that the server
// verifies; the payload itself goes unsigned so each byte is hashed once per
// side rather than twice (the header is signed, so the protection is the
// same). The upload is completed only when
// the whole body hashed to sum, and aborted otherwise.
func (s *Store) putMultipart(ctx context.Context, key string, r io.Reader, size int64, sum string, opts minio.PutObjectOptions) (err error) {
	opts.UserMetadata["x-amz-checksum-algorithm"] = "SHA256"
	bucket := s.cfg.Bucket
	uploadID, err := s.core.NewMultipartUpload(ctx, bucket, key, opts)
	if err != nil {
		return classify(err)
	}
	defer func() {
		if err == nil {
			return
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		if aerr := s.core.AbortMultipartUpload(actx, bucket, key, uploadID); aerr != nil {
			s.log.WarnContext(ctx, "abort multipart upload", "key", key, "upload_id", uploadID, "err", aerr)
		}
	}()

	ps := s.partSize(size)
	nparts := int((size + ps - 1) / ps)
	parts := make([]minio.CompletePart, nparts)
	sums := make([][]byte, nparts)
	v := verified.NewReader(ctx, r, size, sum)

	uctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for i := range nparts {
		n := min(ps, size-int64(i)*ps)
		buf, err := s.getBuf(uctx, n)
		if err != nil {
			fail(classify(err))
			break
		}
		if _, err := io.ReadFull(v, buf); err != nil {
			s.putBuf(buf)
			if v.Err() != nil {
				err = v.Err()
			}
			fail(classify(err))
			break
		}
		wg.Go(func() {
			defer s.putBuf(buf)
			h := sha256.Sum256(buf)
			b64 := base64.StdEncoding.EncodeToString(h[:])
			part, err := s.core.PutObjectPart(uctx, bucket, key, uploadID, i+1, bytes.NewReader(buf), n, minio.PutObjectPartOptions{
				CustomHeader:         http.Header{"X-Amz-Checksum-Sha256": []string{b64}},
				DisableContentSha256: true,
			})
			if err != nil {
				fail(fmt.Errorf("part %d: %w", i+1, classify(err)))
				return
			}
			if part.ChecksumSHA256 != "" && part.ChecksumSHA256 != b64 {
				fail(fmt.Errorf("part %d: server checksum %s, want %s", i+1, part.ChecksumSHA256, b64))
				return
			}
			parts[i] = minio.CompletePart{PartNumber: i + 1, ETag: part.ETag, ChecksumSHA256: b64}
			sums[i] = h[:]
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if !v.Verified() {
		return fmt.Errorf("body not verified after %d parts", nparts)
	}

	var copts minio.PutObjectOptions
	copts.SetMatchETagExcept("*")
	up, err := s.core.CompleteMultipartUpload(ctx, bucket, key, uploadID, parts, copts)
	if err != nil {
		return classify(err)
	}
	// The server's checksum of a multipart object is the SHA-256 of the
	// concatenated part checksums, suffixed with the part count.
	if got := up.ChecksumSHA256; got != "" {
		h := sha256.New()
		for _, p := range sums {
			h.Write(p)
		}
		want := base64.StdEncoding.EncodeToString(h.Sum(nil))
		if g, _, _ := strings.Cut(got, "-"); g != want {
			return models.Errorf(models.EINTERNAL, "server composite checksum %s, want %s-%d", got, want, nparts)
		}
	}
	return nil
}
