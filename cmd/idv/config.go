package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"remoteidv/access"
	"remoteidv/directory"
	"remoteidv/idp"
	idvmail "remoteidv/mail"
	"remoteidv/models"
	"remoteidv/registry"
	"remoteidv/verify"
)

// Config is every setting of `idv serve` (and the commands that open the
// database). Defaults, then IDV_* environment variables, then flags. The
// settings of one part of the service are grouped in a section; the
// variables and flags stay flat (IDV_S3_BUCKET is S3.Bucket).
type Config struct {
	Listen             string
	PublicURL          string
	DatabaseURL        string
	DataDir            string
	EvidenceDir        string
	SigningKey         string
	StagingKey         string
	StagingDir         string
	TLSCert            string
	TLSKey             string
	TrustedProxies     string
	MetricsListen      string
	BankName           string
	BankNameZH         string
	BankAddress        string
	BranchName         string
	BranchAddress      string
	BranchTZ           string
	SessionIdle        time.Duration
	SessionMax         time.Duration
	TokenLifetime      time.Duration
	MaxBody            int64
	CheckpointInterval time.Duration
	SlotMaxLead        time.Duration
	SealInterval       time.Duration
	ArchiveLease       time.Duration
	ExpiryInterval     time.Duration
	ReminderInterval   time.Duration
	// NotifyInterval is how often staff notifications are dispatched from
	// the audit log and due slot alerts raised; NotifySlotLead is how long
	// before a slot the alert goes when no clerk has joined.
	NotifyInterval    time.Duration
	NotifySlotLead    time.Duration
	CustomerStatusTTL time.Duration
	CallMaxDuration   time.Duration
	CallMaxSockets    int64
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	// Demo is the demonstration mode `make run` turns on: a banner on
	// every page, mail to a local Maildir (DataDir/mail) shown on the demo
	// mailbox page, and the reference registry in-process over the demo
	// records, unless a mail server or a registry is configured.
	Demo      bool
	Quotas    QuotaConfig
	Log       LogConfig
	Auth      AuthConfig
	Face      FaceConfig
	S3        S3Config
	ICE       ICEConfig
	TURN      TURNConfig
	Media     MediaConfig
	Mail      MailConfig
	Registry  RegistryConfig
	Statement StatementConfig
	Webhook   WebhookConfig
	LDAP      LDAPConfig
	OIDC      OIDCConfig
	Node      NodeConfig
	WebAuthn  WebAuthnConfig
}

// NodeConfig names this process among several `idv serve` on one
// database (the node registry, the leases its jobs take).
type NodeConfig struct {
	// ID is unique per node and stable across its restarts; empty: the
	// host name and the listen port (host-8080).
	ID string
	// URL is where the other nodes reach this one; empty: http(s)://host
	// name:listen port.
	URL string
	// Secret is the cluster secret the nodes sign the call sockets they
	// proxy to each other with; empty: no proxying, every call is served
	// on the node its sockets reach (one node).
	Secret string
	// Heartbeat is how often the node records that it is up; a node not
	// heard of for three heartbeats counts as dead.
	Heartbeat time.Duration
}

// OIDCConfig is sign-in through the bank's OpenID Connect provider: off
// without Issuer (idp.Config says what each field means). The provider
// never takes over a local staff row (the break-glass admin) or a
// directory member's name: those sign in as before, and the provider's
// user of that name is refused. With both LDAP and OIDC configured, a
// name belongs to whichever source created its row first.
type OIDCConfig struct {
	Issuer        string
	ClientID      string
	ClientSecret  string
	RedirectURL   string // empty: IDV_PUBLIC_URL + /auth/oidc/callback
	Name          string
	NameZH        string
	Scopes        string // space-separated, besides openid
	GroupsClaim   string
	UsernameClaim string
	NameClaim     string
	GroupRoles    string // role=group;role=group, as IDV_LDAP_GROUP_ROLES
	CAFile        string
	Timeout       time.Duration
}

// WebAuthnConfig is security keys and passkeys (access.KeyPolicy): the
// relying party ID browsers scope keys to and the roles that need a key.
type WebAuthnConfig struct {
	// RPID is the relying party ID; empty: the host of PublicURL. Keys
	// need a domain name (browsers refuse IP addresses): a PublicURL on an
	// IP address without RPID leaves keys off, with a warning at start.
	RPID string
	// RequiredRoles, comma-separated: their members present a key after
	// the password and decide with it.
	RequiredRoles string
	// Enrolment: who vouches for a member's first key, "admin" (a
	// one-time code an admin issues) or "self" (trust on first use).
	Enrolment string
}

// LDAPConfig is directory sign-in (LDAP / Active Directory): off without
// URL. Names with a local staff row of source local (the break-glass
// admin) sign in with their local password; every other name signs in
// against the directory (directory.Config says what each field means).
type LDAPConfig struct {
	URL          string
	StartTLS     bool
	CAFile       string
	ServerName   string
	BindDN       string
	BindPassword string
	UserBase     string
	UserFilter   string
	UsernameAttr string
	NameAttr     string
	GroupAttr    string
	GroupBase    string
	GroupFilter  string
	GroupRoles   string // role=group;role=group
	Timeout      time.Duration
	SyncInterval time.Duration
}

// QuotaConfig bounds what one case may keep in write-once storage (and
// what one call may record): verify.Quotas and signaling's
// MaxRecordingBytes.
type QuotaConfig struct {
	Letters            int64
	LetterBytes        int64
	LetterGrowth       float64
	Captures           int64
	CallRecordingBytes int64
	RecordingBytes     int64
	Recording          time.Duration
}

// LogConfig is how the service logs.
type LogConfig struct {
	Level  string // debug, info, warn or error
	Format string // text or json
}

// AuthConfig bounds what staff sign-ins and failing callers cost: argon2id
// checks at once, failures per login name, per client address and per
// step-up, and how often one source's security events reach the audit
// trail (access.Limits).
type AuthConfig struct {
	Checks          int64 // 0: one per core
	CheckWait       time.Duration
	DelayAfter      int64
	LockAfter       int64
	LockFor         time.Duration
	AddrMax         int64
	AddrLockFor     time.Duration
	StepUpLockAfter int64
	AuditWindow     time.Duration
}

// FaceConfig is the face engine: its model files, the match threshold, the
// recognizer pool and the calibration.
type FaceConfig struct {
	ModelsDir   string
	Require     bool // refuse to start without intact models
	Threshold   float64
	Recognizers int64 // 0: one per core
	Calibration string
	// TargetFMR sets the threshold once calibrated; WeakGenuineFail and
	// MinGenuinePairs say when every score is weak evidence;
	// CalibrationMaxPairs caps the impostor pairs measured (more are
	// sampled).
	TargetFMR           float64
	WeakGenuineFail     float64
	MinGenuinePairs     int64
	CalibrationMaxPairs int64
	// Captures is how many frames a face capture in a call takes, spread
	// over CaptureSpread, and fuses into one result.
	Captures      int64
	CaptureSpread time.Duration
}

// S3Config is the S3/MinIO evidence store; with no Endpoint evidence stays
// in the local folder Config.EvidenceDir.
type S3Config struct {
	Endpoint      string
	Bucket        string
	AccessKey     string
	SecretKey     string
	TLS           bool
	Region        string
	RetentionDays int64 // also recorded by the local folder
	AllowUnlocked bool
	SSE           string
	KMSKey        string
}

// ICEConfig is the STUN/TURN servers given to call participants. Their
// TURN servers share Secret with us (the TURN REST API scheme): every
// participant gets credentials of its own that expire, never a static
// password.
type ICEConfig struct {
	Servers string // comma-separated URLs
	Secret  string
}

// TURNConfig is the embedded TURN server (off without Listen).
type TURNConfig struct {
	Listen   string
	PublicIP string
	Realm    string
	Secret   string
	// MaxAllocations caps the relay allocations of one call.
	MaxAllocations int64
	// TLSListen serves TURN over TLS (turns:) with TLSCert and TLSKey
	// (PEM files); TLSHost is the name in the turns: URL.
	TLSListen, TLSCert, TLSKey, TLSHost string
}

// MediaConfig is where this node receives the calls' media (see
// signaling.MediaConfig): one UDP port, ICE-TCP, public addresses.
type MediaConfig struct {
	UDPListen string
	TCPListen string
	PublicIPs string // comma-separated
}

// MailConfig is the mail server and the outbox worker.
type MailConfig struct {
	SMTPAddr     string
	SMTPTLS      string
	SMTPUsername string
	SMTPPassword string
	From         string
	Interval     time.Duration
	// ReturnPath is the envelope sender, where delivery reports go; ""
	// uses From.
	ReturnPath string
	// BounceListen is the bounce intake's host:port ("" off); it speaks
	// BounceProtocol (lmtp or smtp) to the peers in BounceAllow (CIDRs).
	BounceListen   string
	BounceProtocol string
	BounceAllow    string
}

// WebhookConfig is the webhook worker: how often it dispatches audit
// events and posts due deliveries, how long one POST may take, and how
// long a delivery is retried before it fails.
type WebhookConfig struct {
	Interval time.Duration
	Timeout  time.Duration
	RetryFor time.Duration
}

// RegistryConfig is the national ID registry: its service hours, where it
// answers, and which answers a check accepts.
type RegistryConfig struct {
	TZ      string
	Hours   string // HH:MM-HH:MM
	URL     string
	Key     string
	Timeout time.Duration
	// AllowHTTP lets URL be plain http:// (loopback addresses may be in
	// any case).
	AllowHTTP bool
	// CaptureMaxAge is how recent the live capture the registry photo is
	// compared with must be; MaxDataAge the oldest registry data (its
	// data_as_of) that may pass.
	CaptureMaxAge time.Duration
	MaxDataAge    time.Duration
}

// StatementConfig is how statement PDFs are made.
type StatementConfig struct {
	Font string // TrueType file for what the core PDF fonts lack
	// SignCert, SignKey and SignChain are the bank's PAdES signing
	// certificate, its key and its issuing chain (PEM files, all three or
	// none); TSAURL an RFC 3161 time-stamping authority (PAdES B-T).
	SignCert, SignKey, SignChain string
	TSAURL                       string
}

// setting is one row of the configuration table: the flag, its variable,
// its help, and where its value goes.
type setting struct {
	Flag, Env, Help string
	value           flag.Value
}

func defaultConfig() Config {
	return Config{
		Listen:             "127.0.0.1:8080",
		PublicURL:          "",
		DatabaseURL:        "sqlite:./var/idv.db",
		DataDir:            "./var",
		EvidenceDir:        "./var/evidence",
		SigningKey:         "./var/keys/audit-ed25519.pem",
		BankName:           "Demo Bank",
		BankNameZH:         "演示银行",
		BankAddress:        "1 Century Avenue, Pudong, Shanghai 200120, China",
		BranchName:         "陆家嘴支行 Lujiazui Branch",
		BranchAddress:      "88 Yincheng Road, Pudong, Shanghai 200120, China",
		BranchTZ:           "Asia/Shanghai",
		SessionIdle:        15 * time.Minute,
		SessionMax:         12 * time.Hour,
		TokenLifetime:      90 * 24 * time.Hour,
		MaxBody:            1 << 20,
		CheckpointInterval: time.Hour,
		SlotMaxLead:        90 * 24 * time.Hour,
		SealInterval:       10 * time.Second,
		ArchiveLease:       time.Minute,
		ExpiryInterval:     time.Hour,
		ReminderInterval:   time.Minute,
		NotifyInterval:     15 * time.Second,
		NotifySlotLead:     15 * time.Minute,
		CustomerStatusTTL:  30 * 24 * time.Hour,
		CallMaxDuration:    time.Hour,
		CallMaxSockets:     50,
		ReadHeaderTimeout:  10 * time.Second,
		ReadTimeout:        2 * time.Minute,
		Quotas: QuotaConfig{Letters: int64(verify.DefaultQuotas.LetterCount), LetterBytes: verify.DefaultQuotas.LetterBytes,
			LetterGrowth: verify.DefaultQuotas.LetterGrowth, Captures: int64(verify.DefaultQuotas.Captures), CallRecordingBytes: 2 << 30,
			RecordingBytes: verify.DefaultQuotas.RecordingBytes, Recording: verify.DefaultQuotas.RecordingDuration},
		Log: LogConfig{Level: "info", Format: "text"},
		Auth: AuthConfig{CheckWait: 2 * time.Second, DelayAfter: 3, LockAfter: 10, LockFor: 15 * time.Minute, AddrMax: 20, AddrLockFor: time.Minute,
			StepUpLockAfter: 5, AuditWindow: 5 * time.Minute},
		Face: FaceConfig{ModelsDir: "./var/models", Require: true, Threshold: 0.36, TargetFMR: 1e-3, WeakGenuineFail: 0.2, MinGenuinePairs: 10,
			CalibrationMaxPairs: 2_000_000, Captures: 5, CaptureSpread: 2 * time.Second},
		S3:   S3Config{Bucket: "idv-evidence", TLS: true, Region: "us-east-1", RetentionDays: 5 * 365, SSE: "sse-s3"},
		TURN: TURNConfig{Realm: "idv", MaxAllocations: 12},
		Node: NodeConfig{Heartbeat: 5 * time.Second},
		Mail: MailConfig{SMTPTLS: idvmail.TLSStartTLS, From: "noreply@bank.example", Interval: 10 * time.Second,
			BounceProtocol: "lmtp", BounceAllow: "127.0.0.0/8,::1/128"},
		Registry: RegistryConfig{TZ: "Asia/Shanghai", Hours: "07:30-19:00", Timeout: 10 * time.Second,
			CaptureMaxAge: 30 * time.Minute, MaxDataAge: 10 * time.Minute},
		Statement: StatementConfig{Font: "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"},
		Webhook:   WebhookConfig{Interval: 5 * time.Second, Timeout: 10 * time.Second, RetryFor: 24 * time.Hour},
		WebAuthn:  WebAuthnConfig{RequiredRoles: "supervisor,admin", Enrolment: access.EnrolAdmin},
		LDAP: LDAPConfig{UserFilter: "(uid=%s)", UsernameAttr: "uid", NameAttr: "displayName", Timeout: 10 * time.Second,
			SyncInterval: 15 * time.Minute},
		OIDC: OIDCConfig{Scopes: "profile", GroupsClaim: "groups", UsernameClaim: "preferred_username", NameClaim: "name", Timeout: 10 * time.Second},
	}
}

// settings lists every setting of c in the order of docs/configuration.md.
func (c *Config) settings() []setting {
	return []setting{
		{"listen", "IDV_LISTEN", "address the HTTP server listens on", (*strValue)(&c.Listen)},
		{"public-url", "IDV_PUBLIC_URL", "base URL customers and staff reach (invite links); default http://<listen>", (*strValue)(&c.PublicURL)},
		{"database-url", "IDV_DATABASE_URL", "sqlite:PATH (embedded default) or postgres://user@host:port/db", (*strValue)(&c.DatabaseURL)},
		{"data-dir", "IDV_DATA_DIR", "folder for local state (staging, demo data)", (*strValue)(&c.DataDir)},
		{"evidence-dir", "IDV_EVIDENCE_DIR", "local write-once evidence folder (embedded default store)", (*strValue)(&c.EvidenceDir)},
		{"models-dir", "IDV_MODELS_DIR", "folder of the dlib model files (idv models fetch)", (*strValue)(&c.Face.ModelsDir)},
		{"signing-key", "IDV_SIGNING_KEY", "Ed25519 private key (PKCS #8 PEM) signing audit checkpoints; generated if missing", (*strValue)(&c.SigningKey)},
		{"staging-dir", "IDV_STAGING_DIR", "folder where evidence waits, encrypted, until the archiver has stored it; several nodes share one (a shared volume at the same path on every node: rows record the file's path) so that any node archives what another staged; empty: <data-dir>/staging", (*strValue)(&c.StagingDir)},
		{"staging-key-file", "IDV_STAGING_KEY_FILE", "file holding the AES-256 key (base64 of 32 bytes) that encrypts staged evidence on local disk; empty: <data-dir>/keys/staging-aes256.key; generated if missing", (*strValue)(&c.StagingKey)},
		{"tls-cert", "IDV_TLS_CERT", "TLS certificate file (PEM); with tls-key serves HTTPS and sets Secure cookies", (*strValue)(&c.TLSCert)},
		{"tls-key", "IDV_TLS_KEY", "TLS private key file (PEM)", (*strValue)(&c.TLSKey)},
		{"trusted-proxies", "IDV_TRUSTED_PROXIES", "comma-separated IPs/CIDRs of the TLS-terminating proxies in front of the server: only from them are X-Forwarded-For (the client address) and X-Forwarded-Proto: https (Secure cookies, HSTS) believed; empty trusts none", (*strValue)(&c.TrustedProxies)},
		{"metrics-listen", "IDV_METRICS_LISTEN", "host:port of the Prometheus /metrics listener, apart from the public one (e.g. 127.0.0.1:9090); empty: no metrics are served", (*strValue)(&c.MetricsListen)},
		{"bank-name", "IDV_BANK_NAME", "bank name shown to customers", (*strValue)(&c.BankName)},
		{"bank-name-zh", "IDV_BANK_NAME_ZH", "the bank's Chinese name, beside IDV_BANK_NAME in the statement's header; empty prints IDV_BANK_NAME alone", (*strValue)(&c.BankNameZH)},
		{"bank-address", "IDV_BANK_ADDRESS", "the bank's address, in the statement's header", (*strValue)(&c.BankAddress)},
		{"branch-name", "IDV_BRANCH_NAME", "the account's branch as the statement names it (both scripts may be given, e.g. 陆家嘴支行 Lujiazui Branch)", (*strValue)(&c.BranchName)},
		{"branch-address", "IDV_BRANCH_ADDRESS", "the branch's address, on the statement", (*strValue)(&c.BranchAddress)},
		{"branch-tz", "IDV_BRANCH_TZ", "IANA time zone of the branch", (*strValue)(&c.BranchTZ)},
		{"registry-tz", "IDV_REGISTRY_TZ", "IANA time zone of the ID registry's service hours", (*strValue)(&c.Registry.TZ)},
		{"registry-hours", "IDV_REGISTRY_HOURS", "service hours of the national ID registry, HH:MM-HH:MM", (*strValue)(&c.Registry.Hours)},
		{"session-idle", "IDV_SESSION_IDLE", "staff session idle timeout (at most 15m)", (*durValue)(&c.SessionIdle)},
		{"session-max", "IDV_SESSION_MAX", "staff session absolute lifetime (at most 12h)", (*durValue)(&c.SessionMax)},
		{"token-lifetime", "IDV_TOKEN_LIFETIME", "lifetime of a new API token, and the longest its creator may ask for (1h to 8760h)", (*durValue)(&c.TokenLifetime)},
		{"max-body", "IDV_MAX_BODY", "largest JSON request body in bytes", (*intValue)(&c.MaxBody)},
		{"read-header-timeout", "IDV_READ_HEADER_TIMEOUT", "a client that has not sent its request headers by then is cut off (slow-loris)", (*durValue)(&c.ReadHeaderTimeout)},
		{"read-timeout", "IDV_READ_TIMEOUT", "a client that has not sent its whole request, body included, by then is cut off (a 10 MiB upload needs 0.7 Mbit/s at the default)", (*durValue)(&c.ReadTimeout)},
		{"login-checks", "IDV_LOGIN_CHECKS", "password checks (argon2id, 64 MiB each) running at once; 0 = one per core", (*intValue)(&c.Auth.Checks)},
		{"login-check-wait", "IDV_LOGIN_CHECK_WAIT", "how long a login or step-up waits for a free password check before it gets 429 with Retry-After", (*durValue)(&c.Auth.CheckWait)},
		{"login-delay-after", "IDV_LOGIN_DELAY_AFTER", "failed logins against one name after which each further attempt must wait a delay doubling from 1s (up to 5m)", (*intValue)(&c.Auth.DelayAfter)},
		{"login-lock-after", "IDV_LOGIN_LOCK_AFTER", "failed logins against one name (from any address) that lock it for login-lock-for; audited, its owner is told at the next login", (*intValue)(&c.Auth.LockAfter)},
		{"login-lock-for", "IDV_LOGIN_LOCK_FOR", "how long a locked login name or step-up stays locked; a run of failures is also forgotten this long after its last one", (*durValue)(&c.Auth.LockFor)},
		{"login-addr-max", "IDV_LOGIN_ADDR_MAX", "failed logins from one client address (an IPv6 /64), each within login-addr-lock-for of the one before, that lock the address for login-addr-lock-for", (*intValue)(&c.Auth.AddrMax)},
		{"login-addr-lock-for", "IDV_LOGIN_ADDR_LOCK_FOR", "how long a client address stays locked for logins", (*durValue)(&c.Auth.AddrLockFor)},
		{"stepup-lock-after", "IDV_STEPUP_LOCK_AFTER", "wrong step-up passwords of one staff member that lock step-up for login-lock-for (the next one gets 429)", (*intValue)(&c.Auth.StepUpLockAfter)},
		{"audit-failure-window", "IDV_AUDIT_FAILURE_WINDOW", "one source's failed logins with unknown names and rejected API tokens are audited once per window; the rest are counted and audited as one auth.events_suppressed event", (*durValue)(&c.Auth.AuditWindow)},
		{"node-id", "IDV_NODE_ID", "this node's name among several idv serve on one database, unique per node and stable across restarts (it owns the leases of the node's jobs); empty: host name-listen port", (*strValue)(&c.Node.ID)},
		{"node-url", "IDV_NODE_URL", "internal URL the other nodes reach this one at (not the public one); empty: http(s)://host name:listen port", (*strValue)(&c.Node.URL)},
		{"node-secret", "IDV_NODE_SECRET", "cluster secret shared by every node, at least 32 bytes (never printed): a call runs on one node and a call socket reaching another node is proxied there, signed with it; empty: nothing is proxied and each node serves the calls whose sockets reach it (one node, or a load balancer sticky per case)", (*secretValue)(&c.Node.Secret)},
		{"node-heartbeat", "IDV_NODE_HEARTBEAT", "how often the node records in the database that it is up, with its running calls; a node silent for three heartbeats is listed dead (idv nodes)", (*durValue)(&c.Node.Heartbeat)},
		{"checkpoint-interval", "IDV_CHECKPOINT_INTERVAL", "how often a signed checkpoint of the audit chain and its Merkle log is written", (*durValue)(&c.CheckpointInterval)},
		{"slot-max-lead", "IDV_SLOT_MAX_LEAD", "how far ahead a call may be scheduled", (*durValue)(&c.SlotMaxLead)},
		{"demo", "IDV_DEMO", "demonstration mode (make run): a banner on every page, mail to the Maildir <data-dir>/mail shown at /demo/mailbox, the reference registry in-process over <data-dir>/demo/registry.json; never in production", (*boolValue)(&c.Demo)},
		{"log-level", "IDV_LOG_LEVEL", "debug, info, warn or error", (*strValue)(&c.Log.Level)},
		{"log-format", "IDV_LOG_FORMAT", "text or json", (*strValue)(&c.Log.Format)},
		{"require-models", "IDV_REQUIRE_MODELS", "refuse to start unless the face models are installed and intact", (*boolValue)(&c.Face.Require)},
		{"face-threshold", "IDV_FACE_THRESHOLD", "squared-distance threshold of a face match (0.36 = dlib's 0.6; calibrate with idv face calibrate)", (*floatValue)(&c.Face.Threshold)},
		{"face-recognizers", "IDV_FACE_RECOGNIZERS", "face recognizers in the pool; 0 = one per core", (*intValue)(&c.Face.Recognizers)},
		{"face-calibration", "IDV_FACE_CALIBRATION", "calibration file from idv face calibrate DIR, used until the database holds a calibration (idv face calibrate --accounts)", (*strValue)(&c.Face.Calibration)},
		{"face-target-fmr", "IDV_FACE_TARGET_FMR", "false-match rate the threshold follows once calibrated (the configured threshold stands until then)", (*floatValue)(&c.Face.TargetFMR)},
		{"face-weak-genuine-fail", "IDV_FACE_WEAK_GENUINE_FAIL", "share of the calibration's genuine pairs failing at the target's threshold above which every face score is weak evidence", (*floatValue)(&c.Face.WeakGenuineFail)},
		{"face-min-genuine-pairs", "IDV_FACE_MIN_GENUINE_PAIRS", "fewer genuine pairs in the calibration make every face score weak evidence", (*intValue)(&c.Face.MinGenuinePairs)},
		{"face-calibration-max-pairs", "IDV_FACE_CALIBRATION_MAX_PAIRS", "impostor pairs a calibration measures at most; a larger population is sampled (bounds widen to the sample)", (*intValue)(&c.Face.CalibrationMaxPairs)},
		{"face-captures", "IDV_FACE_CAPTURES", "frames a face capture in a call takes and fuses (mean distance)", (*intValue)(&c.Face.Captures)},
		{"face-capture-spread", "IDV_FACE_CAPTURE_SPREAD", "time over which a face capture's frames are spread", (*durValue)(&c.Face.CaptureSpread)},
		{"s3-endpoint", "IDV_S3_ENDPOINT", "S3/MinIO host:port for evidence; empty keeps evidence in the local folder IDV_EVIDENCE_DIR", (*strValue)(&c.S3.Endpoint)},
		{"s3-bucket", "IDV_S3_BUCKET", "evidence bucket (created with Object Lock when missing)", (*strValue)(&c.S3.Bucket)},
		{"s3-access-key", "IDV_S3_ACCESS_KEY", "S3 access key", (*strValue)(&c.S3.AccessKey)},
		{"s3-secret-key", "IDV_S3_SECRET_KEY", "S3 secret key (never printed)", (*secretValue)(&c.S3.SecretKey)},
		{"s3-tls", "IDV_S3_TLS", "use https to reach S3", (*boolValue)(&c.S3.TLS)},
		{"s3-region", "IDV_S3_REGION", "S3 region", (*strValue)(&c.S3.Region)},
		{"s3-retention-days", "IDV_S3_RETENTION_DAYS", "COMPLIANCE retention of every evidence object, in days (also recorded by the local folder)", (*intValue)(&c.S3.RetentionDays)},
		{"s3-allow-unlocked", "IDV_S3_ALLOW_UNLOCKED", "development only: accept a bucket without Object Lock or in GOVERNANCE mode", (*boolValue)(&c.S3.AllowUnlocked)},
		{"s3-sse", "IDV_S3_SSE", "server-side encryption of evidence objects: sse-s3, sse-kms (with IDV_S3_SSE_KMS_KEY) or none; start-up fails when the store refuses it (MinIO needs a KMS)", (*strValue)(&c.S3.SSE)},
		{"s3-sse-kms-key", "IDV_S3_SSE_KMS_KEY", "KMS key id for IDV_S3_SSE=sse-kms", (*strValue)(&c.S3.KMSKey)},
		{"seal-interval", "IDV_SEAL_INTERVAL", "how often approved cases whose evidence is all archived are sealed", (*durValue)(&c.SealInterval)},
		{"archive-lease", "IDV_ARCHIVE_LEASE", "how long the archiver holds an item it is storing without renewing its claim (it renews it every third of this while the upload runs); after a crash that item waits this long before another process takes it", (*durValue)(&c.ArchiveLease)},
		{"expiry-interval", "IDV_EXPIRY_INTERVAL", "how often evidence past its retention is deleted from the store (unless under a legal hold) and the deletion recorded in the audit trail", (*durValue)(&c.ExpiryInterval)},
		{"ice-servers", "IDV_ICE_SERVERS", "comma-separated STUN/TURN URLs given to call participants (stun:host:3478,turn:host:3478?transport=udp)", (*strValue)(&c.ICE.Servers)},
		{"ice-secret", "IDV_ICE_SECRET", "shared secret of the turn: servers in ice-servers (coturn's static-auth-secret), at least 16 bytes (never printed): each participant gets the username expiry-unix:participant and base64(HMAC-SHA1(secret, username)) as credential, valid for the longest call plus 15 minutes; required with turn: servers", (*secretValue)(&c.ICE.Secret)},
		{"notify-interval", "IDV_NOTIFY_INTERVAL", "how often new audit events become staff notifications (email and webhook) and due slot alerts are raised", (*durValue)(&c.NotifyInterval)},
		{"notify-slot-lead", "IDV_NOTIFY_SLOT_LEAD", "how long before a slot the case's clerks and the supervisors are alerted when no clerk has joined", (*durValue)(&c.NotifySlotLead)},
		{"reminder-interval", "IDV_REMINDER_INTERVAL", "how often due customer reminders (24h and 1h before the call) are put in the mail outbox", (*durValue)(&c.ReminderInterval)},
		{"customer-status-ttl", "IDV_CUSTOMER_STATUS_TTL", "how long after the customer opened their invite link their browser may read the request's status page (/call/status)", (*durValue)(&c.CustomerStatusTTL)},
		{"call-max-duration", "IDV_CALL_MAX_DURATION", "a video call is ended after this long", (*durValue)(&c.CallMaxDuration)},
		{"call-max-sockets-per-addr", "IDV_CALL_MAX_SOCKETS_PER_ADDR", "call signaling sockets one client address may hold at once; more get 429 (raise it for staff behind one NAT address)", (*intValue)(&c.CallMaxSockets)},
		{"call-max-recording-bytes", "IDV_CALL_MAX_RECORDING_BYTES", "bytes one call may record (all tracks); at the cap recording stops and the call ends, what was recorded kept whole", (*intValue)(&c.Quotas.CallRecordingBytes)},
		{"case-max-recording-bytes", "IDV_CASE_MAX_RECORDING_BYTES", "bytes all of a case's calls may record; a call stops at what is left, and none starts once it is used up", (*intValue)(&c.Quotas.RecordingBytes)},
		{"case-max-recording", "IDV_CASE_MAX_RECORDING", "time all of a case's calls may record together; a call stops at what is left, and none starts once it is used up", (*durValue)(&c.Quotas.Recording)},
		{"case-max-letters", "IDV_CASE_MAX_LETTERS", "letters one case may hold; more are refused before anything is stored", (*intValue)(&c.Quotas.Letters)},
		{"case-max-letter-bytes", "IDV_CASE_MAX_LETTER_BYTES", "stored bytes all of a case's letters may add up to; more are refused before anything is stored", (*intValue)(&c.Quotas.LetterBytes)},
		{"letter-max-growth", "IDV_LETTER_MAX_GROWTH", "an image letter is re-encoded to at most this many times its uploaded size (JPEG stays JPEG; a PNG that would grow is stored as JPEG), else refused", (*floatValue)(&c.Quotas.LetterGrowth)},
		{"case-max-captures", "IDV_CASE_MAX_CAPTURES", "frames one case may keep from face captures, liveness challenges (about 60 each) and photo uploads together; more are refused before anything is stored", (*intValue)(&c.Quotas.Captures)},
		{"turn-listen", "IDV_TURN_LISTEN", "host:port of the embedded TURN server (UDP and TCP), e.g. 0.0.0.0:3478; empty: off", (*strValue)(&c.TURN.Listen)},
		{"turn-public-ip", "IDV_TURN_PUBLIC_IP", "IP address clients reach the TURN server and its relays at; default the turn-listen host", (*strValue)(&c.TURN.PublicIP)},
		{"turn-realm", "IDV_TURN_REALM", "realm of the TURN credentials", (*strValue)(&c.TURN.Realm)},
		{"turn-secret", "IDV_TURN_SECRET", "HMAC secret of the TURN credentials, at least 16 bytes (never printed); empty: random at each start", (*secretValue)(&c.TURN.Secret)},
		{"turn-tls-listen", "IDV_TURN_TLS_LISTEN", "host:port of TURN over TLS (turns:) on the embedded TURN server, usually 0.0.0.0:443, for customers whose firewall lets only HTTPS out; empty: off", (*strValue)(&c.TURN.TLSListen)},
		{"turn-tls-cert", "IDV_TURN_TLS_CERT", "PEM certificate (with its chain) TURN over TLS presents; browsers check it against turn-tls-host", (*strValue)(&c.TURN.TLSCert)},
		{"turn-tls-key", "IDV_TURN_TLS_KEY", "PEM private key of turn-tls-cert", (*strValue)(&c.TURN.TLSKey)},
		{"turn-tls-host", "IDV_TURN_TLS_HOST", "name in the turns: URL given to participants, one the certificate holds; default the TURN public IP", (*strValue)(&c.TURN.TLSHost)},
		{"media-udp-listen", "IDV_MEDIA_UDP_LISTEN", "host:port of the one UDP port every call's media use (ICE UDP mux), e.g. 0.0.0.0:50000: the only UDP port a firewall opens; an unspecified host binds each interface at that port; empty: an ephemeral port per participant", (*strValue)(&c.Media.UDPListen)},
		{"media-tcp-listen", "IDV_MEDIA_TCP_LISTEN", "host:port of ICE-TCP, e.g. 0.0.0.0:50000, for customers whose network lets no UDP out (media over TCP, used only when UDP fails); empty: off", (*strValue)(&c.Media.TCPListen)},
		{"media-public-ips", "IDV_MEDIA_PUBLIC_IPS", "comma-separated addresses clients reach this node's media ports at behind a 1:1 NAT (a cloud instance's public IP, a published container port); the call's candidates carry them instead of the interfaces' addresses", (*strValue)(&c.Media.PublicIPs)},
		{"turn-max-allocations", "IDV_TURN_MAX_ALLOCATIONS", "relay allocations one call may hold at once on the embedded TURN server (all its participants together); more are refused (486)", (*intValue)(&c.TURN.MaxAllocations)},
		{"smtp-addr", "IDV_SMTP_ADDR", "mail server host:port; empty keeps mail queued in the outbox until one is set", (*strValue)(&c.Mail.SMTPAddr)},
		{"smtp-tls", "IDV_SMTP_TLS", "none, starttls (required) or tls (implicit, port 465)", (*strValue)(&c.Mail.SMTPTLS)},
		{"smtp-username", "IDV_SMTP_USERNAME", "SMTP user for PLAIN authentication; empty for none", (*strValue)(&c.Mail.SMTPUsername)},
		{"smtp-password", "IDV_SMTP_PASSWORD", "SMTP password (never printed)", (*secretValue)(&c.Mail.SMTPPassword)},
		{"mail-from", "IDV_MAIL_FROM", "sender address of invites, codes and statements", (*strValue)(&c.Mail.From)},
		{"mail-interval", "IDV_MAIL_INTERVAL", "how often the mail outbox is worked (failed sends back off up to 30m)", (*durValue)(&c.Mail.Interval)},
		{"webhook-interval", "IDV_WEBHOOK_INTERVAL", "how often new audit events become webhook deliveries and due deliveries are posted", (*durValue)(&c.Webhook.Interval)},
		{"webhook-timeout", "IDV_WEBHOOK_TIMEOUT", "one webhook POST (connect, send, answer) slower than this is a failed attempt", (*durValue)(&c.Webhook.Timeout)},
		{"webhook-retry-for", "IDV_WEBHOOK_RETRY_FOR", "how long a webhook delivery is retried (backoff from 30s doubling to 1h) before it is marked failed; an admin can redeliver it", (*durValue)(&c.Webhook.RetryFor)},
		{"mail-return-path", "IDV_MAIL_RETURN_PATH", "envelope sender (MAIL FROM) of every message: the mailbox delivery reports come back to, which the bank's mail server hands to the bounce intake; empty: mail-from", (*strValue)(&c.Mail.ReturnPath)},
		{"bounce-listen", "IDV_BOUNCE_LISTEN", "host:port of the bounce intake, where the bank's mail server delivers the return path's mailbox (delivery status notifications, RFC 3464; at most 1 MiB each); empty: off, reports are not recorded", (*strValue)(&c.Mail.BounceListen)},
		{"bounce-protocol", "IDV_BOUNCE_PROTOCOL", "lmtp (RFC 2033, a final delivery agent: Postfix lmtp:, Exim's lmtp protocol) or smtp (for a mail server without LMTP)", (*strValue)(&c.Mail.BounceProtocol)},
		{"bounce-allow", "IDV_BOUNCE_ALLOW", "comma-separated CIDRs of the mail servers allowed to deliver to the bounce intake; others are refused (554) at connection", (*strValue)(&c.Mail.BounceAllow)},
		{"registry-url", "IDV_REGISTRY_URL", "base URL of the national ID registry (POST /v1/lookup); empty: registry checks are unavailable", (*strValue)(&c.Registry.URL)},
		{"registry-allow-http", "IDV_REGISTRY_ALLOW_HTTP", "allow a plain http:// registry-url on a non-loopback host (the ID numbers and names go unencrypted); redirects are never followed", (*boolValue)(&c.Registry.AllowHTTP)},
		{"registry-key", "IDV_REGISTRY_KEY", "bearer API key for the registry (never printed)", (*secretValue)(&c.Registry.Key)},
		{"registry-timeout", "IDV_REGISTRY_TIMEOUT", "registry lookups slower than this count as unavailable", (*durValue)(&c.Registry.Timeout)},
		{"registry-capture-max-age", "IDV_REGISTRY_CAPTURE_MAX_AGE", "the registry check needs a live capture of the case (taken in the recorded call) at most this old; the registry photo is compared with it", (*durValue)(&c.Registry.CaptureMaxAge)},
		{"registry-max-data-age", "IDV_REGISTRY_MAX_DATA_AGE", "a registry answer whose data_as_of is older than this is not a pass", (*durValue)(&c.Registry.MaxDataAge)},
		{"webauthn-rp-id", "IDV_WEBAUTHN_RP_ID", "security keys: the relying party ID (a domain name: the public URL's host or a parent of it); empty: the host of IDV_PUBLIC_URL. Keys are off when that host is an IP address (browsers refuse them)", (*strValue)(&c.WebAuthn.RPID)},
		{"webauthn-required-roles", "IDV_WEBAUTHN_REQUIRED_ROLES", "security keys: comma-separated roles whose members must present a key after the password before role work (registering one first when they have none) and whose decisions need the key's assertion bound to the case and the decision; empty: none (keys stay optional)", (*strValue)(&c.WebAuthn.RequiredRoles)},
		{"webauthn-enrolment", "IDV_WEBAUTHN_ENROLMENT", "security keys: who vouches for a member's first key. admin (the default): registering it needs a one-time code an admin issues for the member (the admin page, POST /api/staff/{username}/keys/enrolment, or idv users enrol; 24 hours, used once), so a stolen password and session cannot register the first key; self: the first key registered after the password and a step-up is trusted on first use", (*strValue)(&c.WebAuthn.Enrolment)},
		{"ldap-url", "IDV_LDAP_URL", "directory sign-in: ldaps://host:636, or ldap://host:389 with IDV_LDAP_STARTTLS; empty: local passwords only. Names with a local staff row (the break-glass admin) always sign in locally; every other name signs in against the directory", (*strValue)(&c.LDAP.URL)},
		{"ldap-starttls", "IDV_LDAP_STARTTLS", "upgrade an ldap:// connection with StartTLS (required for ldap://: passwords never travel in clear)", (*boolValue)(&c.LDAP.StartTLS)},
		{"ldap-ca-file", "IDV_LDAP_CA_FILE", "PEM file of the CA(s) the directory's certificate must chain to; empty: the system's roots", (*strValue)(&c.LDAP.CAFile)},
		{"ldap-server-name", "IDV_LDAP_SERVER_NAME", "name the directory's certificate must carry; empty: the host of IDV_LDAP_URL", (*strValue)(&c.LDAP.ServerName)},
		{"ldap-bind-dn", "IDV_LDAP_BIND_DN", "DN of the service account that searches accounts and groups; empty: anonymous search", (*strValue)(&c.LDAP.BindDN)},
		{"ldap-bind-password", "IDV_LDAP_BIND_PASSWORD", "password of the service account (never printed)", (*secretValue)(&c.LDAP.BindPassword)},
		{"ldap-user-base", "IDV_LDAP_USER_BASE", "where staff accounts are searched (subtree), e.g. ou=people,dc=bank,dc=example", (*strValue)(&c.LDAP.UserBase)},
		{"ldap-user-filter", "IDV_LDAP_USER_FILTER", "account search filter, %s the escaped username; it must leave out disabled accounts, e.g. (&(sAMAccountName=%s)(!(userAccountControl:1.2.840.113556.1.4.803:=2))) for AD", (*strValue)(&c.LDAP.UserFilter)},
		{"ldap-username-attr", "IDV_LDAP_USERNAME_ATTR", "attribute holding the sign-in name (uid, sAMAccountName): the staff row's username", (*strValue)(&c.LDAP.UsernameAttr)},
		{"ldap-name-attr", "IDV_LDAP_NAME_ATTR", "attribute holding the display name (cn when it is empty)", (*strValue)(&c.LDAP.NameAttr)},
		{"ldap-group-attr", "IDV_LDAP_GROUP_ATTR", "attribute of the account listing its groups (memberOf on AD); empty: groups come from IDV_LDAP_GROUP_FILTER only", (*strValue)(&c.LDAP.GroupAttr)},
		{"ldap-group-base", "IDV_LDAP_GROUP_BASE", "where groups are searched (subtree); empty: IDV_LDAP_USER_BASE", (*strValue)(&c.LDAP.GroupBase)},
		{"ldap-group-filter", "IDV_LDAP_GROUP_FILTER", "group search filter, %s the escaped account DN, e.g. (&(objectClass=groupOfNames)(member=%s)); empty: no group search", (*strValue)(&c.LDAP.GroupFilter)},
		{"ldap-group-roles", "IDV_LDAP_GROUP_ROLES", "directory groups mapped to roles, role=group;role=group (group DNs compared without case, or names for IDV_LDAP_GROUP_ATTR values); an account in no mapped group cannot sign in", (*strValue)(&c.LDAP.GroupRoles)},
		{"ldap-timeout", "IDV_LDAP_TIMEOUT", "connecting to the directory and each request slower than this count as the directory being down", (*durValue)(&c.LDAP.Timeout)},
		{"ldap-sync-interval", "IDV_LDAP_SYNC_INTERVAL", "how often every enabled directory member is looked up: gone, disabled or in no mapped group is disabled here with its sessions ended; changed roles are written", (*durValue)(&c.LDAP.SyncInterval)},
		{"oidc-issuer", "IDV_OIDC_ISSUER", "sign-in through the bank's OpenID Connect provider: its issuer URL (https://sso.bank.example/realms/staff); empty: off. A name with a local staff row (the break-glass admin) or a directory member's row is never taken over: the provider's user of that name is refused and the local password keeps working while the provider is down", (*strValue)(&c.OIDC.Issuer)},
		{"oidc-client-id", "IDV_OIDC_CLIENT_ID", "this service's client ID at the provider (a confidential client, code flow)", (*strValue)(&c.OIDC.ClientID)},
		{"oidc-client-secret", "IDV_OIDC_CLIENT_SECRET", "the client's secret (never printed)", (*secretValue)(&c.OIDC.ClientSecret)},
		{"oidc-redirect-url", "IDV_OIDC_REDIRECT_URL", "the redirect URI registered at the provider; empty: IDV_PUBLIC_URL/auth/oidc/callback", (*strValue)(&c.OIDC.RedirectURL)},
		{"oidc-name", "IDV_OIDC_NAME", "what the login page calls the provider (\"Sign in with ...\"); empty: the issuer's host", (*strValue)(&c.OIDC.Name)},
		{"oidc-name-zh", "IDV_OIDC_NAME_ZH", "the provider's name on the Chinese login page; empty: IDV_OIDC_NAME", (*strValue)(&c.OIDC.NameZH)},
		{"oidc-scopes", "IDV_OIDC_SCOPES", "scopes asked besides openid, space-separated (add what makes the provider put groups into the ID token, e.g. \"profile groups\")", (*strValue)(&c.OIDC.Scopes)},
		{"oidc-groups-claim", "IDV_OIDC_GROUPS_CLAIM", "ID token claim listing the user's groups; a dotted path reads into objects (Keycloak realm roles: realm_access.roles)", (*strValue)(&c.OIDC.GroupsClaim)},
		{"oidc-username-claim", "IDV_OIDC_USERNAME_CLAIM", "ID token claim holding the sign-in name, the staff row's username (1 to 64 characters); the row is bound to the provider's subject, so a name later given to someone else is refused", (*strValue)(&c.OIDC.UsernameClaim)},
		{"oidc-name-claim", "IDV_OIDC_NAME_CLAIM", "ID token claim holding the display name", (*strValue)(&c.OIDC.NameClaim)},
		{"oidc-group-roles", "IDV_OIDC_GROUP_ROLES", "provider groups mapped to roles, role=group;role=group as IDV_LDAP_GROUP_ROLES (compared without case); a user in no mapped group is refused, and their row disabled", (*strValue)(&c.OIDC.GroupRoles)},
		{"oidc-ca-file", "IDV_OIDC_CA_FILE", "PEM file of the CA(s) the provider's certificate must chain to (a private provider); empty: the system's roots", (*strValue)(&c.OIDC.CAFile)},
		{"oidc-timeout", "IDV_OIDC_TIMEOUT", "requests to the provider (discovery, keys, code exchange) slower than this count as the provider being down", (*durValue)(&c.OIDC.Timeout)},
		{"statement-font", "IDV_STATEMENT_FONT", "TrueType CJK font embedded in statements for their Chinese text (headings, labels, names, descriptions; Debian fonts-droid-fallback); empty prints each Chinese character as a placeholder", (*strValue)(&c.Statement.Font)},
		{"statement-sign-cert", "IDV_STATEMENT_SIGN_CERT", "the bank's statement signing certificate (PEM; key usage digitalSignature or nonRepudiation); statements carry a PAdES signature made with it. Unset with the key and chain: demo mode makes a demo CA and certificate under <data-dir>/keys/statement, and idv serve outside demo mode refuses to start", (*strValue)(&c.Statement.SignCert)},
		{"statement-sign-key", "IDV_STATEMENT_SIGN_KEY", "private key of the statement signing certificate (PEM: PKCS #8, EC or RSA; not encrypted, mode 0600)", (*strValue)(&c.Statement.SignKey)},
		{"statement-sign-chain", "IDV_STATEMENT_SIGN_CHAIN", "PEM certificates issuing the statement signing certificate: intermediates and the root; start-up fails unless the certificate chains to that root", (*strValue)(&c.Statement.SignChain)},
		{"statement-tsa-url", "IDV_STATEMENT_TSA_URL", "RFC 3161 time-stamping authority (http or https URL): statements get a signature time-stamp (PAdES B-T); a TSA that fails fails the signing. Empty: PAdES B-B, the signing time is the server's clock", (*strValue)(&c.Statement.TSAURL)},
	}
}

// loadConfig applies the environment, then args, and validates the result.
func loadConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (Config, *flag.FlagSet, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, s := range c.settings() {
		if v := getenv(s.Env); v != "" {
			if err := s.value.Set(v); err != nil {
				return c, fs, fmt.Errorf("setting %s=%q: %w", s.Env, v, err)
			}
		}
		fs.Var(s.value, s.Flag, s.Help+" (env "+s.Env+")")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: idv %s [flags]\n\nEvery setting also reads an IDV_* environment variable; flags win.\n\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, fs, err
	}
	return c, fs, c.validate()
}

// validate checks every setting and names the bad one.
func (c *Config) validate() error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("IDV_LISTEN", "%q is not host:port", c.Listen)
	}
	if c.PublicURL == "" {
		scheme := "http"
		if c.TLSCert != "" {
			scheme = "https"
		}
		c.PublicURL = scheme + "://" + c.Listen
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("IDV_PUBLIC_URL", "%q is not an http(s) URL", c.PublicURL)
	}
	if _, _, err := c.database(); err != nil {
		bad("IDV_DATABASE_URL", "%v", err)
	}
	for _, z := range []struct{ env, v string }{{"IDV_BRANCH_TZ", c.BranchTZ}, {"IDV_REGISTRY_TZ", c.Registry.TZ}} {
		if _, err := time.LoadLocation(z.v); err != nil || z.v == "" || z.v == "Local" {
			bad(z.env, "%q is not an IANA time zone", z.v)
		}
	}
	if _, _, err := parseHours(c.Registry.Hours); err != nil {
		bad("IDV_REGISTRY_HOURS", "%v", err)
	}
	if c.SessionIdle <= 0 || c.SessionIdle > 15*time.Minute {
		bad("IDV_SESSION_IDLE", "%v must be above 0 and at most 15m", c.SessionIdle)
	}
	if c.SessionMax < c.SessionIdle || c.SessionMax > 12*time.Hour {
		bad("IDV_SESSION_MAX", "%v must be at least the idle timeout and at most 12h", c.SessionMax)
	}
	if c.TokenLifetime < time.Hour || c.TokenLifetime > 365*24*time.Hour {
		bad("IDV_TOKEN_LIFETIME", "%v must be from 1h to 8760h", c.TokenLifetime)
	}
	if c.MaxBody < 1024 || c.MaxBody > 64<<20 {
		bad("IDV_MAX_BODY", "%d must be from 1024 to %d bytes", c.MaxBody, 64<<20)
	}
	if c.CheckpointInterval < time.Second || c.CheckpointInterval > 24*time.Hour {
		bad("IDV_CHECKPOINT_INTERVAL", "%v must be from 1s to 24h", c.CheckpointInterval)
	}
	if c.Node.Heartbeat < time.Second || c.Node.Heartbeat > time.Minute {
		bad("IDV_NODE_HEARTBEAT", "%v must be from 1s to 1m", c.Node.Heartbeat)
	}
	if c.Node.Secret != "" && len(c.Node.Secret) < 32 {
		bad("IDV_NODE_SECRET", "must be at least 32 bytes")
	}
	if len(c.Node.ID) > 128 || strings.ContainsFunc(c.Node.ID, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		bad("IDV_NODE_ID", "%q must be at most 128 characters without spaces or control characters", c.Node.ID)
	}
	if u, err := url.Parse(c.Node.URL); c.Node.URL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		bad("IDV_NODE_URL", "%q is not an http(s) URL", c.Node.URL)
	}
	if c.SlotMaxLead < time.Hour {
		bad("IDV_SLOT_MAX_LEAD", "%v must be at least 1h", c.SlotMaxLead)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("IDV_TLS_CERT", "IDV_TLS_CERT and IDV_TLS_KEY go together")
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		bad("IDV_LOG_LEVEL", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("IDV_LOG_FORMAT", "%q is not text or json", c.Log.Format)
	}
	if c.Face.Threshold <= 0 || c.Face.Threshold >= 2 {
		bad("IDV_FACE_THRESHOLD", "%v must be between 0 and 2 (squared distance)", c.Face.Threshold)
	}
	if c.Face.TargetFMR <= 0 || c.Face.TargetFMR >= 1 {
		bad("IDV_FACE_TARGET_FMR", "%v must be between 0 and 1", c.Face.TargetFMR)
	}
	if c.Face.WeakGenuineFail <= 0 || c.Face.WeakGenuineFail >= 1 {
		bad("IDV_FACE_WEAK_GENUINE_FAIL", "%v must be between 0 and 1", c.Face.WeakGenuineFail)
	}
	if c.Face.MinGenuinePairs < 1 {
		bad("IDV_FACE_MIN_GENUINE_PAIRS", "%d must be at least 1", c.Face.MinGenuinePairs)
	}
	if c.Face.CalibrationMaxPairs < 1000 || c.Face.CalibrationMaxPairs > 1_000_000_000 {
		bad("IDV_FACE_CALIBRATION_MAX_PAIRS", "%d must be from 1000 to 1000000000", c.Face.CalibrationMaxPairs)
	}
	if c.Face.Captures < 1 || c.Face.Captures > 20 {
		bad("IDV_FACE_CAPTURES", "%d must be from 1 to 20", c.Face.Captures)
	}
	if c.Face.CaptureSpread < 0 || c.Face.CaptureSpread > 30*time.Second {
		bad("IDV_FACE_CAPTURE_SPREAD", "%s must be from 0 to 30s", c.Face.CaptureSpread)
	}
	if c.Face.Recognizers < 0 || c.Face.Recognizers > 64 {
		bad("IDV_FACE_RECOGNIZERS", "%d must be from 0 to 64", c.Face.Recognizers)
	}
	if c.BankName == "" {
		bad("IDV_BANK_NAME", "must not be empty")
	}
	if st := c.Statement; (st.SignCert == "") != (st.SignKey == "") || (st.SignCert == "") != (st.SignChain == "") {
		bad("IDV_STATEMENT_SIGN_CERT", "IDV_STATEMENT_SIGN_CERT, IDV_STATEMENT_SIGN_KEY and IDV_STATEMENT_SIGN_CHAIN go together")
	}
	if u := c.Statement.TSAURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			bad("IDV_STATEMENT_TSA_URL", "%q is not an http or https URL", u)
		}
	}
	if c.S3.Endpoint != "" {
		if strings.Contains(c.S3.Endpoint, "://") {
			bad("IDV_S3_ENDPOINT", "%q must be host:port without a scheme (IDV_S3_TLS picks https)", c.S3.Endpoint)
		}
		if c.S3.Bucket == "" {
			bad("IDV_S3_BUCKET", "must not be empty with IDV_S3_ENDPOINT")
		}
		if c.S3.AccessKey == "" || c.S3.SecretKey == "" {
			bad("IDV_S3_ACCESS_KEY", "IDV_S3_ACCESS_KEY and IDV_S3_SECRET_KEY are required with IDV_S3_ENDPOINT")
		}
	}
	if c.S3.RetentionDays < 1 || c.S3.RetentionDays > 100*365 {
		bad("IDV_S3_RETENTION_DAYS", "%d must be from 1 to %d days", c.S3.RetentionDays, 100*365)
	}
	if c.S3.SSE != "none" && c.S3.SSE != "sse-s3" && c.S3.SSE != "sse-kms" {
		bad("IDV_S3_SSE", "%q is not sse-s3, sse-kms or none", c.S3.SSE)
	}
	if (c.S3.SSE == "sse-kms") != (c.S3.KMSKey != "") {
		bad("IDV_S3_SSE_KMS_KEY", "is required with IDV_S3_SSE=sse-kms and only then")
	}
	if c.ReadHeaderTimeout < time.Second || c.ReadHeaderTimeout > time.Minute {
		bad("IDV_READ_HEADER_TIMEOUT", "%v must be from 1s to 1m", c.ReadHeaderTimeout)
	}
	if c.ReadTimeout < time.Second || c.ReadTimeout > 30*time.Minute {
		bad("IDV_READ_TIMEOUT", "%v must be from 1s to 30m", c.ReadTimeout)
	}
	a := c.Auth
	for _, n := range []struct {
		env       string
		v, lo, hi int64
	}{{"IDV_LOGIN_CHECKS", a.Checks, 0, 256}, {"IDV_LOGIN_DELAY_AFTER", a.DelayAfter, 1, 1000}, {"IDV_LOGIN_LOCK_AFTER", a.LockAfter, 1, 1000},
		{"IDV_LOGIN_ADDR_MAX", a.AddrMax, 1, 100_000}, {"IDV_STEPUP_LOCK_AFTER", a.StepUpLockAfter, 1, 100}} {
		if n.v < n.lo || n.v > n.hi {
			bad(n.env, "%d must be from %d to %d", n.v, n.lo, n.hi)
		}
	}
	for _, d := range []struct {
		env       string
		v, lo, hi time.Duration
	}{{"IDV_LOGIN_CHECK_WAIT", a.CheckWait, 10 * time.Millisecond, time.Minute}, {"IDV_LOGIN_LOCK_FOR", a.LockFor, time.Second, 24 * time.Hour},
		{"IDV_LOGIN_ADDR_LOCK_FOR", a.AddrLockFor, time.Second, 24 * time.Hour}, {"IDV_AUDIT_FAILURE_WINDOW", a.AuditWindow, time.Second, 24 * time.Hour}} {
		if d.v < d.lo || d.v > d.hi {
			bad(d.env, "%v must be from %v to %v", d.v, d.lo, d.hi)
		}
	}
	q := c.Quotas
	if q.CallRecordingBytes < 10<<20 {
		bad("IDV_CALL_MAX_RECORDING_BYTES", "%d must be at least 10 MiB (10485760)", q.CallRecordingBytes)
	}
	if q.RecordingBytes < 10<<20 {
		bad("IDV_CASE_MAX_RECORDING_BYTES", "%d must be at least 10 MiB (10485760)", q.RecordingBytes)
	}
	if q.Recording < time.Minute {
		bad("IDV_CASE_MAX_RECORDING", "%v must be at least 1m", q.Recording)
	}
	if q.Letters < 1 || q.Letters > 1000 {
		bad("IDV_CASE_MAX_LETTERS", "%d must be from 1 to 1000", q.Letters)
	}
	if q.LetterBytes < 1<<20 {
		bad("IDV_CASE_MAX_LETTER_BYTES", "%d must be at least 1 MiB (1048576)", q.LetterBytes)
	}
	if q.LetterGrowth < 1 || q.LetterGrowth > 20 {
		bad("IDV_LETTER_MAX_GROWTH", "%v must be from 1 to 20", q.LetterGrowth)
	}
	if q.Captures < 100 {
		bad("IDV_CASE_MAX_CAPTURES", "%d must be at least 100 (a liveness challenge keeps about 60 frames)", q.Captures)
	}
	if c.CallMaxSockets < 1 {
		bad("IDV_CALL_MAX_SOCKETS_PER_ADDR", "%d must be at least 1", c.CallMaxSockets)
	}
	if c.CallMaxDuration < time.Minute || c.CallMaxDuration > 4*time.Hour {
		bad("IDV_CALL_MAX_DURATION", "%v must be from 1m to 4h", c.CallMaxDuration)
	}
	for _, u := range c.iceURLs() {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			bad("IDV_ICE_SERVERS", "%q is not a stun:, turn: or turns: URL", u)
		}
		if strings.HasPrefix(u, "turn") && c.ICE.Secret == "" {
			bad("IDV_ICE_SECRET", "the TURN server %q needs its shared secret: customers get credentials that expire, never a static password", u)
		}
	}
	if c.ICE.Secret != "" && len(c.ICE.Secret) < 16 {
		bad("IDV_ICE_SECRET", "must be at least 16 bytes")
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			bad("IDV_METRICS_LISTEN", "%q is not host:port", c.MetricsListen)
		} else if c.MetricsListen == c.Listen {
			bad("IDV_METRICS_LISTEN", "must differ from IDV_LISTEN: metrics are not served to the public")
		}
	}
	if c.TURN.Listen != "" {
		host, _, err := net.SplitHostPort(c.TURN.Listen)
		if err != nil {
			bad("IDV_TURN_LISTEN", "%q is not host:port", c.TURN.Listen)
		}
		pub := c.TURN.PublicIP
		if pub == "" {
			pub = host
		}
		if ip := net.ParseIP(pub); ip == nil || ip.IsUnspecified() {
			bad("IDV_TURN_PUBLIC_IP", "%q is not an IP address clients can reach (required when IDV_TURN_LISTEN has no specific host)", pub)
		}
		if c.TURN.Secret != "" && len(c.TURN.Secret) < 16 {
			bad("IDV_TURN_SECRET", "must be at least 16 bytes")
		}
		if c.TURN.Realm == "" {
			bad("IDV_TURN_REALM", "must not be empty")
		}
		if c.TURN.MaxAllocations < 1 || c.TURN.MaxAllocations > 1000 {
			bad("IDV_TURN_MAX_ALLOCATIONS", "%d must be from 1 to 1000", c.TURN.MaxAllocations)
		}
		if c.TURN.TLSListen != "" {
			if _, _, err := net.SplitHostPort(c.TURN.TLSListen); err != nil {
				bad("IDV_TURN_TLS_LISTEN", "%q is not host:port", c.TURN.TLSListen)
			}
			if c.TURN.TLSCert == "" || c.TURN.TLSKey == "" {
				bad("IDV_TURN_TLS_CERT", "TURN over TLS needs IDV_TURN_TLS_CERT and IDV_TURN_TLS_KEY")
			}
		}
	} else if c.TURN.TLSListen != "" {
		bad("IDV_TURN_TLS_LISTEN", "TURN over TLS is part of the embedded TURN server: set IDV_TURN_LISTEN too")
	}
	for _, k := range []struct{ env, v string }{{"IDV_MEDIA_UDP_LISTEN", c.Media.UDPListen}, {"IDV_MEDIA_TCP_LISTEN", c.Media.TCPListen}} {
		if k.v == "" {
			continue
		}
		host, port, err := net.SplitHostPort(k.v)
		if err != nil {
			bad(k.env, "%q is not host:port", k.v)
		} else if ip := net.ParseIP(host); (host == "" || (ip != nil && ip.IsUnspecified())) && port == "0" {
			bad(k.env, "%q: an unspecified host needs a fixed port, the one the firewall opens", k.v)
		}
	}
	if _, err := c.Media.publicIPs(); err != nil {
		bad("IDV_MEDIA_PUBLIC_IPS", "%v", err)
	}
	if c.SealInterval < time.Second || c.SealInterval > time.Hour {
		bad("IDV_SEAL_INTERVAL", "%v must be from 1s to 1h", c.SealInterval)
	}
	if c.ArchiveLease < 5*time.Second || c.ArchiveLease > time.Hour {
		bad("IDV_ARCHIVE_LEASE", "%v must be from 5s to 1h", c.ArchiveLease)
	}
	if c.ExpiryInterval < time.Second || c.ExpiryInterval > 7*24*time.Hour {
		bad("IDV_EXPIRY_INTERVAL", "%v must be from 1s to 168h", c.ExpiryInterval)
	}
	if c.NotifyInterval < time.Second || c.NotifyInterval > 5*time.Minute {
		bad("IDV_NOTIFY_INTERVAL", "%v must be from 1s to 5m (the slot alert is due minutes before the call)", c.NotifyInterval)
	}
	if c.NotifySlotLead < time.Minute || c.NotifySlotLead > 2*time.Hour {
		bad("IDV_NOTIFY_SLOT_LEAD", "%v must be from 1m to 2h", c.NotifySlotLead)
	}
	if c.ReminderInterval < time.Second || c.ReminderInterval > 10*time.Minute {
		bad("IDV_REMINDER_INTERVAL", "%v must be from 1s to 10m (a reminder is due within the hour)", c.ReminderInterval)
	}
	if c.CustomerStatusTTL < time.Hour || c.CustomerStatusTTL > 366*24*time.Hour {
		bad("IDV_CUSTOMER_STATUS_TTL", "%v must be from 1h to 8784h", c.CustomerStatusTTL)
	}
	for _, p := range c.proxies() {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				bad("IDV_TRUSTED_PROXIES", "%q is not an IP or CIDR", p)
			}
		}
	}
	if c.Mail.SMTPAddr != "" {
		if _, err := idvmail.NewSMTP(idvmail.SMTPConfig{Addr: c.Mail.SMTPAddr, TLS: c.Mail.SMTPTLS, Username: c.Mail.SMTPUsername, Password: c.Mail.SMTPPassword}); err != nil {
			bad("IDV_SMTP_ADDR", "%v", err)
		}
	}
	if c.Mail.SMTPTLS != idvmail.TLSNone && c.Mail.SMTPTLS != idvmail.TLSStartTLS && c.Mail.SMTPTLS != idvmail.TLSImplicit {
		bad("IDV_SMTP_TLS", "%q is not none, starttls or tls", c.Mail.SMTPTLS)
	}
	if a, err := mail.ParseAddress(c.Mail.From); err != nil || a.Name != "" {
		bad("IDV_MAIL_FROM", "%q is not a plain email address", c.Mail.From)
	}
	if c.Mail.Interval < time.Second || c.Mail.Interval > time.Hour {
		bad("IDV_MAIL_INTERVAL", "%v must be from 1s to 1h", c.Mail.Interval)
	}
	if c.Webhook.Interval < time.Second || c.Webhook.Interval > time.Hour {
		bad("IDV_WEBHOOK_INTERVAL", "%v must be from 1s to 1h", c.Webhook.Interval)
	}
	if c.Webhook.Timeout < time.Second || c.Webhook.Timeout > time.Minute {
		bad("IDV_WEBHOOK_TIMEOUT", "%v must be from 1s to 1m", c.Webhook.Timeout)
	}
	if c.Webhook.RetryFor < time.Minute || c.Webhook.RetryFor > 7*24*time.Hour {
		bad("IDV_WEBHOOK_RETRY_FOR", "%v must be from 1m to 168h", c.Webhook.RetryFor)
	}
	if c.Mail.ReturnPath != "" {
		if a, err := mail.ParseAddress(c.Mail.ReturnPath); err != nil || a.Name != "" {
			bad("IDV_MAIL_RETURN_PATH", "%q is not a plain email address", c.Mail.ReturnPath)
		}
	}
	if c.Mail.BounceListen != "" {
		if _, _, err := net.SplitHostPort(c.Mail.BounceListen); err != nil {
			bad("IDV_BOUNCE_LISTEN", "%q is not host:port", c.Mail.BounceListen)
		}
	}
	if c.Mail.BounceProtocol != "lmtp" && c.Mail.BounceProtocol != "smtp" {
		bad("IDV_BOUNCE_PROTOCOL", "%q is not lmtp or smtp", c.Mail.BounceProtocol)
	}
	if _, err := c.Mail.bounceAllow(); err != nil {
		bad("IDV_BOUNCE_ALLOW", "%v", err)
	}
	if c.Registry.URL != "" {
		if u, err := url.Parse(c.Registry.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("IDV_REGISTRY_URL", "%q is not an http(s) URL", c.Registry.URL)
		} else if err := registry.CheckURL(c.Registry.URL, c.Registry.AllowHTTP); err != nil {
			bad("IDV_REGISTRY_URL", "%v (or set IDV_REGISTRY_ALLOW_HTTP)", err)
		}
	}
	if c.Registry.Timeout < 100*time.Millisecond || c.Registry.Timeout > time.Minute {
		bad("IDV_REGISTRY_TIMEOUT", "%v must be from 100ms to 1m", c.Registry.Timeout)
	}
	if c.Registry.CaptureMaxAge < time.Minute || c.Registry.CaptureMaxAge > 2*time.Hour {
		bad("IDV_REGISTRY_CAPTURE_MAX_AGE", "%v must be from 1m to 2h (a call lasts at most 2h)", c.Registry.CaptureMaxAge)
	}
	if c.Registry.MaxDataAge < time.Second || c.Registry.MaxDataAge > 24*time.Hour {
		bad("IDV_REGISTRY_MAX_DATA_AGE", "%v must be from 1s to 24h", c.Registry.MaxDataAge)
	}
	if _, err := c.keyPolicy(); err != nil {
		bad("IDV_WEBAUTHN_RP_ID", "%v", err)
	}
	if c.LDAP.URL != "" {
		if _, err := c.LDAP.directory(); err != nil {
			bad("IDV_LDAP_URL", "%v", err)
		}
	}
	if c.OIDC.Issuer != "" {
		if _, err := c.OIDC.provider(c.PublicURL, slog.New(slog.DiscardHandler)); err != nil {
			bad("IDV_OIDC_ISSUER", "%v", err)
		}
	}
	if c.OIDC.Timeout < 100*time.Millisecond || c.OIDC.Timeout > time.Minute {
		bad("IDV_OIDC_TIMEOUT", "%v must be from 100ms to 1m", c.OIDC.Timeout)
	}
	if c.LDAP.Timeout < 100*time.Millisecond || c.LDAP.Timeout > time.Minute {
		bad("IDV_LDAP_TIMEOUT", "%v must be from 100ms to 1m", c.LDAP.Timeout)
	}
	if c.LDAP.SyncInterval < 10*time.Second || c.LDAP.SyncInterval > 24*time.Hour {
		bad("IDV_LDAP_SYNC_INTERVAL", "%v must be from 10s to 24h", c.LDAP.SyncInterval)
	}
	return errors.Join(errs...)
}

// directory is the directory client of l (URL set).
func (l LDAPConfig) directory() (*directory.Directory, error) {
	roles, err := models.ParseGroupRoles(l.GroupRoles)
	if err != nil {
		return nil, fmt.Errorf("IDV_LDAP_GROUP_ROLES: %w", err)
	}
	return directory.New(directory.Config{URL: l.URL, StartTLS: l.StartTLS, CAFile: l.CAFile, ServerName: l.ServerName, BindDN: l.BindDN,
		BindPassword: l.BindPassword, UserBase: l.UserBase, UserFilter: l.UserFilter, UsernameAttr: l.UsernameAttr, NameAttr: l.NameAttr,
		GroupAttr: l.GroupAttr, GroupBase: l.GroupBase, GroupFilter: l.GroupFilter, Roles: roles, Timeout: l.Timeout}, nil)
}

// provider is the identity provider of o (Issuer set); publicURL gives
// the default redirect URL.
func (o OIDCConfig) provider(publicURL string, log *slog.Logger) (*idp.Provider, error) {
	roles, err := models.ParseGroupRoles(o.GroupRoles)
	if err != nil {
		return nil, fmt.Errorf("IDV_OIDC_GROUP_ROLES: %w", err)
	}
	redirect := o.RedirectURL
	if redirect == "" {
		redirect = strings.TrimSuffix(publicURL, "/") + "/auth/oidc/callback"
	}
	return idp.New(idp.Config{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: redirect, Name: o.Name,
		GroupsClaim: o.GroupsClaim, UsernameClaim: o.UsernameClaim, NameClaim: o.NameClaim, Scopes: strings.Fields(o.Scopes),
		Roles: roles, CAFile: o.CAFile, Timeout: o.Timeout}, log)
}

func (c *Config) proxies() []string {
	var out []string
	for _, p := range strings.Split(c.TrustedProxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// database returns the driver ("sqlite" or "postgres") and its address.
func (c *Config) database() (string, string, error) {
	switch u := c.DatabaseURL; {
	case strings.HasPrefix(u, "sqlite:"):
		p := strings.TrimPrefix(u, "sqlite:")
		if p == "" {
			return "", "", errors.New("sqlite: needs a file path, e.g. sqlite:./var/idv.db")
		}
		return "sqlite", p, nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		if _, err := url.Parse(u); err != nil {
			return "", "", errors.New("not a valid postgres:// URL")
		}
		return "postgres", u, nil
	}
	return "", "", errors.New("must start with sqlite: or postgres://")
}

// parseHours reads "HH:MM-HH:MM" into offsets from midnight.
func parseHours(s string) (time.Duration, time.Duration, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not HH:MM-HH:MM", s)
	}
	a, err1 := time.Parse("15:04", strings.TrimSpace(from))
	b, err2 := time.Parse("15:04", strings.TrimSpace(to))
	if err1 != nil || err2 != nil || !b.After(a) {
		return 0, 0, fmt.Errorf("%q is not HH:MM-HH:MM with the end after the start", s)
	}
	return a.Sub(a.Truncate(24 * time.Hour)), b.Sub(b.Truncate(24 * time.Hour)), nil
}

type strValue string

func (v *strValue) String() string     { return string(*v) }
func (v *strValue) Set(s string) error { *v = strValue(s); return nil }

type durValue time.Duration

func (v *durValue) String() string { return time.Duration(*v).String() }
func (v *durValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 15m or 12h", s)
	}
	*v = durValue(d)
	return nil
}

type intValue int64

func (v *intValue) String() string { return strconv.FormatInt(int64(*v), 10) }
func (v *intValue) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v = intValue(n)
	return nil
}

type floatValue float64

func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }
func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	*v = floatValue(f)
	return nil
}

// secretValue is a string setting whose value is never shown (flag help
// prints a flag's value as its default).
type secretValue string

func (v *secretValue) String() string {
	if *v == "" {
		return ""
	}
	return "(set)"
}
func (v *secretValue) Set(s string) error { *v = secretValue(s); return nil }

type boolValue bool

func (v *boolValue) String() string { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) IsBoolFlag() bool { return true }

// workflow is q as the workflow takes it.
func (q QuotaConfig) workflow() verify.Quotas {
	return verify.Quotas{LetterCount: int(q.Letters), LetterBytes: q.LetterBytes, LetterGrowth: q.LetterGrowth, Captures: int(q.Captures),
		RecordingBytes: q.RecordingBytes, RecordingDuration: q.Recording}
}

// bounceAllow parses BounceAllow.
func (m MailConfig) bounceAllow() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(m.BounceAllow, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR", f)
		}
		out = append(out, p.Masked())
	}
	if len(out) == 0 {
		return nil, errors.New("names no network")
	}
	return out, nil
}

// keyPolicy is the security key policy of c (after validate has set
// PublicURL): off (empty RPID) when the relying party would be an IP
// address nobody named.
func (c *Config) keyPolicy() (access.KeyPolicy, error) {
	u, err := url.Parse(c.PublicURL)
	if err != nil {
		return access.KeyPolicy{}, fmt.Errorf("public URL %q: %w", c.PublicURL, err)
	}
	p := access.KeyPolicy{RPID: c.WebAuthn.RPID, Origins: []string{u.Scheme + "://" + u.Host}, Name: c.BankName}
	if p.RPID == "" {
		p.RPID = u.Hostname()
		if net.ParseIP(p.RPID) != nil {
			p.RPID = ""
		}
	}
	if p.RPID != "" && p.RPID != u.Hostname() && !strings.HasSuffix(u.Hostname(), "."+p.RPID) {
		return p, fmt.Errorf("relying party ID %q is neither the public URL's host %q nor a parent domain of it", p.RPID, u.Hostname())
	}
	if p.RPID != "" && net.ParseIP(p.RPID) != nil {
		return p, fmt.Errorf("relying party ID %q is an IP address: browsers want a domain name", p.RPID)
	}
	switch c.WebAuthn.Enrolment {
	case access.EnrolAdmin, access.EnrolSelf:
		p.Enrolment = c.WebAuthn.Enrolment
	default:
		return p, fmt.Errorf("IDV_WEBAUTHN_ENROLMENT: %q is neither admin nor self", c.WebAuthn.Enrolment)
	}
	for _, r := range strings.Split(c.WebAuthn.RequiredRoles, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if !slices.Contains(models.Roles, models.Role(r)) {
			return p, fmt.Errorf("IDV_WEBAUTHN_REQUIRED_ROLES: unknown role %q", r)
		}
		p.Required = append(p.Required, models.Role(r))
	}
	return p, nil
}
