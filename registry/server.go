package registry

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"remoteidv/models"
)

// Record is one person in the reference registry.
type Record struct {
	IDNumber  string    `json:"id_number"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	Photo     []byte    `json:"-"`
	PhotoFile string    `json:"photo_file,omitempty"` // relative to the records file
	UpdatedAt time.Time `json:"updated_at"`
}

// LoadRecords reads a records file: JSON (an array of records) or CSV with
// the header id_number,name,status,photo_file,updated_at. Photo files are
// read relative to the records file.
func LoadRecords(path string) ([]Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("registry records: %w", err)
	}
	var recs []Record
	if strings.HasSuffix(strings.ToLower(path), ".json") {
		if err := json.Unmarshal(b, &recs); err != nil {
			return nil, fmt.Errorf("registry records %s: %w", path, err)
		}
	} else {
		rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
		if err != nil {
			return nil, fmt.Errorf("registry records %s: %w", path, err)
		}
		want := []string{"id_number", "name", "status", "photo_file", "updated_at"}
		if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(want, ",") {
			return nil, fmt.Errorf("registry records %s: header must be %s", path, strings.Join(want, ","))
		}
		for i, r := range rows[1:] {
			at, err := time.Parse(time.RFC3339, r[4])
			if err != nil {
				return nil, fmt.Errorf("registry records %s line %d: updated_at: %w", path, i+2, err)
			}
			recs = append(recs, Record{IDNumber: r[0], Name: r[1], Status: r[2], PhotoFile: r[3], UpdatedAt: at})
		}
	}
	for i := range recs {
		r := &recs[i]
		switch r.Status {
		case models.RegistryValid, models.RegistryInvalid, models.RegistryDeceased:
		default:
			return nil, fmt.Errorf("registry records %s: record %d: status %q", path, i+1, r.Status)
		}
		if r.PhotoFile != "" {
			if r.Photo, err = os.ReadFile(filepath.Join(filepath.Dir(path), r.PhotoFile)); err != nil {
				return nil, fmt.Errorf("registry records %s: record %d photo: %w", path, i+1, err)
			}
		}
	}
	return recs, nil
}

// Server is the reference registry: it answers /v1/lookup from records in
// memory. It is for development and tests, not a registry.
type Server struct {
	byID   map[string]Record
	apiKey string
	log    *slog.Logger
	// Delay, when set, is waited before every answer (to try timeouts).
	Delay time.Duration
	// Now is the clock (default time.Now). The answers' data_as_of is the
	// time of the answer less Lag: the reference registry answers from its
	// live records, and the record's updated_at is not the answer's age.
	Now func() time.Time
	// Lag, when set, makes the answers as stale as a lagging replica's
	// (to try the check of the data's age).
	Lag time.Duration
}

// NewServer serves recs; apiKey "" accepts any caller.
func NewServer(recs []Record, apiKey string, log *slog.Logger) *Server {
	s := &Server{byID: map[string]Record{}, apiKey: apiKey, log: log}
	for _, r := range recs {
		s.byID[r.IDNumber] = r
	}
	return s
}

// ServeHTTP answers POST /v1/lookup and GET /healthz.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.URL.Path != "/v1/lookup" || r.Method != http.MethodPost {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	if s.apiKey != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+s.apiKey)) != 1 {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	var q Query
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil || q.IDNumber == "" || q.Name == "" || len(q.IDNumber) > 32 || len(q.Name) > 200 {
		http.Error(w, `{"error":"id_number and name are required"}`, http.StatusBadRequest)
		return
	}
	if s.Delay > 0 {
		select {
		case <-time.After(s.Delay):
		case <-r.Context().Done():
			return
		}
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	a := Answer{Status: models.RegistryInvalid, DataAsOf: now().Add(-s.Lag).UTC()}
	if rec, ok := s.byID[q.IDNumber]; ok {
		a = Answer{Status: rec.Status, NameMatch: normalize(rec.Name) == normalize(q.Name), Photo: base64.StdEncoding.EncodeToString(rec.Photo), DataAsOf: a.DataAsOf}
	}
	s.log.InfoContext(r.Context(), "registry lookup", "query", models.RegistryQuery{NationalID: q.IDNumber}, "status", a.Status)
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(a); err != nil && !errors.Is(err, http.ErrHandlerTimeout) {
		s.log.WarnContext(r.Context(), "registry answer", "err", err)
	}
}

// normalize compares names ignoring case, spacing and punctuation.
func normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
