package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsOnTheirOwnListener: idv serve answers /metrics only on
// IDV_METRICS_LISTEN, never on the public listener the proxy forwards to;
// the metrics listener serves nothing else.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	metrics := freeAddr(t)
	idv := newE2EIDV(t, map[string]string{"IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir(), "IDV_METRICS_LISTEN": metrics})
	idv.serve()
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		url       string
		want      int
		isMetrics bool
	}{
		{idv.origin + "/metrics", http.StatusNotFound, false},
		{"http://" + metrics + "/metrics", http.StatusOK, true},
		{"http://" + metrics + "/healthz", http.StatusNotFound, false},
		{"http://" + metrics + "/api/auth/me", http.StatusNotFound, false},
	}
	for _, tt := range tests {
		code, body := get(tt.url)
		if code != tt.want || strings.Contains(body, "idv_http_requests_total") != tt.isMetrics {
			t.Errorf("GET %s = %d %.120q, want %d (metrics: %v)", tt.url, code, body, tt.want, tt.isMetrics)
		}
		if tt.isMetrics {
			// The webhook worker's metrics, for the alert rules.
			for _, name := range []string{"idv_webhook_delivery_failures_total 0", "idv_webhook_pending_deliveries 0", "idv_webhook_deliveries_given_up_total 0"} {
				if !strings.Contains(body, "\n"+name+"\n") {
					t.Errorf("GET %s does not report %q", tt.url, name)
				}
			}
		}
	}
}
