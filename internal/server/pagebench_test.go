package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/mailsink"
	"github.com/tocsin-dev/tocsin/internal/notify"
	emailchannel "github.com/tocsin-dev/tocsin/internal/notify/email"
	"github.com/tocsin-dev/tocsin/internal/securityhub"
	"github.com/tocsin-dev/tocsin/internal/server"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// Benchmarks of issue 6's whole path under load: signed Security Hub findings posted to
// /v1/json/amazonsecurityhub become alerts, the escalation engine pages the one on-call user at once,
// and the email reaches a real SMTP server (mailsink). Figures and commands are in BENCHMARKS.md.

// pageBenchTeam is one user on call: a schedule of one person, a policy whose only rule (step 0, no
// delay) pages the schedule, and an email contact.
const pageBenchTeam = `
users:
  - username: oncall@example.com
    fullName: Olivia Oncall
    contacts: [{method: email, to: oncall@example.com}]
teams:
  - name: secops
    members: [oncall@example.com]
    escalation: secops-now
schedules:
  - name: secops-primary
    team: secops
    timezone: UTC
    rotations:
      - {name: always, type: daily, start: "2026-01-01T00:00:00Z", participants: [oncall@example.com]}
escalations:
  - name: secops-now
    rules:
      - {delay: 0s, notify: {schedule: secops-primary}}
`

const (
	// pageBenchSenders is the pool of HTTP senders (one keep-alive transport). It bounds the requests
	// in flight; a finding that finds no sender free when it is due is sent late, and counted.
	pageBenchSenders = 128
	// pageBenchLate is how far behind its slot a send may start before it counts as late.
	pageBenchLate = 5 * time.Millisecond
	// pageBenchWait is how long after the last POST every email must have arrived; later is lost.
	pageBenchWait = 30 * time.Second
	// pageBenchGiveUp: a finding that no sender could start within this long of its slot is not sent
	// at all (and counted), which bounds a run when tocsin cannot take findings as fast as they come.
	pageBenchGiveUp = 30 * time.Second
	// pageBenchDrain is how much longer the benchmark waits, when some emails are lost, to learn
	// whether they are late or gone, so that the latency percentiles include the late ones.
	pageBenchDrain = 3 * time.Minute
)

// pageSeqRE finds the finding's sequence number, which its Title (and so the email's Subject) carries.
var pageSeqRE = regexp.MustCompile(`bench#(\d+)#`)

// BenchmarkFindingToEmail posts distinct signed findings at a fixed rate (100/s and 1,000/s, or the
// comma-separated TOCSIN_BENCH_RATES) for TOCSIN_BENCH_SECONDS (default 10), with the SMTP URL's
// max_conns set to TOCSIN_BENCH_SMTP_CONNS when that is given (else the default), and measures, per
// finding, the time from the start of its POST to the arrival of its page at the SMTP server. The senders are open loop: finding i is due at
// start + i/rate whatever happened to the ones before it. Messages are signed before the clock
// starts (signing is SNS's work, and RSA signing at 1,000/s would take a core of the two).
//
// Metrics: p50-ms, p99-ms and max-ms of that latency; emails/s, delivered emails over the time from
// the first POST to the last email; http-p99-ms of the POST alone; lost, findings answered 2xx whose
// email had not come 30 s after the last POST (must be 0); non2xx; late-sends, findings sent more
// than 5 ms after their slot; unsent, findings given up 30 s after their slot (tocsin took findings
// more slowly than they came); cpus and machine-cpus, the CPU this process and the whole machine
// used; stolen-cpus, the CPU the hypervisor kept for other machines (the "steal" of /proc/stat),
// which a shared virtual machine loses at random and which makes runs hard to compare. When emails are late the run waits up to 3 more minutes so that the percentiles include
// them; ones that never come count as that wait (and the log says the percentiles are then lower
// bounds).
//
// One run is a fixed-duration experiment, not a loop of b.N operations: run it with -benchtime=1x
// (a larger b.N repeats nothing; each sub-benchmark runs once on a fresh database).
func BenchmarkFindingToEmail(b *testing.B) {
	seconds := 10
	if v := os.Getenv("TOCSIN_BENCH_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("TOCSIN_BENCH_SECONDS=%q is not a positive number of seconds", v)
		}
		seconds = n
	}
	rates := []int{100, 1000}
	if v := os.Getenv("TOCSIN_BENCH_RATES"); v != "" {
		rates = nil
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("TOCSIN_BENCH_RATES=%q is not a comma-separated list of findings per second", v)
			}
			rates = append(rates, n)
		}
	}
	for _, db := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(db.name, func(b *testing.B) {
			for _, rate := range rates {
				b.Run(fmt.Sprintf("%d-per-s", rate), func(b *testing.B) {
					findingsToEmail(b, db.dsn(b), rate, time.Duration(seconds)*time.Second)
				})
			}
		})
	}
}

// pageRun is what one run records, indexed by finding.
type pageRun struct {
	posted   []atomic.Int64 // unix ns when the POST started
	received []atomic.Int64 // unix ns when the email arrived (the first one)
	httpLat  []time.Duration
	status   []int32 // HTTP status, or -1 for a transport error

	delivered, dups, strays atomic.Int64
	lastReceipt             atomic.Int64
}

func (r *pageRun) onMessage(m mailsink.Message) {
	subject := ""
	if m.Header != nil {
		subject, _ = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	}
	sub := pageSeqRE.FindStringSubmatch(subject)
	i, err := 0, error(nil)
	if sub != nil {
		i, err = strconv.Atoi(sub[1])
	}
	if sub == nil || err != nil || i < 0 || i >= len(r.received) {
		r.strays.Add(1)
		return
	}
	at := m.ReceivedAt.UnixNano()
	if !r.received[i].CompareAndSwap(0, at) {
		r.dups.Add(1)
		return
	}
	r.delivered.Add(1)
	for {
		last := r.lastReceipt.Load()
		if at <= last || r.lastReceipt.CompareAndSwap(last, at) {
			break
		}
	}
}

// findingsToEmail is one run: a fresh tocsin on dsn, rate findings a second for duration, then the
// wait for their emails, and the metrics.
func findingsToEmail(b *testing.B, dsn string, rate int, duration time.Duration) {
	n := int(int64(rate) * int64(duration) / int64(time.Second))
	run := &pageRun{posted: make([]atomic.Int64, n), received: make([]atomic.Int64, n), httpLat: make([]time.Duration, n), status: make([]int32, n)}

	sink, err := mailsink.Start(mailsink.Options{Discard: true, OnMessage: run.onMessage})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	smtpURL := sink.URL()
	if v := os.Getenv("TOCSIN_BENCH_SMTP_CONNS"); v != "" {
		smtpURL += "&max_conns=" + url.QueryEscape(v)
	}
	sn := snstest.NewServer(b, snstest.Config{})
	ca := filepath.Join(b.TempDir(), "sns-ca.pem")
	if err := os.WriteFile(ca, sn.CAPEM(), 0o600); err != nil {
		b.Fatal(err)
	}
	env := servertest.StartWith(b, server.Config{Database: dsn, SNSCertHosts: []string{sn.Host()}, SNSCAFile: ca,
		SMTPURL: smtpURL, SMTPFrom: "tocsin <tocsin@example.com>"})
	env.Apply(b, pageBenchTeam)
	key := env.Integration(b, integration.Integration{Name: "securityhub-prod", Type: integration.TypeSecurityHub, Team: "secops"})
	endpoint := env.URL + "/v1/json/amazonsecurityhub?apiKey=" + key

	signStart := time.Now()
	ids, reqs := pageRequests(b, sn, endpoint, n)
	b.Logf("%d findings signed in %s", n, time.Since(signStart).Round(time.Millisecond))
	runtime.GC()

	var (
		late, unsent atomic.Int64
		maxLag       atomic.Int64
		queue        = make(chan int, n)
		wg           sync.WaitGroup
		c            = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: pageBenchSenders, MaxIdleConns: pageBenchSenders}}
	)
	// The first finding makes tocsin fetch and cache the signing certificate and the channel open its
	// first SMTP connection; it is a warm-up of its own, so that no measured finding pays for them.
	if err := warmUp(c, sn, endpoint); err != nil {
		b.Fatalf("warm-up finding: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); run.strays.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the warm-up finding's email did not arrive within 10 s")
		}
	}
	stopSampling := sample(env)
	var cpu0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &cpu0)
	busy0, steal0, total0 := machineCPU()

	b.ResetTimer()
	start := time.Now().Add(20 * time.Millisecond)
	slot := func(i int) time.Time { return start.Add(time.Duration(int64(i) * int64(time.Second) / int64(rate))) }
	for range pageBenchSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range queue {
				t0 := time.Now()
				lag := t0.Sub(slot(i))
				if lag > pageBenchGiveUp {
					unsent.Add(1) // status stays 0: never sent
					continue
				}
				run.posted[i].Store(t0.UnixNano())
				if lag > pageBenchLate {
					late.Add(1)
					for {
						m := maxLag.Load()
						if int64(lag) <= m || maxLag.CompareAndSwap(m, int64(lag)) {
							break
						}
					}
				}
				res, err := c.Do(reqs[i])
				if err != nil {
					run.status[i] = -1
					run.httpLat[i] = time.Since(t0)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				run.httpLat[i] = time.Since(t0)
				run.status[i] = int32(res.StatusCode)
			}
		}()
	}
	// The scheduler hands finding i to the senders at its slot; it never waits for a send.
	for i := range n {
		if d := time.Until(slot(i)); d > 0 {
			time.Sleep(d)
		}
		queue <- i
	}
	close(queue)
	wg.Wait()
	sent := time.Now()
	reqs = nil // the bodies are garbage now

	var ok, non2xx, transportErrs int
	var httpLat []time.Duration
	for i := range n {
		switch s := run.status[i]; {
		case s == 0:
			continue
		case s >= 200 && s < 300:
			ok++
		case s == -1:
			transportErrs++
			non2xx++
		default:
			non2xx++
		}
		httpLat = append(httpLat, run.httpLat[i])
	}
	waitFor := func(until time.Time) {
		for int(run.delivered.Load()) < ok && time.Now().Before(until) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(sent.Add(pageBenchWait))
	lost := 0
	for i := range n {
		if s := run.status[i]; s >= 200 && s < 300 && run.received[i].Load() == 0 {
			lost++
		}
	}
	if lost > 0 {
		// Late or gone? Keep waiting, so that the percentiles below include the late ones.
		waitFor(time.Now().Add(pageBenchDrain))
	}
	end := time.Now()
	b.StopTimer()
	var cpu1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &cpu1)
	busy1, steal1, total1 := machineCPU()
	queueDepths, others := stopSampling()

	// Latency of every finding answered 2xx; one whose email has not come at all counts with the time
	// waited, so that percentiles reaching into those are lower bounds, not survivors' figures.
	var lat []time.Duration
	never := 0
	for i := range n {
		if s := run.status[i]; s < 200 || s >= 300 {
			continue
		}
		at := run.received[i].Load()
		if at == 0 {
			never++
			at = end.UnixNano()
		}
		lat = append(lat, time.Duration(at-run.posted[i].Load()))
	}
	slices.Sort(lat)
	slices.Sort(httpLat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pct := func(d []time.Duration, p float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[int(float64(len(d)-1)*p)]
	}
	b.ReportMetric(float64(n-int(unsent.Load())), "findings-sent")
	b.ReportMetric(float64(unsent.Load()), "unsent")
	b.ReportMetric(ms(pct(lat, 0.50)), "p50-ms")
	b.ReportMetric(ms(pct(lat, 0.99)), "p99-ms")
	b.ReportMetric(ms(pct(lat, 1)), "max-ms")
	first := run.posted[0].Load()
	if last := run.lastReceipt.Load(); last > first {
		b.ReportMetric(float64(run.delivered.Load())/time.Duration(last-first).Seconds(), "emails/s")
	}
	b.ReportMetric(ms(pct(httpLat, 0.99)), "http-p99-ms")
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(float64(non2xx), "non2xx")
	b.ReportMetric(float64(late.Load()), "late-sends")
	b.ReportMetric(float64(run.dups.Load()), "dup-emails")
	wall := end.Sub(start).Seconds()
	cpu := time.Duration(cpu1.Utime.Nano()+cpu1.Stime.Nano()-cpu0.Utime.Nano()-cpu0.Stime.Nano()) * time.Nanosecond
	b.ReportMetric(cpu.Seconds()/wall, "cpus")
	if total1 > total0 {
		// The whole machine: this process, PostgreSQL, the kernel, and anything else running.
		b.ReportMetric(float64(busy1-busy0)/float64(total1-total0)*float64(runtime.NumCPU()), "machine-cpus")
		b.ReportMetric(float64(steal1-steal0)/float64(total1-total0)*float64(runtime.NumCPU()), "stolen-cpus")
	}
	lowerBound := ""
	if never > 0 {
		lowerBound = fmt.Sprintf(" (counted as %s late, so percentiles above p%.2f are lower bounds)",
			(pageBenchWait + pageBenchDrain).Round(time.Second), 100*float64(ok-never)/float64(ok))
	}
	b.Logf("%d findings at %d/s over %s: %d sent (%d given up, > %s behind their slot), %d answered 2xx, %d not (%d transport errors); "+
		"%d sends late (> %s behind their slot, worst %s); %d emails within %s of the last POST, %d later, %d not within a further %s%s; "+
		"%d duplicates; peak RSS %d MiB",
		n, rate, duration, n-int(unsent.Load()), unsent.Load(), pageBenchGiveUp, ok, non2xx, transportErrs,
		late.Load(), pageBenchLate, time.Duration(maxLag.Load()).Round(time.Millisecond),
		ok-lost, pageBenchWait, lost-never, never, pageBenchDrain, lowerBound, run.dups.Load(), cpu1.Maxrss/1024)
	b.Logf("River jobs available or running, every 5 s: %s", queueDepths)
	if file, ok := strings.CutPrefix(dsn, "sqlite://"); ok {
		if st, err := os.Stat(file + "-wal"); err == nil {
			db, _ := os.Stat(file)
			b.Logf("SQLite: database %d MiB, write-ahead log %d MiB", db.Size()>>20, st.Size()>>20)
		}
	}
	if others != "" {
		b.Logf("CPU seconds other processes used meanwhile (postgres: every session's): %s", others)
	}
	stages(b, env, run, ids)
}

// machineCPU reads the jiffies the machine's CPUs spent busy and in all, from /proc/stat; 0, 0
// where there is none.
func machineCPU() (busy, steal, total uint64) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, 0
	}
	for i, f := range fields[1:] {
		v, _ := strconv.ParseUint(f, 10, 64)
		total += v
		switch i {
		case 3, 4: // idle, iowait
		case 7: // steal: time the hypervisor gave to other machines, which nothing here used
			steal += v
		default:
			busy += v
		}
	}
	return busy, steal, total
}

// pageRequests signs n findings, copies of the GuardDuty one with their own Id and a Title that
// starts with "bench#i#", and returns their Ids and ready POST requests. It signs on every core.
func pageRequests(b *testing.B, sn *snstest.Server, endpoint string, n int) ([]string, []*http.Request) {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "securityhub", "testdata", "events", "guardduty.json"))
	if err != nil {
		b.Fatal(err)
	}
	topic := sn.TopicARN("findings")
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	ids := make([]string, n)
	reqs := make([]*http.Request, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var fail atomic.Value
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ev map[string]any
			if err := json.Unmarshal(raw, &ev); err != nil {
				fail.Store(err)
				return
			}
			detail := ev["detail"].(map[string]any)
			finding := detail["findings"].([]any)[0].(map[string]any)
			title := finding["Title"].(string)
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				ids[i] = "arn:aws:guardduty:us-east-1:123456789012:detector/bench/finding/" + run + "-" + strconv.Itoa(i)
				finding["Id"] = ids[i]
				finding["Title"] = "bench#" + strconv.Itoa(i) + "# " + title
				ev["id"] = run + "-" + strconv.Itoa(i)
				body, err := json.Marshal(ev)
				if err != nil {
					fail.Store(err)
					return
				}
				req, err := snstest.NewRequest(context.Background(), endpoint, sn.Notification(topic, "", string(body)))
				if err != nil {
					fail.Store(err)
					return
				}
				reqs[i] = req
			}
		}()
	}
	wg.Wait()
	if err, _ := fail.Load().(error); err != nil {
		b.Fatal(err)
	}
	return ids, reqs
}

// warmUp posts one finding that is not measured (its page's Subject has no bench number); it makes
// tocsin fetch and cache the signing certificate.
func warmUp(c *http.Client, sn *snstest.Server, endpoint string) error {
	raw, err := os.ReadFile(filepath.Join("..", "securityhub", "testdata", "events", "guardduty.json"))
	if err != nil {
		return err
	}
	req, err := snstest.NewRequest(context.Background(), endpoint, sn.Notification(sn.TopicARN("findings"), "", string(raw)))
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

// sample counts the River jobs available or running every 5 s, and notes every second how much CPU
// every other process on the machine uses (other benchmarks, browsers of browser tests, compilers,
// PostgreSQL), until the returned func is called, which returns both as text.
func sample(env *servertest.Env) func() (queue, others string) {
	done := make(chan struct{})
	type result struct{ queue, others string }
	out := make(chan result, 1)
	go func() {
		var depths []string
		first, last := map[string]uint64{}, map[string]uint64{} // "pid name" → CPU ticks
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for tick := 1; ; tick++ {
			select {
			case <-done:
				byName := map[string]float64{}
				for k, v := range last {
					_, name, _ := strings.Cut(k, " ")
					byName[name] += float64(v-first[k]) / 100 // USER_HZ is 100 on Linux
				}
				var o []string
				for name, sec := range byName {
					if sec >= 1 {
						o = append(o, fmt.Sprintf("%s %.0f", name, sec))
					}
				}
				slices.Sort(o)
				out <- result{strings.Join(depths, " "), strings.Join(o, ", ")}
				return
			case <-t.C:
			}
			for k, v := range otherProcesses() {
				if _, ok := first[k]; !ok {
					first[k] = v
				}
				last[k] = v
			}
			if tick%5 != 0 {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			d, err := env.App.Queue.Depth(ctx)
			cancel()
			if err != nil {
				depths = append(depths, "?")
				continue
			}
			depths = append(depths, strconv.Itoa(d["available"]+d["running"]))
		}
	}()
	return func() (string, string) { close(done); r := <-out; return r.queue, r.others }
}

// otherProcesses returns the CPU ticks (user and system) of every process but this one, by
// "pid name". A process seen only once counts for nothing, one that started during the run from
// when it was first seen.
func otherProcesses() map[string]uint64 {
	out := map[string]uint64{}
	dirs, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == self {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid … utime stime: fields 14 and 15, counted after the closing parenthesis.
		open, closing := strings.IndexByte(string(stat), '('), strings.LastIndexByte(string(stat), ')')
		if open < 0 || closing < open {
			continue
		}
		f := strings.Fields(string(stat[closing+1:]))
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseUint(f[11], 10, 64)
		stime, _ := strconv.ParseUint(f[12], 10, 64)
		out[d.Name()+" "+string(stat[open+1:closing])] = utime + stime
	}
	return out
}

// stages splits the latency of up to 1,000 findings spread over the run into its parts, from what
// tocsin stored (millisecond resolution): POST to the alert's creation, the alert to the page's
// notification record (escalate and step jobs), and the record to the channel's return (notify job
// and SMTP). A run that left its queue far behind shows where the findings waited.
func stages(b *testing.B, env *servertest.Env, run *pageRun, ids []string) {
	ctx := context.Background()
	esc := env.App.DB.Escalations(nil)
	step := max(1, len(ids)/1000)
	var intake, toStep, toSent []time.Duration
	for i := 0; i < len(ids); i += step {
		if run.received[i].Load() == 0 {
			continue
		}
		a, err := env.App.Alerts.Get(ctx, alert.Ref{Type: alert.ByAlias, Value: securityhub.Alias(ids[i])})
		if err != nil {
			b.Logf("stages: finding %d: %v", i, err)
			return
		}
		notes, err := esc.Notifications(ctx, a.ID)
		if err != nil || len(notes) == 0 {
			b.Logf("stages: finding %d has %d notifications (%v)", i, len(notes), err)
			return
		}
		posted := time.Unix(0, run.posted[i].Load())
		intake = append(intake, a.CreatedAt.Sub(posted))
		toStep = append(toStep, notes[0].CreatedAt.Sub(a.CreatedAt))
		toSent = append(toSent, notes[0].SentAt.Sub(notes[0].CreatedAt))
	}
	f := func(d []time.Duration) string {
		if len(d) == 0 {
			return "-"
		}
		slices.Sort(d)
		return fmt.Sprintf("p50 %s p99 %s", d[len(d)/2].Round(time.Millisecond), d[(len(d)-1)*99/100].Round(time.Millisecond))
	}
	b.Logf("stages of %d findings: POST→alert %s | alert→page record (first step) %s | record→sent (SMTP) %s",
		len(intake), f(intake), f(toStep), f(toSent))
}

// BenchmarkEmailChannelSend measures the email channel alone (default settings: MaxConns 4, kept
// connections) against the mailsink: b.N pages of a Security Hub alert from 16 concurrent senders.
func BenchmarkEmailChannelSend(b *testing.B) {
	const senders = 16
	var got atomic.Int64
	sink, err := mailsink.Start(mailsink.Options{Discard: true, OnMessage: func(mailsink.Message) { got.Add(1) }})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	ch, err := emailchannel.New(emailchannel.Options{URL: sink.URL(), From: "tocsin <tocsin@example.com>", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer ch.Close()
	page := func(i int64) notify.Message {
		id := fmt.Sprintf("0195f3a2-7c4e-7d11-9a3b-%012d", i)
		return notify.Message{
			Alert: notify.Alert{
				ID: id, TinyID: i, Alias: "arn:aws:guardduty:us-east-1:123456789012:detector/bench/finding/" + strconv.FormatInt(i, 10),
				Message:  "Credentials for the EC2 instance role payments-api-role were used from a remote AWS account.",
				Priority: "P2", Status: "open", Source: "GuardDuty", Count: 1, CreatedAt: time.Now(), LastOccurredAt: time.Now(),
				Tags:        []string{"securityhub", "HIGH", "GuardDuty"},
				Description: "Credentials that were created exclusively for an EC2 instance using instance role payments-api-role have been used from external IP address 198.51.100.23.",
				Details:     map[string]string{"AwsAccountId": "123456789012", "Region": "us-east-1", "ProductName": "GuardDuty", "SeverityLabel": "HIGH"},
				Integration: notify.Integration{Name: "securityhub-prod", Type: "amazonsecurityhub"},
			},
			Step: 1, Round: 1,
			Recipient: notify.Person{Username: "oncall@example.com", FullName: "Olivia Oncall"},
			Contact:   notify.Contact{Method: notify.MethodEmail, To: "oncall@example.com"},
			Links: notify.Links{Alert: "http://127.0.0.1:8080/a/view." + id, Ack: "http://127.0.0.1:8080/a/ack." + id,
				Close: "http://127.0.0.1:8080/a/close." + id},
			IdempotencyKey: id + "/1/1/oncall@example.com/email",
		}
	}
	ctx := context.Background()
	if _, err := ch.Send(ctx, page(0)); err != nil { // connect outside the clock
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var fail atomic.Value
	b.ResetTimer()
	start := time.Now()
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := ch.Send(ctx, page(i)); err != nil {
					fail.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := fail.Load().(error); err != nil {
		b.Fatal(err)
	}
	if n := got.Load(); n != int64(b.N)+1 {
		b.Fatalf("the sink received %d emails, want %d", n, b.N+1)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "emails/s")
}
