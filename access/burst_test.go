package access_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"remoteidv/access"
	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/storage/sqlite"
)

const mib = 1 << 20

// burstBound is the peak resident memory allowed to a process serving 200
// parallel logins with the default limits: N = runtime.NumCPU() argon2id
// checks of 64 MiB at once, twice that for the garbage collector's
// headroom (GOGC=100 lets the heap grow to twice what is live), and
// 192 MiB for the test binary, SQLite and the goroutines (both larger
// under the race detector: race_test.go).
func burstBound() int64 {
	return burstHeapFactor*2*int64(runtime.NumCPU())*64*mib + burstBase
}

// TestLoginBurstMemory: 200 logins at once, each from its own address with
// its own name (so that no failure count refuses them first), keep the
// process under burstBound. The burst runs in a child process, whose peak
// RSS the kernel reports; the parent kills the child at twice the bound so
// that a server without the bound cannot exhaust the machine (200 checks
// of 64 MiB are 12.5 GiB).
func TestLoginBurstMemory(t *testing.T) {
	if os.Getenv("IDV_TEST_LOGIN_BURST") == "child" {
		loginBurstChild(t)
		return
	}
	bound := burstBound()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoginBurstMemory$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "IDV_TEST_LOGIN_BURST=child")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The parent watches: the child's own goroutines would queue behind its 200 logins.
	done := make(chan struct{})
	killed := make(chan int64, 1)
	go func() {
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				if r := rssOf(cmd.Process.Pid); r > 2*bound {
					_ = cmd.Process.Kill()
					killed <- r
					return
				}
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	select {
	case r := <-killed:
		t.Fatalf("the child passed %d MiB (RSS %d MiB) and was stopped; bound %d MiB\n%s", 2*bound/mib, r/mib, bound/mib, lastLines(out.Bytes(), 4))
	default:
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatalf("no rusage of the child")
	}
	peak := ru.Maxrss * 1024 // kilobytes on Linux
	t.Logf("200 parallel logins: peak RSS %d MiB, bound %d MiB (%d cores)\n%s", peak/mib, bound/mib, runtime.NumCPU(), lastLines(out.Bytes(), 4))
	if err != nil {
		t.Fatalf("child failed (%v):\n%s", err, lastLines(out.Bytes(), 20))
	}
	if peak > bound {
		t.Fatalf("peak RSS of 200 parallel logins = %d MiB, want at most %d MiB", peak/mib, bound/mib)
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// loginBurstChild is the child's side: the service as idv serve builds it
// (default limits), one staff member, and 200 parallel logins with names
// that are no account (each is still checked, against the dummy hash).
func loginBurstChild(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "idv.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now
	s := &access.Service{Store: db, Chain: audit.Chain{Now: now}, Now: now, Rand: rand.Reader,
		Idle: 15 * time.Minute, Absolute: 12 * time.Hour, Log: slog.New(slog.DiscardHandler)}
	if _, err := s.CreateStaff(ctx, "system", "clerk1", "Clerk One", clerkPassword, []models.Role{models.RoleClerk}); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	fmt.Printf("before the burst: RSS %d MiB\n", rss()/mib)
	var mu sync.Mutex
	got := map[models.ErrorCode]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, err := s.Login(ctx, fmt.Sprintf("nobody%03d", i), "wrong password", "", fmt.Sprintf("10.1.%d.%d", i/250, i%250+1))
			mu.Lock()
			got[models.ErrorCodeOf(err)]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	fmt.Printf("answers: %v\n", got)
	if got[models.EUNAUTHORIZED] == 0 || got[models.EUNAUTHORIZED]+got[models.ERATELIMIT] != 200 {
		t.Fatalf("answers %v: want only unauthorized (checked) and rate limited (refused), some checked", got)
	}
}

// rss is the process's resident memory.
func rss() int64 { return rssOf(os.Getpid()) }

// rssOf is a process's resident memory (/proc/<pid>/statm; 0 once it is gone).
func rssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
