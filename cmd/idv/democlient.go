package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"remoteidv/httpapi"
)

// demoClient is a member of staff (or nobody) speaking the public API, as
// idv demo story and idv demo customer do: a cookie jar and the CSRF token.
type demoClient struct {
	base string
	http *http.Client
	csrf string
}

func newDemoClient(base string) *demoClient {
	jar, _ := cookiejar.New(nil)
	return &demoClient{base: strings.TrimSuffix(base, "/"), http: &http.Client{Jar: jar, Timeout: 2 * time.Minute}}
}

// apiError is an error answer of the API.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// call sends body (JSON unless it is []byte with ctype) and decodes a JSON
// answer into out; an error answer is an *apiError.
func (c *demoClient) call(ctx context.Context, method, path string, body any, out any, header ...string) error {
	var r io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case rawBody:
		r, ctype = bytes.NewReader(b.data), b.ctype
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return err
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	if r != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if c.csrf != "" && method != http.MethodGet {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var eb struct{ Error apiError }
		_ = json.Unmarshal(data, &eb)
		eb.Error.Status = resp.StatusCode
		return fmt.Errorf("%s %s: %w", method, path, &eb.Error)
	}
	switch o := out.(type) {
	case nil:
	case *[]byte:
		*o = data
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

type rawBody struct {
	ctype string
	data  []byte
}

// login logs user in and keeps the session and its CSRF token.
func (c *demoClient) login(ctx context.Context, user, password string) error {
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	if err := c.call(ctx, "POST", "/api/auth/login", map[string]string{"username": user, "password": password}, &out); err != nil {
		return fmt.Errorf("log in as %s: %w", user, err)
	}
	c.csrf = out.CSRF
	return nil
}

// stepUp re-enters the password (approvals need it within 5 minutes).
func (c *demoClient) stepUp(ctx context.Context, password string) error {
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	if err := c.call(ctx, "POST", "/api/auth/step-up", map[string]string{"password": password}, &out); err != nil {
		return fmt.Errorf("step up: %w", err)
	}
	if out.CSRF != "" {
		c.csrf = out.CSRF
	}
	return nil
}

// mailbox lists the demo mailbox's messages to address, newest first. A
// server not in demo mode answers 404: errNotDemo.
func (c *demoClient) mailbox(ctx context.Context, address string) ([]httpapi.DemoMail, error) {
	var out struct{ Messages []httpapi.DemoMail }
	err := c.call(ctx, "GET", "/api/demo/mailbox?to="+url.QueryEscape(address), nil, &out)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil, errNotDemo
	}
	return out.Messages, err
}

var errNotDemo = errors.New("the server is not in demo mode (IDV_DEMO): it has no demo mailbox, and the demo commands touch only demo-mode servers")

// waitMail waits until a message to address that pick accepts is in the
// demo mailbox, and returns what pick returned.
func (c *demoClient) waitMail(ctx context.Context, address, what string, d time.Duration, pick func(httpapi.DemoMail) string) (string, error) {
	deadline := time.Now().Add(d)
	for {
		msgs, err := c.mailbox(ctx, address)
		if err != nil {
			return "", err
		}
		for _, m := range msgs {
			if s := pick(m); s != "" {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no %s to %s in the demo mailbox within %v (is the mail outbox working? IDV_MAIL_INTERVAL)", what, address, d)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

var (
	joinLink = regexp.MustCompile(`^https?://\S+/join/[A-Za-z0-9_\-]+$`)
	sixDigit = regexp.MustCompile(`(?:^|\D)([0-9]{6})(?:\D|$)`)
)

// seen is the set of the messages to address now in the demo mailbox: a
// message that arrives later is not in it (clocks play no part).
func (c *demoClient) seen(ctx context.Context, address string) (map[string]bool, error) {
	msgs, err := c.mailbox(ctx, address)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, m := range msgs {
		out[m.ID] = true
	}
	return out, nil
}

// inviteLink picks the link of an invite mail not in seen.
func inviteLink(seen map[string]bool) func(httpapi.DemoMail) string {
	return func(m httpapi.DemoMail) string {
		if seen[m.ID] {
			return ""
		}
		for _, l := range m.Links {
			if joinLink.MatchString(l) {
				return l
			}
		}
		return ""
	}
}

// emailCode picks the code of a code mail (no links, no attachments) not in seen.
func emailCode(seen map[string]bool) func(httpapi.DemoMail) string {
	return func(m httpapi.DemoMail) string {
		if seen[m.ID] || len(m.Links) > 0 || len(m.Attachments) > 0 {
			return ""
		}
		if s := sixDigit.FindStringSubmatch(m.Text); s != nil {
			return s[1]
		}
		return ""
	}
}

// statementPDFMail picks a mail with a PDF attached not in seen.
func statementPDFMail(seen map[string]bool) func(httpapi.DemoMail) string {
	return func(m httpapi.DemoMail) string {
		if !seen[m.ID] && slices.ContainsFunc(m.Attachments, func(a string) bool { return strings.HasSuffix(strings.ToLower(a), ".pdf") }) {
			return m.ID
		}
		return ""
	}
}

func demoIdempotencyKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "demo-" + hex.EncodeToString(b)
}
