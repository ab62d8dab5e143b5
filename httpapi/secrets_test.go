package httpapi_test

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"remoteidv/mail/mailtest"
)

// TestNoSecretAtRest runs the full review story on each database, then
// dumps every text and binary cell of every table and looks for what would
// let a reader of the dump act as the customer or read what was mailed:
// the invite token and link, the email codes (the one used and the one
// that expired undelivered), the statement PDF and the session cookies.
// Stored mail is also looked at decoded (MIME parts, base64, unfolded
// calendar lines), as a reader of the dump would.
func TestNoSecretAtRest(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			se := newStoryEnv(t, kind)
			e := se.env
			t.Cleanup(func() {
				if t.Failed() {
					t.Log(e.logs.String())
				}
			})
			st := runReviewStory(t, se)
			if len(st.codes) != 2 || st.token == "" || len(st.pdf) < 1000 || len(st.cookies) < 4 {
				t.Fatalf("story left codes %q, token %q, a %d-byte PDF, %d cookies", st.codes, st.token, len(st.pdf), len(st.cookies))
			}
			type secret struct {
				what string
				find func(b []byte) bool
			}
			contains := func(s string) func([]byte) bool { return func(b []byte) bool { return bytes.Contains(b, []byte(s)) } }
			secrets := []secret{
				{"the invite link", contains(st.link)},
				{"the invite token", contains(st.token)},
				{"the statement PDF", contains(string(st.pdf[len(st.pdf)/2 : len(st.pdf)/2+48]))},
				{"the statement PDF (base64 as mailed)", contains(pdfLine(t, st))},
			}
			for i, c := range st.codes {
				re := regexp.MustCompile(`(^|[^0-9A-Za-z])` + c + `($|[^0-9A-Za-z])`)
				secrets = append(secrets, secret{[]string{"the expired email code", "the used email code"}[i], re.Match})
			}
			for _, c := range st.cookies {
				secrets = append(secrets, secret{"a session cookie", contains(c)})
			}
			cells := dumpDB(t, e)
			if len(cells) < 100 {
				t.Fatalf("dump has only %d cells", len(cells))
			}
			for _, c := range cells {
				for _, v := range views(c.value) {
					for _, s := range secrets {
						if s.find(v) {
							t.Errorf("%s.%s holds %s", c.table, c.column, s.what)
						}
					}
				}
			}
		})
	}
}

// pdfLine returns a base64 line of the statement attachment as it went
// over the wire.
func pdfLine(t *testing.T, st *reviewStory) string {
	t.Helper()
	enc := base64.StdEncoding.EncodeToString(st.pdf)
	for _, m := range st.mails {
		for _, line := range strings.Split(string(m), "\r\n") {
			if len(line) == 76 && strings.Contains(enc, line) && strings.Index(enc, line) > len(enc)/3 {
				return line
			}
		}
	}
	t.Fatal("no mail carries the statement in base64 lines")
	return ""
}

type cell struct {
	table, column string
	value         []byte
}

// dumpDB reads every text and binary cell of every table of e's database.
func dumpDB(t *testing.T, e *env) []cell {
	t.Helper()
	db := e.store.(interface{ SQL() *sql.DB }).SQL()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	if e.store.(interface{ Dialect() string }).Dialect() == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	var tables []string
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 20 {
		t.Fatalf("only %d tables: %v", len(tables), tables)
	}
	var out []cell
	for _, tb := range tables {
		rows, err := db.Query(fmt.Sprintf(`SELECT * FROM %q`, tb))
		if err != nil {
			t.Fatalf("dump %s: %v", tb, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("dump %s: %v", tb, err)
			}
			for i, v := range vals {
				switch v := v.(type) {
				case string:
					out = append(out, cell{tb, cols[i], []byte(v)})
				case []byte:
					out = append(out, cell{tb, cols[i], v})
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("dump %s: %v", tb, err)
		}
		rows.Close()
	}
	return out
}

// views is a cell as stored and, when it is a mail message, its decoded
// parts (calendar lines unfolded).
func views(v []byte) [][]byte {
	out := [][]byte{v}
	if !bytes.Contains(v, []byte("MIME-Version")) {
		return out
	}
	p, err := mailtest.Parse(v)
	if err != nil {
		return out
	}
	unfold := strings.NewReplacer("\r\n ", "", "\n ", "")
	out = append(out, []byte(p.Subject), []byte(p.Text), []byte(p.HTML))
	for _, a := range p.Attachments {
		out = append(out, a, []byte(unfold.Replace(string(a))))
	}
	return out
}

// TestNoStatementPasswordAtRest runs the review story with the customer
// choosing a password for the emailed statement, on each database: the
// mailed attachment is the envelope, it holds the very file the supervisor
// approved, and after the story no table holds the password (the release
// deleted it), the statement or the envelope in clear.
func TestNoStatementPasswordAtRest(t *testing.T) {
	const pw = "Steuerberater-2026"
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			se := newStoryEnv(t, kind)
			se.statementPassword = pw
			st := runReviewStory(t, se)
			if len(st.envelope) < 1000 || bytes.Equal(st.envelope, st.pdf) {
				t.Fatalf("story mailed a %d-byte envelope", len(st.envelope))
			}
			mid := func(b []byte) []byte { return b[len(b)/2 : len(b)/2+48] }
			cells := dumpDB(t, se.env)
			for _, c := range cells {
				for _, v := range views(c.value) {
					for what, s := range map[string][]byte{"the statement password": []byte(pw), "the statement PDF": mid(st.pdf), "the envelope": mid(st.envelope)} {
						if bytes.Contains(v, s) {
							t.Errorf("%s.%s holds %s", c.table, c.column, what)
						}
					}
				}
			}
			if logs := se.env.logs.String(); strings.Contains(logs, pw) {
				t.Error("the log holds the statement password")
			}
		})
	}
}
