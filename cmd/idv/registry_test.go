package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRegistryServe(t *testing.T) {
	dir := t.TempDir()
	recs := filepath.Join(dir, "r.json")
	_ = os.WriteFile(recs, []byte(`[{"id_number":"110101198507150032","name":"Li Wei","status":"valid","updated_at":"2025-06-01T00:00:00Z"}]`), 0o600)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		var out bytes.Buffer
		done <- run(ctx, &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard, getenv: func(string) string { return "" }},
			[]string{"registry", "serve", "--records", recs, "--listen", addr, "--api-key", "k"})
	}()
	var resp *http.Response
	for i := 0; i < 100; i++ {
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1/lookup", strings.NewReader(`{"id_number":"110101198507150032","name":"LI WEI"}`))
		req.Header.Set("Authorization", "Bearer k")
		if resp, err = http.DefaultClient.Do(req); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("registry serve never answered: %v", err)
	}
	var a struct {
		Status    string `json:"status"`
		NameMatch bool   `json:"name_match"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&a)
	resp.Body.Close()
	if resp.StatusCode != 200 || a.Status != "valid" || !a.NameMatch {
		t.Fatalf("lookup = %d %+v", resp.StatusCode, a)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("registry serve: %v", err)
	}
}
