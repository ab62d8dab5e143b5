// Package pdfcheck decides whether an uploaded PDF may be kept and shown to
// staff: it refuses active content (scripts, launch and other actions,
// attachments, forms that run, rich media, links) wherever it hides, in
// escaped names (/J#61vaScript) and in compressed object streams. It owns
// the PDF parser (github.com/pdfcpu/pdfcpu) and imports nothing of ours but
// internal/pdfcpucfg (pdfcpu's configuration, shared with its other user).
//
// Check reads the file twice. A plain scan decodes every name of the raw
// bytes and of every Flate stream (bounded: a small file that inflates to
// gigabytes is refused), which also covers bytes that no cross-reference
// points at but a lenient viewer may still find; pdfcpu then parses the
// file as a viewer does, object streams included, and every object it
// loads is walked for the same names.
package pdfcheck

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"remoteidv/internal/pdfcpucfg"
)

// Limits on what one file may cost to check.
const (
	// MaxInflated is how many bytes all of a file's compressed streams may
	// expand to together.
	MaxInflated = 64 << 20
	// MaxStreams is how many streams a file may have.
	MaxStreams = 10000
	// parseTimeout bounds the parser's time on one file.
	parseTimeout = 10 * time.Second
	// maxDepth bounds how deeply objects may nest.
	maxDepth = 200
)

// Kind says why a PDF was refused.
type Kind int

// Kinds of refusal.
const (
	// Malformed: the file does not parse as a PDF.
	Malformed Kind = iota + 1
	// Active: the file carries active content (Error.Name says which).
	Active
	// Unsupported: the file is encrypted, uses a filter that is not
	// checked (LZW, run-length, ASCII encodings, crypt), has too many
	// streams or expands past MaxInflated.
	Unsupported
)

func (k Kind) String() string {
	switch k {
	case Malformed:
		return "malformed"
	case Active:
		return "active content"
	case Unsupported:
		return "unsupported"
	}
	return "unknown"
}

// Error is a refusal.
type Error struct {
	Kind   Kind
	Name   string // the PDF name found (Active, and Unsupported filters)
	Detail string
}

func (e *Error) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("pdf %s: /%s: %s", e.Kind, e.Name, e.Detail)
	}
	return fmt.Sprintf("pdf %s: %s", e.Kind, e.Detail)
}

// activeNames are the PDF names (as keys or values, after decoding #xx
// escapes) whose presence refuses the file: actions that run code, start
// programs, open other files or addresses, submit or import data, or play
// media; embedded files (the file specification's EF, the stream's type)
// and file attachments; XFA forms; rich media. A non-empty EmbeddedFiles
// name tree is refused by the object walk (some writers, fpdf among them,
// write an empty one into every file). A
// scanned letter needs none of them. Links (URI) are refused too: a letter
// has no need of one, and a link in a letter staff open is a phishing lure.
var activeNames = map[string]bool{
	"JavaScript": true, "JS": true, "Launch": true,
	"EmbeddedFile": true, "EF": true, "FileAttachment": true,
	"RichMedia": true, "RichMediaExecute": true, "XFA": true,
	"URI": true, "SubmitForm": true, "ImportData": true,
	"GoToR": true, "GoToE": true, "Rendition": true, "Movie": true, "Sound": true,
}

// uncheckedNames are names whose presence means the parser would decode
// (or decrypt) bytes this package did not scan or bound.
var uncheckedNames = map[string]bool{
	"Encrypt":   true,
	"LZWDecode": true, "LZW": true, "RunLengthDecode": true, "RL": true,
	"ASCIIHexDecode": true, "AHx": true, "ASCII85Decode": true, "A85": true,
	"Crypt": true,
}

// IsActive reports whether name (decoded, without its slash) is active
// content.
func IsActive(name string) bool { return activeNames[name] }

// Check returns nil for a PDF that parses and carries no active content,
// else an *Error saying why not. It never panics on any input.
func Check(ctx context.Context, data []byte) (err error) {
	if err := scan(data); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Kind: Malformed, Detail: fmt.Sprintf("the parser failed: %v", r)}
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, parseTimeout)
	defer cancel()
	pc, perr := pdfcpu.ReadWithContext(ctx, bytes.NewReader(data), pdfcpucfg.Relaxed())
	if perr != nil {
		if ctx.Err() != nil && errors.Is(perr, ctx.Err()) {
			return &Error{Kind: Unsupported, Detail: "the file takes too long to read"}
		}
		return &Error{Kind: Malformed, Detail: firstLine(perr.Error())}
	}
	if pc.XRefTable.RootDict == nil && pc.XRefTable.Root == nil {
		return &Error{Kind: Malformed, Detail: "no document catalog"}
	}
	nrs := make([]int, 0, len(pc.XRefTable.Table))
	for nr := range pc.XRefTable.Table {
		nrs = append(nrs, nr)
	}
	sort.Ints(nrs)
	for _, nr := range nrs {
		e := pc.XRefTable.Table[nr]
		if e == nil || e.Free {
			continue
		}
		if err := walk(ctx, e.Object, 0); err != nil {
			return err
		}
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// walk looks for active names in o and what it holds.
func walk(ctx context.Context, o types.Object, depth int) error {
	if depth > maxDepth {
		return &Error{Kind: Unsupported, Detail: "objects nest too deeply"}
	}
	switch v := o.(type) {
	case types.Name:
		return nameErr(string(v))
	case *types.Name:
		if v != nil {
			return nameErr(string(*v))
		}
	case types.Dict:
		return walkDict(ctx, v, depth)
	case *types.Dict:
		if v != nil {
			return walkDict(ctx, *v, depth)
		}
	case types.StreamDict:
		return walkDict(ctx, v.Dict, depth)
	case *types.StreamDict:
		if v != nil {
			return walkDict(ctx, v.Dict, depth)
		}
	case types.ObjectStreamDict:
		return walkDict(ctx, v.Dict, depth)
	case *types.ObjectStreamDict:
		if v != nil {
			return walkDict(ctx, v.Dict, depth)
		}
	case types.XRefStreamDict:
		return walkDict(ctx, v.Dict, depth)
	case *types.XRefStreamDict:
		if v != nil {
			return walkDict(ctx, v.Dict, depth)
		}
	case types.LazyObjectStreamObject:
		return walkLazy(ctx, &v, depth)
	case *types.LazyObjectStreamObject:
		if v != nil {
			return walkLazy(ctx, v, depth)
		}
	case types.Array:
		for _, x := range v {
			if err := walk(ctx, x, depth+1); err != nil {
				return err
			}
		}
	case *types.Array:
		if v != nil {
			return walk(ctx, *v, depth)
		}
	}
	return nil
}

// emptyNameTree reports whether o is a name tree given in place with no
// names and no kids.
func emptyNameTree(o types.Object) bool {
	d, ok := o.(types.Dict)
	if !ok {
		return false
	}
	for k, v := range d {
		switch k {
		case "Names", "Kids":
			if a, ok := v.(types.Array); !ok || len(a) > 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// walkLazy walks an object pdfcpu left packed in its object stream until
// asked for, unpacking it.
func walkLazy(ctx context.Context, l *types.LazyObjectStreamObject, depth int) error {
	o, err := l.DecodedObject(ctx)
	if err != nil {
		return &Error{Kind: Malformed, Detail: "an object in an object stream: " + firstLine(err.Error())}
	}
	return walk(ctx, o, depth+1)
}

func walkDict(ctx context.Context, d types.Dict, depth int) error {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := nameErr(decodeName(k)); err != nil {
			return err
		}
		if decodeName(k) == "EmbeddedFiles" && !emptyNameTree(d[k]) {
			return &Error{Kind: Active, Name: "EmbeddedFiles", Detail: "the PDF carries attached files"}
		}
		if err := walk(ctx, d[k], depth+1); err != nil {
			return err
		}
	}
	return nil
}

func nameErr(n string) error {
	switch {
	case activeNames[n]:
		return &Error{Kind: Active, Name: n, Detail: "the PDF carries active content"}
	case uncheckedNames[n]:
		return &Error{Kind: Unsupported, Name: n, Detail: "encrypted PDFs and this encoding are not accepted"}
	}
	return nil
}

// scan checks the names of the raw bytes and of every Flate stream, within
// MaxStreams and MaxInflated.
func scan(data []byte) error {
	if err := scanNames(data); err != nil {
		return err
	}
	budget := int64(MaxInflated)
	streams := 0
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("stream"))
		if j < 0 {
			return nil
		}
		at := i + j
		i = at + len("stream")
		if at >= 3 && string(data[at-3:at]) == "end" {
			continue
		}
		if streams++; streams > MaxStreams {
			return &Error{Kind: Unsupported, Detail: fmt.Sprintf("more than %d streams", MaxStreams)}
		}
		body := data[i:]
		for len(body) > 0 && (body[0] == '\r' || body[0] == '\n' || body[0] == ' ') {
			body = body[1:]
		}
		if err := inflateScan(body, &budget, 0); err != nil {
			return err
		}
	}
}

// inflateScan inflates the zlib stream at the start of b (if there is
// one), scans its names, and goes on into a zlib stream it holds (two
// Flate filters in a row), all within budget.
func inflateScan(b []byte, budget *int64, depth int) error {
	if depth > 3 || !zlibHeader(b) {
		return nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, *budget+1))
	if int64(len(out)) > *budget {
		return &Error{Kind: Unsupported, Detail: fmt.Sprintf("the compressed streams expand past %d MiB", MaxInflated>>20)}
	}
	*budget -= int64(len(out))
	_ = err // a damaged stream is scanned as far as it inflates, as a viewer would show it
	if err := scanNames(out); err != nil {
		return err
	}
	return inflateScan(out, budget, depth+1)
}

// zlibHeader reports whether b starts with a zlib header (deflate, valid
// check bits, no preset dictionary).
func zlibHeader(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 && b[1]&0x20 == 0
}

// scanNames decodes every name token in b (a slash and the regular
// characters after it, #xx escapes decoded) and refuses active and
// unchecked ones.
func scanNames(b []byte) error {
	for i := 0; i < len(b); i++ {
		if b[i] != '/' {
			continue
		}
		j := i + 1
		for j < len(b) && regular(b[j]) {
			j++
		}
		if err := nameErr(decodeName(string(b[i+1 : j]))); err != nil {
			return err
		}
		i = j - 1
	}
	return nil
}

// regular reports whether c may be part of a name (PDF 32000-1, 7.2.2 and
// 7.3.5: not white-space, not a delimiter).
func regular(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ', '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return false
	}
	return true
}

// decodeName decodes the #xx escapes of a name; a '#' without two hex
// digits stays as it is.
func decodeName(s string) string {
	if !strings.Contains(s, "#") {
		return s
	}
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && i+2 < len(s) && hex(s[i+1]) >= 0 && hex(s[i+2]) >= 0 {
			out.WriteByte(byte(hex(s[i+1])<<4 | hex(s[i+2])))
			i += 2
			continue
		}
		out.WriteByte(s[i])
	}
	return out.String()
}

func hex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
