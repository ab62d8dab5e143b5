// Command idvload is the load generator of `make load`. It starts
// `idv serve` on a fresh PostgreSQL schema with the demo data (or drives a
// server already running on this machine, -url), sends the mix of
// mix.go at a fixed rate for a bounded time and count, and prints, per
// kind of request, p50/p99 latency and outcomes, and the server's peak
// memory (VmHWM), each as a ratio against /healthz measured in the same
// run, as a markdown table for docs/performance.md.
//
// It is a benchmark, not a test: it never fails on slow answers, only
// when it cannot run. Requests go only to 127.0.0.1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "idvload:", err)
		os.Exit(1)
	}
}

type options struct {
	idv       string
	pg        string
	base      string
	pid       int
	passwords string
	rate      float64
	duration  time.Duration
	baseline  time.Duration
	max       int
	inflight  int
	seed      uint64
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("idvload", flag.ContinueOnError)
	fs.StringVar(&o.idv, "idv", "./bin/idv", "the idv binary to start")
	fs.StringVar(&o.pg, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server (a schema is made for the run and dropped after)")
	fs.StringVar(&o.base, "url", "", "drive this running server instead of starting one (127.0.0.1 only; needs -pid and -passwords)")
	fs.IntVar(&o.pid, "pid", 0, "with -url: the server's process id, for its peak memory")
	fs.StringVar(&o.passwords, "passwords", "", "with -url: the demo's passwords.txt")
	fs.Float64Var(&o.rate, "rate", 40, "requests per second (open loop)")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long the mix runs")
	fs.DurationVar(&o.baseline, "baseline", 5*time.Second, "how long /healthz alone runs first (the memory baseline)")
	fs.IntVar(&o.max, "max", 5000, "at most this many requests in the mix")
	fs.IntVar(&o.inflight, "inflight", 64, "at most this many requests at once; ticks beyond it are counted as dropped")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the order of the mix")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.rate <= 0 || o.duration <= 0 || o.max < 1 || o.inflight < 1 {
		return errors.New("-rate, -duration, -max and -inflight must be positive")
	}

	var passwords map[string]string
	if o.base == "" {
		srv, err := startServer(ctx, o.idv, o.pg)
		if err != nil {
			return err
		}
		defer srv.stop()
		o.base, o.pid = srv.base, srv.pid
		o.passwords = filepath.Join(srv.dataDir, "demo", "passwords.txt")
	}
	if err := loopbackOnly(o.base); err != nil {
		return err
	}
	if o.pid == 0 || o.passwords == "" {
		return errors.New("-url needs -pid and -passwords")
	}
	passwords, err := readPasswords(o.passwords)
	if err != nil {
		return fmt.Errorf("demo passwords: %w", err)
	}
	f, err := prepare(ctx, o.base, passwords)
	if err != nil {
		return err
	}
	client := &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: o.inflight, MaxConnsPerHost: o.inflight},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	fmt.Fprintf(os.Stderr, "idvload: /healthz alone for %s at %.0f/s\n", o.baseline, o.rate)
	base := drive(ctx, client, f, []kind{mix[0]}, o, o.baseline, int(o.rate*o.baseline.Seconds())+1)
	hwmBase, err := vmHWM(o.pid)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "idvload: the mix for %s at %.0f/s (at most %d requests)\n", o.duration, o.rate, o.max)
	res := drive(ctx, client, f, mix, o, o.duration, o.max)
	hwmPeak, err := vmHWM(o.pid)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	report(out, o, base, res, hwmBase, hwmPeak)
	return nil
}

// loopbackOnly refuses a target that is not this machine.
func loopbackOnly(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	ip := net.ParseIP(u.Hostname())
	if u.Scheme != "http" || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s: idvload sends requests only to http://127.0.0.1", base)
	}
	return nil
}

// result holds what one run measured per kind.
type result struct {
	elapsed time.Duration
	sent    int
	dropped int
	kinds   map[string]*stats
}

type stats struct {
	latencies []time.Duration // of answered requests
	status    map[int]int
	expected  int
	limited   int // 429
	failed    int // transport errors and unexpected statuses
}

// drive sends requests of kinds, chosen by weight, at o.rate for d or n
// requests, whichever ends first (open loop: a request is due every
// 1/rate whether or not earlier ones have answered).
func drive(ctx context.Context, client *http.Client, f *fixture, kinds []kind, o options, d time.Duration, n int) *result {
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	rng := rand.New(rand.NewPCG(o.seed, 0))
	res := &result{kinds: map[string]*stats{}}
	for _, k := range kinds {
		res.kinds[k.name] = &stats{status: map[int]int{}}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, o.inflight)
	interval := time.Duration(float64(time.Second) / o.rate)
	start := time.Now()
	t := time.NewTicker(interval)
	defer t.Stop()
	for i := 0; i < n && time.Since(start) < d && ctx.Err() == nil; i++ {
		r := rng.IntN(total)
		k := kinds[0]
		for _, c := range kinds {
			if r < c.weight {
				k = c
				break
			}
			r -= c.weight
		}
		select {
		case slots <- struct{}{}:
		default:
			res.dropped++
			<-t.C
			continue
		}
		res.sent++
		wg.Go(func() {
			defer func() { <-slots }()
			status, lat, err := send(ctx, client, f, k)
			mu.Lock()
			defer mu.Unlock()
			s := res.kinds[k.name]
			switch {
			case err != nil:
				s.failed++
				return
			case status == http.StatusTooManyRequests:
				s.limited++
			case containsInt(k.expect, status):
				s.expected++
			default:
				s.failed++
			}
			s.status[status]++
			s.latencies = append(s.latencies, lat)
		})
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func send(ctx context.Context, client *http.Client, f *fixture, k kind) (int, time.Duration, error) {
	req, err := k.build(ctx, f)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), err
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "-"
	}
	r := float64(a) / float64(b)
	if r < 1 {
		return fmt.Sprintf("%.2fx", r)
	}
	return fmt.Sprintf("%.1fx", r)
}

// report prints the markdown table.
func report(w io.Writer, o options, base, res *result, hwmBase, hwmPeak int64) {
	q := func(s *stats) (time.Duration, time.Duration) {
		sort.Slice(s.latencies, func(i, j int) bool { return s.latencies[i] < s.latencies[j] })
		return quantile(s.latencies, 0.5), quantile(s.latencies, 0.99)
	}
	h50, h99 := q(res.kinds[healthzKind])
	fmt.Fprintf(w, "Load: %d requests in %.1f s (%.1f/s asked, %.1f/s sent; %d dropped at %d in flight), %d CPUs, GOMAXPROCS of the generator %d.\n\n",
		res.sent, res.elapsed.Seconds(), o.rate, float64(res.sent)/res.elapsed.Seconds(), res.dropped, o.inflight, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintln(w, "| request kind | share | sent | expected | 429 | errors | p50 | p99 | p50 / healthz | p99 / healthz | statuses |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	total := 0
	for _, k := range mix {
		total += k.weight
	}
	for _, k := range mix {
		s := res.kinds[k.name]
		p50, p99 := q(s)
		codes := make([]int, 0, len(s.status))
		for c := range s.status {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		statuses := ""
		for i, c := range codes {
			if i > 0 {
				statuses += ", "
			}
			statuses += fmt.Sprintf("%d: %d", c, s.status[c])
		}
		n := s.expected + s.limited + s.failed
		fmt.Fprintf(w, "| %s | %d %% | %d | %d | %d | %d | %s | %s | %s | %s | %s |\n",
			k.name, k.weight*100/total, n, s.expected, s.limited, s.failed, ms(p50), ms(p99), ratio(p50, h50), ratio(p99, h99), statuses)
	}
	b50, b99 := q(base.kinds[healthzKind])
	fmt.Fprintf(w, "\n/healthz alone before the mix (%d requests): p50 %s, p99 %s.\n", base.sent, ms(b50), ms(b99))
	fmt.Fprintf(w, "Peak memory of `idv serve` (VmHWM): %.1f MiB after /healthz alone, %.1f MiB after the mix: %.2fx.\n",
		float64(hwmBase)/(1<<20), float64(hwmPeak)/(1<<20), float64(hwmPeak)/float64(hwmBase))
}
