// Package localfs is the embedded default evidence store: a folder of
// write-once, read-only files.
//
// Layout under the root:
//
//	objects/<key>      the bytes (mode 0444)
//	meta/<key>.json    size, SHA-256, content type, retain-until (mode 0444)
//	holds/<key>        present while a legal hold is on
//	tmp/               files being written
//
// A Put writes a create-exclusive temporary file while hashing it, fsyncs
// it, checks the hash, makes it read-only and links it to its final name,
// which fails if the name exists, so an object is never overwritten. The
// metadata file is written the same way afterwards and is the commit point:
// an object exists once its metadata does. Directories are fsynced after
// every new entry.
//
// Retention is recorded, not enforced: anyone with write access to the
// folder can delete files, so ObjectInfo.Mode is RetentionNone. Banks that
// need enforced retention use storage/s3 with Object Lock.
package localfs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"remoteidv/models"
	"remoteidv/storage/verified"
)

// DefaultRoot is the folder used when Config.Root is empty.
const DefaultRoot = "./var/evidence"

// DefaultRetention is the recorded retention when Config.Retention is zero:
// five years, the usual banking rule.
const DefaultRetention = 5 * 365 * 24 * time.Hour

// Config configures a Store.
type Config struct {
	// Root is the folder holding the evidence; DefaultRoot when empty.
	Root string
	// Retention is added to the time of a Put to give the recorded
	// retain-until date; DefaultRetention when zero.
	Retention time.Duration
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Store is an EvidenceStore in a local folder. It is safe for concurrent
// use, also by several processes sharing the folder.
type Store struct {
	root      string
	retention time.Duration
	now       func() time.Time
	log       *slog.Logger
}

var _ models.EvidenceStore = (*Store)(nil)

// meta is the JSON sidecar of an object.
type meta struct {
	Key         string    `json:"key"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	ContentType string    `json:"content_type"`
	StoredAt    time.Time `json:"stored_at"`
	RetainUntil time.Time `json:"retain_until"`
}

// New opens (creating if needed) the store folder.
func New(cfg Config, log *slog.Logger) (*Store, error) {
	if cfg.Root == "" {
		cfg.Root = DefaultRoot
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Retention < 0 {
		return nil, models.Errorf(models.EINVALID, "evidence retention %s is negative", cfg.Retention)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("open evidence folder %s: %w", cfg.Root, err)
	}
	s := &Store{root: root, retention: cfg.Retention, now: cfg.Now, log: log.With("evidence_root", root)}
	for _, d := range []string{"objects", "meta", "holds", "tmp"} {
		if err := mkdirAllSync(filepath.Join(root, d)); err != nil {
			return nil, fmt.Errorf("open evidence folder %s: %w", root, err)
		}
	}
	return s, nil
}

// Root returns the absolute path of the store folder.
func (s *Store) Root() string { return s.root }

func (s *Store) dataPath(key string) string {
	return filepath.Join(s.root, "objects", filepath.FromSlash(key))
}

func (s *Store) metaPath(key string) string {
	return filepath.Join(s.root, "meta", filepath.FromSlash(key)+".json")
}

func (s *Store) holdPath(key string) string {
	return filepath.Join(s.root, "holds", filepath.FromSlash(key))
}

// Put stores the object; see models.EvidenceStore. It returns EINVALID for
// a bad key, a bad hash or a body that does not match size and hash,
// ECONFLICT for other bytes under an existing key.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, sum, contentType string) (models.ObjectInfo, error) {
	info, err := s.put(ctx, key, r, size, sum, contentType)
	if err != nil {
		return models.ObjectInfo{}, fmt.Errorf("put evidence %s: %w", key, err)
	}
	return info, nil
}

func (s *Store) put(ctx context.Context, key string, r io.Reader, size int64, sum, contentType string) (models.ObjectInfo, error) {
	if err := models.CheckEvidencePut(key, size, sum); err != nil {
		return models.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return models.ObjectInfo{}, models.Errorf(models.EUNAVAILABLE, "%v", err)
	}
	if m, err := s.readMeta(key); err == nil {
		return s.existing(key, m, size, sum)
	} else if models.ErrorCodeOf(err) != models.ENOTFOUND {
		return models.ObjectInfo{}, err
	}

	tmp, err := s.writeTemp(ctx, r, size, sum)
	if err != nil {
		return models.ObjectInfo{}, err
	}
	defer os.Remove(tmp)
	if err := s.link(tmp, s.dataPath(key)); errors.Is(err, fs.ErrExist) {
		// Another Put won the race, or an earlier one crashed before its
		// metadata: keep the existing bytes if they are the same.
		got, n, herr := hashFile(s.dataPath(key))
		if herr != nil {
			return models.ObjectInfo{}, herr
		}
		if got != sum || n != size {
			return models.ObjectInfo{}, models.Errorf(models.ECONFLICT, "evidence key %s holds other bytes (sha256 %s)", key, got)
		}
	} else if err != nil {
		return models.ObjectInfo{}, err
	}

	now := s.now().UTC()
	m := meta{Key: key, Size: size, SHA256: sum, ContentType: contentType, StoredAt: now, RetainUntil: now.Add(s.retention)}
	b, err := json.Marshal(m)
	if err != nil {
		return models.ObjectInfo{}, err
	}
	mtmp, err := s.writeTemp(ctx, bytes.NewReader(b), int64(len(b)), sha256Hex(b))
	if err != nil {
		return models.ObjectInfo{}, err
	}
	defer os.Remove(mtmp)
	if err := s.link(mtmp, s.metaPath(key)); errors.Is(err, fs.ErrExist) {
		old, err := s.readMeta(key)
		if err != nil {
			return models.ObjectInfo{}, err
		}
		return s.existing(key, old, size, sum)
	} else if err != nil {
		return models.ObjectInfo{}, err
	}
	s.log.DebugContext(ctx, "evidence stored", "key", key, "size", size)
	return s.info(m), nil
}

// existing answers a Put for a key that already has an object.
func (s *Store) existing(key string, m meta, size int64, sum string) (models.ObjectInfo, error) {
	if m.SHA256 != sum || m.Size != size {
		return models.ObjectInfo{}, models.Errorf(models.ECONFLICT, "evidence key %s holds other bytes (sha256 %s)", key, m.SHA256)
	}
	info := s.info(m)
	hold, err := s.held(key)
	if err != nil {
		return models.ObjectInfo{}, err
	}
	info.LegalHold = hold
	return info, nil
}

// held reports whether key has a legal hold.
func (s *Store) held(key string) (bool, error) {
	_, err := os.Lstat(s.holdPath(key))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("read legal hold: %w", err)
}

// writeTemp streams size bytes of r into a new temporary file, checks
// their hash, fsyncs the file and makes it read-only. It returns the
// file's path; nothing is left behind on error.
func (s *Store) writeTemp(ctx context.Context, r io.Reader, size int64, sum string) (path string, err error) {
	f, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "put-*")
	if err != nil {
		return "", fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	buf := make([]byte, 1<<20)
	if _, err := io.CopyBuffer(onlyWriter{f}, verified.NewReader(ctx, r, size, sum), buf); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return "", models.Errorf(models.EUNAVAILABLE, "%v", err)
		}
		return "", err
	}
	if err := f.Chmod(0o444); err != nil {
		return "", fmt.Errorf("make %s read-only: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}

// link gives the file at tmp the name dst, failing with fs.ErrExist when
// dst exists (a hard link never replaces its target, unlike rename), and
// fsyncs the directory.
func (s *Store) link(tmp, dst string) error {
	dir := filepath.Dir(dst)
	if err := mkdirAllSync(dir); err != nil {
		return pathConflict(err)
	}
	if err := os.Link(tmp, dst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fs.ErrExist
		}
		return pathConflict(fmt.Errorf("link %s: %w", dst, err))
	}
	return syncDir(dir)
}

// pathConflict reports a key that collides with another key's folder (for
// example checkpoints/a and checkpoints/a/b) as ECONFLICT.
func pathConflict(err error) error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
		return models.Errorf(models.ECONFLICT, "key collides with another key's path: %v", err)
	}
	return err
}

func (s *Store) readMeta(key string) (meta, error) {
	b, err := os.ReadFile(s.metaPath(key))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return meta{}, models.Errorf(models.ENOTFOUND, "no evidence under key %s", key)
	}
	if err != nil {
		return meta{}, fmt.Errorf("read metadata: %w", err)
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return meta{}, fmt.Errorf("decode metadata: %w", err)
	}
	if m.Key != key {
		return meta{}, fmt.Errorf("metadata names key %q", m.Key)
	}
	return m, nil
}

func (s *Store) info(m meta) models.ObjectInfo {
	return models.ObjectInfo{
		Key:         m.Key,
		Size:        m.Size,
		SHA256:      m.SHA256,
		ContentType: m.ContentType,
		RetainUntil: m.RetainUntil,
		Mode:        models.RetentionNone,
	}
}

// Stat returns the recorded info of the object; ENOTFOUND when absent. It
// checks that the bytes are still there with their recorded size but does
// not re-hash them (Get's caller does).
func (s *Store) Stat(ctx context.Context, key string) (models.ObjectInfo, error) {
	info, err := s.stat(ctx, key)
	if err != nil {
		return models.ObjectInfo{}, fmt.Errorf("stat evidence %s: %w", key, err)
	}
	return info, nil
}

func (s *Store) stat(ctx context.Context, key string) (models.ObjectInfo, error) {
	if err := models.CheckEvidenceKey(key, ""); err != nil {
		return models.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return models.ObjectInfo{}, models.Errorf(models.EUNAVAILABLE, "%v", err)
	}
	m, err := s.readMeta(key)
	if err != nil {
		return models.ObjectInfo{}, err
	}
	fi, err := os.Stat(s.dataPath(key))
	if err != nil {
		return models.ObjectInfo{}, fmt.Errorf("evidence bytes missing: %w", err)
	}
	if fi.Size() != m.Size {
		return models.ObjectInfo{}, fmt.Errorf("evidence bytes are %d long, recorded %d", fi.Size(), m.Size)
	}
	info := s.info(m)
	if info.LegalHold, err = s.held(key); err != nil {
		return models.ObjectInfo{}, err
	}
	return info, nil
}

// Get opens the object; ENOTFOUND when absent. The reader is the file
// itself; the caller closes it and should re-hash what it reads.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, models.ObjectInfo, error) {
	info, err := s.stat(ctx, key)
	if err != nil {
		return nil, models.ObjectInfo{}, fmt.Errorf("get evidence %s: %w", key, err)
	}
	f, err := os.Open(s.dataPath(key))
	if err != nil {
		return nil, models.ObjectInfo{}, fmt.Errorf("get evidence %s: %w", key, err)
	}
	return f, info, nil
}

// SetLegalHold sets or clears the object's legal hold; ENOTFOUND when the
// object is absent. The hold is recorded only: this store cannot stop a
// deletion at the file-system level.
func (s *Store) SetLegalHold(ctx context.Context, key string, on bool) error {
	if err := s.setLegalHold(ctx, key, on); err != nil {
		return fmt.Errorf("set legal hold on %s to %t: %w", key, on, err)
	}
	return nil
}

func (s *Store) setLegalHold(ctx context.Context, key string, on bool) error {
	if _, err := s.stat(ctx, key); err != nil {
		return err
	}
	p := s.holdPath(key)
	dir := filepath.Dir(p)
	if !on {
		err := os.Remove(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // no hold to clear
		}
		if err != nil {
			return err
		}
		return syncDir(dir)
	}
	if err := mkdirAllSync(dir); err != nil {
		return pathConflict(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return pathConflict(err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "legal hold set", "key", key)
	return syncDir(dir)
}

// mkdirAllSync creates dir and its missing parents, fsyncing each parent
// that gained an entry so the new folders survive a crash.
func mkdirAllSync(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSync(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// hashFile returns the SHA-256 and size of the file at path.
func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// onlyWriter hides *os.File's ReadFrom so io.CopyBuffer reads through the
// verifier with our buffer rather than using copy_file_range tricks.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

// Expire deletes the object when its recorded retention has passed and no
// legal hold is set; see models.EvidenceStore. The bytes go first, then
// the metadata, so a crash in between leaves an object that Stat reports
// as damaged and a second Expire finishes.
func (s *Store) Expire(ctx context.Context, key string) error {
	if err := s.expire(ctx, key); err != nil {
		return fmt.Errorf("expire evidence %s: %w", key, err)
	}
	return nil
}

func (s *Store) expire(ctx context.Context, key string) error {
	if err := models.CheckEvidenceKey(key, ""); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return models.Errorf(models.EUNAVAILABLE, "%v", err)
	}
	m, err := s.readMeta(key)
	if err != nil {
		return err
	}
	if now := s.now().UTC(); now.Before(m.RetainUntil) {
		return models.Errorf(models.ECONFLICT, "evidence %s is retained until %s", key, m.RetainUntil.Format(time.RFC3339))
	}
	held, err := s.held(key)
	if err != nil {
		return err
	}
	if held {
		return models.Errorf(models.ECONFLICT, "evidence %s is under a legal hold", key)
	}
	for _, p := range []string{s.dataPath(key), s.metaPath(key)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := syncDir(filepath.Dir(p)); err != nil {
			return err
		}
	}
	s.log.InfoContext(ctx, "evidence expired and deleted", "key", key, "retained_until", m.RetainUntil)
	return nil
}

// List returns the keys of the objects directly in folder, sorted; see
// models.EvidenceStore. A folder that does not exist holds nothing.
func (s *Store) List(ctx context.Context, folder string) ([]string, error) {
	if err := models.CheckEvidenceFolder(folder); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, models.Errorf(models.EUNAVAILABLE, "%v", err)
	}
	entries, err := os.ReadDir(filepath.Join(s.root, "meta", filepath.FromSlash(folder)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list evidence %s: %w", folder, err)
	}
	var keys []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && e.Type().IsRegular() {
			keys = append(keys, folder+name)
		}
	}
	return keys, nil
}
