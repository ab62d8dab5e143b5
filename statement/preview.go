package statement

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"remoteidv/models"
)

// PreviewWidth is the width in pixels of a first-page preview.
const PreviewWidth = 800

// FirstPagePNG draws the first page of a statement PDF as a PNG
// PreviewWidth pixels wide with poppler's pdftoppm (Debian poppler-utils),
// for the supervisor who reviews the statement before approving it. It
// gives pdftoppm 20 seconds. Without pdftoppm it is EUNAVAILABLE, naming
// the package.
func FirstPagePNG(ctx context.Context, pdf []byte) ([]byte, error) {
	bin, err := exec.LookPath("pdftoppm")
	if err != nil {
		return nil, models.Errorf(models.EUNAVAILABLE, "statement preview: pdftoppm is not installed (Debian poppler-utils)")
	}
	dir, err := os.MkdirTemp("", "idv-preview-")
	if err != nil {
		return nil, fmt.Errorf("statement preview: %w", err)
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "statement.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		return nil, fmt.Errorf("statement preview: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out := filepath.Join(dir, "page")
	cmd := exec.CommandContext(ctx, bin, "-png", "-f", "1", "-l", "1", "-scale-to-x", fmt.Sprint(PreviewWidth), "-scale-to-y", "-1", "-singlefile", in, out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, models.Errorf(models.EUNAVAILABLE, "statement preview: pdftoppm took longer than 20 s")
		}
		return nil, fmt.Errorf("statement preview: pdftoppm: %w: %s", err, msg)
	}
	png, err := os.ReadFile(out + ".png")
	if err != nil {
		return nil, fmt.Errorf("statement preview: %w", err)
	}
	return png, nil
}
