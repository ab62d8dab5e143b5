package testenv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PostgresServer is a PostgreSQL server of the test's own (not the shared
// one PostgresURL uses), so that the test may stop and restart it: a
// cluster made with initdb in a temporary folder, trust authentication,
// listening on 127.0.0.1 on a free port. As root it runs as the postgres
// user (initdb and postgres refuse root).
type PostgresServer struct {
	// URL reaches the database "test" as the superuser postgres.
	URL string
	// Port is the TCP port on 127.0.0.1.
	Port string

	tb      testing.TB
	bin     string
	dir     string // the cluster's data folder
	logPath string
	cred    *syscall.Credential

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// PostgresBinDir returns the newest /usr/lib/postgresql/*/bin that holds
// initdb and postgres.
func PostgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { // numeric: 9 < 15 < 17
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no /usr/lib/postgresql/*/bin/initdb (install the Debian package postgresql)")
}

// Postgres starts a private PostgreSQL server, creates the database
// "test", and stops the server (and removes its folder) when the test
// ends. It fails the test (never skips) when PostgreSQL is not installed
// or does not start.
func Postgres(tb testing.TB) *PostgresServer {
	tb.Helper()
	bin, err := PostgresBinDir()
	if err != nil {
		tb.Fatalf("testenv.Postgres: %v", err)
	}
	// Not tb.TempDir: its parents are root's 0700 folders, which the
	// postgres user could not enter.
	dir, err := os.MkdirTemp("", "idv-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	p := &PostgresServer{Port: freePort(tb), tb: tb, bin: bin, dir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "postgres.log")}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("testenv.Postgres: running as root, and no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
	}
	p.URL = "postgres://postgres@127.0.0.1:" + p.Port + "/test?sslmode=disable"
	initdb := p.command(filepath.Join(bin, "initdb"), "-D", p.dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		tb.Fatalf("testenv.Postgres: initdb: %v\n%s", err, out)
	}
	tb.Cleanup(p.Stop)
	p.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:"+p.Port+"/postgres?sslmode=disable")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE test"); err != nil {
		tb.Fatalf("testenv.Postgres: create database: %v", err)
	}
	return p
}

func (p *PostgresServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	cmd.Dir = filepath.Dir(p.dir)
	cmd.SysProcAttr = childAttr()
	cmd.SysProcAttr.Credential = p.cred
	return cmd
}

// Start starts the server (again) on the same port and data and waits
// until it accepts connections. Starting a running server does nothing.
func (p *PostgresServer) Start() {
	p.tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.tb.Fatal(err)
	}
	// postgres itself, not pg_ctl: a child of the test, which the kernel
	// kills if the test binary dies. fsync off: a test cluster.
	cmd := p.command(filepath.Join(p.bin, "postgres"), "-D", p.dir, "-p", p.Port, "-k", filepath.Dir(p.dir),
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		p.tb.Fatalf("testenv.Postgres: start: %v", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	if err := p.waitReady(done, 30*time.Second); err != nil {
		p.stopLocked()
		b, _ := os.ReadFile(p.logPath)
		p.tb.Fatalf("testenv.Postgres: %v\n%s", err, b)
	}
}

func (p *PostgresServer) waitReady(done <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-done:
			return errors.New("postgres exited during start-up")
		default:
		}
		db, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:"+p.Port+"/postgres?sslmode=disable&connect_timeout=1")
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready on port %s after %s: %w", p.Port, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts the server down (fast: open transactions are rolled back,
// clients disconnected) and waits for it to exit. Stopping a stopped
// server does nothing.
func (p *PostgresServer) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked()
}

func (p *PostgresServer) stopLocked() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd, p.done = nil, nil
}

// Restart stops the server and starts it again, waiting until it accepts
// connections; every client connection is cut.
func (p *PostgresServer) Restart() {
	p.tb.Helper()
	p.Stop()
	p.Start()
}
