package registry_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/registry"
)

var t0 = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func records() []registry.Record {
	return []registry.Record{
		{IDNumber: "110101198507150032", Name: "Li Wei", Status: models.RegistryValid, Photo: []byte("\xff\xd8jpeg"), UpdatedAt: t0},
		{IDNumber: "310104199002287713", Name: "Zhang Min", Status: models.RegistryDeceased, UpdatedAt: t0},
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestLookup(t *testing.T) {
	srv := httptest.NewServer(registry.NewServer(records(), "key1", quiet()))
	defer srv.Close()
	c := &registry.Client{BaseURL: srv.URL, APIKey: "key1", Timeout: 2 * time.Second}
	tests := []struct {
		name      string
		q         models.RegistryQuery
		status    string
		nameMatch bool
		photo     bool
	}{
		{"valid, same name", models.RegistryQuery{NationalID: "110101198507150032", Name: "li  WEI"}, models.RegistryValid, true, true},
		{"valid, other name", models.RegistryQuery{NationalID: "110101198507150032", Name: "Wang Jun"}, models.RegistryValid, false, true},
		{"deceased", models.RegistryQuery{NationalID: "310104199002287713", Name: "Zhang Min"}, models.RegistryDeceased, true, false},
		{"unknown", models.RegistryQuery{NationalID: "999", Name: "Nobody"}, models.RegistryInvalid, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := c.Lookup(context.Background(), tt.q)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if a.Status != tt.status || a.NameMatch != tt.nameMatch || (len(a.Photo) > 0) != tt.photo {
				t.Errorf("Lookup(%s) = %s/%v/photo %d bytes, want %s/%v/%v", tt.name, a.Status, a.NameMatch, len(a.Photo), tt.status, tt.nameMatch, tt.photo)
			}
			if len(a.Raw) == 0 || a.Elapsed <= 0 {
				t.Errorf("Lookup(%s) raw %d bytes, elapsed %v; want both set", tt.name, len(a.Raw), a.Elapsed)
			}
		})
	}
}

// TestLookupUnavailable: nothing but a well-formed answer may come back
// as anything other than unavailable (never a pass).
func TestLookupUnavailable(t *testing.T) {
	slow := registry.NewServer(records(), "", quiet())
	slow.Delay = 2 * time.Second
	handlers := map[string]http.Handler{
		"timeout": slow,
		"500":     http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }),
		"bad json": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"status":"valid","name_match":tr`))
		}),
		"unknown status": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"status":"probably","name_match":true}`))
		}),
		"bad photo": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"status":"valid","name_match":true,"photo":"%%%"}`))
		}),
		"wrong key": registry.NewServer(records(), "other", quiet()),
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			c := &registry.Client{BaseURL: srv.URL, APIKey: "key1", Timeout: 200 * time.Millisecond}
			a, err := c.Lookup(context.Background(), models.RegistryQuery{NationalID: "110101198507150032", Name: "Li Wei"})
			if got := models.ErrorCodeOf(err); got != models.EUNAVAILABLE {
				t.Errorf("Lookup(%s) = %+v, %v (%s), want unavailable", name, a, err, got)
			}
		})
	}
	t.Run("down", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		c := &registry.Client{BaseURL: url, Timeout: time.Second}
		if _, err := c.Lookup(context.Background(), models.RegistryQuery{NationalID: "1", Name: "x"}); models.ErrorCodeOf(err) != models.EUNAVAILABLE {
			t.Errorf("Lookup(down) = %v, want unavailable", err)
		}
	})
	t.Run("empty query", func(t *testing.T) {
		c := &registry.Client{BaseURL: "http://127.0.0.1:1"}
		if _, err := c.Lookup(context.Background(), models.RegistryQuery{Name: "x"}); models.ErrorCodeOf(err) != models.EINVALID {
			t.Errorf("Lookup(no id) = %v, want invalid", err)
		}
	})
}

func TestLoadRecords(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.jpg"), []byte("\xff\xd8x"), 0o600); err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, "r.csv")
	_ = os.WriteFile(csvPath, []byte("id_number,name,status,photo_file,updated_at\n1,A B,valid,p.jpg,2025-01-01T00:00:00Z\n"), 0o600)
	jsonPath := filepath.Join(dir, "r.json")
	_ = os.WriteFile(jsonPath, []byte(`[{"id_number":"1","name":"A B","status":"valid","photo_file":"p.jpg","updated_at":"2025-01-01T00:00:00Z"}]`), 0o600)
	for _, p := range []string{csvPath, jsonPath} {
		recs, err := registry.LoadRecords(p)
		if err != nil {
			t.Fatalf("LoadRecords(%s): %v", p, err)
		}
		if len(recs) != 1 || string(recs[0].Photo) != "\xff\xd8x" || recs[0].Name != "A B" {
			t.Errorf("LoadRecords(%s) = %+v, want one record with its photo", p, recs)
		}
	}
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`[{"id_number":"1","name":"A","status":"maybe","updated_at":"2025-01-01T00:00:00Z"}]`), 0o600)
	if _, err := registry.LoadRecords(bad); err == nil {
		t.Error("LoadRecords(unknown status) = nil error, want one")
	}
}

// The reference registry's data_as_of is the time of its answer (less the
// configured lag), not the record's last update: the workflow enforces the
// answer's age with it.
func TestDataAsOfIsTheAnswersAge(t *testing.T) {
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	for _, lag := range []time.Duration{0, 25 * time.Minute} {
		s := registry.NewServer(records(), "", quiet())
		s.Now, s.Lag = func() time.Time { return now }, lag
		srv := httptest.NewServer(s)
		a, err := (&registry.Client{BaseURL: srv.URL, Timeout: 2 * time.Second}).Lookup(context.Background(), models.RegistryQuery{NationalID: "110101198507150032", Name: "Li Wei"})
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := now.Add(-lag); !a.DataAsOf.Equal(want) {
			t.Errorf("lag %s: DataAsOf = %s, want %s (not the record's updated_at %s)", lag, a.DataAsOf, want, t0)
		}
	}
}

// countingTransport answers every request with the reference server and
// counts what it was sent.
type countingTransport struct {
	h http.Handler
	n int
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n++
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// TestClientRefusesPlainHTTP: the client sends the ID number, the name and
// the key over https only; plain http only to a loopback host or when
// allowed in so many words. A refused URL sends nothing.
func TestClientRefusesPlainHTTP(t *testing.T) {
	q := models.RegistryQuery{NationalID: "110101198507150032", Name: "Li Wei"}
	tests := []struct {
		base      string
		allowHTTP bool
		ok        bool
	}{
		{"https://registry.bank.example", false, true},
		{"http://registry.bank.example", false, false},
		{"http://registry.bank.example", true, true},
		{"http://10.1.2.3:8443", false, false},
		{"http://127.0.0.1:9300", false, true},
		{"http://[::1]:9300", false, true},
		{"http://localhost:9300", false, true},
		{"ftp://registry.bank.example", true, false},
	}
	for _, tt := range tests {
		if err := registry.CheckURL(tt.base, tt.allowHTTP); (err == nil) != tt.ok {
			t.Errorf("CheckURL(%q, %v) = %v, want ok %v", tt.base, tt.allowHTTP, err, tt.ok)
		}
		tr := &countingTransport{h: registry.NewServer(records(), "", quiet())}
		c := &registry.Client{BaseURL: tt.base, AllowHTTP: tt.allowHTTP, Timeout: 2 * time.Second, HTTP: &http.Client{Transport: tr}}
		a, err := c.Lookup(context.Background(), q)
		switch {
		case tt.ok && (err != nil || a.Status != models.RegistryValid):
			t.Errorf("Lookup via %s (allow http %v) = %v, %v, want an answer", tt.base, tt.allowHTTP, a, err)
		case !tt.ok && (models.ErrorCodeOf(err) != models.EUNAVAILABLE || tr.n != 0):
			t.Errorf("Lookup via %s (allow http %v) = %v after %d requests, want EUNAVAILABLE and nothing sent", tt.base, tt.allowHTTP, err, tr.n)
		}
	}
}

// TestClientDoesNotFollowRedirects: a redirect from the registry's address
// (a hijacked or misconfigured front end) is an unavailable registry; the
// query never goes where it points.
func TestClientDoesNotFollowRedirects(t *testing.T) {
	elsewhere := 0
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere++
		registry.NewServer(records(), "", quiet()).ServeHTTP(w, r)
	}))
	defer other.Close()
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, code)
		}))
		c := &registry.Client{BaseURL: srv.URL, Timeout: 2 * time.Second, HTTP: &http.Client{}}
		a, err := c.Lookup(context.Background(), models.RegistryQuery{NationalID: "110101198507150032", Name: "Li Wei"})
		srv.Close()
		if models.ErrorCodeOf(err) != models.EUNAVAILABLE || elsewhere != 0 {
			t.Errorf("Lookup answered by a %d redirect = %v, %v; the redirect's target was asked %d times; want EUNAVAILABLE and 0", code, a, err, elsewhere)
		}
	}
}
