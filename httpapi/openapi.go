package httpapi

import (
	"maps"
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/webhook"
)

var pathParam = regexp.MustCompile(`:([a-z_]+)`)

// openAPIPath turns a Gin path (/api/cases/:id) into OpenAPI's (/api/cases/{id}).
func openAPIPath(p string) string { return pathParam.ReplaceAllString(p, "{$1}") }

func obj(props map[string]any, required ...string) map[string]any {
	o := map[string]any{"type": "object", "additionalProperties": false, "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

var str = map[string]any{"type": "string"}

var integer = map[string]any{"type": "integer"}

func withDescription(o map[string]any, d string) map[string]any {
	o["description"] = d
	return o
}

// requestSchemas are the bodies named in the route table.
var requestSchemas = map[string]any{
	"Login":  obj(map[string]any{"username": str, "password": str}, "username", "password"),
	"StepUp": obj(map[string]any{"password": str}, "password"),
	"Slot": obj(map[string]any{
		"local":     map[string]any{"type": "string", "example": "2026-12-01T09:00", "description": "wall-clock time in time_zone"},
		"time_zone": map[string]any{"type": "string", "example": "America/New_York", "description": "IANA zone"},
	}, "local", "time_zone"),
	"NewCase": obj(map[string]any{
		"account_no":  str,
		"purpose":     map[string]any{"type": "string", "enum": purposes()},
		"period_from": map[string]any{"type": "string", "format": "date", "description": "first day of a statement's period; a balance certificate's is empty or period_to"},
		"period_to":   map[string]any{"type": "string", "format": "date", "description": "last day of a statement's period; a balance certificate's date (balances at the end of that day)"},
		"slot":        map[string]any{"$ref": "#/components/schemas/Slot"},
		"intake": withDescription(obj(map[string]any{
			"channel":     map[string]any{"type": "string", "enum": []string{"phone", "email", "counter", "letter"}},
			"received_at": map[string]any{"type": "string", "format": "date-time", "description": "when the bank received the request (RFC 3339; not in the future, at most a year back); empty: now"},
			"notes":       map[string]any{"type": "string", "maxLength": 2000},
		}, "channel"), "optional: how the request came in; stored with the case, shown on its page, audited (channel and time; the notes' length only)"),
	}, "account_no", "purpose", "period_to", "slot"),
	"Reschedule": obj(map[string]any{"slot": map[string]any{"$ref": "#/components/schemas/Slot"}}, "slot"),
	"Reason":     obj(map[string]any{"reason": str}, "reason"),
	"Reassign": obj(map[string]any{
		"role":     map[string]any{"type": "string", "enum": []string{"primary", "backup"}},
		"staff_id": map[string]any{"type": "string", "description": "the new clerk (an enabled member of staff with the clerk role); empty clears the backup"},
		"reason":   str,
	}, "role", "reason"),
	"Hours": obj(map[string]any{"hours": map[string]any{"type": "string", "example": "mon-fri 09:00-17:00, sat 20:00-02:00",
		"description": "weekly working hours in the branch's time zone, one span a weekday; an end at or before the start runs past midnight; empty clears them"}}, "hours"),
	"Abort": obj(map[string]any{"reason": str, "fraud_category": map[string]any{"type": "string", "enum": flagCategories(),
		"description": "optional: raise a fraud flag of this category against the case's account"}}, "reason"),
	"Contact": obj(map[string]any{"email": withDescription(map[string]any{"type": "string", "maxLength": 254}, "where staff notifications are mailed; empty for none"),
		"language": map[string]any{"type": "string", "enum": []string{"", "en", "zh-CN"}}}, "email"),
	"NotifyPrefsUpdate": obj(map[string]any{"preferences": arrayOf(ref("NotifyPref"))}, "preferences"),
	"NewStaff": obj(map[string]any{"username": str, "display_name": str, "password": str,
		"email":    withDescription(map[string]any{"type": "string", "maxLength": 254}, "optional: where staff notifications are mailed"),
		"language": map[string]any{"type": "string", "enum": []string{"", "en", "zh-CN"}},
		"roles":    map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": []string{"clerk", "supervisor", "auditor", "admin"}}}},
		"username", "password", "roles"),
	"NewWebhook": obj(map[string]any{"url": str, "description": str,
		"events": map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": append([]string{"*"}, webhook.Types...)}},
		"secret": withDescription(map[string]any{"type": "string"}, "optional: whsec_ and the base64 of 24 to 64 bytes; else one is made and shown once")}, "url", "events"),
	"Confirm":   obj(map[string]any{"confirmed": map[string]any{"type": "boolean"}, "note": str}, "confirmed"),
	"LegalHold": obj(map[string]any{"on": map[string]any{"type": "boolean"}, "reason": str}, "on", "reason"),
	"Letter":    map[string]any{"type": "string", "format": "binary", "description": "the letter file: image/jpeg, image/png or application/pdf"},
	"LetterScope": obj(map[string]any{"account_no": str, "service": map[string]any{"type": "string", "enum": purposes()},
		"period_from": map[string]any{"type": "string", "format": "date"}, "period_to": map[string]any{"type": "string", "format": "date"},
		"registered_email": map[string]any{"type": "boolean"}}, "account_no", "service", "period_from", "period_to", "registered_email"),
	"SignatureCheck": obj(map[string]any{"letter_id": str, "region": obj(map[string]any{"x": integer, "y": integer, "w": integer, "h": integer}, "x", "y", "w", "h"),
		"verdict": map[string]any{"type": "string", "enum": []string{"pass", "fail", "inconclusive"}}, "reason": str}, "letter_id", "region", "verdict", "reason"),
	"Decision": obj(map[string]any{"decision": map[string]any{"type": "string", "enum": []string{"approve", "reject"}}, "reason": str,
		"statement_sha256": map[string]any{"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "the SHA-256 of the case's statement (GET /api/cases/{id}: statement.sha256) the supervisor saw; required to approve, and must be the current one"},
		"webauthn":         withDescription(map[string]any{"type": "object"}, "the security key's answer (PublicKeyCredential as JSON) to POST /api/cases/{id}/decision/challenge for this case and decision; required where the supervisor's role decides with a key (IDV_WEBAUTHN_REQUIRED_ROLES)")},
		"decision", "reason"),
	"DecisionChallenge": obj(map[string]any{"decision": map[string]any{"type": "string", "enum": []string{"approve", "reject"}},
		"statement_sha256": map[string]any{"type": "string", "description": "the statement to approve (as in the decision); empty for a rejection"}}, "decision"),
	"KeyName": obj(map[string]any{"name": map[string]any{"type": "string", "minLength": 1, "maxLength": 64}, "enrolment_code": str}, "name"),
	// The national ID registry's contract (remoteidv is the client; the
	// registry package and idv registry serve implement both sides).
	"RegistryLookupRequest": withDescription(obj(map[string]any{"id_number": str, "name": str}, "id_number", "name"),
		"Outbound: POST {IDV_REGISTRY_URL}/v1/lookup with Authorization: Bearer {IDV_REGISTRY_KEY}. 400 malformed query, 401 bad key."),
	"RegistryLookupResponse": withDescription(obj(map[string]any{
		"status":     map[string]any{"type": "string", "enum": []string{"valid", "invalid", "deceased"}},
		"name_match": map[string]any{"type": "boolean"},
		"photo":      map[string]any{"type": "string", "format": "byte", "description": "registry photo, base64 JPEG; may be empty"},
		"data_as_of": map[string]any{"type": "string", "format": "date-time", "description": "the time as of which the answer's data is current; older than IDV_REGISTRY_MAX_DATA_AGE is not a pass"},
		"request_id": str,
	}, "status", "name_match", "data_as_of"),
		"The registry's 200 answer. Anything else (timeout after IDV_REGISTRY_TIMEOUT, 5xx, malformed JSON, unknown status) is recorded as UNAVAILABLE, never a pass."),
	"Code": obj(map[string]any{"code": map[string]any{"type": "string", "pattern": "^[0-9]{6}$"}}, "code"),
	"StatementPassword": obj(map[string]any{
		"password": withDescription(map[string]any{"type": "string", "minLength": 8, "maxLength": 128, "pattern": "^[ -~]*$"}, "printable ASCII: every PDF reader reads it the same way"),
		"confirm":  withDescription(map[string]any{"type": "string"}, "the same password again"),
	}, "password", "confirm"),
	"NewToken": obj(map[string]any{
		"name":            str,
		"scope":           withDescription(map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": []string{"clerk", "supervisor", "auditor", "admin"}}}, "one or more of your own roles"),
		"expires_in_days": withDescription(map[string]any{"type": "integer", "minimum": 1}, "at most IDV_TOKEN_LIFETIME, which is also the default"),
		"username":        withDescription(map[string]any{"type": "string"}, "optional; only your own: a token acts as the member who mints it"),
	}, "name", "scope"),
	"Error": obj(map[string]any{"error": obj(map[string]any{
		"code": str, "message": str, "request_id": str,
		"details": map[string]any{"type": "array", "items": str},
	}, "code", "message", "request_id")}, "error"),
}

var (
	number   = map[string]any{"type": "number"}
	boolean  = map[string]any{"type": "boolean"}
	dateTime = map[string]any{"type": "string", "format": "date-time"}
	strList  = map[string]any{"type": "array", "items": str}
)

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func arrayOf(items any) map[string]any { return map[string]any{"type": "array", "items": items} }

// nullable is schema o that may also be null (OpenAPI 3.0).
func nullable(o map[string]any) map[string]any {
	n := maps.Clone(o)
	n["nullable"] = true
	return n
}

// responseSchemas are the 200 answers named in the route table.
var responseSchemas = map[string]any{
	"Tokens": obj(map[string]any{"tokens": arrayOf(ref("Token"))}, "tokens"),
	"NotifyPref": obj(map[string]any{"kind": map[string]any{"type": "string", "enum": []string{"customer_consented", "customer_waiting", "slot_no_clerk", "letter_uploaded", "case_submitted", "case_rejected", "case_reassigned"}},
		"enabled": withDescription(map[string]any{"type": "boolean"}, "told at all (by webhook, event staff.notification)"),
		"email":   withDescription(map[string]any{"type": "boolean"}, "by email too (when the member has an address)")}, "kind", "enabled", "email"),
	"NotifyPrefs": obj(map[string]any{"username": str, "email": str, "language": str, "preferences": arrayOf(ref("NotifyPref"))},
		"username", "email", "language", "preferences"),
	"Notifications": obj(map[string]any{"username": str, "notifications": arrayOf(ref("Notification"))}, "username", "notifications"),
	"Notification": obj(map[string]any{"id": str, "staff_id": str, "kind": str, "case_id": str,
		"channel":    map[string]any{"type": "string", "enum": []string{"email", "webhook"}},
		"ref":        withDescription(map[string]any{"type": "string"}, "the outbox mail's ID, or audit:<seq> of the staff.notified event the webhooks deliver"),
		"created_at": dateTime}, "id", "staff_id", "kind", "case_id", "channel", "ref", "created_at"),
	"Token": obj(map[string]any{"id": str, "name": str, "staff_id": str, "username": str, "scope": strList,
		"roles":      withDescription(arrayOf(str), "what the token may do now: its scope narrowed to the roles its member holds; empty unless live"),
		"state":      map[string]any{"type": "string", "enum": []string{"live", "expired", "revoked"}},
		"created_at": dateTime, "expires_at": dateTime, "last_used": nullable(dateTime), "revoked_at": nullable(dateTime)},
		"id", "name", "staff_id", "username", "scope", "roles", "state", "created_at", "expires_at", "last_used", "revoked_at"),
	"WebhookEndpoints": obj(map[string]any{"endpoints": arrayOf(ref("WebhookEndpoint")), "event_types": arrayOf(str)}, "endpoints", "event_types"),
	"WebhookEndpoint": obj(map[string]any{"id": str, "url": str, "description": str, "events": arrayOf(str), "created_by": str, "created_at": dateTime,
		"disabled_at": dateTime, "deleted_at": dateTime, "secret": withDescription(map[string]any{"type": "string"}, "only in the answer to the creation")},
		"id", "url", "description", "events", "created_by", "created_at"),
	"WebhookDeliveries": obj(map[string]any{"deliveries": arrayOf(ref("WebhookDelivery"))}, "deliveries"),
	"WebhookDelivery": obj(map[string]any{"id": withDescription(map[string]any{"type": "string"}, "the webhook-id header"), "endpoint_id": str, "type": str,
		"audit_seq": integer, "case_id": str, "state": map[string]any{"type": "string", "enum": []string{"pending", "delivered", "failed"}},
		"attempts": integer, "created_at": dateTime, "next_attempt_at": dateTime, "give_up_at": dateTime,
		"last_status": withDescription(map[string]any{"type": "integer"}, "the receiver's HTTP status at the last attempt; 0: no answer"),
		"last_error":  str, "done_at": dateTime, "payload": map[string]any{"type": "object", "description": "the signed body: type, timestamp, data"},
		"attempts_log": arrayOf(obj(map[string]any{"n": integer, "at": dateTime, "status": integer, "error": str, "duration_ms": integer}, "n", "at", "status", "duration_ms"))},
		"id", "endpoint_id", "type", "audit_seq", "state", "attempts", "created_at", "give_up_at", "last_status"),
	"Nodes": obj(map[string]any{"nodes": arrayOf(obj(map[string]any{"id": str, "state": map[string]any{"type": "string", "enum": []string{"live", "dead", "gone"}},
		"url": str, "version": str, "calls": withDescription(map[string]any{"type": "integer"}, "running calls at the last heartbeat"),
		"started_at": dateTime, "last_seen": dateTime, "gone_at": dateTime}, "id", "state", "url", "version", "calls", "started_at", "last_seen"))}, "nodes"),
	"ImportRuns": obj(map[string]any{"runs": arrayOf(ref("ImportRun")), "total": integer}, "runs", "total"),
	"ImportRun": obj(map[string]any{"id": str, "started_at": dateTime, "finished_at": dateTime, "actor": str,
		"source":   withDescription(map[string]any{"type": "string"}, "label of the input, e.g. the CSV file's name"),
		"imported": integer, "failed": integer, "flagged": withDescription(map[string]any{"type": "integer"}, "imported rows with a flagged image"),
		"rows": withDescription(arrayOf(ref("ImportRow")), "the rows that failed or were flagged; good rows are only counted")},
		"id", "started_at", "finished_at", "actor", "source", "imported", "failed", "flagged", "rows"),
	"ImportRow": obj(map[string]any{"line": integer, "account_no": withDescription(map[string]any{"type": "string"}, "masked"), "error": str,
		"problems": withDescription(arrayOf(str), "flagged images, \"file: why\"")}, "line", "account_no"),
	"AccountStatuses": obj(map[string]any{"accounts": arrayOf(ref("AccountStatus")), "total": integer,
		"model_hash": withDescription(map[string]any{"type": "string"}, "the running face models' hash that enrolled descriptors must have")},
		"accounts", "total", "model_hash"),
	"AccountStatus": obj(map[string]any{"account_no": withDescription(map[string]any{"type": "string"}, "masked"), "holder_name": str, "imported_at": dateTime,
		"photos": integer, "flagged": integer, "problems": strList, "signature": boolean,
		"enrolled":  withDescription(map[string]any{"type": "integer"}, "usable photos with a descriptor for the running models"),
		"attention": arrayOf(map[string]any{"type": "string", "enum": []string{"no_photo", "flagged_photo", "no_signature", "not_enrolled"}})},
		"account_no", "holder_name", "imported_at", "photos", "flagged", "problems", "signature", "enrolled", "attention"),
	"FaceReport": obj(map[string]any{
		"loaded":      withDescription(map[string]any{"type": "boolean"}, "false: the models are missing and face checks answer unavailable"),
		"threshold":   number,
		"recognizers": integer,
		"jitter":      integer,
		"model_hash":  str,
		"blas": obj(map[string]any{"libraries": strList, "providers": map[string]any{"type": "object", "additionalProperties": str},
			"openblas": str, "openblas_threads": integer, "error": str}, "libraries", "providers", "openblas_threads"),
		"liveness": obj(map[string]any{"poses": strList, "window_seconds": number, "center_max_yaw": number, "turn_min_yaw": number},
			"poses", "window_seconds", "center_max_yaw", "turn_min_yaw"),
		"calibration_file": str,
		"calibration":      withDescription(ref("CalibrationSummary"), "the calibration in force: the newest in the database (idv face calibrate --accounts, after an import, the admin page, idv demo load), else IDV_FACE_CALIBRATION's file; absent when neither exists"),
		"operating":        withDescription(ref("Operating"), "the threshold in force and whether face scores are weak evidence"),
	}, "loaded", "threshold", "recognizers", "jitter", "model_hash", "blas", "liveness"),
	"Operating": obj(map[string]any{"calibration": withDescription(map[string]any{"type": "integer"}, "the calibration's number (0: a file or none)"),
		"calibrated": boolean, "calibrated_at": dateTime, "source": str,
		"threshold": number, "from_target": withDescription(map[string]any{"type": "boolean"}, "the threshold follows target_fmr (else the configured one)"),
		"target_fmr": number, "impostor_pairs": integer, "population_pairs": integer, "genuine_pairs": integer,
		"genuine_fail": withDescription(map[string]any{"type": "number"}, "share of genuine pairs over the threshold; -1 without genuine pairs"),
		"weak":         withDescription(map[string]any{"type": "boolean"}, "face scores cannot carry a decision: the registry photo and the clerk's comparison must"),
		"weak_reasons": arrayOf(map[string]any{"type": "string", "enum": []string{"not_calibrated", "few_impostor_pairs", "few_genuine_pairs", "genuine_fail"}})},
		"calibration", "calibrated", "threshold", "from_target", "target_fmr", "impostor_pairs", "population_pairs", "genuine_pairs", "genuine_fail", "weak"),
	"CalibrationSummary": obj(map[string]any{"version": integer, "id": integer, "source": str, "population_pairs": integer, "genuine_pairs": integer, "created": dateTime, "cohort": str, "people": integer, "photos": integer,
		"impostor_pairs": integer, "target_fmr": number, "proposed_threshold": number, "supported": boolean, "model_hash": str,
		"model_matches": withDescription(map[string]any{"type": "boolean"}, "made with the running models"),
		"at_threshold": withDescription(obj(map[string]any{"threshold": number, "rate": number, "upper95": number, "matches": integer, "impostors": integer, "at_distance": number}),
			"expected false-match rate at the configured threshold with its 95% upper bound")},
		"version", "created", "cohort", "people", "photos", "impostor_pairs", "target_fmr", "proposed_threshold", "supported", "model_hash", "model_matches"),
}

// OpenAPI returns the OpenAPI 3 document of every route in the table.
func (s *Server) OpenAPI() map[string]any {
	paths := map[string]any{}
	for _, r := range s.routes {
		p := openAPIPath(r.Path)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		op := map[string]any{
			"summary":     r.Summary,
			"operationId": strings.ToLower(r.Method) + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_", ".", "_").Replace(p),
			"tags":        []string{r.Tag},
			"responses": map[string]any{
				"200":     map[string]any{"description": "success"},
				"default": map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}},
			},
		}
		if r.Response != "" {
			op["responses"].(map[string]any)["200"] = map[string]any{"description": "success",
				"content": map[string]any{"application/json": map[string]any{"schema": ref(r.Response)}}}
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(r.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": str})
		}
		if params != nil {
			op["parameters"] = params
		}
		if r.Body == "Image" {
			bin := map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"image/jpeg": bin, "image/png": bin}}
		} else if r.Body != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + r.Body}}}}
		}
		if r.Auth != authStaff {
			// Not the staff API's credentials: no login, a page's own
			// redirect, or the customer's cookie.
			op["security"] = []any{}
		} else {
			roles := []string{"any staff"}
			if len(r.Roles) > 0 {
				roles = roles[:0]
				for _, role := range r.Roles {
					roles = append(roles, string(role))
				}
			}
			op["x-roles"] = roles
		}
		item[strings.ToLower(r.Method)] = op
	}
	schemas := map[string]any{}
	maps.Copy(schemas, requestSchemas)
	maps.Copy(schemas, responseSchemas)
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "remoteidv", "version": "1",
			"description": "Remote identity verification of overseas customers over video. Staff authenticate with the session cookie (plus X-CSRF-Token on writes) or a bearer API token."},
		"paths": paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": s.cookieName()},
				"bearer":  map[string]any{"type": "http", "scheme": "bearer"},
			},
		},
		"security": []any{map[string]any{"session": []string{}}, map[string]any{"bearer": []string{}}},
	}
}

func (s *Server) openAPI(c *gin.Context) error {
	c.JSON(http.StatusOK, s.OpenAPI())
	return nil
}

// flagCategories names the fraud flag categories, for the Abort schema.
func flagCategories() []string {
	out := make([]string, 0, len(models.FlagCategories))
	for _, c := range models.FlagCategories {
		out = append(out, string(c))
	}
	return out
}
