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

	"remoteidv/models"
)

func TestReviewConfigValidation(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string // "" for valid
	}{
		{map[string]string{"IDV_SMTP_ADDR": "mail.bank.example:587", "IDV_SMTP_USERNAME": "u", "IDV_SMTP_PASSWORD": "p"}, ""},
		{map[string]string{"IDV_SMTP_ADDR": "mail.bank.example"}, "IDV_SMTP_ADDR"},
		{map[string]string{"IDV_SMTP_ADDR": "mail.bank.example:25", "IDV_SMTP_TLS": "none", "IDV_SMTP_USERNAME": "u"}, "IDV_SMTP_ADDR"},
		{map[string]string{"IDV_SMTP_TLS": "ssl"}, "IDV_SMTP_TLS"},
		{map[string]string{"IDV_MAIL_FROM": "Bank <x@y>"}, "IDV_MAIL_FROM"},
		{map[string]string{"IDV_MAIL_INTERVAL": "0s"}, "IDV_MAIL_INTERVAL"},
		{map[string]string{"IDV_REGISTRY_URL": "ftp://registry"}, "IDV_REGISTRY_URL"},
		{map[string]string{"IDV_REGISTRY_TIMEOUT": "5m"}, "IDV_REGISTRY_TIMEOUT"},
		{map[string]string{"IDV_REGISTRY_CAPTURE_MAX_AGE": "45m", "IDV_REGISTRY_MAX_DATA_AGE": "2m"}, ""},
		{map[string]string{"IDV_REGISTRY_CAPTURE_MAX_AGE": "0s"}, "IDV_REGISTRY_CAPTURE_MAX_AGE"},
		{map[string]string{"IDV_REGISTRY_CAPTURE_MAX_AGE": "3h"}, "IDV_REGISTRY_CAPTURE_MAX_AGE"},
		{map[string]string{"IDV_REGISTRY_MAX_DATA_AGE": "-1m"}, "IDV_REGISTRY_MAX_DATA_AGE"},
	}
	for _, tt := range tests {
		_, _, err := loadConfig("serve", nil, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("loadConfig(%v) = %v, want valid", tt.env, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("loadConfig(%v) = %v, want an error naming %s", tt.env, err, tt.want)
		}
	}
}

func TestLedgerImport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.csv")
	if err := writeDemoLedger(path); err != nil {
		t.Fatal(err)
	}
	// The ledger's accounts must exist.
	env := map[string]string{"IDV_DATABASE_URL": "sqlite:" + filepath.Join(dir, "idv.db"), "IDV_SIGNING_KEY": filepath.Join(dir, "key.pem"), "IDV_LOG_LEVEL": "warn"}
	cfg, _, err := loadConfig("test", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := openApp(ctx, cfg, newLogger(cfg, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	err = a.store.Transact(ctx, func(tx models.Tx) error {
		for _, d := range demoAccounts {
			if err := tx.UpsertAccount(ctx, &models.Account{No: models.AccountNo(d.no), HolderName: d.name, NationalID: d.nationalID, Email: d.email,
				Phone: d.phone, TimeZone: d.tz, Language: d.lang, ImportedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, dir, "ledger", "import", "--csv", path)
	if err != nil || !strings.Contains(out, "new transactions") || strings.Contains(out, " 0 new") {
		t.Fatalf("ledger import = %v\n%s", err, out)
	}
	out, err = runCLI(t, dir, "ledger", "import", "--csv", path)
	if err != nil || !strings.Contains(out, "ledger: 0 new transactions") {
		t.Fatalf("ledger import again = %v\n%s, want 0 new", err, out)
	}
	bad := filepath.Join(dir, "bad.csv")
	_ = os.WriteFile(bad, []byte("account_no,booked_at,description,amount,currency\n1,yesterday,x,1.00,CNY\n"), 0o600)
	if out, err := runCLI(t, dir, "ledger", "import", "--csv", bad); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("ledger import of a bad file = %v\n%s, want an error naming line 2", err, out)
	}
}

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
