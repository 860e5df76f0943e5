package load

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// IntakePath is where tocsin takes Security Hub findings; the key goes in ?apiKey=.
const IntakePath = "/v1/json/amazonsecurityhub"

// Defaults for Config fields left zero.
const (
	DefaultConcurrency    = 64
	DefaultRetryFor       = time.Minute
	DefaultGiveUp         = 30 * time.Second
	DefaultRequestTimeout = 30 * time.Second
	DefaultSampleEvery    = time.Second
)

// LateAfter is how far behind its slot a request may start, at a fixed rate, before it counts as late.
const LateAfter = 5 * time.Millisecond

// Config is one run of the generator.
type Config struct {
	// Targets are the base URLs of the tocsins to drive (http://127.0.0.1:8080), each a loopback
	// address or localhost (see CheckTarget). Requests go to them in turn.
	Targets []string
	// APIKey is the key of the Security Hub integration (?apiKey=).
	APIKey string
	// Signer signs the requests; tocsin must trust it (ServeFlags). Required.
	Signer *Signer
	// Sink, when set, is where tocsin's email pages arrive: pages are counted per finding and timed.
	Sink *Sink

	// Mix weighs the kinds of request; zero means new findings only.
	Mix Mix
	// Rate is requests a second, open loop: request i is due at start + i/Rate whatever happened to
	// the ones before it. 0 sends as fast as Concurrency senders can.
	Rate float64
	// Concurrency is the number of senders (and keep-alive connections); default DefaultConcurrency.
	Concurrency int
	// Count and Duration bound the sending; whichever comes first ends it. At least one is required.
	Count    int
	Duration time.Duration
	// Wait is how long after the sending ends to wait for the pages still owed (0: not at all).
	Wait time.Duration

	// Signers is the number of goroutines signing ahead of the senders; default GOMAXPROCS.
	Signers int
	// RetryFor bounds how long one request is retried after transport errors (a target that was
	// killed and is restarting), 5xx, 408 and 429 answers; default DefaultRetryFor. Each failed attempt
	// is counted as an error; a request is acknowledged only by a 2xx.
	RetryFor time.Duration
	// GiveUp: at a fixed rate, a request no sender could start within this long of its slot is not sent
	// (and counted as unsent); default DefaultGiveUp.
	GiveUp time.Duration
	// RequestTimeout bounds one attempt; default DefaultRequestTimeout.
	RequestTimeout time.Duration

	// PID, PIDFile or PIDFunc name the tocsin process whose memory and CPU are sampled from /proc.
	// The file is read, and the func called, again at every sample, so that a restarted tocsin is
	// followed (an orchestrator holding the exec.Cmd gives PIDFunc). None: not sampled.
	PID     int
	PIDFile string
	PIDFunc func() int
	// MetricsURL is where the goroutine count is read from; default the first target's /metrics.
	MetricsURL string
	// SampleEvery is the sampling interval; default DefaultSampleEvery.
	SampleEvery time.Duration

	// RunID names the run in every finding's Id and title marker ([0-9a-z], up to 16); default
	// random, so runs against one database never collide.
	RunID string
	// Seed seeds the choice of targets for updates, resolves and redeliveries; 0 is random.
	Seed uint64
	// Logger gets progress and the first error of each kind; default none.
	Logger *slog.Logger
}

// signed is one request ready to send.
type signed struct {
	kind      Kind
	of        Kind // for a redelivery, the kind of the message posted again
	seq       int
	findingID string
	msg       *Message
	slot      time.Time // at a fixed rate, when it is due
}

// runner is the state of one Run.
type runner struct {
	cfg       Config
	log       *slog.Logger
	targets   []string // base URLs
	endpoints []string // their intake URLs, with the key
	client    *http.Client
	plan      *planner
	next      atomic.Uint64
	start     time.Time

	acked, late, unsent, aborted atomic.Int64
	maxLag                       atomic.Int64

	mu        sync.Mutex
	requests  []Request // acknowledged
	notAcked  []Request // sent and never acknowledged
	httpLat   []time.Duration
	sent      map[Kind]int64
	ackedBy   map[Kind]int64
	transport map[string]int64
	statuses  map[int]int64

	emu      sync.Mutex
	emailIdx int // the sink's count when the run started
	emails   []Email
	ours     int64
}

// Run drives the targets as cfg says, waits for the pages owed, and returns what happened. It
// returns an error only when it could not run (a bad Config, a finding it could not sign); errors of
// the targets are counted in the Result. When ctx ends it stops sending, skips the wait, and
// returns what it has, with Result.Interrupted set.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	cfg = r.cfg
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var emailsStart int
	if cfg.Sink != nil {
		emailsStart = cfg.Sink.Len()
	}
	r.emailIdx = emailsStart

	// Signed requests wait in ready; planned early, they can only act on findings acknowledged
	// before, so it holds about a quarter of a second's worth: enough to absorb a slow signature.
	lookahead := 4 * cfg.Signers
	if cfg.Rate > 0 {
		lookahead = min(max(int(cfg.Rate/4), 16), 1024)
	}
	ready := make(chan *signed, lookahead)
	signCtx, stopSigning := context.WithCancel(runCtx)
	defer stopSigning()
	signersDone := r.startSigners(signCtx, ready, func(err error) { cancel(err) })
	// A head start, so that the first slots do not wait for a signature.
	for deadline := time.Now().Add(5 * time.Second); len(ready) < cap(ready) && time.Now().Before(deadline); {
		select {
		case <-signersDone:
			deadline = time.Time{}
		case <-runCtx.Done():
			deadline = time.Time{}
		case <-time.After(5 * time.Millisecond):
		}
	}

	r.start = time.Now()
	sampleCtx, stopSampling := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSampling()
	samples := make(chan []Sample, 1)
	smp := &sampler{pid: cfg.PID, pidFile: cfg.PIDFile, pidFunc: cfg.PIDFunc, metricsURL: cfg.MetricsURL, client: newClient(1, 2*time.Second), start: r.start,
		counts: func() (int64, int64) { return r.acked.Load(), r.pollEmails() }}
	go func() { samples <- smp.run(sampleCtx, cfg.SampleEvery) }()
	r.log.Info("load: sending", "run", cfg.RunID, "targets", r.targets, "rate", cfg.Rate, "concurrency", cfg.Concurrency,
		"count", cfg.Count, "duration", cfg.Duration, "mix", cfg.Mix.String())

	var senders sync.WaitGroup
	if cfg.Rate > 0 {
		jobs := make(chan *signed, 1<<14)
		for range cfg.Concurrency {
			senders.Go(func() { r.sender(runCtx, jobs, time.Time{}) })
		}
		r.schedule(runCtx, ready, jobs)
		close(jobs)
	} else {
		var deadline time.Time
		if cfg.Duration > 0 {
			deadline = r.start.Add(cfg.Duration)
		}
		for range cfg.Concurrency {
			senders.Go(func() { r.sender(runCtx, ready, deadline) })
		}
	}
	senders.Wait()
	sendEnd := time.Now()
	stopSigning()
	if err := context.Cause(runCtx); err != nil && ctx.Err() == nil {
		return nil, err // a signing failure, not the caller's cancellation
	}
	r.log.Info("load: sending done", "run", cfg.RunID, "sent", r.totalSent(), "acked", r.acked.Load(), "took", sendEnd.Sub(r.start).Round(time.Millisecond))

	interrupted := ctx.Err() != nil
	if !interrupted && cfg.Sink != nil && cfg.Wait > 0 {
		r.waitForPages(ctx, sendEnd.Add(cfg.Wait))
		interrupted = ctx.Err() != nil
	}
	r.pollEmails()
	end := time.Now()
	stopSampling()
	res := r.result(sendEnd, end, <-samples)
	res.Interrupted = interrupted
	return res, nil
}

func newRunner(cfg Config) (*runner, error) {
	if len(cfg.Targets) == 0 {
		return nil, errors.New("load: no target")
	}
	if cfg.Signer == nil {
		return nil, errors.New("load: no signer")
	}
	if cfg.APIKey == "" {
		return nil, errors.New("load: no API key (the Security Hub integration's, from tocsin integration create)")
	}
	if cfg.Count < 0 || cfg.Duration < 0 || cfg.Rate < 0 || cfg.Wait < 0 || cfg.Concurrency < 0 || cfg.Signers < 0 ||
		cfg.RetryFor < 0 || cfg.GiveUp < 0 || cfg.RequestTimeout < 0 || cfg.SampleEvery < 0 {
		return nil, errors.New("load: counts, durations and rates must not be negative")
	}
	if cfg.Count == 0 && cfg.Duration == 0 {
		return nil, errors.New("load: give a count, a duration or both: an unbounded run is not allowed")
	}
	if err := cfg.Mix.validate(); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if cfg.RunID == "" {
		cfg.RunID = randomRunID()
	} else if !validRunID(cfg.RunID) {
		return nil, fmt.Errorf("load: run id %q: use 1 to 16 of 0-9 and a-z", cfg.RunID)
	}
	cfg.Concurrency = orDefault(cfg.Concurrency, DefaultConcurrency)
	cfg.Signers = orDefault(cfg.Signers, runtime.GOMAXPROCS(0))
	cfg.RetryFor = orDefault(cfg.RetryFor, DefaultRetryFor)
	cfg.GiveUp = orDefault(cfg.GiveUp, DefaultGiveUp)
	cfg.RequestTimeout = orDefault(cfg.RequestTimeout, DefaultRequestTimeout)
	cfg.SampleEvery = orDefault(cfg.SampleEvery, DefaultSampleEvery)
	if cfg.Seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		cfg.Seed = binary.LittleEndian.Uint64(b[:])
	}
	r := &runner{
		cfg: cfg, log: cfg.Logger,
		client: newClient(cfg.Concurrency, cfg.RequestTimeout),
		plan:   newPlanner(cfg.Mix, cfg.Count, cfg.Seed),
		sent:   map[Kind]int64{}, ackedBy: map[Kind]int64{}, transport: map[string]int64{}, statuses: map[int]int64{},
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	for _, t := range cfg.Targets {
		u, err := CheckTarget(t)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		r.targets = append(r.targets, u.String())
		r.endpoints = append(r.endpoints, u.String()+IntakePath+"?apiKey="+url.QueryEscape(cfg.APIKey))
	}
	if r.cfg.MetricsURL == "" {
		r.cfg.MetricsURL = r.targets[0] + "/metrics"
	} else if u, err := url.Parse(r.cfg.MetricsURL); err != nil || !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("load: metrics URL %q: %w", r.cfg.MetricsURL, ErrNotLoopback)
	}
	return r, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func randomRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatUint(binary.LittleEndian.Uint64(b[:])>>28, 36) // 36 bits: 7 characters
}

func validRunID(s string) bool {
	if len(s) == 0 || len(s) > 16 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// startSigners starts cfg.Signers goroutines that plan, build and sign requests into out, which is
// closed when the plan's count is reached or ctx ends; the returned channel is closed then too.
func (r *runner) startSigners(ctx context.Context, out chan<- *signed, fail func(error)) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range r.cfg.Signers {
		wg.Go(func() {
			b, err := newBuilder(r.cfg.RunID)
			if err != nil {
				fail(err)
				return
			}
			for ctx.Err() == nil {
				p, ok := r.plan.next()
				if !ok {
					return
				}
				it, err := r.sign(b, p)
				if err != nil {
					fail(err)
					return
				}
				select {
				case out <- it:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
		close(done)
	}()
	return done
}

func (r *runner) sign(b *builder, p plan) (*signed, error) {
	if p.kind == KindRedeliver {
		o := p.original
		return &signed{kind: KindRedeliver, of: o.kind, seq: o.seq, findingID: o.findingID, msg: o.msg}, nil
	}
	event, err := b.event(p)
	if err != nil {
		return nil, err
	}
	msg, err := r.cfg.Signer.Notification(event)
	if err != nil {
		return nil, err
	}
	return &signed{kind: p.kind, seq: p.seq, findingID: FindingID(r.cfg.RunID, p.seq), msg: msg}, nil
}

// schedule hands request k to the senders at start + k/Rate, never waiting for a send, until the
// duration or the count is reached or ctx ends.
func (r *runner) schedule(ctx context.Context, ready <-chan *signed, jobs chan<- *signed) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for k := 0; ; k++ {
		slot := r.start.Add(time.Duration(float64(k) * float64(time.Second) / r.cfg.Rate))
		if r.cfg.Duration > 0 && !slot.Before(r.start.Add(r.cfg.Duration)) {
			return
		}
		if d := time.Until(slot); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
		var it *signed
		select {
		case x, ok := <-ready:
			if !ok {
				return
			}
			it = x
		case <-ctx.Done():
			return
		}
		it.slot = slot
		select {
		case jobs <- it:
		case <-ctx.Done():
			return
		}
	}
}

// sender sends what comes from jobs until it is closed, ctx ends or (when not zero) deadline passes.
func (r *runner) sender(ctx context.Context, jobs <-chan *signed, deadline time.Time) {
	for {
		var it *signed
		select {
		case x, ok := <-jobs:
			if !ok {
				return
			}
			it = x
		case <-ctx.Done():
			return
		}
		now := time.Now()
		if !deadline.IsZero() && now.After(deadline) {
			return
		}
		if !it.slot.IsZero() {
			lag := now.Sub(it.slot)
			if lag > r.cfg.GiveUp {
				r.unsent.Add(1)
				continue
			}
			if lag > LateAfter {
				r.late.Add(1)
				for m := r.maxLag.Load(); int64(lag) > m && !r.maxLag.CompareAndSwap(m, int64(lag)); m = r.maxLag.Load() {
				}
			}
		}
		r.send(ctx, it)
	}
}

// send posts it until a 2xx, a final answer (any other 4xx), RetryFor passes or ctx ends, each
// attempt to the next target in turn.
func (r *runner) send(ctx context.Context, it *signed) {
	r.mu.Lock()
	r.sent[it.kind]++
	r.mu.Unlock()
	first := time.Now()
	backoff := 50 * time.Millisecond
	rec := Request{Kind: it.kind, Of: it.of, Seq: it.seq, FindingID: it.findingID, MessageID: it.msg.ID, Sent: first}
	for {
		rec.Attempts++
		i := int((r.next.Add(1) - 1) % uint64(len(r.endpoints)))
		rec.Target = r.targets[i]
		t0 := time.Now()
		status, body, err := r.post(ctx, it.msg, r.endpoints[i])
		rec.At = time.Now()
		rec.Status, rec.LatencyMS = status, ms(rec.At.Sub(t0))
		switch {
		case err == nil && status >= 200 && status < 300:
			r.acked.Add(1)
			r.plan.acked(it)
			r.mu.Lock()
			r.httpLat = append(r.httpLat, rec.At.Sub(t0))
			r.requests = append(r.requests, rec)
			r.ackedBy[it.kind]++
			r.mu.Unlock()
			return
		case err != nil && ctx.Err() != nil:
			r.aborted.Add(1)
			r.notAck(rec)
			return
		case err != nil:
			r.transportError(err, rec.Target)
		default:
			r.statusError(status, body, rec.At.Sub(t0))
			if !retryable(status) {
				r.notAck(rec)
				return
			}
		}
		if time.Since(first)+backoff > r.cfg.RetryFor {
			r.notAck(rec)
			return
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			r.aborted.Add(1)
			r.notAck(rec)
			return
		}
		backoff = min(2*backoff, time.Second)
	}
}

// post makes one attempt; the body is kept (up to 512 bytes) only for a non-2xx answer.
func (r *runner) post(ctx context.Context, m *Message, endpoint string) (int, []byte, error) {
	req, err := m.Request(ctx, endpoint)
	if err != nil {
		return 0, nil, err
	}
	res, err := r.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var body []byte
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		body, _ = io.ReadAll(io.LimitReader(res.Body, 512))
	}
	_, _ = io.Copy(io.Discard, res.Body) // so the connection is kept
	return res.StatusCode, body, nil
}

func retryable(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

func (r *runner) notAck(rec Request) {
	r.mu.Lock()
	r.notAcked = append(r.notAcked, rec)
	r.mu.Unlock()
}

func (r *runner) transportError(err error, target string) {
	class := TransportClass(err)
	r.mu.Lock()
	r.transport[class]++
	n := r.transport[class]
	r.mu.Unlock()
	if n == 1 {
		r.log.Warn("load: transport error (retrying; later ones of this class are only counted)", "class", class, "target", target, "error", r.redact(err))
	}
}

// redact is err's text without the API key, which net/http puts in its errors with the URL.
func (r *runner) redact(err error) string {
	s := err.Error()
	for _, k := range []string{url.QueryEscape(r.cfg.APIKey), r.cfg.APIKey} {
		s = strings.ReplaceAll(s, k, "REDACTED")
	}
	return s
}

func (r *runner) statusError(status int, body []byte, took time.Duration) {
	r.mu.Lock()
	r.statuses[status]++
	n := r.statuses[status]
	r.httpLat = append(r.httpLat, took)
	r.mu.Unlock()
	if n == 1 {
		r.log.Warn("load: non-2xx answer (later ones with this status are only counted)", "status", status, "retrying", retryable(status), "body", string(body))
	}
}

// TransportClass sorts a failed request's error: "refused" (nothing listens: the target is down or
// restarting), "reset" (the connection broke), "eof" (the server closed the connection, as a killed
// one does), "timeout", "not-loopback", or "other".
func TransportClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, ErrNotLoopback):
		return "not-loopback"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "other"
}

func (r *runner) totalSent() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, v := range r.sent {
		n += v
	}
	return n
}

// pollEmails takes the emails that arrived since the last call and returns how many of the run's have
// arrived.
func (r *runner) pollEmails() int64 {
	if r.cfg.Sink == nil {
		return 0
	}
	r.emu.Lock()
	defer r.emu.Unlock()
	more, _ := r.cfg.Sink.Emails(r.emailIdx + len(r.emails))
	for _, e := range more {
		if e.Run == r.cfg.RunID {
			r.ours++
		}
	}
	r.emails = append(r.emails, more...)
	return r.ours
}

// waitForPages waits until every acknowledged new finding that was not resolved has been paged, or
// until deadline or ctx ends.
func (r *runner) waitForPages(ctx context.Context, deadline time.Time) {
	r.mu.Lock()
	resolved := map[int]bool{}
	var owed []int
	for _, q := range r.requests {
		if q.Kind == KindResolve {
			resolved[q.Seq] = true
		}
	}
	for _, q := range r.notAcked {
		if q.Kind == KindResolve {
			resolved[q.Seq] = true // it may have been committed all the same
		}
	}
	for _, q := range r.requests {
		if q.Kind == KindNew && !resolved[q.Seq] {
			owed = append(owed, q.Seq)
		}
	}
	r.mu.Unlock()
	paged := map[int]bool{}
	seen := 0
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		r.pollEmails()
		r.emu.Lock()
		for _, e := range r.emails[seen:] {
			if e.Run == r.cfg.RunID {
				paged[e.Seq] = true
			}
		}
		seen = len(r.emails)
		r.emu.Unlock()
		owed = slices.DeleteFunc(owed, func(seq int) bool { return paged[seq] })
		if len(owed) == 0 {
			return
		}
		more, arrived := r.cfg.Sink.Emails(r.emailIdx + seen)
		if len(more) > 0 {
			continue // arrived since the poll above
		}
		select {
		case <-arrived:
		case <-timer.C:
			r.log.Warn("load: gave up waiting for pages", "missing", len(owed))
			return
		case <-ctx.Done():
			return
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
