package httpapi_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
)

// TestCallGapsOnCasePages: the interruptions of a case's call, one the
// customer came back from and one the clerk did not, show on the clerk's,
// the supervisor's and the auditor's case pages with who, when, how long
// and the cause in the page's language; the calls API lists them too. The
// call, suspended by a node's shutdown and continued on another node,
// shows its two legs on the auditor's record and in the API.
func TestCallGapsOnCasePages(t *testing.T) {
	e := newEnv(t)
	clerk := e.login(t, "clerk")
	id := e.createCase(t, clerk)
	ctx := context.Background()
	leg, err := e.g.Calls.StartCall(ctx, models.CaseID(id), "staff:test")
	if err != nil {
		t.Fatal(err)
	}
	call := leg.Call
	// The clock stands still at e.now, when the call ends; the customer
	// dropped out 5 minutes before, the clerk 3 minutes before.
	at := e.now.Add(-5 * time.Minute)
	branch, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	show := func(d time.Duration) string { return at.Add(d).In(branch).Format("2006-01-02 15:04:05 MST") }
	if err := e.g.Calls.CallInterrupted(ctx, models.CaseID(id), call, "customer", models.CauseMediaFailed, "media connection failed", at); err != nil {
		t.Fatal(err)
	}
	if err := e.g.Calls.CallResumed(ctx, models.CaseID(id), call, "customer", at.Add(47*time.Second)); err != nil {
		t.Fatal(err)
	}
	// The customer's video in two segments around the drop: the auditor's
	// record names the gap's cause.
	for i, sg := range []*models.CallSegment{
		{CallID: call, Seq: 1, Participant: "customer", Track: "video", StartedAt: at.Add(-time.Minute), EndedAt: at.Add(time.Second)},
		{CallID: call, Seq: 2, Participant: "customer", Track: "video", StartedAt: at.Add(48 * time.Second), EndedAt: at.Add(4 * time.Minute)},
	} {
		sg.Evidence, sg.SHA256, sg.Size = models.EvidenceID(fmt.Sprintf("evd_seg%d", i)), fmt.Sprintf("%064x", i+1), 1000
		if err := e.store.Transact(ctx, func(tx models.Tx) error { return tx.AddCallSegment(ctx, sg) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.g.Calls.CallInterrupted(ctx, models.CaseID(id), call, "clerk", models.CauseNodeShutdown, "server shutting down", at.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}

	// The node shuts down (the call is suspended), the customer rejoins on
	// another node, which continues the call in its second leg, and the
	// call ends there 3 minutes after the clerk dropped out: they were out
	// for at least that long.
	if err := e.g.Calls.SuspendCall(ctx, models.CaseID(id), leg, "server shutting down"); err != nil {
		t.Fatal(err)
	}
	leg2, err := e.g.Calls.StartCall(ctx, models.CaseID(id), "staff:test")
	if err != nil || leg2.Call != call || leg2.Leg != 2 {
		t.Fatalf("StartCall after the suspension = %+v, %v; want %s leg 2", leg2, err, call)
	}
	if err := e.g.Calls.EndCall(ctx, models.CaseID(id), leg2, "everyone left", true); err != nil {
		t.Fatal(err)
	}

	row := regexp.MustCompile(`(?s)<tr data-cause="([a-z_]+)"[^>]*>(.*?)</tr>`)
	tag := regexp.MustCompile(`<[^>]+>`)
	for _, tc := range []struct {
		role, path, lang string
		want             []string // each row's text, in order
	}{
		{"clerk", "/console/cases/" + id, "en", []string{
			"1 customer " + show(0) + " " + show(47*time.Second) + " 47s media connection failed (ICE or DTLS) — media connection failed",
			"1 clerk " + show(2*time.Minute) + " not back 3m00s+ the server running the call shut down — server shutting down",
		}},
		{"supervisor", "/review/cases/" + id, "en", []string{"1 customer", "1 clerk " + show(2*time.Minute) + " not back 3m00s+"}},
		{"auditor", "/audit/cases/" + id, "zh-CN", []string{
			"1 客户 " + show(0) + " " + show(47*time.Second) + " 47s 媒体连接失败（ICE 或 DTLS） — media connection failed",
			"1 柜员 " + show(2*time.Minute) + " 未恢复 3m00s+ 运行通话的服务器已关闭",
		}},
	} {
		t.Run(tc.role, func(t *testing.T) {
			html := page(t, e.login(t, tc.role), tc.path, tc.lang)
			if !strings.Contains(html, `id="call-gaps"`) {
				t.Fatalf("%s's page %s has no interruptions section", tc.role, tc.path)
			}
			rows := row.FindAllStringSubmatch(html, -1)
			if len(rows) != len(tc.want) {
				t.Fatalf("%s's page: %d interruption rows, want %d", tc.role, len(rows), len(tc.want))
			}
			for i, r := range rows {
				text := strings.Join(strings.Fields(tag.ReplaceAllString(r[2], " ")), " ")
				if !strings.HasPrefix(text, tc.want[i]) {
					t.Errorf("%s's page row %d = %q, want it to start %q", tc.role, i, text, tc.want[i])
				}
			}
			if rows[0][1] != "media_failed" || rows[1][1] != "node_shutdown" || !strings.Contains(rows[1][0], `class="warn"`) {
				t.Errorf("%s's page: rows %q, %q, want media_failed then node_shutdown marked open", tc.role, rows[0][0], rows[1][0])
			}
		})
	}

	aud := page(t, e.login(t, "auditor"), "/audit/cases/"+id, "en")
	if want := "gap of 47s in the customer&#39;s video at " + show(time.Second) + ": media connection failed (ICE or DTLS)"; !strings.Contains(aud, want) {
		t.Errorf("the auditor's record lacks %q:\n%s", want, regexp.MustCompile(`(?s)<ul id="rs-recording".*?</ul>`).FindString(aud))
	}
	for lang, want := range map[string]string{"en": "run in 2 legs: a node took over", "zh-CN": "分 2 段进行"} {
		if aud := page(t, e.login(t, "auditor"), "/audit/cases/"+id, lang); !strings.Contains(aud, want) {
			t.Errorf("the auditor's record (%s) lacks %q:\n%s", lang, want, regexp.MustCompile(`(?s)<ul id="rs-recording".*?</ul>`).FindString(aud))
		}
	}

	var out struct {
		Calls []struct {
			Legs          int
			Interruptions []struct {
				Participant, Cause string
				EndedAt            *time.Time `json:"ended_at"`
				ResumedIn          string     `json:"resumed_in"`
			}
		}
	}
	if code := clerk.do("GET", "/api/cases/"+id+"/calls", nil, &out); code != 200 || len(out.Calls) != 1 || len(out.Calls[0].Interruptions) != 2 || out.Calls[0].Legs != 2 {
		t.Fatalf("GET calls: %d %+v, want one call in two legs with two interruptions", code, out)
	}
	if in := out.Calls[0].Interruptions; in[0].Cause != "media_failed" || in[0].EndedAt == nil || in[0].ResumedIn != string(call) ||
		in[1].Cause != "node_shutdown" || in[1].EndedAt != nil {
		t.Errorf("GET calls: interruptions %+v, want media_failed resumed in %s, then node_shutdown open", in, call)
	}
}
