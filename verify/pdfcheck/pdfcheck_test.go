package pdfcheck_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"remoteidv/verify/pdfcheck"
)

// pdfFile builds a PDF with a classic cross-reference table from the
// bodies of objects 1..n (object 1 is the catalog). trailer is added to
// the trailer dictionary.
func pdfFile(objs []string, trailer string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, trailer, x)
	return b.Bytes()
}

func deflate(s []byte) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	_, _ = w.Write(s)
	_ = w.Close()
	return b.Bytes()
}

// objStmPDF builds a PDF 1.5 whose objects 1..len(plain) are written
// plainly and whose objects after them are packed, Flate-compressed, in an
// object stream, with a compressed cross-reference stream: what a modern
// writer makes, and where a byte scan of the file sees nothing of the
// packed objects.
func objStmPDF(plain, packed []string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
	n := len(plain) + len(packed)
	stm := n + 1 // the object stream
	xr := n + 2  // the xref stream
	offs := map[int]int{}
	for i, o := range plain {
		offs[i+1] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	var head, body bytes.Buffer
	for i, o := range packed {
		fmt.Fprintf(&head, "%d %d ", len(plain)+i+1, body.Len())
		body.WriteString(o + "\n")
	}
	content := deflate(append(head.Bytes(), body.Bytes()...))
	offs[stm] = b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n", stm, len(packed), head.Len(), len(content))
	b.Write(content)
	b.WriteString("\nendstream\nendobj\n")
	offs[xr] = b.Len()
	var rows bytes.Buffer
	row := func(t byte, f2 int, f3 int) {
		rows.WriteByte(t)
		rows.Write([]byte{byte(f2 >> 24), byte(f2 >> 16), byte(f2 >> 8), byte(f2)})
		rows.Write([]byte{byte(f3 >> 8), byte(f3)})
	}
	row(0, 0, 65535)
	for nr := 1; nr <= xr; nr++ {
		if nr > len(plain) && nr <= n {
			row(2, stm, nr-len(plain)-1)
		} else {
			row(1, offs[nr], 0)
		}
	}
	xc := deflate(rows.Bytes())
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length %d >>\nstream\n", xr, xr+1, len(xc))
	b.Write(xc)
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", offs[xr])
	return b.Bytes()
}

const (
	pages = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
	page  = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>"
)

func contents(s string) string {
	return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(s), s)
}

// benign is a one-page letter with a line of text and a link to its own
// second look at the page (GoTo, not active).
func benign() []byte {
	return pdfFile([]string{"<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit] >>", pages, page, contents("BT /F1 12 Tf 20 100 Td (I authorize the bank) Tj ET")}, "")
}

func hostile(catalogExtra string, more ...string) []byte {
	objs := append([]string{"<< /Type /Catalog /Pages 2 0 R " + catalogExtra + " >>", pages, page, contents("BT ET")}, more...)
	return pdfFile(objs, "")
}

// Cases are the table of PDFs the checker must refuse, and the benign ones
// it must accept; the fuzz target seeds from it.
func cases() []struct {
	name string
	pdf  []byte
	want pdfcheck.Kind // 0: accepted
} {
	return []struct {
		name string
		pdf  []byte
		want pdfcheck.Kind
	}{
		{"benign", benign(), 0},
		{"benign with object stream", objStmPDF([]string{"<< /Type /Catalog /Pages 2 0 R >>"}, []string{pages, page, "<< /Info (x) >>"}), 0},
		{"javascript", hostile("/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), pdfcheck.Active},
		{"escaped javascript", hostile("/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>"), pdfcheck.Active},
		{"escaped upper-case hex", hostile("/OpenAction << /S /#4A#61vaScript /#4a#53 (x) >>"), pdfcheck.Active},
		{"launch", hostile("/OpenAction << /S /Launch /F (calc.exe) >>"), pdfcheck.Active},
		{"escaped launch", hostile("/OpenAction << /S /L#61unch /F (cmd.exe) >>"), pdfcheck.Active},
		{"embedded file", hostile("/Names << /EmbeddedFiles << /Names [(a.exe) 5 0 R] >> >>",
			"<< /Type /Filespec /F (a.exe) /EF << /F 6 0 R >> >>", "<< /Type /EmbeddedFile /Length 2 >>\nstream\nMZ\nendstream"), pdfcheck.Active},
		{"embedded file in an object stream", objStmPDF([]string{"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 4 0 R >> >>"},
			[]string{pages, "<< /Type /Page /Parent 2 0 R >>", "<< /Names [(a.exe) 5 0 R] >>", "<< /Type /Filespec /F (a.exe) /E#46 << /F 6 0 R >> >>", "<< /Info 1 >>"}), pdfcheck.Active},
		{"empty attachment tree (fpdf writes one)", hostile("/Names << /EmbeddedFiles << /Names [ ] >> >>"), 0},
		{"file attachment annotation", hostile("", "<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 9 9] >>"), pdfcheck.Active},
		{"uri action", hostile("/OpenAction << /S /URI /URI (https://evil.example/) >>"), pdfcheck.Active},
		{"xfa form", hostile("/AcroForm << /Fields [] /XFA 5 0 R >>", contents("<xdp/>")), pdfcheck.Active},
		{"rich media", hostile("", "<< /Type /Annot /Subtype /RichMedia /Rect [0 0 9 9] >>"), pdfcheck.Active},
		{"submit form", hostile("/OpenAction << /S /SubmitForm /F (https://evil.example/) >>"), pdfcheck.Active},
		{"javascript in a compressed object stream", objStmPDF([]string{"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>"},
			[]string{pages, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>", "<< /S /JavaScript /JS (app.alert(1)) >>"}), pdfcheck.Active},
		{"escaped launch in a compressed object stream", objStmPDF([]string{"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>"},
			[]string{pages, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>", "<< /S /L#61unch /F (calc.exe) >>"}), pdfcheck.Active},
		{"javascript in page additional actions", hostile("", "<< /Type /Page /AA << /O << /S /JavaScript /JS 6 0 R >> >> >>", contents("app.alert(1)")), pdfcheck.Active},
		{"encrypted", pdfFile([]string{"<< /Type /Catalog /Pages 2 0 R >>", pages, page, contents("BT ET"), "<< /Filter /Standard /V 1 /R 2 >>"}, "/Encrypt 5 0 R "), pdfcheck.Unsupported},
		{"lzw stream", hostile("", "<< /Length 3 /Filter /LZWDecode >>\nstream\nabc\nendstream"), pdfcheck.Unsupported},
		{"compression bomb", hostile("", fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", len(bomb()), bomb())), pdfcheck.Unsupported},
		{"not a pdf", []byte("%PDF-1.4\nthis is not a PDF at all\n%%EOF\n"), pdfcheck.Malformed},
	}
}

// bomb is a Flate stream that expands past MaxInflated.
func bomb() []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	zero := make([]byte, 1<<20)
	for i := 0; i < pdfcheck.MaxInflated>>20+1; i++ {
		_, _ = w.Write(zero)
	}
	_ = w.Close()
	return b.Bytes()
}

func TestCheck(t *testing.T) {
	for _, tt := range cases() {
		t.Run(tt.name, func(t *testing.T) {
			err := pdfcheck.Check(context.Background(), tt.pdf)
			var pe *pdfcheck.Error
			switch {
			case tt.want == 0 && err != nil:
				t.Fatalf("Check(%s) = %v, want nil", tt.name, err)
			case tt.want == 0:
			case !errors.As(err, &pe):
				t.Fatalf("Check(%s) = %v, want a %s refusal", tt.name, err, tt.want)
			case pe.Kind != tt.want:
				t.Fatalf("Check(%s) = %v (%s), want %s", tt.name, err, pe.Kind, tt.want)
			}
		})
	}
}

// TestObjectStreamHidesFromByteScan shows why the parser is needed: the
// packed object's JavaScript is not in the file's bytes.
func TestObjectStreamHidesFromByteScan(t *testing.T) {
	f := objStmPDF([]string{"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>"},
		[]string{pages, "<< /Type /Page /Parent 2 0 R >>", "<< /S /JavaScript /JS (app.alert(1)) >>"})
	if bytes.Contains(f, []byte("JavaScript")) {
		t.Fatal("the packed object is visible in the file's bytes; the test proves nothing")
	}
	if err := pdfcheck.Check(context.Background(), f); err == nil || !strings.Contains(err.Error(), "JavaScript") {
		t.Fatalf("Check(packed JavaScript) = %v, want a refusal naming JavaScript", err)
	}
}
