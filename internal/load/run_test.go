package load

import (
	"context"
	"fmt"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/securityhub"
	"github.com/tocsin-dev/tocsin/internal/sns"
)

const testKey = "key with &=? in it"

// fakeTocsin stands in for tocsin's Security Hub intake: it checks every request as tocsin would (the
// path and key, the SNS envelope and signature through package sns, the event through package
// securityhub), checks that the generator keeps its promises (redeliveries are byte for byte, updates
// and resolves only act on findings it answered 2xx for, nothing acts on a resolved finding), and
// pages each new finding once by SMTP to sink, as tocsin's escalation would.
type fakeTocsin struct {
	t        *testing.T
	verifier *sns.Verifier
	sink     *Sink
	// status, when set, answers request n (from 0) with a status of its choosing.
	status func(n int) int

	n        atomic.Int64
	mu       sync.Mutex
	messages map[string][]byte // MessageId → body
	open     map[string]bool   // finding Id → open (false: resolved)
	seen     map[Kind]int
	problems []string
	mails    sync.WaitGroup
}

func newFakeTocsin(t *testing.T, signer *Signer, sink *Sink) *fakeTocsin {
	v, err := sns.NewVerifier(signer.VerifierOptions())
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeTocsin{t: t, verifier: v, sink: sink, messages: map[string][]byte{}, open: map[string]bool{}, seen: map[Kind]int{}}
	t.Cleanup(f.mails.Wait)
	return f
}

func (f *fakeTocsin) problem(format string, args ...any) {
	f.mu.Lock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *fakeTocsin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/metrics" {
		fmt.Fprint(w, metricsText)
		return
	}
	n := int(f.n.Add(1) - 1)
	if r.Method != http.MethodPost || r.URL.Path != IntakePath || r.URL.Query().Get("apiKey") != testKey {
		f.problem("request %s %s", r.Method, r.URL)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	m, err := sns.Parse(body)
	if err == nil {
		err = f.verifier.Verify(r.Context(), m)
	}
	if err != nil {
		f.problem("request %d: %v", n, err)
		http.Error(w, err.Error(), sns.HTTPStatus(err))
		return
	}
	if f.status != nil {
		if s := f.status(n); s/100 != 2 {
			http.Error(w, "told to fail", s)
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if prev, ok := f.messages[m.MessageID]; ok {
		if string(prev) != string(body) {
			f.problems = append(f.problems, "a redelivery of "+m.MessageID+" differs from the original")
		}
		f.seen[KindRedeliver]++
		w.WriteHeader(http.StatusOK)
		return
	}
	f.messages[m.MessageID] = body
	ev, err := securityhub.ParseEvent([]byte(m.Message))
	if err != nil {
		f.problems = append(f.problems, "an event securityhub refuses: "+err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, d := range securityhub.Decide(ev, securityhub.Filter{}, securityhub.Options{}) {
		open, known := f.open[d.Alias]
		switch {
		case d.Action == securityhub.ActionClose && !known:
			f.problems = append(f.problems, "a resolve of a finding never acknowledged: "+d.Alias)
		case d.Action == securityhub.ActionClose && !open:
			f.problems = append(f.problems, "a second resolve of "+d.Alias)
		case d.Action == securityhub.ActionClose:
			f.seen[KindResolve]++
			f.open[d.Alias] = false
		case known && !open:
			f.problems = append(f.problems, "an update of the resolved "+d.Alias)
		case known:
			f.seen[KindUpdate]++
		case strings.Contains(d.Request.Message, "(update"):
			f.problems = append(f.problems, "an update of a finding never acknowledged: "+d.Alias)
		default:
			f.seen[KindNew]++
			f.open[d.Alias] = true
			f.page(d.Request.Message)
		}
	}
	w.WriteHeader(http.StatusOK)
}

// page emails the on-call person about a new alert, soon after, as the escalation engine does.
func (f *fakeTocsin) page(message string) {
	if f.sink == nil {
		return
	}
	f.mails.Go(func() {
		msg := "From: tocsin@example.com\r\nTo: oncall@example.com\r\nSubject: [P2] GuardDuty: " + message +
			"\r\nMessage-ID: <" + snstest.NewUUID() + "@tocsin.test>\r\nX-Tocsin-Alert-Id: " + snstest.NewUUID() + "\r\n\r\npage\r\n"
		if err := smtp.SendMail(f.sink.Addr(), nil, "tocsin@example.com", []string{"oncall@example.com"}, []byte(msg)); err != nil {
			f.problem("paging: %v", err)
		}
	})
}

func (f *fakeTocsin) check(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.problems {
		t.Error(p)
	}
}

func TestARunSendsValidSignedFindingsOfEveryKindAndCountsTheirPages(t *testing.T) {
	signer, sink := newTestSigner(t), newTestSink(t)
	fake := newFakeTocsin(t, signer, sink)
	srv := newHTTPServer(t, fake)

	res, err := Run(context.Background(), Config{
		Targets: []string{srv.URL}, APIKey: testKey, Signer: signer, Sink: sink,
		Mix: Mix{New: 70, Redeliver: 10, Update: 15, Resolve: 5}, Concurrency: 8, Count: 300, Wait: 10 * time.Second,
		PID: os.Getpid(), SampleEvery: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	fake.check(t)
	s := res.Summary
	if s.Sent != 300 || s.Acked != 300 || s.NotAcked != 0 || len(res.Requests) != 300 {
		t.Fatalf("sent %d, acked %d, not acked %d, %d requests listed; want 300 acked", s.Sent, s.Acked, s.NotAcked, len(res.Requests))
	}
	fake.mu.Lock()
	for _, k := range kinds {
		if int64(fake.seen[k]) != s.AckedByKind[k] {
			t.Errorf("%s: tocsin saw %d, the generator counts %d", k, fake.seen[k], s.AckedByKind[k])
		}
	}
	fake.mu.Unlock()
	// Mostly as the mix says; the first picks of the other kinds fall back to new findings.
	if s.SentByKind[KindNew] < 210 || s.SentByKind[KindNew] != 210+int64(s.Fallbacks) {
		t.Errorf("new %d with %d fallbacks; want 210 + fallbacks", s.SentByKind[KindNew], s.Fallbacks)
	}
	for _, k := range []Kind{KindRedeliver, KindUpdate, KindResolve} {
		if s.SentByKind[k] == 0 {
			t.Errorf("no %s sent", k)
		}
	}
	// A later request acts only on what was acknowledged before it started.
	ackedAt := map[int]time.Time{}
	for _, q := range res.Requests {
		if q.FindingID != FindingID(res.Run, q.Seq) || q.Status != 200 || q.Attempts != 1 || q.Target != srv.URL {
			t.Errorf("request %+v", q)
		}
		if q.Kind == KindNew {
			ackedAt[q.Seq] = q.At
		} else if a, ok := ackedAt[q.Seq]; !ok || q.Sent.Before(a) {
			t.Errorf("%s of seq %d sent at %s, before its finding was acknowledged (%s)", q.Kind, q.Seq, q.Sent, a)
		}
	}
	p := s.Pages
	if p.NewAcked != int(s.AckedByKind[KindNew]) || p.Paged != p.NewAcked || p.Duplicated != 0 || len(p.Unpaged) != 0 || p.Latency.N != p.Paged {
		t.Errorf("pages %+v", p)
	}
	if p.Emails != p.NewAcked || len(res.Emails) != p.Emails || p.OtherEmails != 0 {
		t.Errorf("%d emails listed, %d of the run, %d others; want one a new finding", len(res.Emails), p.Emails, p.OtherEmails)
	}
	if s.HTTP.N != 300 || s.HTTP.P50 <= 0 || s.HTTP.Max < s.HTTP.P99 || s.HTTP.P99 < s.HTTP.P50 {
		t.Errorf("HTTP latency %+v", s.HTTP)
	}
	if len(res.Samples) < 2 || s.Server.RSSMax <= 0 || s.Server.GoroutinesMax != 37 || res.Samples[len(res.Samples)-1].Acked != 300 {
		t.Errorf("%d samples, server %+v", len(res.Samples), s.Server)
	}
	var report strings.Builder
	if err := res.Report(&report); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"300 requests", "new ", "http      p50", "errors    transport 0, non-2xx 0", "not paged", "goroutines 37"} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("the report does not say %q:\n%s", want, report.String())
		}
	}
}

func TestAFixedRateRunIsBoundedByItsDurationAndItsCount(t *testing.T) {
	signer := newTestSigner(t)
	srv := newHTTPServer(t, newFakeTocsin(t, signer, nil))
	tests := []struct {
		name     string
		count    int
		duration time.Duration
		want     int64
	}{
		{"the duration ends it: 100/s for 0.5 s is slots 0 to 49", 0, 500 * time.Millisecond, 50},
		{"the count ends it", 20, time.Minute, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			res, err := Run(context.Background(), Config{Targets: []string{srv.URL}, APIKey: testKey, Signer: signer,
				Rate: 100, Count: tt.count, Duration: tt.duration})
			if err != nil {
				t.Fatal(err)
			}
			if res.Summary.Sent != tt.want || res.Summary.Acked != tt.want {
				t.Fatalf("sent %d, acked %d; want %d", res.Summary.Sent, res.Summary.Acked, tt.want)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %s", took)
			}
			if res.Summary.Unsent != 0 {
				t.Errorf("%d unsent", res.Summary.Unsent)
			}
		})
	}
}

// reserveAddr returns a loopback address where nothing listens (for now).
func reserveAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestARequestToATargetThatIsRestartingIsRetriedUntilAcknowledged(t *testing.T) {
	signer := newTestSigner(t)
	fake := newFakeTocsin(t, signer, nil)
	addr := reserveAddr(t)
	// tocsin comes back 300 ms into the run, on the same address, as after a kill -9 and restart.
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 5 * time.Second}
	t.Cleanup(func() { _ = srv.Close() })
	go func() {
		time.Sleep(300 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fake.problem("listening again: %v", err)
			return
		}
		_ = srv.Serve(ln)
	}()

	res, err := Run(context.Background(), Config{Targets: []string{"http://" + addr}, APIKey: testKey, Signer: signer,
		Concurrency: 1, Count: 3, RetryFor: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fake.check(t)
	s := res.Summary
	if s.Acked != 3 || s.NotAcked != 0 {
		t.Fatalf("acked %d, not acked %d; want every request acknowledged in the end", s.Acked, s.NotAcked)
	}
	if s.Errors.Transport["refused"] == 0 || res.Requests[0].Attempts < 2 {
		t.Errorf("refused connections %d, first request's attempts %d: the downtime was not counted", s.Errors.Transport["refused"], res.Requests[0].Attempts)
	}
	if int64(res.Requests[0].Attempts-1) != s.Errors.Transport["refused"] {
		t.Errorf("%d attempts but %d errors counted", res.Requests[0].Attempts, s.Errors.Transport["refused"])
	}
}

func TestWithTwoTargetsOneDownEveryRequestEndsAcknowledgedByTheOther(t *testing.T) {
	signer := newTestSigner(t)
	fake := newFakeTocsin(t, signer, nil)
	up := newHTTPServer(t, fake)
	down := "http://" + reserveAddr(t)

	res, err := Run(context.Background(), Config{Targets: []string{down, up.URL}, APIKey: testKey, Signer: signer,
		Concurrency: 1, Count: 10})
	if err != nil {
		t.Fatal(err)
	}
	fake.check(t)
	if res.Summary.Acked != 10 {
		t.Fatalf("acked %d of 10", res.Summary.Acked)
	}
	for _, q := range res.Requests {
		if q.Target != up.URL {
			t.Errorf("request acknowledged by %s", q.Target)
		}
	}
	// In turn: every second attempt went to the dead one.
	if got := res.Summary.Errors.Transport["refused"]; got < 9 || got > 10 {
		t.Errorf("%d refused attempts, want about one per request", got)
	}
}

func TestAnswersOtherThan2xxAreRetriedOrNotAsSNSWould(t *testing.T) {
	signer := newTestSigner(t)
	tests := []struct {
		name      string
		answers   []int // then 200
		acked     bool
		attempts  int
		errorsFor map[int]int64
	}{
		{"5xx are retried", []int{500, 503}, true, 3, map[int]int64{500: 1, 503: 1}},
		{"429 and 408 are retried", []int{429, 408}, true, 3, map[int]int64{429: 1, 408: 1}},
		{"a 403 is final", []int{403}, false, 1, map[int]int64{403: 1}},
		{"a 400 is final", []int{400}, false, 1, map[int]int64{400: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeTocsin(t, signer, nil)
			fake.status = func(n int) int {
				if n < len(tt.answers) {
					return tt.answers[n]
				}
				return 200
			}
			srv := newHTTPServer(t, fake)
			res, err := Run(context.Background(), Config{Targets: []string{srv.URL}, APIKey: testKey, Signer: signer, Concurrency: 1, Count: 1})
			if err != nil {
				t.Fatal(err)
			}
			all := append(res.Requests, res.NotAcknowledged...)
			if len(all) != 1 || (len(res.Requests) == 1) != tt.acked || all[0].Attempts != tt.attempts {
				t.Fatalf("acknowledged %v, not %v; want acknowledged %v after %d attempts", res.Requests, res.NotAcknowledged, tt.acked, tt.attempts)
			}
			if fmt.Sprint(res.Summary.Errors.Status) != fmt.Sprint(tt.errorsFor) {
				t.Errorf("errors %v, want %v", res.Summary.Errors.Status, tt.errorsFor)
			}
			if !tt.acked && all[0].Status != tt.answers[0] {
				t.Errorf("status %d recorded", all[0].Status)
			}
		})
	}
}

func TestARequestIsGivenUpAfterRetryForAndListedAsNotAcknowledged(t *testing.T) {
	signer := newTestSigner(t)
	var logs strings.Builder
	start := time.Now()
	res, err := Run(context.Background(), Config{Targets: []string{"http://" + reserveAddr(t)}, APIKey: testKey, Signer: signer,
		Concurrency: 1, Count: 1, RetryFor: 300 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
	if len(res.Requests) != 0 || len(res.NotAcknowledged) != 1 {
		t.Fatalf("acknowledged %d, not %d", len(res.Requests), len(res.NotAcknowledged))
	}
	q := res.NotAcknowledged[0]
	if q.Status != 0 || q.Attempts < 2 || q.Kind != KindNew {
		t.Errorf("not acknowledged: %+v", q)
	}
	if !strings.Contains(logs.String(), "class=refused") || !strings.Contains(logs.String(), "REDACTED") {
		t.Errorf("the refused connection is not logged with the key redacted:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), url.QueryEscape(testKey)) || strings.Contains(logs.String(), "key with") {
		t.Errorf("the log shows the API key:\n%s", logs.String())
	}
}

func TestARunEndsSoonWhenItsContextIsCancelledAndSaysSo(t *testing.T) {
	signer := newTestSigner(t)
	srv := newHTTPServer(t, newFakeTocsin(t, signer, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Config{Targets: []string{srv.URL}, APIKey: testKey, Signer: signer, Sink: newTestSink(t),
		Rate: 20, Duration: time.Minute, Wait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s to stop", took)
	}
	if !res.Interrupted || res.Summary.Sent == 0 {
		t.Errorf("interrupted %v after %d requests", res.Interrupted, res.Summary.Sent)
	}
}

func TestARunWithoutABoundOrAKeyIsRefused(t *testing.T) {
	signer := newTestSigner(t)
	base := Config{Targets: []string{"http://127.0.0.1:1"}, APIKey: "k", Signer: signer, Count: 1}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no count and no duration", func(c *Config) { c.Count = 0 }, "unbounded"},
		{"no key", func(c *Config) { c.APIKey = "" }, "API key"},
		{"no signer", func(c *Config) { c.Signer = nil }, "signer"},
		{"no target", func(c *Config) { c.Targets = nil }, "no target"},
		{"a negative rate", func(c *Config) { c.Rate = -1 }, "negative"},
		{"a run id that cannot be a marker", func(c *Config) { c.RunID = "Run-1" }, "run id"},
		{"a mix without new findings", func(c *Config) { c.Mix = Mix{Update: 1} }, "new must weigh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.change(&cfg)
			if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
