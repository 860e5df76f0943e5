package load

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Request is one request the run sent, as it ended.
type Request struct {
	Kind      Kind      `json:"kind"`
	Of        Kind      `json:"of,omitempty"` // for a redelivery, the kind of the message posted again
	Seq       int       `json:"seq"`
	FindingID string    `json:"findingId"`
	MessageID string    `json:"messageId"`
	Target    string    `json:"target"`   // the base URL of the last attempt
	Sent      time.Time `json:"sent"`     // when the first attempt started
	At        time.Time `json:"at"`       // when the last attempt ended
	Status    int       `json:"status"`   // of the last attempt; 0 for a transport error
	Attempts  int       `json:"attempts"` // 1 unless retried
	LatencyMS float64   `json:"latencyMs"`
}

// Result is what a Run did and saw.
type Result struct {
	Run         string    `json:"run"`
	Targets     []string  `json:"targets"`
	Mix         string    `json:"mix"`
	Rate        float64   `json:"rate"`
	Concurrency int       `json:"concurrency"`
	Start       time.Time `json:"start"`
	SendEnd     time.Time `json:"sendEnd"` // when the last request ended
	End         time.Time `json:"end"`     // after the wait for pages
	Interrupted bool      `json:"interrupted,omitempty"`
	Summary     Summary   `json:"summary"`
	// Requests are the acknowledged (2xx) requests, in the order of their answers: every new finding
	// among them must be an alert.
	Requests []Request `json:"requests"`
	// NotAcknowledged are the requests that never got a 2xx (retries ran out, a final 4xx, the run
	// was interrupted): tocsin may or may not have committed them.
	NotAcknowledged []Request `json:"notAcknowledged"`
	// Emails are all the emails the sink received from the start of the run to its end, this run's
	// or not.
	Emails  []Email  `json:"emails"`
	Samples []Sample `json:"samples"`
}

// Summary is the figures of a Result.
type Summary struct {
	SendSeconds float64        `json:"sendSeconds"` // from the start to the end of the sending
	Sent        int64          `json:"sent"`        // requests started
	Acked       int64          `json:"acked"`
	NotAcked    int64          `json:"notAcked"`
	SentByKind  map[Kind]int64 `json:"sentByKind"`
	AckedByKind map[Kind]int64 `json:"ackedByKind"`
	// Fallbacks are picks of a redelivery, update or resolve that became a new finding because no
	// finding had been acknowledged yet to act on.
	Fallbacks int     `json:"fallbacks"`
	SentPerS  float64 `json:"sentPerS"`
	AckedPerS float64 `json:"ackedPerS"`
	// Late and Unsent count, at a fixed rate, requests started more than LateAfter behind their slot
	// and requests given up at Config.GiveUp behind it. MaxLagMS is the worst start.
	Late     int64   `json:"late"`
	Unsent   int64   `json:"unsent"`
	MaxLagMS float64 `json:"maxLagMs"`
	HTTP     Latency `json:"http"` // every attempt answered, any status
	Errors   Errors  `json:"errors"`
	Pages    Pages   `json:"pages"`
	Server   Server  `json:"server"`
}

// Latency is a distribution of durations, in milliseconds.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50Ms"`
	P99 float64 `json:"p99Ms"`
	Max float64 `json:"maxMs"`
}

// Errors counts failed attempts; a request retried five times against a restarting tocsin counts five.
type Errors struct {
	Transport map[string]int64 `json:"transport"` // by TransportClass
	Status    map[int]int64    `json:"status"`    // non-2xx answers by status code
	Aborted   int64            `json:"aborted"`   // attempts cut short by the run's end
}

// Pages is what the sink saw of the run's new findings: each acknowledged one should be paged exactly
// once, except one resolved before its page (a closed alert pages nobody).
type Pages struct {
	NewAcked   int     `json:"newAcked"`
	Paged      int     `json:"paged"`      // acknowledged new findings with at least one email
	Duplicated int     `json:"duplicated"` // … with more than one
	Latency    Latency `json:"findingToPage"`
	// Unpaged are the seqs of acknowledged new findings, never resolved in the run, without an email.
	Unpaged []int `json:"unpaged"`
	// ResolvedUnpaged are those without an email that a resolve was sent for: no page is owed when the
	// resolve closed the alert before the escalation paged.
	ResolvedUnpaged []int `json:"resolvedUnpaged"`
	DuplicateSeqs   []int `json:"duplicateSeqs"`
	Emails          int   `json:"emails"`         // emails with this run's marker
	UnackedEmails   int   `json:"unackedEmails"`  // … about a new finding never acknowledged
	OtherEmails     int   `json:"otherEmails"`    // emails without this run's marker
	SinkConfigured  bool  `json:"sinkConfigured"` // false: no sink, nothing above is measured
	WaitedForPages  bool  `json:"waitedForPages"` // the run waited for owed pages after sending
}

// Server sums up the samples of the tocsin process.
type Server struct {
	PIDs            []int   `json:"pids"` // every PID seen, in order: more than one means restarts
	RSSFirst        int64   `json:"rssFirstBytes"`
	RSSLast         int64   `json:"rssLastBytes"`
	RSSMax          int64   `json:"rssMaxBytes"`
	CPUSeconds      float64 `json:"cpuS"`  // used during the run, summed over the PIDs
	Cores           float64 `json:"cores"` // CPUSeconds over the time sampled
	GoroutinesFirst int     `json:"goroutinesFirst"`
	GoroutinesLast  int     `json:"goroutinesLast"`
	GoroutinesMax   int     `json:"goroutinesMax"`
}

// Percentile returns the nearest-rank p-quantile (0 < p ≤ 1) of sorted: the smallest value with at
// least p of them at or below it. 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Distribution sorts d (in place) and sums it up.
func Distribution(d []time.Duration) Latency {
	slices.Sort(d)
	return Latency{N: len(d), P50: ms(Percentile(d, 0.50)), P99: ms(Percentile(d, 0.99)), Max: ms(Percentile(d, 1))}
}

func (r *runner) result(sendEnd, end time.Time, samples []Sample) *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emu.Lock()
	defer r.emu.Unlock()
	res := &Result{
		Run: r.cfg.RunID, Targets: r.targets, Mix: r.cfg.Mix.String(), Rate: r.cfg.Rate, Concurrency: r.cfg.Concurrency,
		Start: r.start, SendEnd: sendEnd, End: end,
		Requests: slices.Clone(r.requests), NotAcknowledged: slices.Clone(r.notAcked),
		Emails: slices.Clone(r.emails), Samples: samples,
	}
	if res.Requests == nil {
		res.Requests = []Request{}
	}
	if res.NotAcknowledged == nil {
		res.NotAcknowledged = []Request{}
	}
	if res.Emails == nil {
		res.Emails = []Email{}
	}
	if res.Samples == nil {
		res.Samples = []Sample{}
	}
	slices.SortStableFunc(res.Requests, func(a, b Request) int { return a.At.Compare(b.At) })

	s := &res.Summary
	s.SendSeconds = sendEnd.Sub(r.start).Seconds()
	s.SentByKind, s.AckedByKind = map[Kind]int64{}, map[Kind]int64{}
	for _, k := range kinds {
		s.SentByKind[k], s.AckedByKind[k] = r.sent[k], r.ackedBy[k]
		s.Sent += r.sent[k]
		s.Acked += r.ackedBy[k]
	}
	s.NotAcked = int64(len(r.notAcked))
	s.Fallbacks = r.plan.fallbackCount()
	if s.SendSeconds > 0 {
		s.SentPerS, s.AckedPerS = float64(s.Sent)/s.SendSeconds, float64(s.Acked)/s.SendSeconds
	}
	s.Late, s.Unsent, s.MaxLagMS = r.late.Load(), r.unsent.Load(), ms(time.Duration(r.maxLag.Load()))
	s.HTTP = Distribution(slices.Clone(r.httpLat))
	s.Errors = Errors{Transport: maps.Clone(r.transport), Status: maps.Clone(r.statuses), Aborted: r.aborted.Load()}
	s.Pages = pages(res, r.cfg.Sink != nil, r.cfg.Wait > 0)
	s.Server = server(samples)
	return res
}

// pages matches the emails of res with its new findings.
func pages(res *Result, sink, waited bool) Pages {
	p := Pages{SinkConfigured: sink, WaitedForPages: waited, Unpaged: []int{}, ResolvedUnpaged: []int{}, DuplicateSeqs: []int{}}
	sent := map[int]time.Time{} // acknowledged new findings: seq → when their POST started
	resolved := map[int]bool{}
	for _, q := range res.Requests {
		switch q.Kind {
		case KindNew:
			sent[q.Seq] = q.Sent
		case KindResolve:
			resolved[q.Seq] = true
		}
	}
	for _, q := range res.NotAcknowledged {
		if q.Kind == KindResolve {
			resolved[q.Seq] = true
		}
	}
	p.NewAcked = len(sent)
	first := map[int]time.Time{}
	count := map[int]int{}
	for _, e := range res.Emails {
		if e.Run != res.Run {
			p.OtherEmails++
			continue
		}
		p.Emails++
		if _, ok := sent[e.Seq]; !ok {
			p.UnackedEmails++
			continue
		}
		count[e.Seq]++
		if f, ok := first[e.Seq]; !ok || e.At.Before(f) {
			first[e.Seq] = e.At
		}
	}
	var lat []time.Duration
	for seq, t0 := range sent {
		switch n := count[seq]; {
		case n == 0 && resolved[seq]:
			p.ResolvedUnpaged = append(p.ResolvedUnpaged, seq)
		case n == 0:
			p.Unpaged = append(p.Unpaged, seq)
		default:
			p.Paged++
			lat = append(lat, first[seq].Sub(t0))
			if n > 1 {
				p.Duplicated++
				p.DuplicateSeqs = append(p.DuplicateSeqs, seq)
			}
		}
	}
	slices.Sort(p.Unpaged)
	slices.Sort(p.ResolvedUnpaged)
	slices.Sort(p.DuplicateSeqs)
	p.Latency = Distribution(lat)
	return p
}

// server sums up samples; CPU time is counted per PID, so that a restart does not subtract.
func server(samples []Sample) Server {
	s := Server{PIDs: []int{}, RSSFirst: -1, RSSLast: -1, RSSMax: -1, GoroutinesFirst: -1, GoroutinesLast: -1, GoroutinesMax: -1}
	cpuFirst := map[int]float64{}
	cpuLast := map[int]float64{}
	var t0, t1 time.Time
	for _, x := range samples {
		if x.RSS >= 0 {
			if s.RSSFirst < 0 {
				s.RSSFirst = x.RSS
			}
			s.RSSLast, s.RSSMax = x.RSS, max(s.RSSMax, x.RSS)
		}
		if x.Goroutines >= 0 {
			if s.GoroutinesFirst < 0 {
				s.GoroutinesFirst = x.Goroutines
			}
			s.GoroutinesLast, s.GoroutinesMax = x.Goroutines, max(s.GoroutinesMax, x.Goroutines)
		}
		if x.PID > 0 && x.CPU >= 0 {
			if len(s.PIDs) == 0 || s.PIDs[len(s.PIDs)-1] != x.PID {
				s.PIDs = append(s.PIDs, x.PID)
			}
			if _, ok := cpuFirst[x.PID]; !ok {
				cpuFirst[x.PID] = x.CPU
			}
			cpuLast[x.PID] = x.CPU
			if t0.IsZero() {
				t0 = x.At
			}
			t1 = x.At
		}
	}
	for pid, last := range cpuLast {
		s.CPUSeconds += last - cpuFirst[pid]
	}
	if d := t1.Sub(t0).Seconds(); d > 0 {
		s.Cores = s.CPUSeconds / d
	}
	return s
}

// WriteJSON writes the whole Result as JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("load: writing the result: %w", err)
	}
	return nil
}

// WriteSamplesCSV writes the samples as CSV with a header line: unix time (s, with ms), elapsed s, RSS
// bytes, CPU s, goroutines, requests acknowledged so far, emails so far, PID. A value not read is an
// empty cell.
func (r *Result) WriteSamplesCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"unix_time", "elapsed_s", "rss_bytes", "cpu_s", "goroutines", "acked", "emails", "pid"})
	unknown := func(ok bool, s string) string {
		if !ok {
			return ""
		}
		return s
	}
	for _, x := range r.Samples {
		_ = cw.Write([]string{
			strconv.FormatFloat(float64(x.At.UnixMilli())/1000, 'f', 3, 64),
			strconv.FormatFloat(x.Elapsed, 'f', 3, 64),
			unknown(x.RSS >= 0, strconv.FormatInt(x.RSS, 10)),
			unknown(x.CPU >= 0, strconv.FormatFloat(x.CPU, 'f', 2, 64)),
			unknown(x.Goroutines >= 0, strconv.Itoa(x.Goroutines)),
			strconv.FormatInt(x.Acked, 10),
			strconv.FormatInt(x.Emails, 10),
			unknown(x.PID > 0, strconv.Itoa(x.PID)),
		})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("load: writing the samples: %w", err)
	}
	return nil
}

// Report writes the Summary for people.
func (r *Result) Report(w io.Writer) error {
	b := bufio.NewWriter(w)
	s := r.Summary
	state := ""
	if r.Interrupted {
		state = " (interrupted)"
	}
	rate := "as fast as possible"
	if r.Rate > 0 {
		rate = fmt.Sprintf("%g/s", r.Rate)
	}
	fmt.Fprintf(b, "run %s%s: %s, %d senders, mix %s, to %s\n", r.Run, state, rate, r.Concurrency, r.Mix, strings.Join(r.Targets, ", "))
	fmt.Fprintf(b, "  sent      %d requests in %.1f s: %.1f/s sent, %.1f/s acknowledged (2xx); %d never acknowledged\n",
		s.Sent, s.SendSeconds, s.SentPerS, s.AckedPerS, s.NotAcked)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d/%d", k, s.SentByKind[k], s.AckedByKind[k]))
	}
	fmt.Fprintf(b, "  kinds     sent/acknowledged: %s", strings.Join(parts, ", "))
	if s.Fallbacks > 0 {
		fmt.Fprintf(b, " (%d picks became new findings: nothing acknowledged yet to act on)", s.Fallbacks)
	}
	fmt.Fprintln(b)
	if r.Rate > 0 {
		fmt.Fprintf(b, "  schedule  %d started late (> %s behind their slot, worst %.1f ms), %d given up unsent\n", s.Late, LateAfter, s.MaxLagMS, s.Unsent)
	}
	fmt.Fprintf(b, "  http      %s\n", s.HTTP)
	fmt.Fprintf(b, "  errors    %s\n", s.Errors)
	p := s.Pages
	if !p.SinkConfigured {
		fmt.Fprintln(b, "  pages     not measured (no SMTP sink)")
	} else {
		fmt.Fprintf(b, "  pages     %d new findings acknowledged: %d paged, %d more than once, %d not paged, %d resolved unpaged (none owed if the resolve came first)\n",
			p.NewAcked, p.Paged, p.Duplicated, len(p.Unpaged), len(p.ResolvedUnpaged))
		fmt.Fprintf(b, "            finding-to-page %s; %d emails about this run (%d about unacknowledged findings), %d others\n",
			p.Latency, p.Emails, p.UnackedEmails, p.OtherEmails)
		if len(p.Unpaged) > 0 {
			fmt.Fprintf(b, "            not paged: %s\n", seqList(p.Unpaged, 30))
		}
		if len(p.DuplicateSeqs) > 0 {
			fmt.Fprintf(b, "            paged more than once: %s\n", seqList(p.DuplicateSeqs, 30))
		}
	}
	sv := s.Server
	if len(sv.PIDs) == 0 && sv.GoroutinesFirst < 0 {
		fmt.Fprintln(b, "  server    not sampled (no --pid or --pid-file, /metrics unreachable)")
	} else {
		fmt.Fprintf(b, "  server    pid %s: RSS %s → %s (max %s), CPU %.1f s (%.2f cores), goroutines %s → %s (max %s)\n",
			intList(sv.PIDs), mib(sv.RSSFirst), mib(sv.RSSLast), mib(sv.RSSMax), sv.CPUSeconds, sv.Cores,
			count(sv.GoroutinesFirst), count(sv.GoroutinesLast), count(sv.GoroutinesMax))
	}
	if err := b.Flush(); err != nil {
		return fmt.Errorf("load: writing the report: %w", err)
	}
	return nil
}

func (l Latency) String() string {
	if l.N == 0 {
		return "none"
	}
	return fmt.Sprintf("p50 %.1f ms, p99 %.1f ms, max %.1f ms (n=%d)", l.P50, l.P99, l.Max, l.N)
}

func (e Errors) String() string {
	var parts []string
	var transport int64
	var classes []string
	for c, n := range e.Transport {
		transport += n
		classes = append(classes, fmt.Sprintf("%s %d", c, n))
	}
	slices.Sort(classes)
	if transport > 0 {
		parts = append(parts, fmt.Sprintf("transport %d (%s)", transport, strings.Join(classes, ", ")))
	} else {
		parts = append(parts, "transport 0")
	}
	codes := make([]int, 0, len(e.Status))
	for c := range e.Status {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	if len(codes) == 0 {
		parts = append(parts, "non-2xx 0")
	}
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("HTTP %d: %d", c, e.Status[c]))
	}
	if e.Aborted > 0 {
		parts = append(parts, fmt.Sprintf("aborted %d", e.Aborted))
	}
	return strings.Join(parts, ", ")
}

func seqList(seqs []int, limit int) string {
	s := intList(seqs[:min(len(seqs), limit)])
	if len(seqs) > limit {
		s += fmt.Sprintf(" … (%d in all; the JSON result has every one)", len(seqs))
	}
	return s
}

func intList(v []int) string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ", ")
}

func mib(b int64) string {
	if b < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func count(n int) string {
	if n < 0 {
		return "?"
	}
	return strconv.Itoa(n)
}
