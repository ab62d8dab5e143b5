// Package s3 is the evidence store on S3 (MinIO, AWS) with Object Lock. It
// is the only package that imports minio-go.
//
// New refuses a bucket without Object Lock or in GOVERNANCE mode (unless
// Config.AllowUnlocked, for development) and sets the bucket's default
// retention. Every object is written with an explicit retention mode and
// retain-until date, a SHA-256 checksum the server verifies (the whole
// object's for a single PUT, each part's for a multipart upload), and its
// hex SHA-256 as user metadata (x-amz-meta-sha256). Writes are
// conditional (If-None-Match: *), so a key is written at most once even
// by several processes; Put is idempotent for the same bytes.
//
// Large objects stream with bounded memory: at most PartSize*Parallel bytes
// are buffered for the whole store, however many Puts run at once. A
// multipart upload is completed only after the whole body has hashed to the
// expected SHA-256; otherwise it is aborted and nothing is kept.
package s3

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/sse"

	"remoteidv/models"
	"remoteidv/storage/verified"
)

// metaSHA256 is the user-metadata name of the object's hex SHA-256
// (x-amz-meta-sha256 on the wire).
const metaSHA256 = "sha256"

// Store is an EvidenceStore in an S3 bucket with Object Lock. It is safe
// for concurrent use.
type Store struct {
	cfg    Config
	client *minio.Client
	core   minio.Core
	log    *slog.Logger
	sse    encrypt.ServerSide
	locked bool // the bucket has Object Lock: objects carry retention

	slots chan struct{} // one per part buffer in use, store-wide
	free  chan []byte   // part buffers kept for reuse

	mu   sync.Mutex
	keys map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

var _ models.EvidenceStore = (*Store)(nil)

// New connects to the service and checks the bucket: created with Object
// Lock when missing; refused (EPRECONDITION) when it has no Object Lock or
// its default retention is GOVERNANCE, unless cfg.AllowUnlocked; its
// default retention is set to cfg's. Network failures are EUNAVAILABLE.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("evidence_bucket", cfg.Bucket, "s3_endpoint", cfg.Endpoint)
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:     cfg.UseTLS,
		Region:     cfg.Region,
		Transport:  cfg.Transport,
		MaxRetries: cfg.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg, err)
	}
	s := &Store{
		cfg:    cfg,
		client: client,
		core:   minio.Core{Client: client},
		log:    log,
		slots:  make(chan struct{}, cfg.Parallel),
		free:   make(chan []byte, cfg.Parallel),
		keys:   make(map[string]*keyLock),
	}
	switch cfg.SSE {
	case SSES3:
		s.sse = encrypt.NewSSE()
	case SSEKMS:
		if s.sse, err = encrypt.NewSSEKMS(cfg.KMSKey, nil); err != nil {
			return nil, models.Errorf(models.EINVALID, "s3: KMS key id %q: %v", cfg.KMSKey, err)
		}
	}
	if err := s.prepareBucket(ctx); err != nil {
		return nil, fmt.Errorf("open evidence bucket %s: %w", cfg, err)
	}
	if err := s.prepareEncryption(ctx); err != nil {
		return nil, fmt.Errorf("open evidence bucket %s: %w", cfg, err)
	}
	return s, nil
}

// prepareEncryption makes cfg.SSE the bucket's default encryption, so
// that the service says at start-up whether it can encrypt (MinIO
// without a KMS, or an unknown KMS key, refuses) rather than at the first
// upload, and objects written by other tools are encrypted too. Every Put
// asks for the same encryption in its own headers as well.
func (s *Store) prepareEncryption(ctx context.Context) error {
	var want *sse.Configuration
	switch s.cfg.SSE {
	case SSES3:
		want = sse.NewConfigurationSSES3()
	case SSEKMS:
		want = sse.NewConfigurationSSEKMS(s.cfg.KMSKey)
	default:
		s.log.WarnContext(ctx, "server-side encryption of evidence is off (SSE none): objects are stored as sent")
		return nil
	}
	// Set at every start, also when the bucket already says so: the
	// server checks its KMS (and the key) only when asked.
	if err := s.client.SetBucketEncryption(ctx, s.cfg.Bucket, want); err != nil {
		resp := minio.ToErrorResponse(err)
		if resp.Code == "AccessDenied" {
			// Credentials without s3:PutEncryptionConfiguration: accept a
			// bucket the bank has configured the same way itself.
			have, gerr := s.client.GetBucketEncryption(ctx, s.cfg.Bucket)
			if gerr == nil && len(have.Rules) == 1 && have.Rules[0].Apply == want.Rules[0].Apply {
				s.log.InfoContext(ctx, "evidence bucket default encryption set by its owner", "sse", s.cfg.SSE)
				return nil
			}
		}
		// MinIO without a KMS answers 501 NotImplemented: a refusal, not
		// an outage.
		if resp.Code == "" || (resp.Code != "NotImplemented" && models.ErrorCodeOf(classify(err)) == models.EUNAVAILABLE) {
			return fmt.Errorf("set default encryption %s: %w", s.cfg.SSE, classify(err))
		}
		return fmt.Errorf("%w: %w", models.Errorf(models.EPRECONDITION,
			"the store refused server-side encryption %s (%s: %s): give the server a KMS (MinIO: MINIO_KMS_SECRET_KEY or KES; for sse-kms a key it knows), or turn SSE off knowingly",
			s.cfg.SSE, resp.Code, resp.Message), err)
	}
	s.log.InfoContext(ctx, "set evidence bucket default encryption", "sse", s.cfg.SSE, "kms_key", s.cfg.KMSKey)
	return nil
}

// prepareBucket creates or checks the bucket and sets its default
// retention.
func (s *Store) prepareBucket(ctx context.Context) error {
	bucket := s.cfg.Bucket
	exists, err := s.client.BucketExists(ctx, bucket)
	if err != nil {
		return classify(err)
	}
	if !exists {
		err := s.client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: s.cfg.Region, ObjectLocking: true})
		if code := minio.ToErrorResponse(err).Code; err != nil && code != "BucketAlreadyOwnedByYou" {
			return fmt.Errorf("create bucket with object lock: %w", classify(err))
		}
		s.log.InfoContext(ctx, "created evidence bucket with object lock")
	}
	enabled, mode, validity, unit, err := s.client.GetObjectLockConfig(ctx, bucket)
	if err != nil && minio.ToErrorResponse(err).Code != "ObjectLockConfigurationNotFoundError" {
		return fmt.Errorf("read object lock configuration: %w", classify(err))
	}
	if err != nil || enabled != "Enabled" {
		if !s.cfg.AllowUnlocked {
			return models.Errorf(models.EPRECONDITION, "bucket %q has no Object Lock: evidence could be deleted or overwritten; create a bucket with object lock (or set AllowUnlocked in development)", bucket)
		}
		s.log.WarnContext(ctx, "evidence bucket has NO object lock: evidence is NOT write-once (development only)")
		return nil
	}
	s.locked = true
	if mode != nil && *mode == minio.Governance {
		if !s.cfg.AllowUnlocked {
			return models.Errorf(models.EPRECONDITION, "bucket %q has default retention GOVERNANCE: privileged users could delete evidence; use COMPLIANCE (or set AllowUnlocked in development)", bucket)
		}
		s.log.WarnContext(ctx, "evidence bucket default retention is GOVERNANCE (development only)")
	}
	wantMode := minio.RetentionMode(s.cfg.RetentionMode)
	wantDays := s.cfg.retentionDays()
	if mode != nil && *mode == wantMode && validity != nil && unit != nil &&
		((*unit == minio.Days && *validity == wantDays) || (*unit == minio.Years && *validity*365 == wantDays)) {
		return nil
	}
	days := minio.Days
	if err := s.client.SetObjectLockConfig(ctx, bucket, &wantMode, &wantDays, &days); err != nil {
		return fmt.Errorf("set default retention: %w", classify(err))
	}
	s.log.InfoContext(ctx, "set evidence bucket default retention", "mode", wantMode, "days", wantDays)
	return nil
}

// Locked reports whether the bucket has Object Lock (false only with
// AllowUnlocked).
func (s *Store) Locked() bool { return s.locked }

// Check verifies that the service answers and, unless AllowUnlocked, that
// the bucket still has Object Lock, for health checks: EUNAVAILABLE when
// unreachable, EPRECONDITION when the lock is gone.
func (s *Store) Check(ctx context.Context) error {
	enabled, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.cfg.Bucket)
	if err != nil && minio.ToErrorResponse(err).Code != "ObjectLockConfigurationNotFoundError" {
		return fmt.Errorf("check evidence bucket %s: %w", s.cfg, classify(err))
	}
	if (err != nil || enabled != "Enabled") && !s.cfg.AllowUnlocked {
		return fmt.Errorf("check evidence bucket %s: %w", s.cfg, models.Errorf(models.EPRECONDITION, "bucket has no Object Lock"))
	}
	return nil
}

// lockKey serializes this process's Puts of one key; conditional writes
// serialize the others.
func (s *Store) lockKey(key string) func() {
	s.mu.Lock()
	l := s.keys[key]
	if l == nil {
		l = &keyLock{}
		s.keys[key] = l
	}
	l.refs++
	s.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		s.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(s.keys, key)
		}
		s.mu.Unlock()
	}
}

// Put stores the object; see models.EvidenceStore. It returns EINVALID for
// a bad key or hash or a body that does not match them (nothing is kept),
// ECONFLICT for other bytes (or an object not written by this store) under
// an existing key, EUNAVAILABLE when the service cannot be reached.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, sum, contentType string) (models.ObjectInfo, error) {
	info, err := s.put(ctx, key, r, size, sum, contentType)
	if err != nil {
		return models.ObjectInfo{}, fmt.Errorf("put evidence %s: %w", key, err)
	}
	return info, nil
}

func (s *Store) put(ctx context.Context, key string, r io.Reader, size int64, sum, contentType string) (models.ObjectInfo, error) {
	if err := models.CheckEvidencePut(key, size, sum); err != nil {
		return models.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return models.ObjectInfo{}, classify(err)
	}
	unlock := s.lockKey(key)
	defer unlock()

	info, err := s.stat(ctx, key)
	switch models.ErrorCodeOf(err) {
	case "":
		return same(key, info, size, sum)
	case models.ENOTFOUND:
	default:
		return models.ObjectInfo{}, err
	}

	now := s.cfg.Now().UTC().Truncate(time.Second)
	opts := minio.PutObjectOptions{
		ContentType:          contentType,
		UserMetadata:         map[string]string{metaSHA256: sum},
		ServerSideEncryption: s.sse,
		// No streaming signature: a single PUT signs the SHA-256 we were
		// given as its payload hash, parts carry a checksum header, and
		// either way the server checks the bytes without minio-go
		// hashing them a second time.
		DisableContentSha256: true,
	}
	if s.locked {
		opts.Mode = minio.RetentionMode(s.cfg.RetentionMode)
		opts.RetainUntilDate = now.Add(s.cfg.RetentionPeriod)
	}
	opts.SetMatchETagExcept("*")
	if size <= s.cfg.PartSize {
		err = s.putSingle(ctx, key, r, size, sum, opts)
	} else {
		err = s.putMultipart(ctx, key, r, size, sum, opts)
	}
	if isPreconditionFailed(err) {
		// Another process stored the key first.
		info, err := s.stat(ctx, key)
		if err != nil {
			return models.ObjectInfo{}, err
		}
		return same(key, info, size, sum)
	}
	if err != nil {
		return models.ObjectInfo{}, err
	}
	// Read back what the store now holds.
	info, err = s.stat(ctx, key)
	if err != nil {
		return models.ObjectInfo{}, fmt.Errorf("read back: %w", err)
	}
	if info.SHA256 != sum || info.Size != size {
		return models.ObjectInfo{}, fmt.Errorf("read back: store holds sha256 %s, %d bytes, want %s, %d", info.SHA256, info.Size, sum, size)
	}
	s.log.DebugContext(ctx, "evidence stored", "key", key, "size", size, "version_id", info.VersionID)
	return info, nil
}

// same answers a Put for a key that already has an object.
func same(key string, info models.ObjectInfo, size int64, sum string) (models.ObjectInfo, error) {
	if info.SHA256 != sum || info.Size != size {
		return models.ObjectInfo{}, models.Errorf(models.ECONFLICT, "evidence key %s holds other bytes (sha256 %q, %d bytes)", key, info.SHA256, info.Size)
	}
	return info, nil
}

// putSingle stores a small object in one PUT whose signed payload hash and
// x-amz-checksum-sha256 are the expected SHA-256, so the server rejects
// any other body.
func (s *Store) putSingle(ctx context.Context, key string, r io.Reader, size int64, sum string, opts minio.PutObjectOptions) error {
	raw, _ := hex.DecodeString(sum)
	opts.UserMetadata["x-amz-checksum-sha256"] = base64.StdEncoding.EncodeToString(raw)
	v := verified.NewReader(ctx, r, size, sum)
	_, err := s.core.PutObject(ctx, s.cfg.Bucket, key, v, size, "", sum, opts)
	if v.Err() != nil {
		return classify(v.Err())
	}
	return classify(err)
}

// Stat returns what the store holds under key: ENOTFOUND when absent,
// EUNAVAILABLE when unreachable. It checks the server's SHA-256 checksum
// against the recorded one when the server has a whole-object checksum.
func (s *Store) Stat(ctx context.Context, key string) (models.ObjectInfo, error) {
	info, err := s.stat(ctx, key)
	if err != nil {
		return models.ObjectInfo{}, fmt.Errorf("stat evidence %s: %w", key, err)
	}
	return info, nil
}

func (s *Store) stat(ctx context.Context, key string) (models.ObjectInfo, error) {
	if err := models.CheckEvidenceKey(key, ""); err != nil {
		return models.ObjectInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.cfg.Bucket, key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		return models.ObjectInfo{}, classify(err)
	}
	return s.objectInfo(key, oi)
}

// objectInfo converts and checks minio's view of an object.
func (s *Store) objectInfo(key string, oi minio.ObjectInfo) (models.ObjectInfo, error) {
	if oi.IsDeleteMarker {
		return models.ObjectInfo{}, models.Errorf(models.ENOTFOUND, "evidence key %s is deleted", key)
	}
	h := oi.Headers
	if h == nil {
		h = oi.Metadata
	}
	info := models.ObjectInfo{
		Key:         key,
		VersionID:   oi.VersionID,
		Size:        oi.Size,
		ContentType: oi.ContentType,
		Mode:        models.RetentionMode(h.Get("X-Amz-Object-Lock-Mode")),
		LegalHold:   h.Get("X-Amz-Object-Lock-Legal-Hold") == string(minio.LegalHoldEnabled),
	}
	if until := h.Get("X-Amz-Object-Lock-Retain-Until-Date"); until != "" {
		t, err := time.Parse(time.RFC3339, until)
		if err != nil {
			return models.ObjectInfo{}, fmt.Errorf("parse retain-until %q: %w", until, err)
		}
		info.RetainUntil = t.UTC()
	}
	for k, v := range oi.UserMetadata {
		if strings.EqualFold(k, metaSHA256) {
			info.SHA256 = v
		}
	}
	if !models.ValidSHA256(info.SHA256) {
		return models.ObjectInfo{}, models.Errorf(models.ECONFLICT, "object %s has no sha256 metadata: not written by this store", key)
	}
	if c := oi.ChecksumSHA256; c != "" && !strings.Contains(c, "-") {
		raw, err := base64.StdEncoding.DecodeString(c)
		if err != nil || hex.EncodeToString(raw) != info.SHA256 {
			return models.ObjectInfo{}, fmt.Errorf("object %s: server checksum %s differs from recorded sha256 %s", key, c, info.SHA256)
		}
	}
	return info, nil
}

// Get opens the object's current version: ENOTFOUND when absent. The
// reader streams from the service under ctx, so ctx must stay alive until
// the reader is closed; the caller should re-hash what it reads.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, models.ObjectInfo, error) {
	info, err := s.stat(ctx, key)
	if err != nil {
		return nil, models.ObjectInfo{}, fmt.Errorf("get evidence %s: %w", key, err)
	}
	rc, _, _, err := s.core.GetObject(ctx, s.cfg.Bucket, key, minio.GetObjectOptions{VersionID: info.VersionID})
	if err != nil {
		return nil, models.ObjectInfo{}, fmt.Errorf("get evidence %s: %w", key, classify(err))
	}
	return rc, info, nil
}

// SetLegalHold sets or clears the legal hold on the object's current
// version: ENOTFOUND when absent, EPRECONDITION when the bucket has no
// Object Lock.
func (s *Store) SetLegalHold(ctx context.Context, key string, on bool) error {
	if err := s.setLegalHold(ctx, key, on); err != nil {
		return fmt.Errorf("set legal hold on %s to %t: %w", key, on, err)
	}
	return nil
}

func (s *Store) setLegalHold(ctx context.Context, key string, on bool) error {
	info, err := s.stat(ctx, key)
	if err != nil {
		return err
	}
	if !s.locked {
		return models.Errorf(models.EPRECONDITION, "bucket %q has no Object Lock, so no legal holds", s.cfg.Bucket)
	}
	status := minio.LegalHoldDisabled
	if on {
		status = minio.LegalHoldEnabled
	}
	err = s.client.PutObjectLegalHold(ctx, s.cfg.Bucket, key, minio.PutObjectLegalHoldOptions{VersionID: info.VersionID, Status: &status})
	if err != nil {
		return classify(err)
	}
	s.log.InfoContext(ctx, "legal hold changed", "key", key, "version_id", info.VersionID, "on", on)
	return nil
}

// List returns the keys of the objects directly in folder, sorted; see
// models.EvidenceStore.
func (s *Store) List(ctx context.Context, folder string) ([]string, error) {
	if err := models.CheckEvidenceFolder(folder); err != nil {
		return nil, err
	}
	var keys []string
	for oi := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: folder}) {
		if oi.Err != nil {
			return nil, fmt.Errorf("list evidence %s: %w", folder, classify(oi.Err))
		}
		if !strings.HasSuffix(oi.Key, "/") { // a sub-folder
			keys = append(keys, oi.Key)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Expire deletes the object's version once its retention has passed and
// no legal hold is set; see models.EvidenceStore. The bucket's Object Lock
// has the last word: a refusal (retention by the server's clock) is
// ECONFLICT too. The version itself is removed, not hidden behind a delete
// marker.
func (s *Store) Expire(ctx context.Context, key string) error {
	if err := s.expire(ctx, key); err != nil {
		return fmt.Errorf("expire evidence %s: %w", key, err)
	}
	return nil
}

func (s *Store) expire(ctx context.Context, key string) error {
	unlock := s.lockKey(key)
	defer unlock()
	info, err := s.stat(ctx, key)
	if err != nil {
		return err
	}
	if info.LegalHold {
		return models.Errorf(models.ECONFLICT, "evidence %s is under a legal hold", key)
	}
	if s.cfg.Now().Before(info.RetainUntil) {
		return models.Errorf(models.ECONFLICT, "evidence %s is retained until %s", key, info.RetainUntil.Format(time.RFC3339))
	}
	err = s.client.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{VersionID: info.VersionID})
	// AWS refuses a locked version with AccessDenied, MinIO with
	// InvalidRequest ("Object is WORM protected").
	if code := minio.ToErrorResponse(err).Code; code == "AccessDenied" || code == "InvalidRequest" {
		return models.Errorf(models.ECONFLICT, "the bucket's Object Lock keeps evidence %s: %v", key, err)
	}
	if err != nil {
		return classify(err)
	}
	s.log.InfoContext(ctx, "evidence expired and deleted", "key", key, "version_id", info.VersionID, "retained_until", info.RetainUntil)
	return nil
}

// isPreconditionFailed reports whether err is a failed If-None-Match.
func isPreconditionFailed(err error) bool {
	var e *errPrecondition
	return errors.As(err, &e)
}

type errPrecondition struct{ err error }

func (e *errPrecondition) Error() string { return e.err.Error() }
func (e *errPrecondition) Unwrap() error { return e.err }

// classify maps an error from minio-go to a domain error kind. Domain
// errors pass through.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var de *models.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return models.Errorf(models.EUNAVAILABLE, "evidence store: %v", err)
	}
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		resp = minio.ToErrorResponse(err)
	}
	switch resp.Code {
	case "NoSuchKey", "NoSuchVersion", "NoSuchObject":
		return models.Errorf(models.ENOTFOUND, "no such evidence object (%s)", resp.Code)
	case "PreconditionFailed":
		return &errPrecondition{err}
	case "BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "XAmzContentChecksumMismatch", "InvalidChecksum", "IncompleteBody":
		return models.Errorf(models.EINVALID, "evidence store rejected the body: %v", err)
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch":
		return models.Errorf(models.EFORBIDDEN, "evidence store refused: %v", err)
	case "NoSuchBucket", "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout",
		"XMinioServerNotInitialized", "XMinioStorageFull", "XMinioInsufficientWriteQuorum", "XMinioInsufficientReadQuorum":
		return models.Errorf(models.EUNAVAILABLE, "evidence store unavailable: %v", err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return models.Errorf(models.ENOTFOUND, "no such evidence object")
	}
	if resp.StatusCode >= 500 || resp.StatusCode == 0 {
		// 5xx, or no S3 answer at all: connection refused or reset, DNS,
		// timeouts, a truncated response.
		return models.Errorf(models.EUNAVAILABLE, "evidence store unavailable: %v", err)
	}
	return err
}
