package httpapi

import (
	"context"
	"strings"
	"time"

	"remoteidv/models"
	"remoteidv/web"
)

// The readable record: one narrator turns an audit event into what staff
// read on every page (the case timeline, the checks, the evidence list,
// the audit search and the auditor's page): who acted, by display name and
// role ("Sun Li (supervisor)"), the customer as "customer", the system by
// its job ("sealer"); the time in the branch's zone (and the customer's
// where it matters); the action as a sentence in the page's language
// ("Supervisor Sun Li approved: signature and face confirmed"). The raw
// event (action, actor id, hash) stays beside it for whoever opens it.
//
// A sentence is the message "event.<action>" (web/i18n), with {who} the
// actor as a subject and {key} any of the event's detail values; every
// action of models.AuditActions has one in each language (record_test.go).

// narrator renders audit events for one page in one language.
type narrator struct {
	lang   string
	msgs   web.Catalogue
	staff  map[models.StaffID]*models.Staff
	branch *time.Location
}

// narrator reads the staff once for the request; a failed read leaves
// staff unnamed ("staff member"), never the page unrendered.
func (s *Server) narrator(ctx context.Context, lang string) *narrator {
	n := &narrator{lang: lang, msgs: s.msgs, staff: map[models.StaffID]*models.Staff{}, branch: time.UTC}
	if z := s.verify.Config().BranchTZ; z != nil {
		n.branch = z
	}
	all, err := s.access.ListStaff(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "staff names for the record", "err", err)
	}
	for _, st := range all {
		n.staff[st.ID] = st
	}
	return n
}

func (n *narrator) t(key string) string { return n.msgs.T(n.lang, key) }

// fill replaces {name} in msg with vars[name]; unknown names become "".
func fill(msg string, vars map[string]string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '{')
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		j := strings.IndexByte(msg[i:], '}')
		if j < 0 {
			b.WriteString(msg)
			return b.String()
		}
		b.WriteString(msg[:i])
		b.WriteString(vars[msg[i+1:i+j]])
		msg = msg[i+j+1:]
	}
}

// roleFor is the role a member of staff acted in: the one the action
// belongs to when they hold it, else their first.
func roleFor(st *models.Staff, action string) models.Role {
	want := models.RoleClerk
	switch {
	case action == "case.approve" || action == "case.reject" || action == "account.flag_cleared" || action == "statement.revoked" ||
		strings.HasPrefix(action, "call.observe"):
		want = models.RoleSupervisor
	case strings.HasPrefix(action, "evidence.") || strings.HasPrefix(action, "token.") || strings.HasPrefix(action, "staff.") ||
		strings.HasPrefix(action, "face.") || strings.HasPrefix(action, "accounts."):
		if st.Has(models.RoleAuditor) {
			want = models.RoleAuditor
		} else {
			want = models.RoleAdmin
		}
	}
	if st.Has(want) || len(st.Roles) == 0 {
		return want
	}
	return st.Roles[0]
}

// job names what the system was doing when it acted: "system:<job>" says
// it, otherwise the action does.
func job(actor, action string) string {
	if j, ok := strings.CutPrefix(actor, "system:"); ok {
		switch j {
		case "signaling", "recorder", "directory", "oidc":
			return j
		}
		return "system"
	}
	switch {
	case action == "case.seal" || action == "evidence.manifest" || action == "evidence.checkpoint":
		return "sealer"
	case action == "case.expire" || action == "evidence.expired":
		return "retention"
	case strings.HasPrefix(action, "mail.") || action == "statement.delivered" || action == "case.close" || action == "code.sent" ||
		action == "evidence.receipt":
		return "mailer"
	case strings.HasPrefix(action, "code."):
		return "codes"
	case strings.HasPrefix(action, "ledger.") || strings.HasPrefix(action, "account"):
		return "importer"
	}
	return "archiver"
}

// party is an actor as people read it: the name in a list (Name: "Sun Li
// (supervisor)") and as the subject of a sentence (Subject: "Supervisor
// Sun Li"); Key identifies the actor in a filter without its id.
type party struct{ Name, Subject, Key string }

func (n *narrator) party(actor, action string) party {
	kind, id, _ := strings.Cut(actor, ":")
	switch {
	case kind == "staff":
		st := n.staff[models.StaffID(id)]
		if st == nil {
			return party{Name: n.t("who.staff_unknown"), Subject: n.t("who.staff_unknown_subject"), Key: "staff"}
		}
		role := string(roleFor(st, action))
		v := map[string]string{"name": st.DisplayName, "role": n.t("who.role." + role)}
		subject := fill(n.t("who.subject."+role), v)
		// A display name that already starts with the role ("Supervisor
		// Sun Li") is not given it twice.
		if title := strings.TrimSpace(fill(n.t("who.subject."+role), nil)); title != "" && strings.HasPrefix(strings.ToLower(st.DisplayName), strings.ToLower(title)) {
			subject = st.DisplayName
		}
		return party{Name: fill(n.t("who.staff"), v), Subject: subject, Key: "staff:" + st.Username}
	case kind == "customer":
		return party{Name: n.t("who.customer"), Subject: n.t("who.customer_subject"), Key: "customer"}
	case kind == "token":
		return party{Name: n.t("who.token"), Subject: n.t("who.token_subject"), Key: "token"}
	case kind == "system":
		j := job(actor, action)
		return party{Name: n.t("who.job." + j), Subject: n.t("who.job_subject." + j), Key: "system:" + j}
	}
	return party{Name: n.t("who.anonymous"), Subject: n.t("who.anonymous_subject"), Key: "anonymous"}
}

// sentence is the event in words, in the narrator's language. An action
// without a message (an event older than its sentence) reads as its name.
func (n *narrator) sentence(e *models.AuditEvent) string {
	msg, ok := n.msgs[n.lang]["event."+e.Action]
	if !ok {
		msg, ok = n.msgs["en"]["event."+e.Action]
	}
	p := n.party(e.Actor, e.Action)
	if !ok {
		return p.Subject + ": " + e.Action
	}
	vars := make(map[string]string, len(e.Detail)+1)
	for k, v := range e.Detail {
		// Outcomes are codes (pass, fail, approve, ...): said in words when the catalogue has them.
		if k == "result" || k == "verdict" || k == "decision" || k == "confirmation" || k == "recording" {
			if w, ok := n.msgs[n.lang]["word."+v]; ok {
				v = w
			}
		}
		// An interruption's cause, and who dropped out, in words.
		if k == "cause" {
			if w, ok := n.msgs[n.lang]["cause."+v]; ok {
				v = w
			}
		}
		if k == "participant" {
			if w, ok := n.msgs[n.lang]["party."+v]; ok {
				v = w
			}
		}
		vars[k] = v
	}
	vars["who"] = p.Subject
	out := fill(msg, vars)
	// A reason left empty leaves no dangling colon.
	return strings.TrimSuffix(strings.TrimSuffix(out, ": "), "：")
}

// timeFormat is how the record shows a time: to the second, with the zone.
const timeFormat = "2006-01-02 15:04:05 MST"

// at is t in the branch's zone.
func (n *narrator) at(t time.Time) string { return t.In(n.branch).Format(timeFormat) }

// atZone is t in the named zone ("" when the zone is unknown).
func atZone(t time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if zone == "" || err != nil {
		return ""
	}
	return t.In(loc).Format(timeFormat)
}

// customerTimes are the events whose time matters to the customer: the
// record shows them in the customer's zone too.
var customerTimes = map[string]bool{"customer.consent": true, "customer.session_started": true, "case.join": true, "call.ended": true,
	"case.created": true, "case.reschedule": true, "invite.mailed": true, "statement.delivered": true}

// eventView is an audit event as the API answers it: the raw event and,
// beside it, the record as people read it.
type eventView struct {
	Seq      int64             `json:"seq"`
	At       time.Time         `json:"at"`
	Actor    string            `json:"actor"`
	Action   string            `json:"action"`
	CaseID   models.CaseID     `json:"case_id,omitempty"`
	Detail   map[string]string `json:"detail,omitempty"`
	PrevHash string            `json:"prev_hash"`
	Hash     string            `json:"hash"`
	// Who is the actor by display name and role, "customer" or the job.
	Who string `json:"who"`
	// Sentence is the event in the page's language.
	Sentence string `json:"sentence"`
	// AtBranch is At in the branch's zone; AtCustomer in the customer's,
	// for the events where it matters (and only on a case's timeline).
	AtBranch   string `json:"at_branch"`
	AtCustomer string `json:"at_customer,omitempty"`
}

// views renders events; customerTZ is the case's customer zone ("" off a case).
func (n *narrator) views(evs []*models.AuditEvent, customerTZ string) []eventView {
	out := make([]eventView, 0, len(evs))
	for _, e := range evs {
		v := eventView{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, CaseID: e.CaseID, Detail: e.Detail, PrevHash: e.PrevHash, Hash: e.Hash,
			Who: n.party(e.Actor, e.Action).Name, Sentence: n.sentence(e), AtBranch: n.at(e.At)}
		if customerTimes[e.Action] {
			v.AtCustomer = atZone(e.At, customerTZ)
		}
		out = append(out, v)
	}
	return out
}
