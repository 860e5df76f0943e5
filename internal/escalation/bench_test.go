package escalation_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// BenchmarkEscalationStorm: BENCH_ESCALATION_ALERTS (default 10,000) open alerts, spread over 200
// users, each routed to its user's policy whose one rule is due 15 s after the alert was created; the
// alerts are created as fast as the API allows, so their first steps come due together. It reports how
// late the steps fired (the step's notification record against the rule's due time), how late the
// pages reached the webhook receiver, and the process's CPU time and peak memory. Run it with
// -benchtime=1x; figures are in BENCHMARKS.md.
func BenchmarkEscalationStorm(b *testing.B) {
	for _, db := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(db.name, func(b *testing.B) {
			for range b.N {
				storm(b, db.dsn(b))
			}
		})
	}
}

func storm(b *testing.B, dsn string) {
	n := 10_000
	if v := os.Getenv("BENCH_ESCALATION_ALERTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	const users, delay = 200, 15 * time.Second
	var (
		received atomic.Int64
		mu       sync.Mutex
		arrived  = map[string]time.Time{} // alert id → page arrival
		done     = make(chan struct{})
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("Idempotency-Key")
		mu.Lock()
		arrived[strings.SplitN(id, "/", 2)[0]] = time.Now()
		mu.Unlock()
		if received.Add(1) == int64(n) {
			close(done)
		}
	}))
	defer recv.Close()

	var yaml strings.Builder
	yaml.WriteString("users:\n")
	for i := range users {
		fmt.Fprintf(&yaml, "  - {username: u%d@example.com, contacts: [{method: webhook, to: %q}]}\n", i, recv.URL+"/u"+strconv.Itoa(i))
	}
	yaml.WriteString("escalations:\n")
	for i := range users {
		fmt.Fprintf(&yaml, "  - {name: p%d, rules: [{delay: %s, notify: {user: u%d@example.com}}]}\n", i, delay, i)
	}
	env := start(b, dsn)
	env.Apply(b, yaml.String())

	ctx := context.Background()
	origin := alert.Origin{Actor: alert.Actor{Kind: alert.ActorIntegration, ID: "bench", Name: "bench"}}
	var cpu0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &cpu0)
	b.ResetTimer()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				_, err := env.App.Alerts.Create(ctx, origin, alert.CreateRequest{
					Message: "storm " + strconv.FormatInt(i, 10), Alias: fmt.Sprintf("storm-%d", i),
					Responders: []alert.Responder{{Type: "escalation", Name: "p" + strconv.FormatInt(i%users, 10)}},
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(delay + 5*time.Minute):
		b.Fatalf("only %d of %d pages arrived", received.Load(), n)
	}
	b.StopTimer()
	var cpu1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &cpu1)

	// Step lateness from the notification records; page lateness from the receiver.
	list, err := env.App.Alerts.List(ctx, alert.ListOptions{Limit: 1})
	if err != nil || len(list) == 0 {
		b.Fatal(err)
	}
	var stepLate, pageLate []time.Duration
	esc := env.App.DB.Escalations(nil)
	for i := range n {
		a, err := env.App.Alerts.Get(ctx, alert.Ref{Type: alert.ByAlias, Value: fmt.Sprintf("storm-%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		due := a.CreatedAt.Add(delay)
		notes, err := esc.Notifications(ctx, a.ID)
		if err != nil || len(notes) != 1 {
			b.Fatalf("alert %d has %d notifications (%v), want 1", i, len(notes), err)
		}
		stepLate = append(stepLate, notes[0].CreatedAt.Sub(due))
		mu.Lock()
		pageLate = append(pageLate, arrived[a.ID].Sub(due))
		mu.Unlock()
	}
	report := func(unit string, d []time.Duration) {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
		b.ReportMetric(ms(d[len(d)/2]), unit+"-p50-ms")
		b.ReportMetric(ms(d[len(d)*99/100]), unit+"-p99-ms")
		b.ReportMetric(ms(d[len(d)-1]), unit+"-max-ms")
	}
	report("step-late", stepLate)
	report("page-late", pageLate)
	cpu := time.Duration(cpu1.Utime.Nano()+cpu1.Stime.Nano()-cpu0.Utime.Nano()-cpu0.Stime.Nano()) * time.Nanosecond
	b.ReportMetric(cpu.Seconds(), "cpu-s")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-rss-MiB")
}

// peakRSS reads the process's peak resident set size (VmHWM) from /proc, in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
