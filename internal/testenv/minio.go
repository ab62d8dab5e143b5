// Package testenv starts the real services that integration tests need
// (MinIO here) and stops them when the test ends. It is for tests only.
//
// A missing service binary is a test failure, never a skip: `make test`
// builds or installs what is needed first.
package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// MinIOBinEnv names the environment variable that can point at the minio
// binary; without it the binary is looked up in $(go env GOPATH)/bin.
const MinIOBinEnv = "IDV_MINIO_BIN"

// MinIOServer is a MinIO server run by a test: single drive (which
// supports versioning and Object Lock) or, WithDrives, erasure-coded over
// several drive folders; listening on 127.0.0.1, with a static KMS key (so
// SSE-S3 and SSE-KMS work) unless WithoutKMS.
type MinIOServer struct {
	// Endpoint is host:port, without a scheme.
	Endpoint string
	// AccessKey and SecretKey are the root credentials.
	AccessKey string
	SecretKey string
	// DataDir is the drive folder; it survives Stop and Start. With
	// WithDrives it holds the drive folders drive1 ... driveN (Drives).
	DataDir string
	// Drives are the drive folders of an erasure-coded server
	// (WithDrives); empty for a single drive.
	Drives []string
	// KMS is the value of MINIO_KMS_SECRET_KEY ("name:base64 key") the
	// server starts with; empty starts it without a KMS. A test may change
	// it between Stop and Start.
	KMS string

	tb         testing.TB
	bin        string
	dataParent string
	logPath    string
	drives     int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd exits
}

// KMSKeyName is the name of the static KMS key of a MinIOServer, the key
// id for SSE-KMS.
const KMSKeyName = "idv-test-key"

// MinIOOption changes how MinIO is started.
type MinIOOption func(*MinIOServer)

// WithoutKMS starts MinIO without a KMS: it refuses server-side
// encryption.
func WithoutKMS() MinIOOption {
	return func(m *MinIOServer) { m.KMS = "" }
}

// WithDataIn puts the data folder under parent (for example /dev/shm, so
// a benchmark measures the client rather than the disk) instead of the
// test's temporary folder; it is removed at cleanup.
func WithDataIn(parent string) MinIOOption {
	return func(m *MinIOServer) { m.dataParent = parent }
}

// WithDrives starts MinIO in erasure-coded mode over n drive folders
// (n >= 4: MinIO's smallest erasure set), DataDir/drive1 ... driveN, as
// `minio server DataDir/drive{1...n}` would. With four drives MinIO keeps
// two parity blocks per object: it reads and writes with one drive gone
// (RemoveDrive).
func WithDrives(n int) MinIOOption {
	return func(m *MinIOServer) { m.drives = n }
}

// MinIOBinary returns the path of the minio binary, or an error telling how
// to get it.
func MinIOBinary() (string, error) {
	bin := os.Getenv(MinIOBinEnv)
	if bin == "" {
		gopath := build.Default.GOPATH
		if i := strings.IndexRune(gopath, os.PathListSeparator); i >= 0 {
			gopath = gopath[:i]
		}
		bin = filepath.Join(gopath, "bin", "minio")
	}
	fi, err := os.Stat(bin)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("minio binary not found at %s (set %s or run `make test`, which builds it)", bin, MinIOBinEnv)
	}
	return bin, nil
}

// MinIO starts a MinIO server with a temporary data folder on a free port
// and stops it when the test ends. It fails the test (never skips) when the
// binary is missing or the server does not become ready.
func MinIO(tb testing.TB, opts ...MinIOOption) *MinIOServer {
	tb.Helper()
	bin, err := MinIOBinary()
	if err != nil {
		tb.Fatalf("testenv.MinIO: %v", err)
	}
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		tb.Fatal(err)
	}
	kmsKey := make([]byte, 32)
	if _, err := rand.Read(kmsKey); err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	m := &MinIOServer{
		Endpoint:  "127.0.0.1:" + freePort(tb),
		AccessKey: "idvroot",
		SecretKey: hex.EncodeToString(secret),
		DataDir:   filepath.Join(dir, "data"),
		KMS:       KMSKeyName + ":" + base64.StdEncoding.EncodeToString(kmsKey),
		tb:        tb,
		bin:       bin,
		logPath:   filepath.Join(dir, "minio.log"),
	}
	for _, o := range opts {
		o(m)
	}
	if m.dataParent != "" {
		d, err := os.MkdirTemp(m.dataParent, "idv-minio-")
		if err != nil {
			tb.Fatalf("testenv.MinIO: %v", err)
		}
		tb.Cleanup(func() { os.RemoveAll(d) })
		m.DataDir = d
	} else if err := os.Mkdir(m.DataDir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if m.drives > 0 && m.drives < 4 {
		tb.Fatalf("testenv.MinIO: WithDrives(%d): erasure coding needs at least 4 drives", m.drives)
	}
	for i := range m.drives {
		d := filepath.Join(m.DataDir, fmt.Sprintf("drive%d", i+1))
		if err := os.Mkdir(d, 0o700); err != nil {
			tb.Fatal(err)
		}
		m.Drives = append(m.Drives, d)
	}
	tb.Cleanup(m.Stop)
	m.Start()
	return m
}

// URL returns the server's base URL.
func (m *MinIOServer) URL() string { return "http://" + m.Endpoint }

// Start starts the server (again) on the same port and data folder and
// waits until it is ready. Starting a running server does nothing.
func (m *MinIOServer) Start() {
	m.tb.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return
	}
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		m.tb.Fatal(err)
	}
	args := []string{"server", "--quiet", "--address", m.Endpoint}
	if len(m.Drives) > 0 {
		// MinIO's own ellipsis: one erasure set over the numbered folders.
		args = append(args, filepath.Join(m.DataDir, fmt.Sprintf("drive{1...%d}", len(m.Drives))))
	} else {
		args = append(args, m.DataDir)
	}
	cmd := exec.Command(m.bin, args...)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=1",
	)
	if m.KMS != "" {
		cmd.Env = append(cmd.Env, "MINIO_KMS_SECRET_KEY="+m.KMS)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		m.tb.Fatalf("testenv.MinIO: start %s: %v", m.bin, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(done)
	}()
	m.cmd, m.done = cmd, done
	if err := m.waitReady(done, 60*time.Second); err != nil {
		m.stopLocked()
		m.tb.Fatalf("testenv.MinIO: %v\n%s", err, m.logTail())
	}
}

// Stop stops the server and waits for it to exit; the data folder stays.
// Stopping a stopped server does nothing.
func (m *MinIOServer) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopLocked()
}

func (m *MinIOServer) stopLocked() {
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Kill()
		<-m.done
	}
	m.cmd, m.done = nil, nil
}

func (m *MinIOServer) waitReady(done <-chan struct{}, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-done:
			return errors.New("minio exited during start-up")
		default:
		}
		// live answers once HTTP is up; cluster only once the drive is
		// initialized and writable, which S3 calls need.
		ok, err := healthy(client, m.URL()+"/minio/health/live")
		if ok {
			ok, err = healthy(client, m.URL()+"/minio/health/cluster")
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("minio not ready at %s after %s (last error %v)", m.Endpoint, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func healthy(c *http.Client, url string) (bool, error) {
	resp, err := c.Get(url)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return true, nil
}

func (m *MinIOServer) logTail() string {
	b, _ := os.ReadFile(m.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testenv: find a free port: %v", err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// RemoveDrive takes drive i (0-based) of an erasure-coded server away
// while it runs, as a pulled disk: the folder is moved aside and a plain
// file is put in its place, so whatever MinIO does there fails (ENOTDIR)
// and it counts the drive offline (a deleted folder it would simply make
// again and heal). RestoreDrive puts it back.
func (m *MinIOServer) RemoveDrive(i int) {
	m.tb.Helper()
	if i < 0 || i >= len(m.Drives) {
		m.tb.Fatalf("testenv.MinIO: RemoveDrive(%d): the server has %d drives", i, len(m.Drives))
	}
	d := m.Drives[i]
	if err := os.Rename(d, d+".removed"); err != nil {
		m.tb.Fatalf("testenv.MinIO: remove drive %s: %v", d, err)
	}
	if err := os.WriteFile(d, []byte("drive removed by the test\n"), 0o600); err != nil {
		m.tb.Fatalf("testenv.MinIO: remove drive %s: %v", d, err)
	}
}

// RestoreDrive puts drive i back as RemoveDrive found it; MinIO brings it
// online again and heals what it missed.
func (m *MinIOServer) RestoreDrive(i int) {
	m.tb.Helper()
	d := m.Drives[i]
	if err := os.Remove(d); err != nil {
		m.tb.Fatalf("testenv.MinIO: restore drive %s: %v", d, err)
	}
	if err := os.Rename(d+".removed", d); err != nil {
		m.tb.Fatalf("testenv.MinIO: restore drive %s: %v", d, err)
	}
}
