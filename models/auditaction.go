package models

// AuditActions is every action the service appends to the audit trail
// (AuditEvent.Action), grouped by what it is about. It is the one list the
// readable record (httpapi's narrator, a sentence in each language per
// action) is checked against; a test in httpapi scans the source for
// action strings missing here, so a new action cannot reach the trail
// without a sentence. Actions built at run time are listed in full:
// "case."+CaseEvent and "mail.report."+DeliveryAction.
var AuditActions = []string{
	// staff sign-in, step-up and API tokens (access)
	"auth.login", "auth.login_failed", "auth.account_locked", "auth.address_locked", "auth.events_suppressed",
	"auth.logout", "auth.permission_denied", "auth.stepup", "auth.stepup_failed", "auth.stepup_locked",
	"auth.token_rejected", "auth.token_used",
	"auth.webauthn_registered", "auth.webauthn_removed", "auth.webauthn_reset", "auth.webauthn_signin", "auth.webauthn_stepup",
	"auth.webauthn_failed", "auth.webauthn_enrolment_issued",
	"token.created", "token.listed", "token.revoked",
	"staff.created", "staff.disabled", "staff.enabled", "staff.hours_set", "staff.contact_set", "staff.notify_prefs_set",
	"staff.notified", "staff.directory_updated",
	// the case's life
	"case.created", "case.join", "case.reschedule", "case.submit", "case.approve", "case.reject", "case.seal",
	"case.release", "case.close", "case.cancel", "case.expire", "case.abort", "case.reassigned",
	"invite.issued", "invite.revoked", "invite.mailed",
	// the customer
	"customer.session_started", "customer.consent", "customer.reminded", "customer.notified",
	"code.sent", "code.verified", "code.wrong", "code.locked", "code.expired", "code.replayed",
	// the call
	"call.ended", "call.recording_incomplete", "call.recording_capped", "call.quality", "call.segment",
	"call.observe_started", "call.observe_stopped", "call.interrupted", "call.resumed", "call.suspended", "call.continued",
	// checks and what staff looked at
	"check.face_match", "check.face_upload", "check.face_confirmed", "check.liveness", "check.signature", "check.registry",
	"letter.uploaded", "letter.scope_recorded", "letter.viewed", "specimen.viewed", "reference.viewed",
	// the statement and the mail
	"statement.viewed", "statement.printed", "statement.delivered", "statement.revoked", "statement.password_set",
	"mail.expired", "mail.delivered", "mail.report.delivered", "mail.report.failed", "mail.report.delayed",
	"mail.report.relayed", "mail.report.expanded",
	// evidence
	"evidence.listed", "evidence.downloaded", "evidence.played", "evidence.previewed", "evidence.bundle_downloaded",
	"evidence.legal_hold_set", "evidence.legal_hold_cleared", "evidence.expired",
	// accounts, ledger and the face engine
	"account.flagged", "account.flag_cleared", "account.imported", "accounts.import_run", "ledger.imported",
	"face.calibrated",
	// webhooks (webhook)
	"webhook.endpoint_created", "webhook.endpoint_enabled", "webhook.endpoint_disabled", "webhook.endpoint_deleted",
	"webhook.redelivered",
}
