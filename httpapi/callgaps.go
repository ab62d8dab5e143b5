package httpapi

import (
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/web"
)

// callGaps lists the interruptions of the calls of the request's case in
// lang, for the case pages; nil before the case's first call.
func (s *Server) callGaps(c *gin.Context, lang string) (*web.CallGaps, error) {
	ctx, a, id := c.Request.Context(), actor(c), models.CaseID(c.Param("id"))
	_, calls, err := s.verify.CaseCalls(ctx, a, id)
	if err != nil || len(calls) == 0 {
		return nil, err
	}
	n := s.narrator(ctx, lang)
	return gapRows(n, calls, s.access.Now()), nil
}

// gapRows is every interruption of calls, call by call, in n's language;
// an open one is measured to its call's end, or to now.
func gapRows(n *narrator, calls []*models.Call, now time.Time) *web.CallGaps {
	g := &web.CallGaps{Calls: len(calls), Rows: []web.CallGap{}}
	number := make(map[models.CallID]int, len(calls))
	for i, k := range calls {
		number[k.ID] = i + 1
	}
	for i, k := range calls {
		for _, in := range k.Interruptions {
			// An open one lasted at least until the call ended (or until
			// now, while it runs): the page says "at least".
			until := now
			if k.EndedAt != nil && k.EndedAt.After(in.StartedAt) {
				until = *k.EndedAt
			}
			row := web.CallGap{Call: i + 1, Participant: n.t("party." + in.Participant), Start: n.at(in.StartedAt),
				Length: duration(in.Length(until)), Cause: string(in.Cause), CauseText: n.t("cause." + string(in.Cause)),
				Detail: in.Detail, Open: in.EndedAt == nil}
			if in.EndedAt != nil {
				row.End = n.at(*in.EndedAt)
				row.ResumedInNext = number[in.ResumedIn] > i+1
			}
			g.Rows = append(g.Rows, row)
		}
	}
	return g
}
