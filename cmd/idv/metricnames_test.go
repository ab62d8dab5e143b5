package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// alertRules is the part of a Prometheus rules file the test reads.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert         string            `yaml:"alert"`
			Record        string            `yaml:"record"`
			Expr          string            `yaml:"expr"`
			For           string            `yaml:"for"`
			KeepFiringFor string            `yaml:"keep_firing_for"`
			Labels        map[string]string `yaml:"labels"`
			Annotations   map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// ruleExprs returns the expressions of a rules file by rule name.
func ruleExprs(t testing.TB, b []byte) map[string]string {
	t.Helper()
	var rules alertRules
	if err := yaml.UnmarshalWithOptions(b, &rules, yaml.Strict()); err != nil {
		t.Fatalf("alert rules: %v", err)
	}
	out := map[string]string{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			name := r.Alert + r.Record
			if name == "" || strings.TrimSpace(r.Expr) == "" {
				t.Fatalf("alert rules: group %s has a rule without a name or an expression: %+v", g.Name, r)
			}
			if r.Alert != "" && (r.Labels["severity"] == "" || r.Annotations["summary"] == "") {
				t.Errorf("alert rules: %s has no severity label or no summary", r.Alert)
			}
			out[name] = r.Expr
		}
	}
	return out
}

// dashboardExprs returns the query expressions of a Grafana dashboard by
// panel title and refId (every "expr" in any panel, rows included).
func dashboardExprs(t testing.TB, b []byte) map[string]string {
	t.Helper()
	var d struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	out := map[string]string{}
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		var p struct {
			Title   string `json:"title"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
			Panels []json.RawMessage `json:"panels"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatalf("dashboard panel: %v", err)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Fatalf("dashboard panel %q target %s has no expression", p.Title, tg.RefID)
			}
			out[p.Title+"/"+tg.RefID] = tg.Expr
		}
		for _, c := range p.Panels {
			walk(c)
		}
	}
	for _, p := range d.Panels {
		walk(p)
	}
	return out
}

var (
	promqlStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlVars     = regexp.MustCompile(`\$\{?\w+\}?`)
	promqlIdent    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*|[0-9][0-9A-Za-z_.]*`)
	// PromQL's keywords and the operators spelled as words; functions and
	// aggregations are recognised by the "(" after them.
	promqlKeywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "Inf", "NaN"}
)

// metricNames returns the metric names a PromQL expression selects: what
// is left once strings, label matchers, ranges, grouping labels, template
// variables, numbers, keywords and function names are taken out.
func metricNames(expr string) []string {
	s := promqlStrings.ReplaceAllString(expr, " ")
	s = promqlMatchers.ReplaceAllString(s, " ")
	s = promqlRanges.ReplaceAllString(s, " ")
	s = promqlGrouping.ReplaceAllString(s, " ")
	s = promqlVars.ReplaceAllString(s, " ")
	var names []string
	for _, loc := range promqlIdent.FindAllStringIndex(s, -1) {
		w := s[loc[0]:loc[1]]
		if w[0] >= '0' && w[0] <= '9' || slices.Contains(promqlKeywords, w) {
			continue
		}
		if rest := strings.TrimLeft(s[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function or an aggregation
		}
		if !slices.Contains(names, w) {
			names = append(names, w)
		}
	}
	return names
}

// exposedNames reads a /metrics page (text format) and returns every
// series name it may carry: each family's name, and for histograms and
// summaries their _bucket, _sum and _count series.
func exposedNames(t testing.TB, r io.Reader) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || f[0] != "#" || f[1] != "TYPE" {
			continue
		}
		names[f[2]] = true
		switch f[3] {
		case "histogram":
			names[f[2]+"_bucket"], names[f[2]+"_sum"], names[f[2]+"_count"] = true, true, true
		case "summary":
			names[f[2]+"_sum"], names[f[2]+"_count"] = true, true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	return names
}

// unknownNames returns, for each expression, the metric names it uses that
// exposed lacks ("where: name").
func unknownNames(exprs map[string]string, exposed map[string]bool) []string {
	var bad []string
	for where, e := range exprs {
		for _, n := range metricNames(e) {
			if !exposed[n] {
				bad = append(bad, where+": "+n)
			}
		}
	}
	slices.Sort(bad)
	return bad
}

// TestMetricNames: the name extraction finds metric names and nothing else.
func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`max(idv_mail_outbox_oldest_pending_seconds) > 900`, []string{"idv_mail_outbox_oldest_pending_seconds"}},
		{`sum by (le) (rate(idv_face_check_duration_seconds_bucket[$__rate_interval]))`, []string{"idv_face_check_duration_seconds_bucket"}},
		{`sum(increase(idv_face_checks_total{outcome="error", x=~"a|b"}[15m])) > 3`, []string{"idv_face_checks_total"}},
		{"a_total / on (instance) group_left (state) b_info\n and c offset 5m", []string{"a_total", "b_info", "c"}},
		{`histogram_quantile(0.95, sum without (route) (rate(x_bucket[5m]))) > 1e3 or vector(0)`, []string{"x_bucket"}},
		{`max(idv_domain_scrape_error) > 0 or max(idv_evidence_queue_scrape_error) > 0`, []string{"idv_domain_scrape_error", "idv_evidence_queue_scrape_error"}},
	}
	for _, tt := range tests {
		if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// TestMetricNamesInAlertsAndDashboard: every metric that
// docs/prometheus-alerts.yml and docs/grafana-dashboard.json use is one
// that idv serve registers: the test scrapes a running idv's metrics
// listener (the real server's registry with the archiver's and the domain
// collectors) and compares. A misspelled name fails it; so does the check
// of a copy of the rules with one name misspelled.
func TestMetricNamesInAlertsAndDashboard(t *testing.T) {
	metrics := freeAddr(t)
	idv := newE2EIDV(t, map[string]string{"IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir(), "IDV_METRICS_LISTEN": metrics})
	idv.serve()
	resp, err := http.Get(idv.origin + "/healthz") // the HTTP metrics have series once a request was served
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	exposed := exposedNames(t, resp.Body)
	for _, n := range []string{"idv_cases", "idv_calls_running", "idv_face_check_duration_seconds_bucket", "idv_registry_lookup_errors_total",
		"idv_mail_outbox_depth", "idv_evidence_queue_depth", "idv_http_requests_total"} {
		if !exposed[n] {
			t.Fatalf("idv serve's /metrics lacks %s (has %d names)", n, len(exposed))
		}
	}

	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "..", "docs", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rulesFile, dashFile := read("prometheus-alerts.yml"), read("grafana-dashboard.json")
	rules, dash := ruleExprs(t, rulesFile), dashboardExprs(t, dashFile)
	if len(rules) < 8 || len(dash) < 15 {
		t.Fatalf("read %d alert rules and %d dashboard queries, want at least 8 and 15", len(rules), len(dash))
	}
	for what, exprs := range map[string]map[string]string{"docs/prometheus-alerts.yml": rules, "docs/grafana-dashboard.json": dash} {
		used := 0
		for _, e := range exprs {
			used += len(metricNames(e))
		}
		if used < len(exprs) {
			t.Errorf("%s: %d metric names in %d expressions, want at least one each", what, used, len(exprs))
		}
		if bad := unknownNames(exprs, exposed); len(bad) > 0 {
			t.Errorf("%s uses metrics idv serve does not register:\n%s", what, strings.Join(bad, "\n"))
		}
	}

	// The check catches a misspelling.
	misspelled := strings.Replace(string(rulesFile), "idv_mail_outbox_depth", "idv_mail_outbox_dpeth", 1)
	if misspelled == string(rulesFile) {
		t.Fatal("docs/prometheus-alerts.yml does not use idv_mail_outbox_depth; pick another name to misspell")
	}
	if bad := unknownNames(ruleExprs(t, []byte(misspelled)), exposed); !slices.Equal(bad, []string{"IDVMailOutboxDeep: idv_mail_outbox_dpeth"}) {
		t.Errorf("unknownNames(rules with a misspelling) = %q, want the misspelled name", bad)
	}
}
