package pdfcheck_test

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"strconv"
	"testing"

	"remoteidv/verify"
)

// oracleName is a PDF name token as the simplest reader sees one.
var oracleName = regexp.MustCompile(`/([^\x00\t\n\f\r ()<>\[\]{}/%]*)`)

var oracleEscape = regexp.MustCompile(`#([0-9A-Fa-f]{2})`)

// oracleActive says whether a simple reading of pdf shows active content:
// a name JavaScript, JS, Launch or EmbeddedFile, escapes decoded, in the
// file's bytes or in a zlib stream that starts right after a "stream"
// line. It knows nothing of the checker's code.
func oracleActive(pdf []byte) bool {
	texts := [][]byte{pdf}
	for _, at := range regexp.MustCompile(`stream\r?\n`).FindAllIndex(pdf, 200) {
		zr, err := zlib.NewReader(bytes.NewReader(pdf[at[1]:]))
		if err != nil {
			continue
		}
		out, _ := io.ReadAll(io.LimitReader(zr, 1<<20))
		texts = append(texts, out)
	}
	for _, t := range texts {
		for _, m := range oracleName.FindAllSubmatch(t, -1) {
			name := oracleEscape.ReplaceAllFunc(m[1], func(h []byte) []byte {
				v, _ := strconv.ParseUint(string(h[1:]), 16, 8)
				return []byte{byte(v)}
			})
			switch string(name) {
			case "JavaScript", "JS", "Launch", "EmbeddedFile":
				return true
			}
		}
	}
	return false
}

// FuzzLetterPDF feeds PDFs to the letter check: it must never panic, and
// never accept a file in which the oracle sees active content.
func FuzzLetterPDF(f *testing.F) {
	for _, c := range cases() {
		if len(c.pdf) < 64<<10 {
			f.Add(c.pdf)
		}
	}
	f.Fuzz(func(t *testing.T, pdf []byte) {
		l, err := verify.CheckLetter(pdf)
		if err == nil && l.ContentType == "application/pdf" && oracleActive(pdf) {
			t.Fatalf("CheckLetter accepted a PDF with active content:\n%q", pdf)
		}
	})
}

// TestLetterPDF runs the table through the letter check the upload routes
// use: every hostile PDF is refused, the benign ones are kept as PDFs.
func TestLetterPDF(t *testing.T) {
	for _, tt := range cases() {
		t.Run(tt.name, func(t *testing.T) {
			l, err := verify.CheckLetter(tt.pdf)
			if tt.want == 0 {
				if err != nil || l.ContentType != "application/pdf" {
					t.Fatalf("CheckLetter(%s) = %v, want the PDF accepted", tt.name, err)
				}
				if oracleActive(tt.pdf) {
					t.Fatalf("oracleActive(%s) = true, want false: the fuzz oracle is wrong", tt.name)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckLetter(%s) accepted it, want a refusal", tt.name)
			}
		})
	}
}
