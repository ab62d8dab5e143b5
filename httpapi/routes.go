package httpapi

import (
	"github.com/gin-gonic/gin"

	"remoteidv/models"
)

// authKind says who authenticates a route's callers and how a refusal is
// answered; the guard (auth.go) does it, so handlers never authenticate.
type authKind string

const (
	// authNone: anyone. A handler may still take a credential the caller
	// presents to exchange it (the login, the invite link).
	authNone authKind = "none"
	// authStaff: the staff API. A session cookie (plus X-CSRF-Token on
	// writes) or a bearer API token, and one of Roles; refusals are the
	// JSON 401 and 403.
	authStaff authKind = "staff"
	// authStaffPage: a staff page. The session cookie only: a browser
	// that is not signed in is sent to /login (303); a member of staff
	// whose roles are not among Roles gets the 403 page.
	authStaffPage authKind = "staff page"
	// authGuestPage: the login page. A signed-in member of staff is sent
	// to their start page (303).
	authGuestPage authKind = "guest page"
	// authCustomer: the customer's call page and its endpoints. The
	// customer cookie (the spent invite link), same-origin on writes;
	// refused: the one 410 page (429 past the failure limit).
	authCustomer authKind = "customer"
)

// route is one endpoint and its policy; the router, the policy check, the
// OpenAPI document and the policy test are all made from this table.
type route struct {
	Method  string
	Path    string
	Auth    authKind      // who authenticates the caller
	Roles   []models.Role // authStaff, authStaffPage: empty for any signed-in staff
	Summary string
	Tag     string
	Body    string // name of the request schema in the OpenAPI document, "" for none
	// Response names the schema of the 200 answer in the OpenAPI
	// document (responseSchemas), "" where it is not described.
	Response string
	MaxBody  int64 // body cap in bytes; 0 for the configured JSON cap
	// keyGate: open to a session still waiting for its security key
	// (models.StaffSession.KeyPending): signing in with the key,
	// registering one, the key page, who am I, logging out. Every other
	// staff route refuses such a session (403, or 303 to /keys).
	keyGate bool
	// page is a staff page: it is the handler (staffPage) and the guard
	// answers another role with its 403 page. nil for other routes.
	page    *pageSpec
	handler func(*gin.Context) error
}

var (
	clerk      = []models.Role{models.RoleClerk}
	clerkSup   = []models.Role{models.RoleClerk, models.RoleSupervisor}
	caseReader = []models.Role{models.RoleClerk, models.RoleSupervisor, models.RoleAuditor}
	admin      = []models.Role{models.RoleAdmin}
	auditor    = []models.Role{models.RoleAuditor}
	auditAdmin = []models.Role{models.RoleAuditor, models.RoleAdmin}
)

func (s *Server) routeTable() []route {
	rs := []route{
		{Method: "GET", Path: "/v/:statement", Auth: authNone, Summary: "Public check of a statement, the URL printed on its pages (no login, 30 checks a minute per address, nothing personal): whether the bank issued it, when, whether it was revoked; with ?sha256= whether that file is exactly the issued one. HTML, or verify.StatementStatus as JSON for Accept: application/json", Tag: "statements", handler: s.statementCheck},
		{Method: "POST", Path: "/v/:statement", Auth: authNone, Summary: "As GET /v/{id}, for the statement PDF itself (multipart field pdf; hashed as it streams, never kept) or a pasted SHA-256 (field sha256)", Tag: "statements", MaxBody: maxStatementUpload + 64<<10, handler: s.statementCheck},
		{Method: "GET", Path: "/healthz", Auth: authNone, Summary: "Liveness: the process answers", Tag: "operations", handler: s.health},
		{Method: "POST", Path: nodeSignalPath, Auth: authNone, Summary: "Between the nodes of a cluster only: another node's instruction to end a call, a clerk's or a session's call sockets here (a case stopped, a clerk taken off, a logout, a disabled account through that node). Believed only with a fresh HMAC of IDV_NODE_SECRET over the time and the body (header X-Idv-Node-Signal); anything else 401. Answers 204", Tag: "operations", MaxBody: 4 << 10, handler: s.nodeSignalIn},
		{Method: "GET", Path: "/readyz", Auth: authNone, Summary: "Readiness: the database answers", Tag: "operations", handler: s.ready},
		{Method: "GET", Path: "/api/openapi.json", Auth: authNone, Summary: "This API's OpenAPI 3 document", Tag: "operations", handler: s.openAPI},
		{Method: "GET", Path: "/join/:token", Auth: authNone, Summary: "Customer's invite link: the landing page (the consent text of the link's call, in the customer's language) whose button posts to the link; spends nothing, so link scanners and previews leave the link usable. A live link before its window (15 minutes before the slot) gets a page saying when the call opens, in both zones; the browser holding the customer's live session for the link's case is sent (303) to /call; otherwise the one 410 page for an expired, used, revoked or unknown link", Tag: "customer", handler: s.joinPage},
		{Method: "HEAD", Path: "/join/:token", Auth: authNone, Summary: "As GET /join/{token}, without the page; spends nothing", Tag: "customer", handler: s.joinPage},
		{Method: "POST", Path: "/join/:token", Auth: authNone, Summary: "The landing page's button (form: version, locale of the consent text; same-origin only): spends the token for the customer's session cookie, records the consent and redirects (303) to /call; before the window, the page saying when the call opens (nothing spent); the browser holding the customer's live session for the case, 303 to /call; the one 410 page for an expired, used, revoked or unknown link", Tag: "customer", MaxBody: 4 << 10, handler: s.join},

		{Method: "POST", Path: "/api/auth/login", Auth: authNone, Summary: "Log in; sets the session cookie and returns the CSRF token", Tag: "auth", Body: "Login", handler: s.login},
		{Method: "POST", Path: "/api/auth/logout", Auth: authStaff, Summary: "Log out; the session ends on the server", Tag: "auth", keyGate: true, handler: s.logout},
		{Method: "GET", Path: "/api/auth/me", Auth: authStaff, Summary: "Who is logged in, with roles and CSRF token", Tag: "auth", keyGate: true, handler: s.me},
		{Method: "POST", Path: "/api/auth/step-up", Auth: authStaff, Summary: "Re-enter the password (needed within 5 minutes before approvals); rotates the session", Tag: "auth", Body: "StepUp", keyGate: true, handler: s.stepUp},
		{Method: "POST", Path: "/api/auth/key/challenge", Auth: authStaff, Summary: "Second factor after the password: the options for navigator.credentials.get (a challenge for one of your security keys, single use, 5 minutes; 412 when you have none)", Tag: "keys", keyGate: true, handler: s.beginKeySignIn},
		{Method: "POST", Path: "/api/auth/key", Auth: authStaff, Summary: "Second factor after the password: the key's answer (the PublicKeyCredential as JSON) to /api/auth/key/challenge; on success role work may begin in this session (audited as auth.webauthn_signin, refusals as auth.webauthn_failed)", Tag: "keys", keyGate: true, handler: s.finishKeySignIn},
		{Method: "GET", Path: "/api/me/keys", Auth: authStaff, Summary: "Your security keys (name, added, last used), whether your role requires one and whether this session still waits for one", Tag: "keys", keyGate: true, handler: s.listMyKeys},
		{Method: "POST", Path: "/api/me/keys/challenge", Auth: authStaff, Summary: "Start adding a security key (body: name): the options for navigator.credentials.create. Needs a password step-up within 5 minutes, and when you have keys already, one of them presented in this session", Tag: "keys", Body: "KeyName", keyGate: true, handler: s.beginKeyRegistration},
		{Method: "POST", Path: "/api/me/keys", Auth: authStaff, Summary: "Finish adding a security key: the authenticator's answer (the PublicKeyCredential as JSON) to /api/me/keys/challenge; counts as presenting the key in this session (audited as auth.webauthn_registered)", Tag: "keys", keyGate: true, handler: s.finishKeyRegistration},
		{Method: "DELETE", Path: "/api/me/keys/:key", Auth: authStaff, Summary: "Remove one of your security keys (audited as auth.webauthn_removed)", Tag: "keys", handler: s.removeMyKey},

		{Method: "GET", Path: "/api/accounts", Auth: authStaff, Roles: clerkSup, Summary: "Search accounts by number prefix or holder name (q, limit); each with its open fraud flags (account_flags)", Tag: "accounts", handler: s.searchAccounts},
		{Method: "GET", Path: "/api/accounts/:no", Auth: authStaff, Roles: clerkSup, Summary: "One account, national ID masked, with its open fraud flags (account_flags)", Tag: "accounts", handler: s.getAccount},
		{Method: "POST", Path: "/api/accounts/:no/flags/:flag/clear", Auth: authStaff, Roles: supervisor, Summary: "Clear an open fraud flag of the account with a reason: a supervisor other than the one who raised it (four eyes; audited as account.flag_cleared on the case that raised it); 409 when already cleared", Tag: "accounts", Body: "Reason", handler: s.clearFlag},

		{Method: "POST", Path: "/api/cases", Auth: authStaff, Roles: clerk, Summary: "Open and schedule a case; an account with open fraud flags still gets one, and the answer's account_flags lists them (the creation event records that the clerk was shown them)", Tag: "cases", Body: "NewCase", handler: s.createCase},
		{Method: "GET", Path: "/api/cases", Auth: authStaff, Roles: caseReader, Summary: "List and search cases (state, account_no, clerk_id (the primary clerk), assigned=me (the caller's cases as primary or backup clerk), slot_from, slot_to, limit, offset); a clerk sees the cases they are primary or backup clerk of, each with my_role", Tag: "cases", handler: s.listCases},
		{Method: "POST", Path: "/api/cases/:id/clerks", Auth: authStaff, Roles: supervisor, Summary: "Reassign the case's primary or backup clerk (role primary|backup, staff_id: an enabled clerk, or empty to clear the backup; reason required) before submission (409 after); audited as case.reassigned with role, old, new and reason; a clerk who leaves the case leaves its call. What the customer did stays. Reassigning makes the supervisor a party to the case (they no longer decide it)", Tag: "cases", Body: "Reassign", handler: s.reassign},
		{Method: "GET", Path: "/api/clerks", Auth: authStaff, Roles: supervisor, Summary: "The enabled clerks a supervisor may assign to a case, with their weekly working hours in the branch's time zone", Tag: "cases", handler: s.listClerks},
		{Method: "GET", Path: "/api/cases/:id", Auth: authStaff, Roles: caseReader, Summary: "One case with its slot in both zones, its invites and its account's open fraud flags (account_flags)", Tag: "cases", handler: s.getCase},
		{Method: "POST", Path: "/api/cases/:id/reschedule", Auth: authStaff, Roles: clerk, Summary: "Move the call; earlier invites stop working; the answer's slot.warnings says when neither of the case's clerks works at the slot's branch time", Tag: "cases", Body: "Reschedule", handler: s.reschedule},
		{Method: "POST", Path: "/api/cases/:id/cancel", Auth: authStaff, Roles: clerkSup, Summary: "Cancel with a reason", Tag: "cases", Body: "Reason", handler: s.cancel},
		{Method: "POST", Path: "/api/cases/:id/abort", Auth: authStaff, Roles: clerkSup, Summary: "Abort during verification (poor video, suspected fraud) with a reason; ends a live call. With fraud_category (suspected_impostor, coercion, document_forgery, other; anything else 400) it also raises a fraud flag against the case's account in the same transaction (audited as account.flagged); the answer's account_flags lists the account's open flags", Tag: "cases", Body: "Abort", handler: s.abort},
		{Method: "POST", Path: "/api/cases/:id/invite", Auth: authStaff, Roles: clerk, Summary: "Issue the single-use invite link and its .ics (format=ics returns the calendar file)", Tag: "cases", handler: s.issueInvite},
		{Method: "DELETE", Path: "/api/cases/:id/invite", Auth: authStaff, Roles: clerkSup, Summary: "Revoke every live invite of the case", Tag: "cases", handler: s.revokeInvites},
		{Method: "GET", Path: "/api/cases/:id/timeline", Auth: authStaff, Roles: caseReader, Summary: "The case's audit events", Tag: "cases", handler: s.timeline},

		// face checks (verify/face)
		{Method: "POST", Path: "/api/cases/:id/face-checks", Auth: authStaff, Roles: clerk, Summary: "Match an uploaded photo (image/jpeg or image/png body, at most 5 MiB) against the account's reference photos, as a comparison aid: needs the customer's consent, is labelled source upload, and never meets the face-match requirement nor serves the registry check (only a live capture taken in the recorded call does)", Tag: "checks", Body: "Image", MaxBody: maxImageBody, handler: s.faceCheck},
		{Method: "GET", Path: "/api/cases/:id/checks", Auth: authStaff, Roles: caseReader, Summary: "The case's checks with the engine's full answers", Tag: "checks", handler: s.listChecks},
		{Method: "POST", Path: "/api/cases/:id/checks/:check/confirm", Auth: authStaff, Roles: clerk, Summary: "The clerk's side-by-side visual confirmation (or rejection, with a note) of a face check", Tag: "checks", Body: "Confirm", handler: s.confirmCheck},

		{Method: "GET", Path: "/api/staff", Auth: authStaff, Roles: admin, Summary: "List staff", Tag: "admin", handler: s.listStaff},
		{Method: "POST", Path: "/api/staff", Auth: authStaff, Roles: admin, Summary: "Add a staff member", Tag: "admin", Body: "NewStaff", handler: s.createStaff},
		{Method: "POST", Path: "/api/staff/:username/disable", Auth: authStaff, Roles: admin, Summary: "Disable a staff member; their sessions end at once", Tag: "admin", handler: s.setDisabled(true)},
		{Method: "POST", Path: "/api/staff/:username/enable", Auth: authStaff, Roles: admin, Summary: "Re-enable a staff member", Tag: "admin", handler: s.setDisabled(false)},
		{Method: "POST", Path: "/api/staff/:username/keys/enrolment", Auth: authStaff, Roles: admin, Summary: "Issue a one-time enrolment code for the member's first security key (IDV_WEBAUTHN_ENROLMENT=admin): 16 characters, valid 24 hours, used once, only its hash kept, replacing the member's unused code; not for yourself (audited as auth.webauthn_enrolment_issued)", Tag: "admin", handler: s.issueEnrolment},
		{Method: "POST", Path: "/api/staff/:username/keys/reset", Auth: authStaff, Roles: admin, Summary: "Recovery of a lost security key: remove every key of the member (body: reason, required) and end their sessions; their next sign-in asks them to register a key again after the password and a step-up (audited as auth.webauthn_reset)", Tag: "admin", Body: "Reason", handler: s.resetKeys},
		{Method: "GET", Path: "/api/staff/:username/hours", Auth: authStaff, Roles: admin, Summary: "A staff member's weekly working hours in the branch's time zone (\"mon-fri 09:00-17:00, sat 20:00-02:00\"; empty when none are recorded)", Tag: "admin", handler: s.getHours},
		{Method: "PUT", Path: "/api/staff/:username/hours", Auth: authStaff, Roles: admin, Summary: "Replace a staff member's weekly working hours (hours: \"mon-fri 09:00-17:00, sat 20:00-02:00\", one span a weekday, an end at or before the start runs past midnight; empty clears them); audited as staff.hours_set. Scheduling warns when neither of a case's clerks works at the slot", Tag: "admin", Body: "Hours", handler: s.setHours},
		{Method: "PUT", Path: "/api/staff/:username/contact", Auth: authStaff, Roles: admin, Summary: "Set where a staff member gets staff notifications by email (email: a plain address, empty for none) and in which language (en, zh-CN; empty: English); audited as staff.contact_set", Tag: "notifications", Body: "Contact", handler: s.setContact},
		{Method: "GET", Path: "/api/staff/:username/notification-preferences", Auth: authStaff, Roles: admin, Summary: "A staff member's notification preferences: per kind, whether they are told (by webhook) and by email too (kinds never set: on, by email)", Tag: "notifications", Response: "NotifyPrefs", handler: s.getNotifyPrefs},
		{Method: "PUT", Path: "/api/staff/:username/notification-preferences", Auth: authStaff, Roles: admin, Summary: "Set a staff member's notification preferences for the kinds named (preferences: [{kind, enabled, email}]; the others keep theirs); audited as staff.notify_prefs_set", Tag: "notifications", Body: "NotifyPrefsUpdate", Response: "NotifyPrefs", handler: s.setNotifyPrefs},
		{Method: "GET", Path: "/api/staff/:username/notifications", Auth: authStaff, Roles: admin, Summary: "The notifications sent to a staff member, newest first (case_id, limit up to 500): kind, case, channel (email, webhook) and its reference", Tag: "notifications", Response: "Notifications", handler: s.listNotifications},
		{Method: "GET", Path: "/api/me/notification-preferences", Auth: authStaff, Summary: "Your notification preferences (any member of staff): per kind, whether you are told (by webhook) and by email too, with the address and language mail goes to", Tag: "notifications", Response: "NotifyPrefs", handler: s.getNotifyPrefs},
		{Method: "PUT", Path: "/api/me/notification-preferences", Auth: authStaff, Summary: "Set your notification preferences for the kinds named (preferences: [{kind, enabled, email}]; kinds: customer_consented, customer_waiting, slot_no_clerk, letter_uploaded, case_submitted, case_rejected, case_reassigned); audited as staff.notify_prefs_set", Tag: "notifications", Body: "NotifyPrefsUpdate", Response: "NotifyPrefs", handler: s.setNotifyPrefs},
		{Method: "GET", Path: "/api/me/notifications", Auth: authStaff, Summary: "The notifications sent to you, newest first (case_id, limit up to 500): kind, case, channel (email, webhook) and its reference", Tag: "notifications", Response: "Notifications", handler: s.listNotifications},
		{Method: "POST", Path: "/api/tokens", Auth: authStaff, Summary: "Mint an API token acting as yourself (a session, not a token; step-up within 5 minutes): its scope is one or more of your own roles, and it expires after expires_in_days (at most and by default IDV_TOKEN_LIFETIME); what it may do is its scope narrowed to the roles you hold at each request (audited with scope and expiry; the token is shown once)", Tag: "tokens", Body: "NewToken", handler: s.createToken},
		{Method: "GET", Path: "/api/tokens", Auth: authStaff, Summary: "Your API tokens (an admin: everyone's, audited as token.listed) with scope, what each may do now, state (live, expired, revoked), expiry and last use", Tag: "tokens", Response: "Tokens", handler: s.listTokens},
		{Method: "DELETE", Path: "/api/tokens/:token_id", Auth: authStaff, Summary: "Revoke an API token at once: its owner (by session or token) or an admin (audited as token.revoked); 409 when already revoked", Tag: "tokens", handler: s.revokeToken},
		{Method: "GET", Path: "/api/admin/imports", Auth: authStaff, Roles: admin, Summary: "Account import runs, newest first (limit, offset): who, when, from which file, counts, and the rows that failed or were flagged (account numbers masked)", Tag: "admin", Response: "ImportRuns", handler: s.importRuns},
		{Method: "GET", Path: "/api/admin/accounts", Auth: authStaff, Roles: admin, Summary: "Accounts with their reference photos, flagged photos and why, signature specimen, and photos enrolled for the running face models (attention=1: only accounts needing attention; limit, offset; numbers masked)", Tag: "admin", Response: "AccountStatuses", handler: s.accountStatuses},
		{Method: "GET", Path: "/api/admin/nodes", Auth: authStaff, Roles: admin, Summary: "The nodes (idv serve processes) on this database: node ID, live, dead (silent for three heartbeats) or gone (shut down), internal URL, version, running calls, started and last seen", Tag: "admin", Response: "Nodes", handler: s.listNodes},
		{Method: "GET", Path: "/api/admin/face", Auth: authStaff, Roles: admin, Summary: "Face engine settings: threshold, recognizers, model hash, the BLAS/LAPACK loaded, liveness rules, and the calibration summary with the expected false-match rate at the threshold", Tag: "admin", Response: "FaceReport", handler: s.faceReport},
		{Method: "POST", Path: "/api/admin/face/calibrate", Auth: authStaff, Roles: admin, Summary: "Calibrate the face scores now from the enrolled accounts (pairs of different accounts' reference descriptors, sampled beyond IDV_FACE_CALIBRATION_MAX_PAIRS; genuine pairs from accounts with two or more photos and clerk-confirmed live captures); the result is stored as the next calibration and is in force at once (audited as face.calibrated); answers the face report. 412 when fewer than two accounts have usable photos", Tag: "admin", Response: "FaceReport", handler: s.faceCalibrate},

		{Method: "GET", Path: "/api/admin/webhooks", Auth: authStaff, Roles: admin, Summary: "Webhook endpoints that are not deleted (never their secrets), and the event types one may subscribe to", Tag: "webhooks", Response: "WebhookEndpoints", handler: s.listWebhooks},
		{Method: "POST", Path: "/api/admin/webhooks", Auth: authStaff, Roles: admin, Summary: "Register a webhook endpoint: an http(s) URL, the event types wanted (or *), and optionally its secret (whsec_ and the base64 of 24 to 64 bytes; else one is made). Events from then on are delivered to it, signed the Standard Webhooks way. The answer (201) shows the secret once (audited as webhook.endpoint_created)", Tag: "webhooks", Body: "NewWebhook", Response: "WebhookEndpoint", handler: s.createWebhook},
		{Method: "GET", Path: "/api/admin/webhooks/:endpoint", Auth: authStaff, Roles: admin, Summary: "One webhook endpoint (deleted ones too), without its secret", Tag: "webhooks", Response: "WebhookEndpoint", handler: s.getWebhook},
		{Method: "POST", Path: "/api/admin/webhooks/:endpoint/disable", Auth: authStaff, Roles: admin, Summary: "Disable a webhook endpoint: no new deliveries are queued for it and its pending ones wait (audited)", Tag: "webhooks", Response: "WebhookEndpoint", handler: s.setWebhookDisabled(true)},
		{Method: "POST", Path: "/api/admin/webhooks/:endpoint/enable", Auth: authStaff, Roles: admin, Summary: "Enable a disabled webhook endpoint again (audited)", Tag: "webhooks", Response: "WebhookEndpoint", handler: s.setWebhookDisabled(false)},
		{Method: "DELETE", Path: "/api/admin/webhooks/:endpoint", Auth: authStaff, Roles: admin, Summary: "Delete a webhook endpoint: its secret is erased, its pending deliveries fail, its delivery log stays (audited); 204", Tag: "webhooks", handler: s.deleteWebhook},
		{Method: "GET", Path: "/api/admin/webhook-deliveries", Auth: authStaff, Roles: admin, Summary: "Webhook deliveries, newest first (endpoint, state pending|delivered|failed, limit up to 500)", Tag: "webhooks", Response: "WebhookDeliveries", handler: s.listWebhookDeliveries},
		{Method: "GET", Path: "/api/admin/webhook-deliveries/:delivery", Auth: authStaff, Roles: admin, Summary: "One webhook delivery with its payload and the log of its attempts (time, the receiver's HTTP status, a short error, duration)", Tag: "webhooks", Response: "WebhookDelivery", handler: s.getWebhookDelivery},
		{Method: "POST", Path: "/api/admin/webhook-deliveries/:delivery/redeliver", Auth: authStaff, Roles: admin, Summary: "Queue a delivered or failed delivery again, due now and retried for another 24 hours, with the same webhook-id and body (audited as webhook.redelivered); 409 while it is pending or when its endpoint is deleted", Tag: "webhooks", Response: "WebhookDelivery", handler: s.redeliverWebhook},

		{Method: "GET", Path: "/api/audit/events", Auth: authStaff, Roles: auditor, Summary: "Audit events (after_seq, case_id, limit)", Tag: "audit", handler: s.auditEvents},
		{Method: "GET", Path: "/api/audit/verify", Auth: authStaff, Roles: auditAdmin, Summary: "Verify the whole audit chain, the Merkle log recomputed from it and its signed checkpoints, and every checkpoint note published to the write-once evidence store (as idv audit verify); answers the log's size and root, the latest checkpoint, the published-notes result and the signing key's SHA-256 fingerprint", Tag: "audit", handler: s.auditVerify},
		{Method: "GET", Path: "/api/audit/checkpoints/latest", Auth: authStaff, Roles: auditAdmin, Summary: "The newest signed checkpoint of the audit Merkle log (C2SP signed note, text/plain): keep it to check later answers against", Tag: "audit", handler: s.auditCheckpointLatest},
		{Method: "GET", Path: "/api/audit/checkpoints/consistency", Auth: authStaff, Roles: auditAdmin, Summary: "Consistency proof (RFC 6962, base64 hashes) that the newest checkpoint's log extends the log of size from (a checkpoint you kept)", Tag: "audit", handler: s.auditConsistency},

		// evidence and auditor access
		{Method: "GET", Path: "/api/cases/:id/evidence", Auth: authStaff, Roles: evidenceReader, Summary: "The case's evidence items with SHA-256, size, version and archive state (audited read)", Tag: "evidence", handler: s.listEvidence},
		{Method: "GET", Path: "/api/cases/:id/evidence/:evidence", Auth: authStaff, Roles: evidenceReader, Summary: "Download one archived item, re-hashed while streamed (audited read; X-Content-SHA256 header)", Tag: "evidence", handler: s.downloadEvidence},
		{Method: "GET", Path: "/api/cases/:id/evidence/:evidence/play", Auth: authStaff, Roles: evidenceReader, Summary: "Watch a recorded video segment: the VP8 recording remuxed to WebM (not re-encoded), the source re-hashed while read (audited as evidence.played)", Tag: "evidence", handler: s.playRecording},
		{Method: "GET", Path: "/api/cases/:id/evidence/:evidence/preview", Auth: authStaff, Roles: evidenceReader, Summary: "The first page of a PDF item (the letter, the statement) as a PNG 800 px wide, for the auditor's page; the item re-hashed while read (audited as evidence.previewed; 415 for another type, 503 without poppler's pdftoppm)", Tag: "evidence", handler: s.previewEvidence},
		{Method: "GET", Path: "/api/cases/:id/bundle", Auth: authStaff, Roles: evidenceReader, Summary: "Evidence bundle of a sealed case (zip, format 2: manifest, signature, public key, the audit Merkle log's leaves to the seal with the case's events in full, a consistency proof to a signed checkpoint, artifacts); check it with idv evidence verify -fingerprint (audited read)", Tag: "evidence", handler: s.downloadBundle},
		{Method: "POST", Path: "/api/cases/:id/evidence/:evidence/legal-hold", Auth: authStaff, Roles: admin, Summary: "Set or clear a legal hold on one item (needs a step-up within 5 minutes; audited)", Tag: "evidence", Body: "LegalHold", handler: s.setLegalHold},

		// video sessions
		{Method: "GET", Path: "/call", Auth: authCustomer, Summary: "Customer's call page (customer cookie): the recording and biometric consent until accepted, then the call; one 410 page otherwise", Tag: "customer", handler: s.callPage},
		{Method: "GET", Path: "/call/status", Auth: authNone, Summary: "Customer's status page (customer cookie, for 30 days after the session started by default, IDV_CUSTOMER_STATUS_TTL): where the request stands (the slot in the customer's and the branch's zone, consent, call, review, decision, document sent), in the customer's language, with nothing personal beyond the request's reference; without a valid cookie a 410 page saying no request can be shown here", Tag: "customer", handler: s.statusPage},
		{Method: "POST", Path: "/call/consent", Auth: authCustomer, Summary: "Customer accepts the versioned consent text (form: version, locale); stored with its SHA-256, locale and time", Tag: "customer", MaxBody: 4 << 10, handler: s.consent},
		{Method: "GET", Path: "/call/ws", Auth: authCustomer, Summary: "Customer's signaling WebSocket (customer cookie, consent required); protocol in docs/calls.md", Tag: "customer", handler: s.customerSocket},
		{Method: "GET", Path: "/static/call.js", Auth: authNone, Summary: "Script of the customer's call page", Tag: "customer", handler: s.static()},
		{Method: "GET", Path: "/static/call.css", Auth: authNone, Summary: "Styles of the customer's call page", Tag: "customer", handler: s.static()},
		{Method: "GET", Path: "/static/base.css", Auth: authNone, Summary: "The styles every page shares: colours, type scale, spacing, status chips", Tag: "pages", handler: s.static()},
		{Method: "GET", Path: "/api/cases/:id/call/ws", Auth: authStaff, Roles: clerkSup, Summary: "Staff signaling WebSocket: the case's clerk runs the call (capture, challenge, bye), a supervisor observes receive-only", Tag: "calls", handler: s.staffSocket},
		{Method: "GET", Path: "/api/board", Auth: authStaff, Roles: supAdmin, Summary: "The supervisors' board: cases with a slot from midnight today (branch time) for 3 days and cases in a running call, each with slot in both zones, state, clerk (online: a request in the last 5 minutes or in the call), whether the customer consented and is waiting in the call, whether the call runs and how many observe; and the cases pending review, oldest first, with their age (account numbers masked)", Tag: "calls", handler: s.getBoard},
		{Method: "GET", Path: "/api/board/events", Auth: authStaff, Roles: supAdmin, Summary: "The board as server-sent events (text/event-stream): an event \"board\" with the whole board (as GET /api/board) at once and whenever it changes (checked every 2 s), a comment every 15 s; the stream ends after 90 s and EventSource reconnects (the session is checked again)", Tag: "calls", handler: s.boardEvents},
		{Method: "GET", Path: "/api/cases/:id/calls", Auth: authStaff, Roles: caseReader, Summary: "The case's calls: start, end, reason, recording state and the recorded segments with their SHA-256", Tag: "calls", handler: s.listCalls},

		// checks, approval and statements
		{Method: "POST", Path: "/api/cases/:id/invite/email", Auth: authStaff, Roles: clerk, Summary: "Issue a new invite and email the link with its .ics to the registered address (through the mail outbox, in the customer's language)", Tag: "cases", handler: s.mailInvite},
		{Method: "POST", Path: "/api/cases/:id/letters", Auth: authStaff, Roles: clerk, Summary: "Upload the signed authorization letter (body image/jpeg, image/png or application/pdf, at most 10 MiB; type sniffed, pixel-capped, images re-encoded within IDV_LETTER_MAX_GROWTH, PDFs parsed and refused with active content, polyglots refused; 413 past the case's letter quotas, nothing stored)", Tag: "review", Body: "Letter", MaxBody: maxLetterBody, handler: s.uploadLetter},
		{Method: "GET", Path: "/api/cases/:id/letters", Auth: authStaff, Roles: caseReader, Summary: "The case's letters and their recorded scope", Tag: "review", handler: s.listLetters},
		{Method: "GET", Path: "/api/cases/:id/letters/:letter/content", Auth: authStaff, Roles: clerkSup, Summary: "The letter itself, for the side-by-side signature comparison (audited view)", Tag: "review", handler: s.letterContent},
		{Method: "POST", Path: "/api/cases/:id/letters/:letter/scope", Auth: authStaff, Roles: clerk, Summary: "Record what the letter authorizes; it must match the case's account, service and period and ask for delivery to the registered email", Tag: "review", Body: "LetterScope", handler: s.letterScope},
		{Method: "GET", Path: "/api/cases/:id/specimen", Auth: authStaff, Roles: clerkSup, Summary: "The account's signature specimen image (staff only; audited view)", Tag: "review", handler: s.specimen},
		{Method: "POST", Path: "/api/cases/:id/signature-check", Auth: authStaff, Roles: clerk, Summary: "Record the signature verdict (pass, fail, inconclusive) with the region on the letter and a reason; crop, specimen copy and verdict become evidence", Tag: "review", Body: "SignatureCheck", handler: s.signatureCheck},
		{Method: "POST", Path: "/api/cases/:id/registry-check", Auth: authStaff, Roles: clerk, Summary: "Ask the national ID registry (ID number and name) and match its photo against the case's latest live capture, which must be at most IDV_REGISTRY_CAPTURE_MAX_AGE old (else 412 and the registry is not asked); passes only for a valid ID, a matching name, a matching photo and data at most IDV_REGISTRY_MAX_DATA_AGE old; records both photos' SHA-256; timeouts and errors are recorded as UNAVAILABLE, never a pass", Tag: "review", handler: s.registryCheck},
		{Method: "GET", Path: "/api/cases/:id/requirements", Auth: authStaff, Roles: caseReader, Summary: "What the case still lacks before submission, and the registry's service hours", Tag: "review", handler: s.requirements},
		{Method: "POST", Path: "/api/cases/:id/submit", Auth: authStaff, Roles: clerk, Summary: "Submit for review; 422 lists every missing requirement", Tag: "review", handler: s.submit},
		{Method: "POST", Path: "/api/cases/:id/decision", Auth: authStaff, Roles: supervisor, Summary: "Approve or reject with a reason (not the case's clerk; step-up within 5 minutes; Idempotency-Key header required)", Tag: "review", Body: "Decision", handler: s.decide},
		{Method: "POST", Path: "/api/cases/:id/decision/challenge", Auth: authStaff, Roles: supervisor, Summary: "The options for navigator.credentials.get whose challenge is SHA-256(server random || case ID || decision || statement hash) (body: decision, statement_sha256): single use, 2 minutes, for this session only; the key's answer goes with the decision (field webauthn)", Tag: "review", Body: "DecisionChallenge", handler: s.decisionChallenge},
		{Method: "POST", Path: "/api/cases/:id/release", Auth: authStaff, Roles: clerkSup, Summary: "Release the statement of a sealed case: PDF stored as evidence and mailed to the registered address only (Idempotency-Key header required)", Tag: "review", handler: s.release},
		{Method: "POST", Path: "/api/cases/:id/statement/revoke", Auth: authStaff, Roles: supervisor, Summary: "Revoke the case's released statement (body: reason): whoever checks it at /v/{statement-id} is told it was revoked and when (audited)", Tag: "review", handler: s.revokeStatement},
		{Method: "GET", Path: "/api/cases/:id/statement/preview", Auth: authStaff, Roles: clerkSup, Summary: "The first page of the case's statement as a PNG (800 px wide), for the supervisor's review (audited as a view of the statement; 503 without poppler's pdftoppm)", Tag: "review", handler: s.statementPreview},
		{Method: "GET", Path: "/api/cases/:id/statement", Auth: authStaff, Roles: clerkSup, Summary: "Download the case's statement PDF, generated at submission: for review before the decision, for printing after the release (audited)", Tag: "review", handler: s.statementPDF},
		{Method: "POST", Path: "/call/code", Auth: authCustomer, Summary: "Customer (call page cookie): email a 6-digit code to the registered address (1 a minute, 5 an hour)", Tag: "customer", MaxBody: 1 << 10, handler: s.customerRequestCode},
		{Method: "POST", Path: "/call/code/verify", Auth: authCustomer, Summary: "Customer (call page cookie): check the code; 10 minutes, single use, 5 wrong tries lock the invite", Tag: "customer", Body: "Code", MaxBody: 1 << 10, handler: s.customerVerifyCode},
		{Method: "POST", Path: "/call/statement-password", Auth: authCustomer, Summary: "Customer (call page cookie), before submission: choose or replace the password (8 to 128 printable ASCII characters, typed twice) that protects the emailed statement: the release then mails an AES-256 envelope holding the signed statement. Kept only until the release uses it; never shown to staff (who see only whether one was chosen) nor audited (statement.password_set records that it was set)", Tag: "customer", Body: "StatementPassword", MaxBody: 4 << 10, handler: s.customerStatementPassword},
		{Method: "POST", Path: "/call/letter", Auth: authCustomer, Summary: "Customer (call page cookie): upload the signed authorization letter (same checks as the clerk's upload)", Tag: "customer", Body: "Letter", MaxBody: maxLetterBody, handler: s.customerUploadLetter},

		// staff pages (pages.go): each allows exactly the roles of the API it drives.
		{Method: "GET", Path: "/", Auth: authStaffPage, Summary: "Staff start page: redirects to the signed-in role's page or to /login", Tag: "pages", handler: s.home},
		{Method: "GET", Path: "/keys", Auth: authStaffPage, Summary: "Security keys (page; any staff): sign in with your key after the password, register a key (after re-entering the password), list and remove your keys", Tag: "pages", keyGate: true, page: &pageSpec{name: "keys", title: "keys.title", script: "keys.js", back: "/keys"}},
		{Method: "GET", Path: "/login", Auth: authGuestPage, Summary: "Staff login page", Tag: "pages", page: &loginPage},
		{Method: "GET", Path: "/auth/oidc/start", Auth: authNone, Summary: "Staff sign-in at the bank's OpenID Connect provider: a 303 to the provider (code flow, PKCE S256, state in a cookie and the database, nonce); 404 when none is configured, the login page with 503 when the provider is down, 429 past 20 starts a minute per address", Tag: "auth", handler: s.oidcStart},
		{Method: "GET", Path: "/auth/oidc/callback", Auth: authNone, Summary: "Where the provider sends the browser back: checks the state against the browser's cookie and uses it once, exchanges the code with the PKCE verifier, verifies the ID token and its nonce, maps the groups claim to roles and opens a session. A refusal is the login page saying why (400 bad or used state, 401 token refused, 403 no mapped group or a local account's name, 503 provider down)", Tag: "auth", handler: s.oidcCallback},
		{Method: "GET", Path: "/console", Auth: authStaffPage, Roles: clerk, Summary: "Clerk's console (page; clerk): today's calls in both zones, account look-up, new case", Tag: "pages", page: &pageSpec{name: "console", title: "console.title", script: "console.js", back: "/console"}},
		{Method: "GET", Path: "/console/cases/:id", Auth: authStaffPage, Roles: clerk, Summary: "Clerk's case page (page; clerk): requirements, invite, call, checks, letter and signature, registry, submit, cancel", Tag: "pages", page: &pageSpec{name: "case", title: "case.title", script: "case.js", mode: "clerk", back: "/console", gaps: true}},
		{Method: "GET", Path: "/review", Auth: authStaffPage, Roles: supervisor, Summary: "Supervisor's review queue (page; supervisor)", Tag: "pages", page: &pageSpec{name: "review", tmpl: "queue", title: "review.title", script: "queue.js", back: "/review"}},
		{Method: "GET", Path: "/review/cases/:id", Auth: authStaffPage, Roles: supervisor, Summary: "Supervisor's review of one case (page; supervisor): evidence, checks, decision after step-up", Tag: "pages", page: &pageSpec{name: "case", title: "review.case", script: "case.js", mode: "review", back: "/review", gaps: true}},
		{Method: "GET", Path: "/board", Auth: authStaffPage, Roles: supAdmin, Summary: "Supervisors' live board (page; supervisor, admin): today's and the next days' calls across the branch in branch and customer time, state, clerk and whether online, customer consented or waiting, running calls with Observe (supervisors), cases pending review with their age; updated by GET /api/board/events without a reload", Tag: "pages", page: &pageSpec{name: "board", title: "board.title", script: "board.js", back: "/board"}},
		{Method: "GET", Path: "/audit", Auth: authStaffPage, Roles: auditor, Summary: "Auditor's case search and chain verification (page; auditor)", Tag: "pages", page: &pageSpec{name: "audit", tmpl: "queue", title: "audit.title", script: "queue.js", back: "/audit", options: caseStates()}},
		{Method: "GET", Path: "/audit/cases/:id", Auth: authStaffPage, Roles: auditor, Summary: "Auditor's case page (page; auditor): the answer first (outcome, clerks, approving supervisor, key times in the branch's and the customer's zones, each check, recording length and gaps, evidence count, whether the audit chain and the bundle verify), then the timeline as sentences with filters (?kind=<first word of the action>, ?actor=customer, staff:<username>, system:<job>) and the raw events one click away, and the evidence grouped by kind with previews", Tag: "pages", page: &pageSpec{name: "case", title: "case.title", script: "case.js", mode: "audit", back: "/audit", record: true, gaps: true}},
		{Method: "GET", Path: "/admin", Auth: authStaffPage, Roles: admin, Summary: "Admin's page (page; admin): staff users, roles, disable and enable; account import runs and accounts needing attention; face threshold and calibration", Tag: "pages", page: &pageSpec{name: "admin", title: "admin.title", script: "admin.js", back: "/admin", options: roleNames()}},
		{Method: "GET", Path: "/api/cases/:id/references/:n", Auth: authStaff, Roles: clerkSup, Summary: "The n-th reference photo of the case's account (0, 1, ...), for the side-by-side comparison with the live capture (audited view)", Tag: "checks", handler: s.referencePhoto},
		{Method: "GET", Path: "/favicon.ico", Auth: authNone, Summary: "No icon (204), so browsers log no error", Tag: "pages", handler: s.favicon},
		{Method: "GET", Path: "/static/staff/*file", Auth: authNone, Summary: "Scripts, styles and images of the staff pages", Tag: "pages", handler: s.static()},
	}
	if s.cfg.Demo {
		rs = append(rs, s.demoRoutes()...)
	}
	return rs
}
