//go:build fault

// Package fault proves what tocsin promises when processes die: the crash test kills tocsin with
// SIGKILL under load and restarts it; the replica test runs two tocsins on one PostgreSQL and kills
// one. Both drive real `tocsin serve` processes, built from this checkout, with the load generator
// (internal/load): findings signed as SNS signs them, pages received by an SMTP sink, and at the end
// what the generator was answered 2xx for is compared with the database and with the emails.
//
//	go test -tags fault -v ./test/fault/
//
// TOCSIN_FAULT_SECONDS (default 20), TOCSIN_FAULT_RATE (findings a second, default 50) and
// TOCSIN_FAULT_KILLS (default 3) set the size; BENCHMARKS.md has the full-size figures. PostgreSQL
// runs need TOCSIN_TEST_POSTGRES_URL, like every store test.
package fault

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/load"
)

// tocsinBin is the tocsin binary built for this run, by TestMain.
var tocsinBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tocsin-fault-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tocsinBin = filepath.Join(dir, "tocsin")
	build := exec.Command("go", "build", "-o", tocsinBin, "github.com/tocsin-dev/tocsin/cmd/tocsin")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building tocsin:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// size is how big a run is.
type size struct {
	Seconds time.Duration
	Rate    float64
	Kills   int
}

func runSize(t *testing.T) size {
	s := size{Seconds: 20 * time.Second, Rate: 50, Kills: 3}
	if v := os.Getenv("TOCSIN_FAULT_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("TOCSIN_FAULT_SECONDS=%q: want a number of seconds", v)
		}
		s.Seconds = time.Duration(n) * time.Second
	}
	if v := os.Getenv("TOCSIN_FAULT_RATE"); v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n <= 0 {
			t.Fatalf("TOCSIN_FAULT_RATE=%q: want findings a second", v)
		}
		s.Rate = n
	}
	if v := os.Getenv("TOCSIN_FAULT_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.Fatalf("TOCSIN_FAULT_KILLS=%q: want a count", v)
		}
		s.Kills = n
	}
	return s
}

// pageLease is the --page-lease the tocsins run with: shorter than the default, so that pages a
// killed process owned go out soon after and the test need not wait long for them, but long enough
// for a send (half the lease) on a busy machine.
const pageLease = 10 * time.Second

// rig is what outlives the tocsin processes of one test: the database, the signer, the sink and the
// integration's key.
type rig struct {
	t      *testing.T
	dir    string
	dsn    string
	signer *load.Signer
	sink   *load.Sink
	key    string
}

// newRig applies teamYAML to a fresh database, creates a Security Hub integration routed to team
// secops, and starts the signer and the sink.
func newRig(t *testing.T, dsn, teamYAML string) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir(), dsn: dsn}
	yamlFile := filepath.Join(r.dir, "team.yaml")
	if err := os.WriteFile(yamlFile, []byte(teamYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	r.cli("apply", "-f", yamlFile)
	r.key = strings.TrimSpace(r.cli("integration", "create", "--type", "amazonsecurityhub", "--name", "securityhub-fault", "--team", "secops"))
	if r.key == "" || strings.ContainsAny(r.key, " \n") {
		t.Fatalf("integration create printed %q, want the key alone", r.key)
	}
	var err error
	r.signer, err = load.NewSigner(load.SignerConfig{Dir: filepath.Join(r.dir, "certs"), Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.signer.Close)
	r.sink, err = load.StartSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.sink.Close() })
	return r
}

// cli runs a tocsin command on the rig's database and returns its standard output.
func (r *rig) cli(args ...string) string {
	r.t.Helper()
	cmd := exec.Command(tocsinBin, append(args, "--database", r.dsn)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("tocsin %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// proc is one `tocsin serve` on a fixed address, which the test kills and restarts.
type proc struct {
	r    *rig
	name string
	addr string
	log  *os.File

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	pids []int
}

// startProc starts a tocsin serve on a free loopback port and waits until it answers.
func (r *rig) startProc(name string) *proc {
	r.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.Create(filepath.Join(r.dir, name+".log"))
	if err != nil {
		r.t.Fatal(err)
	}
	p := &proc{r: r, name: name, addr: addr, log: logf}
	p.start()
	r.t.Cleanup(func() {
		p.stop()
		logf.Close()
		if r.t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil {
				r.t.Logf("log of %s (last 4 KiB):\n%s", name, tail(b, 4096))
			}
		}
	})
	return p
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (p *proc) url() string { return "http://" + p.addr }

func (p *proc) start() {
	p.r.t.Helper()
	args := append([]string{"serve", "--addr", p.addr, "--database", p.r.dsn, "--log-level", "warn",
		"--page-lease", pageLease.String(), "--shutdown-timeout", "5s"},
		load.ServeFlags(p.r.signer.Host(), p.r.signer.CAFile(), p.r.sink.URL(), "tocsin <tocsin@example.com>")...)
	cmd := exec.Command(tocsinBin, args...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		p.r.t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.pids = append(p.pids, cmd.Process.Pid)
	p.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			p.r.t.Fatalf("%s exited at start: see %s", p.name, p.log.Name())
		default:
		}
		if time.Now().After(deadline) {
			p.r.t.Fatalf("%s did not listen on %s within 30s", p.name, p.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pid is the running process's PID, for the generator's /proc samples.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// kill9 kills the process with SIGKILL, as a crash or the OOM killer would, and waits for it to go.
func (p *proc) kill9() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// stop ends the process gracefully (SIGTERM), or kills it after 15 s.
func (p *proc) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

// run drives the tocsins with the generator for the size's duration, calling during (in its own
// goroutine) while it runs; it returns the generator's result.
func (r *rig) run(ctx context.Context, s size, procs []*proc, wait time.Duration, during func(ctx context.Context)) *load.Result {
	r.t.Helper()
	targets := make([]string, len(procs))
	for i, p := range procs {
		targets[i] = p.url()
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if during != nil {
		wg.Go(func() { during(runCtx) })
	}
	res, err := load.Run(ctx, load.Config{
		Targets: targets, APIKey: r.key, Signer: r.signer, Sink: r.sink,
		Mix:  load.Mix{New: 70, Redeliver: 10, Update: 15, Resolve: 5},
		Rate: s.Rate, Duration: s.Seconds, Wait: wait, Concurrency: 32,
		PIDFunc: procs[0].pid,
	})
	cancel()
	wg.Wait()
	if err != nil {
		r.t.Fatalf("load run: %v", err)
	}
	var rep bytes.Buffer
	res.Report(&rep)
	r.t.Logf("load generator report:\n%s", rep.String())
	return res
}
