package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/sns"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// Benchmarks of the Security Hub intake end to end: a signed SNS message over HTTP on loopback until
// its findings are committed alerts. Messages are signed before the clock starts (signing is SNS's
// work, not tocsin's). Figures and commands are in BENCHMARKS.md.

const senders = 8

// messages returns n signed notifications, each carrying perMessage new findings (copies of the
// GuardDuty finding with unique ids).
func messages(b *testing.B, r *rig, n, perMessage int) [][]byte {
	b.Helper()
	var ev map[string]any
	if err := json.Unmarshal(event(b, "guardduty"), &ev); err != nil {
		b.Fatal(err)
	}
	detail := ev["detail"].(map[string]any)
	finding := detail["findings"].([]any)[0].(map[string]any)
	run := time.Now().UnixNano()
	out := make([][]byte, n)
	for i := range n {
		findings := make([]any, perMessage)
		for j := range perMessage {
			f := make(map[string]any, len(finding))
			for k, v := range finding {
				f[k] = v
			}
			f["Id"] = fmt.Sprintf("arn:aws:guardduty:eu-central-1:123456789012:detector/bench/finding/%d-%d-%d", run, i, j)
			findings[j] = f
		}
		detail["findings"] = findings
		ev["id"] = fmt.Sprintf("bench-%d-%d", run, i)
		body, _ := json.Marshal(ev)
		out[i] = snstest.Body(r.sns.Notification(r.topic, "", string(body)))
	}
	return out
}

func deliverRaw(c *http.Client, endpoint string, body []byte) error {
	req, err := http.NewRequest("POST", endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
	req.Header.Set(sns.HeaderMessageType, string(sns.TypeNotification))
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

type durations []time.Duration

func (d durations) report(b *testing.B) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	if len(d) == 0 {
		return
	}
	at := func(p float64) float64 { return float64(d[int(float64(len(d)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// send8 posts every body, from `senders` goroutines, at most rate messages per second (0: as fast as
// possible), and returns each request's latency and the wall time.
func send8(b *testing.B, endpoint string, bodies [][]byte, rate int) (durations, time.Duration) {
	var (
		next  atomic.Int64
		mu    sync.Mutex
		lat   = make(durations, 0, len(bodies))
		wg    sync.WaitGroup
		fail  atomic.Value
		start = time.Now()
	)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders * 2}}
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				if rate > 0 { // open loop: message i is due at start + i/rate
					if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); wait > 0 {
						time.Sleep(wait)
					}
				}
				t0 := time.Now()
				if err := deliverRaw(c, endpoint, bodies[i]); err != nil {
					fail.Store(err)
					return
				}
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err, _ := fail.Load().(error); err != nil {
		b.Fatal(err)
	}
	return lat, time.Since(start)
}

// BenchmarkSignedFindings sends b.N signed SNS messages as fast as 8 senders can, with 1 or 100
// findings each, and reports findings committed per second.
func BenchmarkSignedFindings(b *testing.B) {
	for _, db := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(db.name, func(b *testing.B) {
			for _, per := range []int{1, 100} {
				b.Run(fmt.Sprintf("%d-per-message", per), func(b *testing.B) {
					r := newRig(b, db.dsn(b), integration.FindingFilter{})
					bodies := messages(b, r, b.N, per)
					b.ResetTimer()
					lat, wall := send8(b, r.endpoint, bodies, 0)
					b.StopTimer()
					b.ReportMetric(float64(b.N*per)/wall.Seconds(), "findings/s")
					lat.report(b)
					checkAlerts(b, r, b.N*per)
				})
			}
		})
	}
}

// BenchmarkSignedFindingsAt1000PerSecond sends b.N one-finding messages at a steady 1,000 per second
// and reports the latency a sender sees.
func BenchmarkSignedFindingsAt1000PerSecond(b *testing.B) {
	for _, db := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(db.name, func(b *testing.B) {
			r := newRig(b, db.dsn(b), integration.FindingFilter{})
			bodies := messages(b, r, b.N, 1)
			b.ResetTimer()
			lat, wall := send8(b, r.endpoint, bodies, 1000)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/wall.Seconds(), "findings/s")
			lat.report(b)
			checkAlerts(b, r, b.N)
		})
	}
}

// checkAlerts makes sure every finding became an alert: a benchmark that loses data measures nothing.
func checkAlerts(b *testing.B, r *rig, want int) {
	n, err := r.env.App.Alerts.Count(context.Background(), alert.Query{Status: alert.StatusOpen})
	if err != nil {
		b.Fatal(err)
	}
	if n != want {
		b.Fatalf("%d open alerts after the run, want %d", n, want)
	}
}
