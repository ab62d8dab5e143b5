package statement_test

import (
	"bytes"
	"context"
	"image/png"
	"testing"
	"time"

	"remoteidv/statement"
)

// TestFirstPagePNG: the preview of a statement is a PNG PreviewWidth
// pixels wide, A4-shaped, drawn by pdftoppm from the real PDF.
func TestFirstPagePNG(t *testing.T) {
	pdf, err := statement.Render(&statement.Statement{Bank: statement.Bank{Name: "Demo Bank"}, HolderName: "Li Wei", AccountNo: "6222020200112233", PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31",
		Sections: []statement.Section{{Currency: "CNY", Opening: 100}}, StatementID: "stm_preview", IssuedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := statement.FirstPagePNG(context.Background(), pdf)
	if err != nil {
		t.Fatalf("FirstPagePNG: %v", err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("preview is not a PNG: %v", err)
	}
	if cfg.Width != statement.PreviewWidth || cfg.Height < cfg.Width*14/10 || cfg.Height > cfg.Width*15/10 {
		t.Fatalf("preview is %dx%d, want %d wide and A4-shaped", cfg.Width, cfg.Height, statement.PreviewWidth)
	}
	if _, err := statement.FirstPagePNG(context.Background(), []byte("%PDF-1.4 not really")); err == nil {
		t.Fatal("statement.FirstPagePNG(broken PDF) succeeded")
	}
}
