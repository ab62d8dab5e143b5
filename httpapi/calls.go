package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/signaling"
	"remoteidv/verify"
)

// callState is what the video-session handlers need.
type callState struct {
	hub   *signaling.Hub
	calls *verify.Calls
}

// staffSocket is the clerk's (runs the call) or a supervisor's (observes,
// receive-only) signaling WebSocket for a case. The socket closes when the
// staff member is disabled or the login ends (logout, expiry), and the hub
// checks the login again before every capture.
func (s *Server) staffSocket(c *gin.Context) error {
	a := actor(c)
	cs, runs, err := s.verify.JoinCall(c.Request.Context(), a, models.CaseID(c.Param("id")))
	if err != nil {
		return err
	}
	role := signaling.RoleObserver
	if runs {
		role = signaling.RoleClerk
	}
	p := principal(c)
	var session string
	if p.Session != nil {
		session = p.Session.IDHash
	}
	return s.serveCall(c, cs.ID, signaling.Participant{Role: role, CaseID: cs.ID, Actor: a.Name, Staff: p.Staff.ID, Session: session, Addr: clientAddr(c),
		Allowed: func(ctx context.Context, session string) error { return s.access.Revalidate(ctx, p, session) }})
}

type segmentView struct {
	Seq         int       `json:"seq"`
	Leg         int       `json:"leg"`
	Participant string    `json:"participant"`
	Track       string    `json:"track"`
	Evidence    string    `json:"evidence_id"`
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	StartedAt   time.Time `json:"started_at"`
	EndedAt     time.Time `json:"ended_at"`
}

type callView struct {
	ID        string     `json:"id"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	EndReason string     `json:"end_reason,omitempty"`
	Recording string     `json:"recording"`
	// Legs: how many nodes' turns the call took (1 unless a node went
	// away under it and another continued it); suspended_at: its node
	// stopped with it unfinished and nobody continued it yet.
	Legs        int           `json:"legs"`
	SuspendedAt *time.Time    `json:"suspended_at,omitempty"`
	Segments    []segmentView `json:"segments"`
	// Interruptions: each time a party dropped out, and why (ended_at
	// absent: they have not come back).
	Interruptions []interruptionView `json:"interruptions"`
}

type interruptionView struct {
	Participant string     `json:"participant"`
	Cause       string     `json:"cause"`
	Detail      string     `json:"detail,omitempty"`
	StartedAt   time.Time  `json:"started_at"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	ResumedIn   string     `json:"resumed_in,omitempty"`
}

// listCalls shows a case's calls with their recorded segments.
func (s *Server) listCalls(c *gin.Context) error {
	cs, calls, err := s.verify.CaseCalls(c.Request.Context(), actor(c), models.CaseID(c.Param("id")))
	if err != nil {
		return err
	}
	out := make([]callView, 0, len(calls))
	for _, k := range calls {
		v := callView{ID: string(k.ID), StartedAt: k.StartedAt, EndedAt: k.EndedAt, EndReason: k.EndReason, Recording: string(k.Recording), Legs: k.Legs, SuspendedAt: k.SuspendedAt, Segments: []segmentView{},
			Interruptions: []interruptionView{}}
		for _, in := range k.Interruptions {
			v.Interruptions = append(v.Interruptions, interruptionView{Participant: in.Participant, Cause: string(in.Cause), Detail: in.Detail,
				StartedAt: in.StartedAt, EndedAt: in.EndedAt, ResumedIn: string(in.ResumedIn)})
		}
		for _, sg := range k.Segments {
			v.Segments = append(v.Segments, segmentView{Seq: sg.Seq, Leg: models.SegmentLeg(sg.Seq), Participant: sg.Participant, Track: sg.Track, Evidence: string(sg.Evidence),
				SHA256: sg.SHA256, Size: sg.Size, StartedAt: sg.StartedAt, EndedAt: sg.EndedAt})
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"case_id": cs.ID, "calls": out})
	return nil
}
