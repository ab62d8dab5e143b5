// Package registry talks to the national ID registry over HTTP/JSON and
// provides a reference registry server for development and tests
// (`idv registry serve`).
//
// The contract (also in docs/workflow.md and the OpenAPI document):
//
//	POST {base}/v1/lookup
//	Authorization: Bearer <api key>          (when the registry requires one)
//	Content-Type: application/json
//	{"id_number": "110101198507150032", "name": "Li Wei"}
//
//	200 {"status": "valid"|"invalid"|"deceased", "name_match": true,
//	     "photo": "<base64 JPEG, may be empty>", "data_as_of": "2025-06-01T00:00:00Z",
//	     "request_id": "..."}
//	400 malformed query; 401 bad key; 5xx registry trouble.
//
// data_as_of is the time as of which the answer's data is current (a live
// lookup answers with the time of the lookup, a replica or cache with its
// last synchronisation): the workflow refuses to pass an answer older than
// its limit (IDV_REGISTRY_MAX_DATA_AGE).
//
// The client speaks https only: a plain http:// base URL is refused unless
// it names a loopback address (the reference registry in tests) or
// AllowHTTP says so. It never follows a redirect: the query carries an ID
// number, a name and the API key, and goes only where it was configured to.
//
// The client turns anything but a well-formed 200 (timeouts, refused
// connections, 5xx, bad JSON, unknown status) into EUNAVAILABLE, so a
// registry problem can never read as a pass.
package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"remoteidv/models"
)

// maxAnswer caps a registry answer (a photo of a few hundred KiB).
const maxAnswer = 4 << 20

// Query is the request body of /v1/lookup.
type Query struct {
	IDNumber string `json:"id_number"`
	Name     string `json:"name"`
}

// Answer is the response body of /v1/lookup.
type Answer struct {
	Status    string    `json:"status"`
	NameMatch bool      `json:"name_match"`
	Photo     string    `json:"photo,omitempty"` // base64 JPEG
	DataAsOf  time.Time `json:"data_as_of"`
	RequestID string    `json:"request_id,omitempty"`
}

// Client is the HTTP/JSON registry client; it implements models.Registry.
type Client struct {
	BaseURL string
	APIKey  string
	Timeout time.Duration // per lookup; default 10 s
	HTTP    *http.Client
	Now     func() time.Time
	// AllowHTTP lets BaseURL be plain http:// on any host; without it
	// only loopback hosts may be.
	AllowHTTP bool
}

// CheckURL reports whether the client may send queries to base: https, or
// http on a loopback host (or any host with allowHTTP).
func CheckURL(base string, allowHTTP bool) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("registry URL: %w", err)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowHTTP || loopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("registry URL %s is plain http on a host that is not loopback", u.Redacted())
	}
	return fmt.Errorf("registry URL %s is not https", u.Redacted())
}

// loopback reports whether host is a loopback IP address or localhost.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// noRedirect stops the HTTP client at the first redirect, which then reads
// as the registry's answer (a 3xx: unavailable).
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Lookup asks the registry about q.
func (c *Client) Lookup(ctx context.Context, q models.RegistryQuery) (*models.RegistryAnswer, error) {
	if strings.TrimSpace(q.NationalID) == "" || strings.TrimSpace(q.Name) == "" {
		return nil, models.Errorf(models.EINVALID, "registry lookup needs an ID number and a name")
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	if err := CheckURL(c.BaseURL, c.AllowHTTP); err != nil {
		return nil, unavailable("registry URL refused", err)
	}
	var hc http.Client
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	hc.CheckRedirect = noRedirect
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := json.Marshal(Query{IDNumber: q.NationalID, Name: q.Name})
	if err != nil {
		return nil, fmt.Errorf("registry lookup: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/v1/lookup", bytes.NewReader(body))
	if err != nil {
		return nil, unavailable("bad registry URL", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	start := now()
	resp, err := hc.Do(req)
	if err != nil {
		return nil, unavailable("registry unreachable or timed out", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	elapsed := now().Sub(start)
	if err != nil {
		return nil, unavailable("registry answer cut off", err)
	}
	if len(raw) > maxAnswer {
		return nil, unavailable("registry answer too large", nil)
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest:
		return nil, models.Errorf(models.EINVALID, "the registry refused the query")
	case resp.StatusCode != http.StatusOK:
		return nil, unavailable(fmt.Sprintf("registry answered %d", resp.StatusCode), nil)
	}
	var a Answer
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&a); err != nil {
		return nil, unavailable("registry answer is not valid JSON", err)
	}
	switch a.Status {
	case models.RegistryValid, models.RegistryInvalid, models.RegistryDeceased:
	default:
		return nil, unavailable(fmt.Sprintf("registry status %q unknown", a.Status), nil)
	}
	photo, err := base64.StdEncoding.DecodeString(a.Photo)
	if err != nil {
		return nil, unavailable("registry photo is not base64", err)
	}
	return &models.RegistryAnswer{Status: a.Status, NameMatch: a.NameMatch, Photo: photo, DataAsOf: a.DataAsOf.UTC(), Elapsed: elapsed, Raw: raw}, nil
}

func unavailable(msg string, err error) error {
	e := models.Errorf(models.EUNAVAILABLE, "%s", msg)
	if err == nil {
		return e
	}
	return fmt.Errorf("%w: %w", e, err)
}
