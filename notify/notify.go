// Package notify tells the bank's staff what needs them: the customer
// consented or is waiting in the call, a slot is near and no clerk has
// joined, a letter came in, a case was submitted, rejected or reassigned.
// A dispatcher follows the hash-chained audit log from its own cursor (as
// the webhook dispatcher does), so nothing that happened is missed or told
// twice; a job with an injected clock raises the slot alert once per case
// and slot. Each notification goes by webhook (a staff.notified audit event
// the webhook dispatcher delivers as staff.notification, carrying the staff
// ID and the kind) and, where the member chose it and has an address, by
// email through the mail outbox, in their language. Mail carries the case
// ID, the masked account number and the link to the case's page; nothing
// else about the customer.
package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"

	"remoteidv/audit"
	idvmail "remoteidv/mail"
	"remoteidv/models"
)

// Actor is the audit actor of the notifications.
const Actor = "system:notify"

// Config tunes the service; zero fields take the defaults.
type Config struct {
	BankName   string
	MailFrom   string // sender of the mail; "" sends none (webhooks still go)
	ReturnPath string // envelope sender; "" for MailFrom
	// PublicURL is put before the case page's path in mail ("" leaves the
	// path alone).
	PublicURL string
	// SlotLead is how long before a slot the alert goes when no clerk has
	// joined; default 15 minutes.
	SlotLead  time.Duration
	BranchTZ  *time.Location // the slot's time in the alert; default UTC
	BatchSize int            // audit events read per dispatch transaction; default 500
}

// Service dispatches notifications and keeps preferences.
type Service struct {
	store models.Store
	chain audit.Chain
	now   func() time.Time
	rand  io.Reader
	log   *slog.Logger
	cfg   Config
	// ClerkInCall, when set, reports whether one of the case's clerks is
	// in its running call (the signaling hub knows); the slot alert is
	// not raised for such a case. Without it a call the customer opened
	// counts as having no clerk until the audit log shows one joined.
	ClerkInCall func(models.CaseID) bool
}

// New returns the service.
func New(store models.Store, chain audit.Chain, now func() time.Time, random io.Reader, log *slog.Logger, cfg Config) *Service {
	if cfg.SlotLead <= 0 {
		cfg.SlotLead = 15 * time.Minute
	}
	if cfg.BranchTZ == nil {
		cfg.BranchTZ = time.UTC
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.BankName == "" {
		cfg.BankName = "remoteidv"
	}
	return &Service{store: store, chain: chain, now: now, rand: random, log: log, cfg: cfg}
}

// Target is one notification to send: to whom and of which kind.
type Target struct {
	Staff models.StaffID
	Kind  models.NotifyKind
}

// actorStaff is the staff member an audit actor names ("" for others).
func actorStaff(actor string) models.StaffID {
	if id, ok := strings.CutPrefix(actor, "staff:"); ok {
		return models.StaffID(id)
	}
	return ""
}

// Plan returns the notifications an audit event makes, for case c (as it
// is now) and the active supervisors: none for most events. Nobody is
// told of what they did themselves.
func Plan(e *models.AuditEvent, c *models.Case, supervisors []models.StaffID) []Target {
	if c == nil {
		return nil
	}
	var kind models.NotifyKind
	var to []models.StaffID
	switch {
	case e.Action == "customer.consent":
		kind, to = models.NotifyCustomerConsented, c.Clerks()
	case e.Action == "case.join" && strings.HasPrefix(e.Actor, "customer:"):
		// The customer opened the call before any clerk.
		kind, to = models.NotifyCustomerWaiting, c.Clerks()
	case e.Action == "letter.uploaded":
		kind, to = models.NotifyLetterUploaded, c.Clerks()
	case e.Action == "case.submit":
		kind, to = models.NotifyCaseSubmitted, supervisors
	case e.Action == "case.reject":
		kind, to = models.NotifyCaseRejected, c.Clerks()
	case e.Action == "case.reassigned":
		kind = models.NotifyReassigned
		for _, k := range []string{"old", "new"} {
			if id := models.StaffID(e.Detail[k]); id != "" {
				to = append(to, id)
			}
		}
	default:
		return nil
	}
	self := actorStaff(e.Actor)
	var out []Target
	for _, id := range to {
		if id == "" || id == self || slices.ContainsFunc(out, func(t Target) bool { return t.Staff == id }) {
			continue
		}
		out = append(out, Target{Staff: id, Kind: kind})
	}
	return out
}

// Prefs returns a member's choice for every kind: what they stored, and
// on (by email) for the rest.
func (s *Service) Prefs(ctx context.Context, id models.StaffID) ([]models.NotifyPref, error) {
	var out []models.NotifyPref
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) {
		if _, err = tx.StaffByID(ctx, id); err != nil {
			return err
		}
		out, err = prefsOf(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("notification preferences of %s: %w", id, err)
	}
	return out, nil
}

func prefsOf(ctx context.Context, tx models.Tx, id models.StaffID) ([]models.NotifyPref, error) {
	stored, err := tx.NotifyPrefs(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]models.NotifyPref, 0, len(models.NotifyKinds))
	for _, k := range models.NotifyKinds {
		p := models.NotifyPref{Kind: k, Enabled: true, Email: true}
		if i := slices.IndexFunc(stored, func(p models.NotifyPref) bool { return p.Kind == k }); i >= 0 {
			p = stored[i]
		}
		out = append(out, p)
	}
	return out, nil
}

// SetPrefs stores a member's choices for the kinds named (the others keep
// theirs), as actor (audited as staff.notify_prefs_set), and returns them
// all.
func (s *Service) SetPrefs(ctx context.Context, actor string, id models.StaffID, prefs []models.NotifyPref) ([]models.NotifyPref, error) {
	if len(prefs) == 0 {
		return nil, models.Errorf(models.EINVALID, "preferences: name at least one kind")
	}
	var out []models.NotifyPref
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		if _, err := tx.StaffByID(ctx, id); err != nil {
			return err
		}
		var changed []string
		for _, p := range prefs {
			if _, err := models.ParseNotifyKind(string(p.Kind)); err != nil {
				return err
			}
			if err := tx.SetNotifyPref(ctx, id, p); err != nil {
				return err
			}
			changed = append(changed, fmt.Sprintf("%s=%s", p.Kind, prefWord(p)))
		}
		var err error
		if out, err = prefsOf(ctx, tx, id); err != nil {
			return err
		}
		return s.chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: "staff.notify_prefs_set",
			Detail: map[string]string{"staff": string(id), "prefs": strings.Join(changed, " ")}})
	})
	if err != nil {
		return nil, fmt.Errorf("set notification preferences of %s: %w", id, err)
	}
	return out, nil
}

func prefWord(p models.NotifyPref) string {
	switch {
	case !p.Enabled:
		return "off"
	case p.Email:
		return "email"
	}
	return "webhook"
}

// List returns notifications, newest first (at most 500; 100 by default).
func (s *Service) List(ctx context.Context, f models.NotificationFilter) ([]*models.StaffNotification, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var out []*models.StaffNotification
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) { out, err = tx.Notifications(ctx, f); return })
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return out, nil
}

// dispatch is what one dispatch transaction has looked up.
type dispatch struct {
	tx          models.Tx
	now         time.Time
	cases       map[models.CaseID]*models.Case
	staff       map[models.StaffID]*models.Staff
	prefs       map[models.StaffID][]models.NotifyPref
	supervisors []models.StaffID
	supLoaded   bool
	sent        int
}

func (s *Service) newDispatch(tx models.Tx) *dispatch {
	return &dispatch{tx: tx, now: s.now().UTC(), cases: map[models.CaseID]*models.Case{}, staff: map[models.StaffID]*models.Staff{},
		prefs: map[models.StaffID][]models.NotifyPref{}}
}

func (d *dispatch) caseOf(ctx context.Context, id models.CaseID) (*models.Case, error) {
	if c, ok := d.cases[id]; ok {
		return c, nil
	}
	c, err := d.tx.CaseByID(ctx, id)
	if models.ErrorCodeOf(err) == models.ENOTFOUND {
		c, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	d.cases[id] = c
	return c, nil
}

func (d *dispatch) supervisorsOf(ctx context.Context) ([]models.StaffID, error) {
	if d.supLoaded {
		return d.supervisors, nil
	}
	all, err := d.tx.ListStaff(ctx)
	if err != nil {
		return nil, err
	}
	for _, st := range all {
		if st.Active() && st.Has(models.RoleSupervisor) {
			d.supervisors = append(d.supervisors, st.ID)
		}
		d.staff[st.ID] = st
	}
	d.supLoaded = true
	return d.supervisors, nil
}

// Dispatch turns the audit events after the stored cursor into
// notifications, moving the cursor in the same transaction: a crash
// repeats or loses nothing, and a second process waits for the cursor's
// lock and then sees the events handled. It returns how many
// notifications (per recipient, whatever the channels) it sent.
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	total := 0
	for {
		n, more, err := s.dispatchOnce(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("dispatch staff notifications: %w", err)
		}
		if !more {
			return total, nil
		}
	}
}

func (s *Service) dispatchOnce(ctx context.Context) (sent int, more bool, err error) {
	err = s.store.Transact(ctx, func(tx models.Tx) error {
		sent = 0
		cur, err := tx.NotifyCursor(ctx)
		if err != nil {
			return err
		}
		evs, err := tx.AuditEvents(ctx, models.AuditFilter{AfterSeq: cur, Limit: s.cfg.BatchSize})
		if err != nil || len(evs) == 0 {
			return err
		}
		more = len(evs) == s.cfg.BatchSize
		d := s.newDispatch(tx)
		for _, e := range evs {
			if e.CaseID == "" || e.Actor == Actor {
				continue
			}
			c, err := d.caseOf(ctx, e.CaseID)
			if err != nil {
				return err
			}
			if c == nil {
				continue
			}
			var sups []models.StaffID
			if e.Action == "case.submit" {
				if sups, err = d.supervisorsOf(ctx); err != nil {
					return err
				}
			}
			for _, t := range Plan(e, c, sups) {
				if err := s.send(ctx, d, t, c, e.Seq); err != nil {
					return fmt.Errorf("audit event %d: %w", e.Seq, err)
				}
			}
		}
		sent = d.sent
		return tx.SetNotifyCursor(ctx, evs[len(evs)-1].Seq)
	})
	return sent, more, err
}

// send notifies one member of one thing, as their preferences say: a
// staff.notified audit event (the webhook) and, by choice, a mail. A
// disabled member, an unknown one or a kind they turned off gets nothing.
func (s *Service) send(ctx context.Context, d *dispatch, t Target, c *models.Case, seq int64) error {
	st, ok := d.staff[t.Staff]
	if !ok {
		var err error
		st, err = d.tx.StaffByID(ctx, t.Staff)
		if models.ErrorCodeOf(err) == models.ENOTFOUND {
			st, err = nil, nil
		}
		if err != nil {
			return err
		}
		d.staff[t.Staff] = st
	}
	if st == nil || !st.Active() {
		return nil
	}
	prefs, ok := d.prefs[st.ID]
	if !ok {
		var err error
		if prefs, err = prefsOf(ctx, d.tx, st.ID); err != nil {
			return err
		}
		d.prefs[st.ID] = prefs
	}
	i := slices.IndexFunc(prefs, func(p models.NotifyPref) bool { return p.Kind == t.Kind })
	if i < 0 || !prefs[i].Enabled {
		return nil
	}
	detail := map[string]string{"staff": string(st.ID), "kind": string(t.Kind)}
	var mailID string
	if prefs[i].Email && st.Email != "" && s.cfg.MailFrom != "" {
		m, err := s.enqueue(ctx, d.tx, st, t.Kind, c, d.now)
		if err != nil {
			return err
		}
		mailID, detail["mail"] = m.ID, m.ID
	}
	ev := &models.AuditEvent{Actor: Actor, Action: "staff.notified", CaseID: c.ID, Detail: detail}
	if err := s.chain.Append(ctx, d.tx, ev); err != nil {
		return err
	}
	record := func(channel, ref string) error {
		id, err := models.NewID(s.rand, "ntf")
		if err != nil {
			return err
		}
		return d.tx.RecordNotification(ctx, &models.StaffNotification{ID: id, StaffID: st.ID, Kind: t.Kind, CaseID: c.ID, Channel: channel,
			Ref: ref, AuditSeq: seq, CreatedAt: d.now})
	}
	if err := record(models.ChannelWebhook, fmt.Sprintf("audit:%d", ev.Seq)); err != nil {
		return err
	}
	if mailID != "" {
		if err := record(models.ChannelEmail, mailID); err != nil {
			return err
		}
	}
	d.sent++
	return nil
}

// casePath is the page of the case for st: the clerk's for its clerks,
// the review page for a supervisor.
func casePath(st *models.Staff, c *models.Case) string {
	if c.ClerkRoleOf(st.ID) == "" && st.Has(models.RoleSupervisor) {
		return "/review/cases/" + string(c.ID)
	}
	return "/console/cases/" + string(c.ID)
}

// enqueue puts the mail of one notification in the outbox, in the
// member's language (English when they have none).
func (s *Service) enqueue(ctx context.Context, tx models.Tx, st *models.Staff, kind models.NotifyKind, c *models.Case, now time.Time) (*models.OutboundMail, error) {
	data := idvmail.Data{BankName: s.cfg.BankName, Notice: string(kind), StaffName: st.DisplayName, CaseRef: string(c.ID),
		AccountNo: models.MaskAccountNo(c.AccountNo), Link: strings.TrimSuffix(s.cfg.PublicURL, "/") + casePath(st, c),
		SlotBranch: c.SlotAt.In(s.cfg.BranchTZ).Format("2006-01-02 15:04") + " " + s.cfg.BranchTZ.String()}
	lang := st.Language
	if lang == "" {
		lang = idvmail.LangEnglish
	}
	subject, text, html, err := idvmail.Render(idvmail.KindStaff, lang, data)
	if err != nil {
		return nil, err
	}
	from, err := mail.ParseAddress(s.cfg.MailFrom)
	if err != nil {
		return nil, models.Errorf(models.EUNAVAILABLE, "mail sender address %q is not configured correctly", s.cfg.MailFrom)
	}
	mid, err := models.NewID(s.rand, "mail")
	if err != nil {
		return nil, err
	}
	envID, err := models.NewID(s.rand, "env")
	if err != nil {
		return nil, err
	}
	sender := from.Address
	if s.cfg.ReturnPath != "" {
		sender = s.cfg.ReturnPath
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	raw, err := idvmail.Compose(idvmail.Message{From: (&mail.Address{Name: s.cfg.BankName, Address: from.Address}).String(), To: []string{st.Email},
		Subject: subject, Text: text, HTML: html, MessageID: mid + "@" + domain, Date: now})
	if err != nil {
		return nil, models.Errorf(models.EINVALID, "compose staff notification mail: %v", err)
	}
	// A notification is of no use a day later.
	expires := now.Add(24 * time.Hour)
	m := &models.OutboundMail{ID: mid, CaseID: c.ID, Kind: idvmail.OutboxKind(idvmail.KindStaff), To: st.Email, From: sender,
		MessageID: mid + "@" + domain, Raw: raw, RawSHA256: rawSHA256(raw), CreatedAt: now, ExpiresAt: &expires, NextAttemptAt: now, EnvelopeID: envID}
	if err := tx.EnqueueMail(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// errAlerted ends a slot alert's transaction when it is not (or no
// longer) due, or another run recorded it first.
var errAlerted = errors.New("slot alert not due or already sent")

// alertBatch is how many cases one page of AlertSlots reads.
const alertBatch = 200

// AlertSlots raises the slot alert for every case whose slot is at most
// SlotLead ahead (or began less than SlotLead ago) while no clerk has
// joined: to its clerks and to the supervisors. Each is claimed in the
// transaction that sends it, once per case and slot, so however many
// processes run this the alert goes once, and a rescheduled slot gets its
// own. Cancelled, expired or aborted cases, and cases a clerk already
// joined, get none. It returns how many cases were alerted.
func (s *Service) AlertSlots(ctx context.Context) (int, error) {
	now := s.now().UTC()
	var due []*models.Case
	for _, state := range []models.CaseState{models.StateScheduled, models.StateInSession} {
		for off := 0; ; off += alertBatch {
			var page []*models.Case
			err := s.store.Transact(ctx, func(tx models.Tx) (err error) {
				page, _, err = tx.ListCases(ctx, models.CaseFilter{State: state, SlotFrom: now.Add(-s.cfg.SlotLead), SlotTo: now.Add(s.cfg.SlotLead).Add(time.Second),
					Limit: alertBatch, Offset: off})
				return err
			})
			if err != nil {
				return 0, fmt.Errorf("slot alerts: %w", err)
			}
			due = append(due, page...)
			if len(page) < alertBatch {
				break
			}
		}
	}
	n := 0
	var errs []error
	for _, c := range due {
		if c.State == models.StateInSession && s.ClerkInCall != nil && s.ClerkInCall(c.ID) {
			continue
		}
		ok, err := s.alert(ctx, c.ID, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			n++
		}
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("slot alerts: %w", err)
	}
	return n, nil
}

// alert sends one case's slot alert if it is due and reports whether it
// did.
func (s *Service) alert(ctx context.Context, id models.CaseID, now time.Time) (bool, error) {
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		c, err := tx.CaseByID(ctx, id)
		if err != nil {
			return err
		}
		if c.State != models.StateScheduled && c.State != models.StateInSession {
			return errAlerted
		}
		if now.Before(c.SlotAt.Add(-s.cfg.SlotLead)) || !now.Before(c.SlotAt.Add(s.cfg.SlotLead)) {
			return errAlerted
		}
		if c.State == models.StateInSession {
			joined, err := clerkJoined(ctx, tx, c)
			if err != nil {
				return err
			}
			if joined {
				return errAlerted
			}
		}
		if err := tx.ClaimSlotAlert(ctx, c.ID, c.SlotAt, now); err != nil {
			if models.ErrorCodeOf(err) == models.ECONFLICT {
				return errAlerted
			}
			return err
		}
		d := s.newDispatch(tx)
		sups, err := d.supervisorsOf(ctx)
		if err != nil {
			return err
		}
		var to []models.StaffID
		for _, st := range append(c.Clerks(), sups...) {
			if !slices.Contains(to, st) {
				to = append(to, st)
			}
		}
		for _, st := range to {
			if err := s.send(ctx, d, Target{Staff: st, Kind: models.NotifySlotNoClerk}, c, 0); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errAlerted):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("slot alert of %s: %w", id, err)
	}
	return true, nil
}

// clerkJoined reports whether the case's running call was opened by one
// of its clerks (the latest case.join event's actor).
func clerkJoined(ctx context.Context, tx models.Tx, c *models.Case) (bool, error) {
	evs, err := tx.AuditEvents(ctx, models.AuditFilter{CaseID: c.ID})
	if err != nil {
		return false, err
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Action == "case.join" {
			id := actorStaff(evs[i].Actor)
			return id != "" && c.ClerkRoleOf(id) != "", nil
		}
	}
	return false, nil
}

func rawSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
