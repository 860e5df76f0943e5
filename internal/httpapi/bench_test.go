package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// Benchmarks of the /v2 API over real HTTP on loopback. The figures and the commands that produce them
// are in BENCHMARKS.md.

// clients is the number of concurrent HTTP clients, whatever GOMAXPROCS is.
const clients = 8

// benchDatabases runs fn once per database; PostgreSQL only when TOCSIN_TEST_POSTGRES_URL is set.
func benchDatabases(b *testing.B, fn func(b *testing.B, dsn string)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, storetest.Postgres(b)) })
}

// latencies collects per-request durations from many goroutines and reports percentiles.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.all) == 0 {
		return
	}
	sort.Slice(l.all, func(i, j int) bool { return l.all[i] < l.all[j] })
	pct := func(p float64) float64 {
		return float64(l.all[int(float64(len(l.all)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2}}
}

func post(c *http.Client, url, key string, body []byte) error {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "GenieKey "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

// runClients sends b.N requests from `clients` goroutines and reports requests/s and latency.
func runClients(b *testing.B, send func(c *http.Client, i int64) error) {
	var (
		next atomic.Int64
		lat  latencies
		wg   sync.WaitGroup
		fail atomic.Value
	)
	c := newClient()
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := send(c, i); err != nil {
					fail.Store(err)
					return
				}
				lat.add(time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := fail.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	lat.report(b)
}

// BenchmarkCreate measures durable alert creates through POST /v2/alerts: "fresh" makes a new alert
// each time, "dedupe" hits one open alert's alias again and again.
func BenchmarkCreate(b *testing.B) {
	benchDatabases(b, func(b *testing.B, dsn string) {
		env := servertest.Start(b, dsn)
		url := env.URL + "/v2/alerts"
		b.Run("fresh", func(b *testing.B) {
			run := strconv.FormatInt(time.Now().UnixNano(), 36)
			runClients(b, func(c *http.Client, i int64) error {
				body := []byte(`{"message":"CPU high on web-` + strconv.FormatInt(i, 10) + `","alias":"fresh-` + run + `-` + strconv.FormatInt(i, 10) +
					`","priority":"P2","tags":["cpu","web"],"details":{"host":"web"},"source":"bench"}`)
				return post(c, url, env.Key, body)
			})
		})
		b.Run("dedupe", func(b *testing.B) {
			body := []byte(`{"message":"CPU high on web","alias":"dedupe-target","priority":"P2","tags":["cpu"]}`)
			runClients(b, func(c *http.Client, _ int64) error { return post(c, url, env.Key, body) })
		})
	})
}

// seedAlerts stores n alerts through the real store, 1,000 per transaction, far faster than HTTP.
func seedAlerts(b *testing.B, env *servertest.Env, n int) {
	ctx := context.Background()
	st := env.App.DB.Alerts(env.App.Queue)
	now := time.Now().Add(-time.Duration(n) * time.Second)
	for done := 0; done < n; {
		err := st.InTx(ctx, func(tx alert.Tx) error {
			for j := 0; j < 1000 && done < n; j++ {
				at := now.Add(time.Duration(done) * time.Second)
				status := alert.StatusClosed
				if done%10 == 0 {
					status = alert.StatusOpen
				}
				a := &alert.Alert{
					ID: fmt.Sprintf("seed-%08d", done), Alias: fmt.Sprintf("seed-%08d", done), Message: fmt.Sprintf("Seeded alert %d on host-%d", done, done%97),
					Tags: []string{"seed", "host-" + strconv.Itoa(done%97)}, Priority: alert.Priority("P" + strconv.Itoa(1+done%5)),
					Status: status, Count: 1, CreatedAt: at, UpdatedAt: at, LastOccurredAt: at, Source: "bench",
				}
				if err := tx.Insert(ctx, a); err != nil {
					return err
				}
				done++
			}
			return nil
		})
		if err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
}

// BenchmarkList measures GET /v2/alerts with BENCH_ALERTS alerts stored (default 100,000): the default
// page, the open alerts, and a tag search.
func BenchmarkList(b *testing.B) {
	n := 100_000
	if v := os.Getenv("BENCH_ALERTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	benchDatabases(b, func(b *testing.B, dsn string) {
		env := servertest.Start(b, dsn)
		seedAlerts(b, env, n)
		for _, q := range []struct{ name, query string }{
			{"newest", ""},
			{"open", "?query=status%3Aopen"},
			{"open-P1-tag", "?query=status%3Aopen%20AND%20priority%3AP1%20AND%20tag%3Ahost-5"},
			{"count-open", "/count?query=status%3Aopen"},
		} {
			b.Run(q.name, func(b *testing.B) {
				url := env.URL + "/v2/alerts" + q.query
				runClients(b, func(c *http.Client, _ int64) error {
					req, _ := http.NewRequest("GET", url, nil)
					req.Header.Set("Authorization", "GenieKey "+env.Key)
					res, err := c.Do(req)
					if err != nil {
						return err
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						return fmt.Errorf("status %d", res.StatusCode)
					}
					return nil
				})
			})
		}
	})
}
