package httpapi

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/web"
)

// The auditor's case page starts with the answer (web.CaseRecord):
// rendered here from the same reads the page's API routes make, so the
// summary says nothing the auditor could not check there, and the
// timeline's filters are plain GET parameters (?kind=check&actor=customer).

// evidenceOrder is the order of the evidence groups: what was decided on
// first, the bookkeeping last.
var evidenceOrder = []models.EvidenceKind{models.EvidenceCapture, models.EvidenceUpload, models.EvidenceLetter, models.EvidenceSignature,
	models.EvidenceSpecimen, models.EvidenceRegistry, models.EvidenceRecording, models.EvidenceConsent, models.EvidenceCheck,
	models.EvidenceQuality, models.EvidenceApproval, models.EvidenceStatement, models.EvidenceReceipt, models.EvidenceManifest,
	models.EvidenceCheckpoint}

// caseRecord builds the auditor's summary, timeline and evidence of the
// case of the request, in lang.
func (s *Server) caseRecord(c *gin.Context, lang string) (*web.CaseRecord, error) {
	ctx, a, id := c.Request.Context(), actor(c), models.CaseID(c.Param("id"))
	cs, evs, err := s.verify.Timeline(ctx, a, id)
	if err != nil {
		return nil, err
	}
	checks, err := s.verify.Checks(ctx, a, id)
	if err != nil {
		return nil, err
	}
	_, calls, err := s.verify.CaseCalls(ctx, a, id)
	if err != nil {
		return nil, err
	}
	items, err := s.verify.EvidenceList(ctx, a, id)
	if err != nil {
		return nil, err
	}
	n := s.narrator(ctx, lang)
	r := &web.CaseRecord{State: string(cs.State), Reason: cs.Reason, EvidenceCount: len(items), EvidenceAPI: "/api/cases/" + string(id) + "/evidence"}

	// Who did what, and when.
	times := map[string]time.Time{"record.time.created": cs.CreatedAt}
	clerks := []string{}
	seenClerk := map[string]bool{}
	addClerk := func(name string) {
		if !seenClerk[name] {
			seenClerk[name] = true
			clerks = append(clerks, name)
		}
	}
	if st := n.staff[cs.ClerkID]; st != nil {
		addClerk(n.party(models.StaffActor(cs.ClerkID), "case.created").Name)
	}
	for _, e := range evs {
		if st := n.staff[models.StaffID(strings.TrimPrefix(e.Actor, "staff:"))]; st != nil && strings.HasPrefix(e.Actor, "staff:") &&
			roleFor(st, e.Action) == models.RoleClerk && (strings.HasPrefix(e.Action, "case.") || strings.HasPrefix(e.Action, "check.") ||
			strings.HasPrefix(e.Action, "letter.") || strings.HasPrefix(e.Action, "invite.")) {
			addClerk(n.party(e.Actor, e.Action).Name)
		}
		key := map[string]string{"customer.consent": "record.time.consent", "case.submit": "record.time.submitted", "case.approve": "record.time.approved",
			"case.reject": "record.time.rejected", "case.seal": "record.time.sealed", "case.release": "record.time.released"}[e.Action]
		if key != "" {
			times[key] = e.At
		}
		switch e.Action {
		case "case.approve":
			r.Supervisor, r.DecisionKey = n.party(e.Actor, e.Action).Name, "record.supervisor"
		case "case.reject":
			r.Supervisor, r.DecisionKey = n.party(e.Actor, e.Action).Name, "record.decider"
		}
	}
	if r.DecisionKey == "" {
		r.DecisionKey = "record.supervisor"
	}
	r.Clerks = clerks
	if len(calls) > 0 {
		times["record.time.call_start"] = calls[0].StartedAt
		if end := calls[len(calls)-1].EndedAt; end != nil {
			times["record.time.call_end"] = *end
		}
	}
	if !cs.SlotAt.IsZero() {
		times["record.time.slot"] = cs.SlotAt
	}
	customerToo := map[string]bool{"record.time.slot": true, "record.time.consent": true, "record.time.call_start": true, "record.time.call_end": true}
	for _, k := range []string{"record.time.created", "record.time.slot", "record.time.consent", "record.time.call_start", "record.time.call_end",
		"record.time.submitted", "record.time.approved", "record.time.rejected", "record.time.sealed", "record.time.released"} {
		at, ok := times[k]
		if !ok {
			continue
		}
		rt := web.RecordTime{Key: k, Branch: n.at(at)}
		if customerToo[k] {
			rt.Customer = atZone(at, cs.CustomerTZ)
		}
		r.Times = append(r.Times, rt)
	}

	// Each check's result, and who confirmed a face match.
	for _, ch := range checks {
		kind := string(ch.Kind)
		if ch.Kind == models.CheckFaceMatch && ch.Source == models.SourceUpload {
			kind = "face_upload"
		}
		res := n.word(string(ch.Result))
		if ch.Confirmation != "" {
			res += " · " + n.party(ch.ConfirmedBy, "check.face_confirmed").Name + ": " + n.word(ch.Confirmation)
		}
		r.Checks = append(r.Checks, web.RecordCheck{Key: "record.check." + kind, Result: res, By: n.party(ch.Actor, "check."+string(ch.Kind)).Name,
			At: n.at(ch.CreatedAt), Good: ch.Result == models.ResultMatch || ch.Result == models.ResultPass})
	}

	// The recording: each call's length, what was recorded and its gaps.
	for i, k := range calls {
		length := "–"
		if k.EndedAt != nil {
			length = duration(k.EndedAt.Sub(k.StartedAt))
		}
		recorded, gaps := recording(k.Segments)
		line := fill(n.t("record.recording_call"), map[string]string{"n": strconv.Itoa(i + 1), "length": length,
			"recorded": duration(recorded), "gaps": strconv.Itoa(len(gaps))})
		if k.Legs > 1 {
			line += fill(n.t("record.recording_legs"), map[string]string{"legs": strconv.Itoa(k.Legs)})
		}
		if k.EndedAt == nil && k.SuspendedAt != nil {
			line += n.t("record.recording_suspended")
		}
		r.Calls = append(r.Calls, line)
		for _, g := range gaps {
			line := fill(n.t("record.gap"), map[string]string{"length": duration(g.length), "participant": g.participant,
				"track": g.track, "at": n.at(g.at)})
			if in := g.interruption(k.Interruptions); in != nil {
				line = fill(n.t("record.gap_cause"), map[string]string{"gap": line, "cause": n.t("cause." + string(in.Cause))})
			}
			r.Gaps = append(r.Gaps, line)
		}
	}

	// Whether the chain and the bundle verify.
	if s.cfg.AuditKey != nil {
		rep, err := s.verify.VerifyAudit(ctx, s.cfg.AuditKey)
		switch {
		case err != nil:
			r.ChainNote = models.ErrorMessageOf(err)
		case rep.OK():
			r.ChainOK, r.ChainNote = true, fmt.Sprintf("%d %s, #%d %s", rep.Events, n.t("audit.events"), rep.Head.Seq, rep.Head.Hash)
		default:
			probs := make([]string, 0, len(rep.Problems))
			for _, p := range rep.Problems {
				probs = append(probs, p.String())
			}
			r.ChainNote = strings.Join(probs, "; ")
		}
	}
	switch cs.State {
	case models.StateSealed, models.StateReleased, models.StateClosed:
		r.Sealed = true
		if err := s.verify.SealedAndVerified(ctx, id); err != nil {
			r.BundleNote = models.ErrorMessageOf(err)
		} else {
			r.BundleOK = true
		}
	}

	// The timeline, filtered by kind and by actor.
	kind, who := c.Query("kind"), c.Query("actor")
	r.Filtered = kind != "" || who != ""
	r.Total = len(evs)
	seenKind, seenWho := map[string]bool{}, map[string]bool{}
	for _, e := range evs {
		group, _, _ := strings.Cut(e.Action, ".")
		p := n.party(e.Actor, e.Action)
		if !seenKind[group] {
			seenKind[group] = true
			r.Kinds = append(r.Kinds, web.RecordOption{Value: group, Label: n.t("record.group." + group), Selected: group == kind})
		}
		if !seenWho[p.Key] {
			seenWho[p.Key] = true
			r.Actors = append(r.Actors, web.RecordOption{Value: p.Key, Label: p.Name, Selected: p.Key == who})
		}
		if (kind != "" && group != kind) || (who != "" && p.Key != who) {
			continue
		}
		re := web.RecordEvent{Seq: e.Seq, At: n.at(e.At), Who: p.Name, Sentence: n.sentence(e), Action: e.Action, Actor: e.Actor,
			Hash: e.Hash, PrevHash: e.PrevHash, Group: group, ActorKey: p.Key}
		if customerTimes[e.Action] {
			re.AtCustomer = atZone(e.At, cs.CustomerTZ)
		}
		for k, v := range e.Detail {
			re.Detail = append(re.Detail, k+"="+v)
		}
		sort.Strings(re.Detail)
		r.Events = append(r.Events, re)
	}
	r.Shown = fill(n.t("record.shown"), map[string]string{"n": strconv.Itoa(len(r.Events)), "total": strconv.Itoa(r.Total)})

	// The evidence, grouped by kind, with what the browser can preview.
	groups := map[models.EvidenceKind]*web.EvidenceGroup{}
	for _, e := range items {
		g := groups[e.Kind]
		if g == nil {
			g = &web.EvidenceGroup{Kind: string(e.Kind)}
			groups[e.Kind] = g
		}
		it := web.EvidenceItem{ID: string(e.ID), Kind: string(e.Kind), SHA256: e.SHA256, ContentType: e.ContentType, Size: e.Size,
			By: n.party(e.Actor, "evidence."+string(e.Kind)).Name, At: n.at(e.CreatedAt), Archived: "–"}
		if e.ArchivedAt != nil && e.ExpiredAt == nil {
			it.Archived = n.at(*e.ArchivedAt)
			it.Href = r.EvidenceAPI + "/" + string(e.ID)
			switch {
			case strings.HasPrefix(e.ContentType, "image/"):
				it.Preview, it.Src = "image", it.Href
			case e.ContentType == "video/x-ivf":
				it.Preview, it.Src = "video", it.Href+"/play"
			case e.ContentType == "audio/ogg":
				it.Preview, it.Src = "audio", it.Href
			case e.ContentType == "application/pdf":
				it.Preview = "pdf"
			}
		}
		g.Items = append(g.Items, it)
	}
	for _, k := range evidenceOrder {
		if g := groups[k]; g != nil {
			r.Evidence = append(r.Evidence, *g)
			delete(groups, k)
		}
	}
	rest := make([]string, 0, len(groups))
	for k := range groups {
		rest = append(rest, string(k))
	}
	sort.Strings(rest)
	for _, k := range rest {
		r.Evidence = append(r.Evidence, *groups[models.EvidenceKind(k)])
	}
	return r, nil
}

// word is an outcome code in words, or the code when there are none.
func (n *narrator) word(code string) string {
	if w, ok := n.msgs[n.lang]["word."+code]; ok {
		return w
	}
	return code
}

// duration is d as people read it: 4m05s, 1h02m, 12s.
func duration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

// gap is a break in one participant's track between two recorded segments.
type gap struct {
	participant, track string
	at                 time.Time
	length             time.Duration
}

// interruption is the recorded interruption that explains g: the
// participant's, begun between a little before the segment ended (its
// start is the last media, the segment's end when the track closed) and
// the next segment's start.
func (g gap) interruption(ins []*models.Interruption) *models.Interruption {
	const slack = 10 * time.Second
	for _, in := range ins {
		if in.Participant == g.participant && !in.StartedAt.Before(g.at.Add(-slack)) && !in.StartedAt.After(g.at.Add(g.length)) {
			return in
		}
	}
	return nil
}

// recording is how long the customer's video was recorded in a call (the
// longest track when the customer sent no video) and the gaps of each
// track: a segment that starts more than a second after the one before it
// ended.
func recording(segs []*models.CallSegment) (time.Duration, []gap) {
	tracks := map[string][]*models.CallSegment{}
	for _, sg := range segs {
		k := sg.Participant + "/" + sg.Track
		tracks[k] = append(tracks[k], sg)
	}
	names := make([]string, 0, len(tracks))
	for k := range tracks {
		names = append(names, k)
	}
	sort.Strings(names)
	var longest, customer time.Duration
	var gaps []gap
	for _, k := range names {
		ss := tracks[k]
		sort.Slice(ss, func(i, j int) bool { return ss[i].StartedAt.Before(ss[j].StartedAt) })
		var total time.Duration
		for i, sg := range ss {
			if sg.EndedAt.After(sg.StartedAt) {
				total += sg.EndedAt.Sub(sg.StartedAt)
			}
			if i > 0 && sg.StartedAt.Sub(ss[i-1].EndedAt) > time.Second {
				gaps = append(gaps, gap{participant: sg.Participant, track: sg.Track, at: ss[i-1].EndedAt, length: sg.StartedAt.Sub(ss[i-1].EndedAt)})
			}
		}
		longest = max(longest, total)
		if k == "customer/video" {
			customer = total
		}
	}
	if customer > 0 {
		return customer, gaps
	}
	return longest, gaps
}
