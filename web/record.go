package web

// CaseRecord is what the auditor's case page shows above everything else,
// rendered on the server (it reads without JavaScript and prints): the
// answer first (outcome, who decided, key times, checks, recording,
// whether the chain and the bundle verify), then the timeline with its
// filters and the evidence grouped by kind. Every text is already in the
// page's language or a message key (fields named Key).
type CaseRecord struct {
	State, Reason string // State is a case state (message "state.<State>")
	Clerks        []string
	Supervisor    string // the supervisor who approved; "" when none did
	DecisionKey   string // "record.supervisor" or "record.decider"
	Times         []RecordTime
	Checks        []RecordCheck
	Calls         []string // one line per call: length, recorded, gaps
	Gaps          []string
	EvidenceCount int
	ChainOK       bool
	ChainNote     string
	Sealed        bool
	BundleOK      bool
	BundleNote    string

	Events      []RecordEvent // after the filters
	Total       int           // events before the filters
	Shown       string        // "12 of 40 events"
	Kinds       []RecordOption
	Actors      []RecordOption
	Filtered    bool
	Evidence    []EvidenceGroup
	EvidenceAPI string // /api/cases/<id>/evidence
}

// RecordTime is one key time, in the branch's zone and, where it matters,
// the customer's.
type RecordTime struct {
	Key, Branch, Customer string
}

// RecordCheck is one check's result in words.
type RecordCheck struct {
	Key, Result, By, At string
	Good                bool
}

// RecordEvent is one audit event as people read it, with the raw event.
type RecordEvent struct {
	Seq            int64
	At, AtCustomer string
	Who, Sentence  string
	Action, Actor  string
	Hash, PrevHash string
	Group          string // the action's first word, for styles and filters
	ActorKey       string // the actor in the filter (never a staff id: staff:<username>)
	Detail         []string
}

// RecordOption is one choice of a filter.
type RecordOption struct {
	Value, Label string
	Selected     bool
}

// EvidenceGroup is the evidence of one kind.
type EvidenceGroup struct {
	Kind  string // a models.EvidenceKind
	Items []EvidenceItem
}

// EvidenceItem is one evidence item with how to preview it: Preview is
// "image", "video", "audio", "pdf" or "" (a download link only).
type EvidenceItem struct {
	ID, Kind, SHA256, ContentType string
	Size                          int64
	By, At, Archived              string
	Preview, Href, Src            string
}

// CallGaps is every interruption of a case's calls, rendered on the
// server: who dropped out, when, for how long and why.
type CallGaps struct {
	Calls int // how many calls the case had
	Rows  []CallGap
}

// CallGap is one interruption in the page's language. Open: the party has
// not come back (End is empty; Length is at least: to the call's end, or
// to the time of the page while the call runs).
type CallGap struct {
	Call          int    // the call's number in the case (1, 2, ...)
	Participant   string // in words
	Start, End    string
	Length        string
	Cause         string // models.InterruptionCause, for styles and tests
	CauseText     string // the cause in words
	Detail        string // the media server's own words
	Open          bool
	ResumedInNext bool // the party came back in a later call
}
