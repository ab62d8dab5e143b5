package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMailAndRegistryConfigValidation(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string // "" for valid
	}{
		{map[string]string{"IDV_SMTP_ADDR": "mail.bank.example:587", "IDV_SMTP_USERNAME": "u", "IDV_SMTP_PASSWORD": "p"}, ""},
		{map[string]string{"IDV_SMTP_ADDR": "mail.bank.example"}, "IDV_SMTP_ADDR"},
		{map[string]string{"IDV_SMTP_ADDR": "mail.bank.example:25", "IDV_SMTP_TLS": "none", "IDV_SMTP_USERNAME": "u"}, "IDV_SMTP_ADDR"},
		{map[string]string{"IDV_SMTP_TLS": "ssl"}, "IDV_SMTP_TLS"},
		{map[string]string{"IDV_MAIL_FROM": "Bank <x@y>"}, "IDV_MAIL_FROM"},
		{map[string]string{"IDV_MAIL_INTERVAL": "0s"}, "IDV_MAIL_INTERVAL"},
		{map[string]string{"IDV_REMINDER_INTERVAL": "1h"}, "IDV_REMINDER_INTERVAL"},
		{map[string]string{"IDV_CUSTOMER_STATUS_TTL": "1m"}, "IDV_CUSTOMER_STATUS_TTL"},
		{map[string]string{"IDV_MAIL_RETURN_PATH": "bounces@bank.example", "IDV_BOUNCE_LISTEN": "10.0.4.7:2424", "IDV_BOUNCE_ALLOW": "10.0.1.0/24, 10.0.2.5/32"}, ""},
		{map[string]string{"IDV_MAIL_RETURN_PATH": "Bounces <b@bank.example>"}, "IDV_MAIL_RETURN_PATH"},
		{map[string]string{"IDV_BOUNCE_LISTEN": "2424"}, "IDV_BOUNCE_LISTEN"},
		{map[string]string{"IDV_BOUNCE_PROTOCOL": "imap"}, "IDV_BOUNCE_PROTOCOL"},
		{map[string]string{"IDV_BOUNCE_ALLOW": "10.0.1.0"}, "IDV_BOUNCE_ALLOW"},
		{map[string]string{"IDV_BOUNCE_ALLOW": " , "}, "IDV_BOUNCE_ALLOW"},
		{map[string]string{"IDV_REGISTRY_URL": "ftp://registry"}, "IDV_REGISTRY_URL"},
		{map[string]string{"IDV_REGISTRY_TIMEOUT": "5m"}, "IDV_REGISTRY_TIMEOUT"},
		{map[string]string{"IDV_REGISTRY_CAPTURE_MAX_AGE": "45m", "IDV_REGISTRY_MAX_DATA_AGE": "2m"}, ""},
		{map[string]string{"IDV_REGISTRY_CAPTURE_MAX_AGE": "0s"}, "IDV_REGISTRY_CAPTURE_MAX_AGE"},
		{map[string]string{"IDV_REGISTRY_CAPTURE_MAX_AGE": "3h"}, "IDV_REGISTRY_CAPTURE_MAX_AGE"},
		{map[string]string{"IDV_REGISTRY_MAX_DATA_AGE": "-1m"}, "IDV_REGISTRY_MAX_DATA_AGE"},
		// The registry gets ID numbers and names: https, or http only on
		// loopback or when allowed in so many words.
		{map[string]string{"IDV_REGISTRY_URL": "http://registry.bank.example"}, "IDV_REGISTRY_URL"},
		{map[string]string{"IDV_REGISTRY_URL": "http://registry.bank.example", "IDV_REGISTRY_ALLOW_HTTP": "true"}, ""},
		{map[string]string{"IDV_REGISTRY_URL": "http://127.0.0.1:9300"}, ""},
		{map[string]string{"IDV_REGISTRY_URL": "https://registry.bank.example"}, ""},
	}
	for _, tt := range tests {
		_, _, err := loadConfig("serve", nil, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("loadConfig(%v) = %v, want valid", tt.env, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("loadConfig(%v) = %v, want an error naming %s", tt.env, err, tt.want)
		}
	}
}

// TestConfigTable keeps the configuration table of docs/configuration.md
// in step with the settings `idv serve -h` lists.
func TestConfigTable(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(IDV_[A-Z0-9_]+)` \\| `-([a-z0-9-]+)` \\| (`[^`]+`|\\(none\\)) \\|")
	var got []string
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		got = append(got, m[1]+" -"+m[2]+" "+strings.Trim(m[3], "`"))
	}
	c := defaultConfig()
	var want []string
	var table strings.Builder
	for _, s := range c.settings() {
		def := "`" + s.value.String() + "`"
		if s.value.String() == "" {
			def = "(none)"
		}
		want = append(want, s.Env+" -"+s.Flag+" "+strings.Trim(def, "`"))
		fmt.Fprintf(&table, "| `%s` | `-%s` | %s | %s |\n", s.Env, s.Flag, def, s.Help)
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("docs/configuration.md: the table differs from the settings (-want +got):\n%s\nThe rows should read:\n%s", diff, table.String())
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		env  map[string]string
		args []string
		want string // "" for valid
	}{
		{nil, nil, ""},
		{map[string]string{"IDV_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test"}, nil, ""},
		{map[string]string{"IDV_DATABASE_URL": "mysql://x"}, nil, "IDV_DATABASE_URL"},
		{map[string]string{"IDV_LDAP_URL": "ldap://dir.bank.example:389", "IDV_LDAP_USER_BASE": "ou=people,dc=bank", "IDV_LDAP_GROUP_ROLES": "clerk=cn=c"}, nil, "StartTLS"},
		{map[string]string{"IDV_LDAP_URL": "ldap://dir.bank.example:389", "IDV_LDAP_STARTTLS": "true", "IDV_LDAP_USER_BASE": "ou=people,dc=bank", "IDV_LDAP_GROUP_ROLES": "clerk=cn=c"}, nil, ""},
		{map[string]string{"IDV_LDAP_URL": "ldaps://dir.bank.example", "IDV_LDAP_USER_BASE": "ou=people,dc=bank", "IDV_LDAP_GROUP_ROLES": "boss=cn=c"}, nil, "IDV_LDAP_GROUP_ROLES"},
		{map[string]string{"IDV_LDAP_URL": "ldaps://dir.bank.example", "IDV_LDAP_USER_BASE": "ou=people,dc=bank"}, nil, "no group is mapped"},
		{map[string]string{"IDV_LDAP_URL": "ldaps://dir.bank.example", "IDV_LDAP_USER_BASE": "ou=people,dc=bank", "IDV_LDAP_GROUP_ROLES": "clerk=cn=c", "IDV_LDAP_USER_FILTER": "(uid=x)"}, nil, "one %s"},
		{map[string]string{"IDV_SESSION_IDLE": "1h"}, nil, "IDV_SESSION_IDLE"},
		{map[string]string{"IDV_SESSION_MAX": "24h"}, nil, "IDV_SESSION_MAX"},
		{map[string]string{"IDV_TOKEN_LIFETIME": "10m"}, nil, "IDV_TOKEN_LIFETIME"},
		{map[string]string{"IDV_TOKEN_LIFETIME": "9000h"}, nil, "IDV_TOKEN_LIFETIME"},
		{map[string]string{"IDV_BRANCH_TZ": "Mars/Base"}, nil, "IDV_BRANCH_TZ"},
		{map[string]string{"IDV_REGISTRY_HOURS": "19:00-07:30"}, nil, "IDV_REGISTRY_HOURS"},
		{map[string]string{"IDV_LISTEN": "8080"}, nil, "IDV_LISTEN"},
		{map[string]string{"IDV_TLS_CERT": "c.pem"}, nil, "IDV_TLS_CERT"},
		{map[string]string{"IDV_TRUSTED_PROXIES": "10.0.0.0/8,bogus"}, nil, "IDV_TRUSTED_PROXIES"},
		{map[string]string{"IDV_LOG_LEVEL": "loud"}, nil, "IDV_LOG_LEVEL"},
		{map[string]string{"IDV_SESSION_IDLE": "1h"}, []string{"-session-idle", "10m"}, ""},
		{nil, []string{"-max-body", "12"}, "IDV_MAX_BODY"},
		{map[string]string{"IDV_FACE_TARGET_FMR": "1"}, nil, "IDV_FACE_TARGET_FMR"},
		{map[string]string{"IDV_FACE_WEAK_GENUINE_FAIL": "0"}, nil, "IDV_FACE_WEAK_GENUINE_FAIL"},
		{map[string]string{"IDV_FACE_CAPTURES": "0"}, nil, "IDV_FACE_CAPTURES"},
		// TURN servers get per-participant credentials from their shared
		// secret, never a static password.
		{map[string]string{"IDV_ICE_SERVERS": "stun:s:3478,turn:t:3478"}, nil, "IDV_ICE_SECRET"},
		{map[string]string{"IDV_ICE_SERVERS": "turn:t:3478", "IDV_ICE_SECRET": "short"}, nil, "IDV_ICE_SECRET"},
		{map[string]string{"IDV_ICE_SERVERS": "turn:t:3478", "IDV_ICE_SECRET": "0123456789abcdef"}, nil, ""},
		{map[string]string{"IDV_ICE_SERVERS": "stun:s:3478"}, nil, ""},
		{map[string]string{"IDV_TURN_LISTEN": "127.0.0.1:3478", "IDV_TURN_MAX_ALLOCATIONS": "0"}, nil, "IDV_TURN_MAX_ALLOCATIONS"},
		{map[string]string{"IDV_METRICS_LISTEN": "127.0.0.1:8080"}, nil, "IDV_METRICS_LISTEN"},
		{map[string]string{"IDV_METRICS_LISTEN": "9090"}, nil, "IDV_METRICS_LISTEN"},
		{map[string]string{"IDV_METRICS_LISTEN": "127.0.0.1:9090"}, nil, ""},
		{map[string]string{"IDV_PUBLIC_URL": "https://idv.bank.example", "IDV_WEBAUTHN_RP_ID": "bank.example"}, nil, ""},
		{map[string]string{"IDV_PUBLIC_URL": "https://idv.bank.example", "IDV_WEBAUTHN_RP_ID": "other.example"}, nil, "IDV_WEBAUTHN_RP_ID"},
		{map[string]string{"IDV_PUBLIC_URL": "https://idv.bank.example", "IDV_WEBAUTHN_RP_ID": "10.0.0.1"}, nil, "IDV_WEBAUTHN_RP_ID"},
		{map[string]string{"IDV_WEBAUTHN_REQUIRED_ROLES": "supervisor,boss"}, nil, "IDV_WEBAUTHN_REQUIRED_ROLES"},
		{map[string]string{"IDV_WEBAUTHN_REQUIRED_ROLES": ""}, nil, ""},
		{map[string]string{"IDV_WEBAUTHN_ENROLMENT": "anyone"}, nil, "IDV_WEBAUTHN_ENROLMENT"},
	}
	for _, tt := range tests {
		_, _, err := loadConfig("serve", tt.args, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("loadConfig(%v, %v) = %v, want valid", tt.env, tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("loadConfig(%v, %v) = %v, want an error naming %s", tt.env, tt.args, err, tt.want)
		}
	}
}

// TestConfigSections: each variable lands in the field of its section that
// the wiring reads (IDV_S3_BUCKET is S3.Bucket, IDV_SMTP_ADDR Mail.SMTPAddr).
func TestConfigSections(t *testing.T) {
	env := map[string]string{
		"IDV_LISTEN": "127.0.0.1:9000", "IDV_PUBLIC_URL": "https://idv.bank.example", "IDV_DATABASE_URL": "sqlite:/tmp/x.db",
		"IDV_DATA_DIR": "/d", "IDV_EVIDENCE_DIR": "/e", "IDV_MODELS_DIR": "/m", "IDV_SIGNING_KEY": "/k.pem",
		"IDV_TLS_CERT": "c.pem", "IDV_TLS_KEY": "k.pem", "IDV_TRUSTED_PROXIES": "10.0.0.1", "IDV_BANK_NAME": "Bank",
		"IDV_BANK_NAME_ZH": "银行", "IDV_BANK_ADDRESS": "1 Road", "IDV_BRANCH_NAME": "Branch", "IDV_BRANCH_ADDRESS": "2 Street",
		"IDV_BRANCH_TZ": "Europe/London", "IDV_REGISTRY_TZ": "Asia/Tokyo", "IDV_REGISTRY_HOURS": "08:00-18:00",
		"IDV_SESSION_IDLE": "14m", "IDV_SESSION_MAX": "11h", "IDV_MAX_BODY": "2048", "IDV_READ_HEADER_TIMEOUT": "3s", "IDV_READ_TIMEOUT": "90s", "IDV_CHECKPOINT_INTERVAL": "2h",
		"IDV_SLOT_MAX_LEAD": "48h", "IDV_DEMO": "true", "IDV_LOG_LEVEL": "debug", "IDV_LOG_FORMAT": "json", "IDV_REQUIRE_MODELS": "false",
		"IDV_FACE_THRESHOLD": "0.3", "IDV_FACE_RECOGNIZERS": "3", "IDV_FACE_CALIBRATION": "/cal.json",
		"IDV_FACE_TARGET_FMR": "1e-4", "IDV_FACE_WEAK_GENUINE_FAIL": "0.1", "IDV_FACE_MIN_GENUINE_PAIRS": "50", "IDV_FACE_CALIBRATION_MAX_PAIRS": "5000000",
		"IDV_FACE_CAPTURES": "3", "IDV_FACE_CAPTURE_SPREAD": "1s",
		"IDV_S3_ENDPOINT": "minio:9000", "IDV_S3_BUCKET": "b", "IDV_S3_ACCESS_KEY": "ak", "IDV_S3_SECRET_KEY": "sk",
		"IDV_S3_TLS": "false", "IDV_S3_REGION": "eu", "IDV_S3_RETENTION_DAYS": "30", "IDV_S3_ALLOW_UNLOCKED": "true", "IDV_S3_SSE": "sse-kms", "IDV_S3_SSE_KMS_KEY": "kk", "IDV_STAGING_KEY_FILE": "/st.key", "IDV_STAGING_DIR": "/sd",
		"IDV_SEAL_INTERVAL": "20s", "IDV_TOKEN_LIFETIME": "720h", "IDV_EXPIRY_INTERVAL": "3h", "IDV_REMINDER_INTERVAL": "2m", "IDV_CUSTOMER_STATUS_TTL": "240h",
		"IDV_NOTIFY_INTERVAL": "20s", "IDV_NOTIFY_SLOT_LEAD": "20m",
		"IDV_NODE_ID": "idv-2", "IDV_NODE_URL": "http://10.0.0.2:8080", "IDV_NODE_HEARTBEAT": "3s", "IDV_NODE_SECRET": "0123456789abcdef0123456789abcdefX",
		"IDV_WEBHOOK_INTERVAL": "7s", "IDV_WEBHOOK_TIMEOUT": "4s", "IDV_WEBHOOK_RETRY_FOR": "12h",
		"IDV_ICE_SERVERS": "stun:s:3478,turn:t:3478", "IDV_ICE_SECRET": "0123456789abcdefX", "IDV_METRICS_LISTEN": "127.0.0.1:9090", "IDV_TURN_MAX_ALLOCATIONS": "8", "IDV_REGISTRY_ALLOW_HTTP": "true", "IDV_CALL_MAX_DURATION": "2h", "IDV_CALL_MAX_SOCKETS_PER_ADDR": "7",
		"IDV_TURN_LISTEN": "10.0.0.2:3478", "IDV_TURN_PUBLIC_IP": "10.0.0.3", "IDV_TURN_REALM": "r", "IDV_TURN_SECRET": "0123456789abcdef",
		"IDV_TURN_TLS_LISTEN": "10.0.0.2:443", "IDV_TURN_TLS_CERT": "/turn.pem", "IDV_TURN_TLS_KEY": "/turn.key", "IDV_TURN_TLS_HOST": "turn.bank.example",
		"IDV_MEDIA_UDP_LISTEN": "0.0.0.0:50000", "IDV_MEDIA_TCP_LISTEN": "0.0.0.0:50001", "IDV_MEDIA_PUBLIC_IPS": "203.0.113.7",
		"IDV_SMTP_ADDR": "mail:587", "IDV_SMTP_TLS": "tls", "IDV_SMTP_USERNAME": "su", "IDV_SMTP_PASSWORD": "sp",
		"IDV_MAIL_FROM": "from@bank.example", "IDV_MAIL_INTERVAL": "30s", "IDV_ARCHIVE_LEASE": "90s",
		"IDV_MAIL_RETURN_PATH": "bounces@bank.example", "IDV_BOUNCE_LISTEN": "10.0.4.7:2424", "IDV_BOUNCE_PROTOCOL": "smtp", "IDV_BOUNCE_ALLOW": "10.0.1.0/24",
		"IDV_REGISTRY_URL": "https://registry", "IDV_REGISTRY_KEY": "rk", "IDV_REGISTRY_TIMEOUT": "5s",
		"IDV_REGISTRY_CAPTURE_MAX_AGE": "20m", "IDV_REGISTRY_MAX_DATA_AGE": "1m", "IDV_STATEMENT_FONT": "/font.ttf",
		"IDV_STATEMENT_SIGN_CERT": "/sc.pem", "IDV_STATEMENT_SIGN_KEY": "/sk.pem", "IDV_STATEMENT_SIGN_CHAIN": "/ch.pem", "IDV_STATEMENT_TSA_URL": "https://tsa.example",
		"IDV_LOGIN_CHECKS": "3", "IDV_LOGIN_CHECK_WAIT": "500ms", "IDV_LOGIN_DELAY_AFTER": "4", "IDV_LOGIN_LOCK_AFTER": "8", "IDV_LOGIN_LOCK_FOR": "30m",
		"IDV_LOGIN_ADDR_MAX": "40", "IDV_LOGIN_ADDR_LOCK_FOR": "2m", "IDV_STEPUP_LOCK_AFTER": "6", "IDV_AUDIT_FAILURE_WINDOW": "10m",
		"IDV_CALL_MAX_RECORDING_BYTES": "20971520", "IDV_CASE_MAX_RECORDING_BYTES": "41943040", "IDV_CASE_MAX_RECORDING": "90m",
		"IDV_CASE_MAX_LETTERS": "3", "IDV_CASE_MAX_LETTER_BYTES": "2097152", "IDV_LETTER_MAX_GROWTH": "1.2", "IDV_CASE_MAX_CAPTURES": "200",
		"IDV_LDAP_URL": "ldaps://dc1.bank.example", "IDV_LDAP_STARTTLS": "false", "IDV_LDAP_CA_FILE": "/etc/ssl/certs/ca-certificates.crt", "IDV_LDAP_SERVER_NAME": "dc1",
		"IDV_LDAP_BIND_DN": "cn=svc", "IDV_LDAP_BIND_PASSWORD": "bp", "IDV_LDAP_USER_BASE": "ou=staff", "IDV_LDAP_USER_FILTER": "(sAMAccountName=%s)",
		"IDV_LDAP_USERNAME_ATTR": "sAMAccountName", "IDV_LDAP_NAME_ATTR": "cn", "IDV_LDAP_GROUP_ATTR": "memberOf", "IDV_LDAP_GROUP_BASE": "ou=groups",
		"IDV_LDAP_GROUP_FILTER": "(member=%s)", "IDV_LDAP_GROUP_ROLES": "clerk=cn=c", "IDV_LDAP_TIMEOUT": "3s", "IDV_LDAP_SYNC_INTERVAL": "5m",
		"IDV_OIDC_ISSUER": "https://sso.bank.example/realms/staff", "IDV_OIDC_CLIENT_ID": "idv", "IDV_OIDC_CLIENT_SECRET": "cs", "IDV_OIDC_REDIRECT_URL": "",
		"IDV_OIDC_NAME": "Bank SSO", "IDV_OIDC_NAME_ZH": "银行统一登录", "IDV_OIDC_SCOPES": "profile groups", "IDV_OIDC_GROUPS_CLAIM": "realm_access.roles",
		"IDV_OIDC_USERNAME_CLAIM": "upn", "IDV_OIDC_NAME_CLAIM": "given_name", "IDV_OIDC_GROUP_ROLES": "clerk=idv-clerks", "IDV_OIDC_CA_FILE": "", "IDV_OIDC_TIMEOUT": "4s",
		"IDV_WEBAUTHN_RP_ID": "bank.example", "IDV_WEBAUTHN_REQUIRED_ROLES": "supervisor", "IDV_WEBAUTHN_ENROLMENT": "self",
	}
	c, _, err := loadConfig("serve", nil, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.settings()); n != len(env) {
		t.Fatalf("%d settings, the test sets %d: add the new one here", n, len(env))
	}
	want := Config{
		Listen: "127.0.0.1:9000", PublicURL: "https://idv.bank.example", DatabaseURL: "sqlite:/tmp/x.db", DataDir: "/d", EvidenceDir: "/e",
		SigningKey: "/k.pem", StagingKey: "/st.key", StagingDir: "/sd", TLSCert: "c.pem", TLSKey: "k.pem", TrustedProxies: "10.0.0.1", MetricsListen: "127.0.0.1:9090", BankName: "Bank", BranchTZ: "Europe/London",
		BankNameZH: "银行", BankAddress: "1 Road", BranchName: "Branch", BranchAddress: "2 Street",
		SessionIdle: 14 * time.Minute, SessionMax: 11 * time.Hour, TokenLifetime: 30 * 24 * time.Hour, MaxBody: 2048, ReadHeaderTimeout: 3 * time.Second, ReadTimeout: 90 * time.Second, CheckpointInterval: 2 * time.Hour, SlotMaxLead: 48 * time.Hour,
		SealInterval: 20 * time.Second, ArchiveLease: 90 * time.Second, ExpiryInterval: 3 * time.Hour, ReminderInterval: 2 * time.Minute, CustomerStatusTTL: 240 * time.Hour, CallMaxDuration: 2 * time.Hour, CallMaxSockets: 7,
		NotifyInterval: 20 * time.Second, NotifySlotLead: 20 * time.Minute,
		Webhook: WebhookConfig{Interval: 7 * time.Second, Timeout: 4 * time.Second, RetryFor: 12 * time.Hour},
		Demo:    true,
		Quotas: QuotaConfig{Letters: 3, LetterBytes: 2 << 20, LetterGrowth: 1.2, Captures: 200, CallRecordingBytes: 20 << 20,
			RecordingBytes: 40 << 20, Recording: 90 * time.Minute},
		Log: LogConfig{Level: "debug", Format: "json"},
		Auth: AuthConfig{Checks: 3, CheckWait: 500 * time.Millisecond, DelayAfter: 4, LockAfter: 8, LockFor: 30 * time.Minute, AddrMax: 40, AddrLockFor: 2 * time.Minute,
			StepUpLockAfter: 6, AuditWindow: 10 * time.Minute},
		Face: FaceConfig{ModelsDir: "/m", Require: false, Threshold: 0.3, Recognizers: 3, Calibration: "/cal.json", TargetFMR: 1e-4, WeakGenuineFail: 0.1,
			MinGenuinePairs: 50, CalibrationMaxPairs: 5_000_000, Captures: 3, CaptureSpread: time.Second},
		S3:  S3Config{Endpoint: "minio:9000", Bucket: "b", AccessKey: "ak", SecretKey: "sk", TLS: false, Region: "eu", RetentionDays: 30, AllowUnlocked: true, SSE: "sse-kms", KMSKey: "kk"},
		ICE: ICEConfig{Servers: "stun:s:3478,turn:t:3478", Secret: "0123456789abcdefX"},
		TURN: TURNConfig{Listen: "10.0.0.2:3478", PublicIP: "10.0.0.3", Realm: "r", Secret: "0123456789abcdef", MaxAllocations: 8,
			TLSListen: "10.0.0.2:443", TLSCert: "/turn.pem", TLSKey: "/turn.key", TLSHost: "turn.bank.example"},
		Media: MediaConfig{UDPListen: "0.0.0.0:50000", TCPListen: "0.0.0.0:50001", PublicIPs: "203.0.113.7"},
		Mail: MailConfig{SMTPAddr: "mail:587", SMTPTLS: "tls", SMTPUsername: "su", SMTPPassword: "sp", From: "from@bank.example", Interval: 30 * time.Second,
			ReturnPath: "bounces@bank.example", BounceListen: "10.0.4.7:2424", BounceProtocol: "smtp", BounceAllow: "10.0.1.0/24"},
		Registry:  RegistryConfig{TZ: "Asia/Tokyo", Hours: "08:00-18:00", URL: "https://registry", Key: "rk", Timeout: 5 * time.Second, AllowHTTP: true, CaptureMaxAge: 20 * time.Minute, MaxDataAge: time.Minute},
		Statement: StatementConfig{Font: "/font.ttf", SignCert: "/sc.pem", SignKey: "/sk.pem", SignChain: "/ch.pem", TSAURL: "https://tsa.example"},
		LDAP: LDAPConfig{URL: "ldaps://dc1.bank.example", CAFile: "/etc/ssl/certs/ca-certificates.crt", ServerName: "dc1", BindDN: "cn=svc", BindPassword: "bp", UserBase: "ou=staff",
			UserFilter: "(sAMAccountName=%s)", UsernameAttr: "sAMAccountName", NameAttr: "cn", GroupAttr: "memberOf", GroupBase: "ou=groups",
			GroupFilter: "(member=%s)", GroupRoles: "clerk=cn=c", Timeout: 3 * time.Second, SyncInterval: 5 * time.Minute},
		OIDC: OIDCConfig{Issuer: "https://sso.bank.example/realms/staff", ClientID: "idv", ClientSecret: "cs", Name: "Bank SSO", NameZH: "银行统一登录",
			Scopes: "profile groups", GroupsClaim: "realm_access.roles", UsernameClaim: "upn", NameClaim: "given_name", GroupRoles: "clerk=idv-clerks", Timeout: 4 * time.Second},
		Node:     NodeConfig{ID: "idv-2", URL: "http://10.0.0.2:8080", Secret: "0123456789abcdef0123456789abcdefX", Heartbeat: 3 * time.Second},
		WebAuthn: WebAuthnConfig{RPID: "bank.example", RequiredRoles: "supervisor", Enrolment: "self"},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("loadConfig(every variable set) (-want +got):\n%s", diff)
	}
}

func TestMediaConfigValidation(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string // "" for valid
	}{
		{map[string]string{"IDV_MEDIA_UDP_LISTEN": "0.0.0.0:50000", "IDV_MEDIA_TCP_LISTEN": "10.0.0.2:0", "IDV_MEDIA_PUBLIC_IPS": "203.0.113.7, 2001:db8::7"}, ""},
		{map[string]string{"IDV_MEDIA_UDP_LISTEN": "0.0.0.0:0"}, "IDV_MEDIA_UDP_LISTEN"},
		{map[string]string{"IDV_MEDIA_UDP_LISTEN": ":0"}, "IDV_MEDIA_UDP_LISTEN"},
		{map[string]string{"IDV_MEDIA_TCP_LISTEN": "50000"}, "IDV_MEDIA_TCP_LISTEN"},
		{map[string]string{"IDV_MEDIA_PUBLIC_IPS": "turn.bank.example"}, "IDV_MEDIA_PUBLIC_IPS"},
		{map[string]string{"IDV_MEDIA_PUBLIC_IPS": "0.0.0.0"}, "IDV_MEDIA_PUBLIC_IPS"},
		{map[string]string{"IDV_TURN_TLS_LISTEN": "0.0.0.0:443"}, "IDV_TURN_TLS_LISTEN"},
		{map[string]string{"IDV_TURN_LISTEN": "10.0.0.2:3478", "IDV_TURN_TLS_LISTEN": "0.0.0.0:443"}, "IDV_TURN_TLS_CERT"},
		{map[string]string{"IDV_TURN_LISTEN": "10.0.0.2:3478", "IDV_TURN_TLS_LISTEN": "0.0.0.0:443", "IDV_TURN_TLS_CERT": "/c", "IDV_TURN_TLS_KEY": "/k"}, ""},
	}
	for _, tt := range tests {
		_, _, err := loadConfig("serve", nil, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
		if tt.want == "" && err != nil {
			t.Errorf("%v: %v, want valid", tt.env, err)
		}
		if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%v: %v, want an error naming %s", tt.env, err, tt.want)
		}
	}
}

func TestQuotaConfigValidation(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string // "" for valid
	}{
		{map[string]string{"IDV_CASE_MAX_LETTERS": "2", "IDV_CASE_MAX_CAPTURES": "120", "IDV_LETTER_MAX_GROWTH": "1"}, ""},
		{map[string]string{"IDV_CASE_MAX_LETTERS": "0"}, "IDV_CASE_MAX_LETTERS"},
		{map[string]string{"IDV_CASE_MAX_LETTER_BYTES": "1000"}, "IDV_CASE_MAX_LETTER_BYTES"},
		{map[string]string{"IDV_LETTER_MAX_GROWTH": "0.5"}, "IDV_LETTER_MAX_GROWTH"},
		{map[string]string{"IDV_CASE_MAX_CAPTURES": "60"}, "IDV_CASE_MAX_CAPTURES"},
		{map[string]string{"IDV_CALL_MAX_RECORDING_BYTES": "1000"}, "IDV_CALL_MAX_RECORDING_BYTES"},
		{map[string]string{"IDV_CASE_MAX_RECORDING_BYTES": "1000"}, "IDV_CASE_MAX_RECORDING_BYTES"},
		{map[string]string{"IDV_CASE_MAX_RECORDING": "10s"}, "IDV_CASE_MAX_RECORDING"},
	}
	for _, tt := range tests {
		_, _, err := loadConfig("serve", nil, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("loadConfig(%v) = %v, want valid", tt.env, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("loadConfig(%v) = %v, want an error naming %s", tt.env, err, tt.want)
		}
	}
}
