package writeback_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/securityhub/awsapi"
	"github.com/tocsin-dev/tocsin/internal/securityhub/awsapi/awstest"
	"github.com/tocsin-dev/tocsin/internal/securityhub/writeback"
	"github.com/tocsin-dev/tocsin/internal/server"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// allRegions are the findings' home regions, the first TOCSIN_BENCH_REGIONS of them (default 3):
// write-backs to different regions never share a call, and each region has a rate quota of its own.
var allRegions = []string{"us-east-1", "eu-central-1", "ap-southeast-2", "us-west-2", "eu-west-1",
	"ap-northeast-1", "sa-east-1", "ca-central-1", "eu-north-1", "ap-south-1"}

// stormRegions are the regions of this run.
var stormRegions = allRegions[:3]

const (
	// stormAckers acknowledge the alerts concurrently: "acknowledged at once".
	stormAckers = 16
	// stormCreators create the alerts (setup, not timed).
	stormCreators = 8
)

// BenchmarkWriteBackStorm (issue 7): TOCSIN_BENCH_ALERTS (default 10,000) alerts made from Security
// Hub findings of one integration that sends updates, spread evenly over three regions, are
// acknowledged at once (stormAckers goroutines through alert.Service.Acknowledge). It measures how
// many BatchUpdateFindings calls the write-back makes to the stand-in AWS, how long until every
// finding has been written NOTIFIED, and whether any call went over the rate quota (10/s, burst 30,
// per account and region). Each iteration is a whole storm on a fresh database: run it with
// -benchtime=1x; the metrics are those of the last storm. Figures are in BENCHMARKS.md.
//
// Metrics: calls (successful BatchUpdateFindings), ideal-calls (the fewest the API allows:
// ⌈findings/100⌉ per region), rejected (calls the stand-in refused, e.g. TooManyRequestsException),
// rate-violations (calls over the quota; must be 0), ack-s (seconds to acknowledge every alert),
// written-s (seconds from the first acknowledgement until the last finding was written),
// jobs-s (until every write-back job finished, activity-log line included) and findings/call. With
// -v it logs the calls per region (sizes, timing), repeats and retried jobs.
//
// Knobs: TOCSIN_BENCH_WINDOW (a duration) replaces writeback.DefaultWindow, the batch window, which
// tocsin's configuration does not expose; TOCSIN_BENCH_REGIONS (1–10, default 3) spreads the
// findings over more regions.
func BenchmarkWriteBackStorm(b *testing.B) {
	n := 10_000
	if v := os.Getenv("TOCSIN_BENCH_ALERTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("TOCSIN_BENCH_ALERTS=%q: want a positive number", v)
		}
	}
	if v := os.Getenv("TOCSIN_BENCH_REGIONS"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 1 || k > len(allRegions) {
			b.Fatalf("TOCSIN_BENCH_REGIONS=%q: want 1 to %d", v, len(allRegions))
		}
		stormRegions = allRegions[:k]
	}
	var window time.Duration // 0: tocsin as it is configured (writeback.DefaultWindow)
	if v := os.Getenv("TOCSIN_BENCH_WINDOW"); v != "" {
		var err error
		if window, err = time.ParseDuration(v); err != nil || window <= 0 {
			b.Fatalf("TOCSIN_BENCH_WINDOW=%q: want a positive duration", v)
		}
	}
	for _, db := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(db.name, func(b *testing.B) {
			for range b.N {
				writeBackStorm(b, db.dsn(b), n, window)
			}
		})
	}
}

// stormFinding is the Security Hub finding behind alert i.
func stormFinding(i int) (id, region, productARN string) {
	region = stormRegions[i%len(stormRegions)]
	id = fmt.Sprintf("arn:aws:guardduty:%s:123456789012:detector/d4b040365221be2b54a6264dc9a4bc64/finding/bench%08d", region, i)
	return id, region, "arn:aws:securityhub:" + region + "::product/aws/guardduty"
}

func writeBackStorm(b *testing.B, dsn string, n int, window time.Duration) {
	b.StopTimer()
	ctx := context.Background()
	aws := awstest.New(b, awstest.Options{Roles: []awstest.Role{{ARN: roleARN, ExternalID: externalID,
		Allow: []string{awstest.ActionBatchUpdateFindings, awstest.ActionGetFindings}}}})
	aws.Env(b) // before tocsin starts: it reads the AWS configuration once
	app := startTocsin(b, dsn, window)
	const name = "securityhub-prod"
	in, _, err := app.Integrations.Create(ctx, integration.Integration{Name: name, Type: integration.TypeSecurityHub,
		Settings: integration.Settings{RoleARN: roleARN, ExternalID: externalID, Region: "eu-central-1", SendUpdates: true}})
	if err != nil {
		b.Fatal(err)
	}

	// Setup: the alerts, as the intake would make them from findings (not timed).
	creator := alert.Origin{Actor: alert.Actor{Kind: alert.ActorIntegration, ID: in.ID, Name: in.Name, Type: string(integration.TypeSecurityHub)}}
	t0 := time.Now()
	ids := make([]string, n)
	want := make(map[string]bool, n)
	perRegion := map[string]int{}
	for i := range n {
		id, region, _ := stormFinding(i)
		want[id] = true
		perRegion[region]++
	}
	parallel(b, n, stormCreators, func(i int) error {
		id, region, product := stormFinding(i)
		res, err := app.Alerts.Create(ctx, creator, alert.CreateRequest{
			Message: fmt.Sprintf("GuardDuty finding %d", i), Alias: id, Priority: "P3", Source: "aws.securityhub",
			Details: map[string]string{"Id": id, "ProductArn": product, "Region": region, "AwsAccountId": "123456789012"},
		})
		if err != nil {
			return err
		}
		ids[i] = res.Alert.ID
		return nil
	})
	// The creates' escalation jobs (no route: a log line each) finish before the clock starts, so
	// that the storm has the queue and the database to itself.
	waitJobs(b, app, alert.EscalateArgs{}.Kind(), 5*time.Minute)
	b.Logf("setup: %d alerts created and their escalation jobs done in %s", n, time.Since(t0).Round(time.Millisecond))
	if c := aws.CallsTo(awstest.OpBatchUpdateFindings); len(c) != 0 {
		b.Fatalf("%d BatchUpdateFindings calls before any acknowledgement", len(c))
	}
	ideal := 0
	for _, k := range perRegion {
		ideal += (k + awsapi.MaxFindingsPerCall - 1) / awsapi.MaxFindingsPerCall
	}

	// The storm: every alert acknowledged at once, then wait for every finding to be written.
	acker := alert.Origin{Actor: alert.Actor{Kind: alert.ActorIntegration, Name: "test", Type: string(integration.TypeAPI)}, User: "alice@example.com"}
	b.StartTimer()
	start := time.Now()
	parallel(b, n, stormAckers, func(i int) error {
		_, err := app.Alerts.Acknowledge(ctx, acker, alert.Ref{Type: alert.ByID, Value: ids[i]})
		return err
	})
	acked := time.Since(start)

	var (
		seen     = make(map[string]bool, n)
		sent     int // finding identifiers in successful calls, repeats included
		lastCall time.Time
		next     int
		deadline = start.Add(10 * time.Minute)
	)
	for len(seen) < n {
		calls := aws.CallsTo(awstest.OpBatchUpdateFindings)
		for _, c := range calls[next:] {
			if c.BatchUpdate == nil || c.BatchUpdate.Workflow == nil || str(c.BatchUpdate.Workflow.Status) != "NOTIFIED" {
				continue
			}
			for _, f := range c.BatchUpdate.FindingIdentifiers {
				sent++
				if id := str(f.Id); want[id] && !seen[id] {
					seen[id] = true
					lastCall = c.Time
				}
			}
		}
		next = len(calls)
		if len(seen) == n {
			break
		}
		if time.Now().After(deadline) {
			b.Errorf("after %s, %d of %d findings written", time.Since(start).Round(time.Millisecond), len(seen), n)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	written := lastCall.Sub(start)
	if len(seen) < n {
		written = time.Since(start)
	}
	b.StopTimer()
	jobs := waitJobs(b, app, writeback.Args{}.Kind(), 10*time.Minute).Sub(start)

	// Report.
	calls := aws.CallsTo(awstest.OpBatchUpdateFindings)
	rejected := map[string]int{}
	nRejected := 0
	for _, c := range aws.Calls() {
		if c.Operation == awstest.OpBatchUpdateFindings && c.ErrorCode != "" {
			rejected[c.ErrorCode]++
			nRejected++
		}
	}
	violations := aws.RateViolations()
	if violations != 0 {
		b.Errorf("%d BatchUpdateFindings calls over the rate limit", violations)
	}
	b.ReportMetric(float64(len(calls)), "calls")
	b.ReportMetric(float64(ideal), "ideal-calls")
	b.ReportMetric(float64(nRejected), "rejected")
	b.ReportMetric(float64(violations), "rate-violations")
	b.ReportMetric(acked.Seconds(), "ack-s")
	b.ReportMetric(written.Seconds(), "written-s")
	b.ReportMetric(jobs.Seconds(), "jobs-s")
	if len(calls) > 0 {
		b.ReportMetric(float64(sent)/float64(len(calls)), "findings/call")
	}
	describeStorm(b, calls, start, n, sent, len(seen), perRegion, rejected)
	describeRetries(b, app)
}

// describeRetries logs (with -v) the write-back jobs that needed more than one attempt, and why: a
// retried job writes its finding again, which shows as a repeat.
func describeRetries(b *testing.B, app *server.App) {
	kind := writeback.Args{}.Kind()
	var retried int
	db := app.DB.SQL()
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = '`+kind+`' AND attempt > 1`).Scan(&retried); err != nil {
		b.Logf("count retried jobs: %v", err)
		return
	}
	b.Logf("%d write-back jobs took more than one attempt", retried)
	if retried == 0 {
		return
	}
	rows, err := db.QueryContext(context.Background(), `SELECT attempt, CAST(errors AS TEXT) FROM river_job WHERE kind = '`+kind+`' AND attempt > 1 LIMIT 3`)
	if err != nil {
		b.Logf("read retried jobs: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var attempt int
		var errs string
		if err := rows.Scan(&attempt, &errs); err != nil {
			b.Logf("read retried jobs: %v", err)
			return
		}
		b.Logf("attempt %d, errors %.400s", attempt, errs)
	}
}

// parallel runs fn(0) … fn(n-1) on workers goroutines and fails b on the first error.
func parallel(b *testing.B, n, workers int, fn func(i int) error) {
	b.Helper()
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		fail atomic.Value
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || fail.Load() != nil {
					return
				}
				if err := fn(i); err != nil {
					fail.Store(fmt.Errorf("item %d: %w", i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := fail.Load().(error); err != nil {
		b.Fatal(err)
	}
}

// waitJobs waits until no job of kind is left to run, and returns when that was seen.
func waitJobs(b *testing.B, app *server.App, kind string, timeout time.Duration) time.Time {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var left int
		err := app.DB.SQL().QueryRowContext(context.Background(),
			`SELECT COUNT(*) FROM river_job WHERE kind = '`+kind+`' AND state NOT IN ('completed', 'discarded', 'cancelled')`).Scan(&left)
		if err != nil {
			b.Fatalf("count %s jobs: %v", kind, err)
		}
		if left == 0 {
			return time.Now()
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d %s jobs still to run after %s", left, kind, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// describeStorm logs (with -v) how the calls were spread: per region, sizes and timing, which is
// what tells a missed goal's cause.
func describeStorm(b *testing.B, calls []awstest.Call, start time.Time, n, sent, distinct int, perRegion map[string]int, rejected map[string]int) {
	type stats struct {
		calls, findings, full int
		sizes                 []int
		first, last           time.Duration
	}
	by := map[string]*stats{}
	for _, c := range calls {
		s := by[c.Region]
		if s == nil {
			s = &stats{first: math.MaxInt64}
			by[c.Region] = s
		}
		k := len(c.BatchUpdate.FindingIdentifiers)
		s.calls++
		s.findings += k
		s.sizes = append(s.sizes, k)
		if k == awsapi.MaxFindingsPerCall {
			s.full++
		}
		at := c.Time.Sub(start)
		s.first, s.last = min(s.first, at), max(s.last, at)
	}
	b.Logf("%d alerts, %d findings written (%d identifiers sent, %d repeats), rejected calls %v", n, distinct, sent, sent-distinct, rejected)
	if sent > distinct {
		// A repeat is a job that ran again (see the retries below), or one request the stand-in
		// answered twice (the SDK resending after a connection error): then two calls are identical.
		bodies := map[string]int{}
		for _, c := range calls {
			var key strings.Builder
			for _, f := range c.BatchUpdate.FindingIdentifiers {
				key.WriteString(str(f.Id) + " ")
			}
			bodies[c.Region+" "+key.String()]++
		}
		for k, times := range bodies {
			if times > 1 {
				b.Logf("the same call (%d findings) arrived %d times", strings.Count(k, " ")-1, times)
			}
		}
	}
	for _, r := range stormRegions {
		s := by[r]
		if s == nil {
			b.Logf("%s: %d findings, no call", r, perRegion[r])
			continue
		}
		slices.Sort(s.sizes)
		b.Logf("%s: %d findings in %d calls (%d full), sizes min %d / median %d / max %d, calls from %s to %s after the first ack",
			r, perRegion[r], s.calls, s.full, s.sizes[0], s.sizes[len(s.sizes)/2], s.sizes[len(s.sizes)-1],
			s.first.Round(time.Millisecond), s.last.Round(time.Millisecond))
	}
}

// startTocsin runs tocsin on dsn until the benchmark ends: as servertest starts it, or, when window is
// set, with a write-back batch window other than writeback.DefaultWindow. The window is an option of
// writeback.NewWriter that tocsin's configuration does not expose, so the writer is replaced before
// Serve starts the job queue with it.
func startTocsin(b *testing.B, dsn string, window time.Duration) *server.App {
	b.Helper()
	if window == 0 {
		return servertest.StartWith(b, server.Config{Database: dsn}).App
	}
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := server.Open(ctx, server.Config{Database: dsn, Log: log, ShutdownTimeout: 5 * time.Second})
	if err != nil {
		cancel()
		b.Fatalf("open tocsin: %v", err)
	}
	client, err := awsapi.NewClient(ctx, awsapi.Options{Logger: log})
	if err != nil {
		cancel()
		app.Close()
		b.Fatal(err)
	}
	app.WriteBack = writeback.NewWriter(app.Alerts, app.Integrations, client, writeback.Options{Window: window, Log: log})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		app.Close()
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("tocsin shut down with an error: %v", err)
		}
		app.Close()
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if res, err := http.Get("http://" + ln.Addr().String() + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return app
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("tocsin did not become ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
