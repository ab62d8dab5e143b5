package s3

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"remoteidv/models"
)

// Defaults used when the Config fields are zero.
const (
	DefaultRetentionMode   = models.RetentionCompliance
	DefaultRetentionPeriod = 5 * 365 * 24 * time.Hour // the usual banking rule
	DefaultPartSize        = 16 << 20
	DefaultParallel        = 3
	DefaultMaxRetries      = 3
	minPartSize            = 5 << 20 // S3's minimum for all but the last part
	maxParts               = 10000   // S3's maximum number of parts
)

// SSE selects server-side encryption of stored objects.
type SSE string

// Server-side encryption settings.
const (
	SSENone SSE = "none"    // no server-side encryption requested
	SSES3   SSE = "sse-s3"  // SSE-S3: the server encrypts with keys it manages (MinIO needs a KMS)
	SSEKMS  SSE = "sse-kms" // SSE-KMS: the server encrypts under Config.KMSKey of its KMS
)

// Config configures a Store. The zero values of optional fields take the
// defaults above.
type Config struct {
	// Endpoint is host[:port] of the S3 service, without a scheme.
	Endpoint string
	// Bucket holds the evidence. It is created with Object Lock when
	// missing.
	Bucket    string
	AccessKey string
	SecretKey string
	UseTLS    bool
	Region    string
	// RetentionMode is the Object Lock mode of every object and the
	// bucket's default: COMPLIANCE unless AllowUnlocked.
	RetentionMode models.RetentionMode
	// RetentionPeriod is how long each object is locked from the time it
	// is stored; whole days, at least one.
	RetentionPeriod time.Duration
	// AllowUnlocked accepts, for development only, a bucket without Object
	// Lock or in GOVERNANCE mode (with a warning). Never in production.
	AllowUnlocked bool
	// SSE is the server-side encryption of every object and the bucket's
	// default; SSES3 when empty. New fails (EPRECONDITION) when the
	// service refuses it.
	SSE SSE
	// KMSKey is the KMS key id for SSEKMS.
	KMSKey string
	// PartSize is the size of multipart-upload parts; objects up to this
	// size go in one PUT. Larger objects stream with at most
	// PartSize*Parallel bytes buffered, for the whole store.
	PartSize int64
	// Parallel is how many parts upload at once.
	Parallel int
	// MaxRetries bounds minio-go's retries of one request (1 = no retry).
	MaxRetries int
	// Transport is the HTTP transport (for a private CA); minio-go's
	// default when nil.
	Transport http.RoundTripper
	// Now returns the current time, for retain-until dates; time.Now when
	// nil.
	Now func() time.Time
}

// LogValue redacts the secret key.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("endpoint", c.Endpoint),
		slog.String("bucket", c.Bucket),
		slog.String("access_key", c.AccessKey),
		slog.String("secret_key", "REDACTED"),
		slog.Bool("tls", c.UseTLS),
		slog.String("region", c.Region),
		slog.String("retention_mode", string(c.RetentionMode)),
		slog.Duration("retention_period", c.RetentionPeriod),
		slog.Bool("allow_unlocked", c.AllowUnlocked),
		slog.String("sse", string(c.SSE)),
		slog.String("kms_key", c.KMSKey),
	)
}

// withDefaults fills in the zero fields.
func (c Config) withDefaults() Config {
	if c.RetentionMode == "" {
		c.RetentionMode = DefaultRetentionMode
	}
	if c.RetentionPeriod == 0 {
		c.RetentionPeriod = DefaultRetentionPeriod
	}
	if c.SSE == "" {
		c.SSE = SSES3
	}
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	if c.Parallel == 0 {
		c.Parallel = DefaultParallel
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks the configuration after defaults; it returns EINVALID
// errors naming the field.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Endpoint == "":
		return models.Errorf(models.EINVALID, "s3: endpoint is required")
	case c.Bucket == "":
		return models.Errorf(models.EINVALID, "s3: bucket is required")
	case c.AccessKey == "" || c.SecretKey == "":
		return models.Errorf(models.EINVALID, "s3: access key and secret key are required")
	case c.RetentionMode != models.RetentionCompliance && c.RetentionMode != models.RetentionGovernance:
		return models.Errorf(models.EINVALID, "s3: retention mode %q is not COMPLIANCE or GOVERNANCE", c.RetentionMode)
	case c.RetentionMode == models.RetentionGovernance && !c.AllowUnlocked:
		return models.Errorf(models.EINVALID, "s3: retention mode GOVERNANCE lets privileged users delete evidence; use COMPLIANCE (or AllowUnlocked in development)")
	case c.RetentionPeriod < 24*time.Hour || c.RetentionPeriod%(24*time.Hour) != 0:
		return models.Errorf(models.EINVALID, "s3: retention period %s is not a whole number of days (at least one)", c.RetentionPeriod)
	case c.SSE != SSENone && c.SSE != SSES3 && c.SSE != SSEKMS:
		return models.Errorf(models.EINVALID, "s3: SSE %q is not %q, %q or %q", c.SSE, SSES3, SSEKMS, SSENone)
	case (c.SSE == SSEKMS) != (c.KMSKey != ""):
		return models.Errorf(models.EINVALID, "s3: a KMS key id goes with SSE %q and only with it", SSEKMS)
	case c.PartSize < minPartSize:
		return models.Errorf(models.EINVALID, "s3: part size %d is below S3's minimum %d", c.PartSize, minPartSize)
	case c.Parallel < 1:
		return models.Errorf(models.EINVALID, "s3: parallel %d is below 1", c.Parallel)
	case c.MaxRetries < 1:
		return models.Errorf(models.EINVALID, "s3: max retries %d is below 1", c.MaxRetries)
	}
	return nil
}

// retentionDays is the period in days, for the bucket's default rule.
func (c Config) retentionDays() uint {
	return uint(c.RetentionPeriod / (24 * time.Hour))
}

func (c Config) String() string {
	return fmt.Sprintf("s3://%s/%s", c.Endpoint, c.Bucket)
}
