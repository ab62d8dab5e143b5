package pdfcheck

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"

	"remoteidv/internal/pdfcpucfg"
)

// TestWalkFindsPackedObjects checks the parser's half alone: the objects
// pdfcpu unpacks from a compressed object stream are walked, names decoded.
func TestWalkFindsPackedObjects(t *testing.T) {
	for _, action := range []string{"/S /JavaScript /JS (x)", "/S /L#61unch /F (calc.exe)"} {
		var packed bytes.Buffer
		zw := zlib.NewWriter(&packed)
		objs := []string{"<< /Type /Pages /Kids [] /Count 0 >>", "<< " + action + " >>"}
		head := fmt.Sprintf("2 0 3 %d ", len(objs[0])+1)
		fmt.Fprintf(zw, "%s%s\n%s\n", head, objs[0], objs[1])
		_ = zw.Close()
		var b bytes.Buffer
		b.WriteString("%PDF-1.5\n")
		o1 := b.Len()
		b.WriteString("1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>\nendobj\n")
		o4 := b.Len()
		fmt.Fprintf(&b, "4 0 obj\n<< /Type /ObjStm /N 2 /First %d /Filter /FlateDecode /Length %d >>\nstream\n", len(head), packed.Len())
		b.Write(packed.Bytes())
		b.WriteString("\nendstream\nendobj\n")
		o5 := b.Len()
		var rows []byte
		for _, r := range [][3]int{{0, 0, 65535}, {1, o1, 0}, {2, 4, 0}, {2, 4, 1}, {1, o4, 0}, {1, o5, 0}} {
			rows = append(rows, byte(r[0]), byte(r[1]>>24), byte(r[1]>>16), byte(r[1]>>8), byte(r[1]), byte(r[2]>>8), byte(r[2]))
		}
		fmt.Fprintf(&b, "5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n", len(rows))
		b.Write(rows)
		fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", o5)

		pc, err := pdfcpu.ReadWithContext(context.Background(), bytes.NewReader(b.Bytes()), pdfcpucfg.Relaxed())
		if err != nil {
			t.Fatalf("read %q: %v", action, err)
		}
		var found error
		for _, e := range pc.XRefTable.Table {
			if e != nil && !e.Free {
				if err := walk(context.Background(), e.Object, 0); err != nil {
					found = err
				}
			}
		}
		var pe *Error
		if !errors.As(found, &pe) || pe.Kind != Active {
			t.Errorf("walk(objects of a file with packed %q) = %v, want an active-content refusal", action, found)
		}
	}
}
