// Package servertest starts a whole tocsin (database, job queue, HTTP API) for tests, on a real
// listener, so tests talk to it the way clients do.
package servertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/apply"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/server"
)

// Env is a running tocsin.
type Env struct {
	App *server.App
	// URL is the base URL, e.g. http://127.0.0.1:41234
	URL string
	// Addr is host:port.
	Addr string
	// Key is the API key of an "api" integration named "test".
	Key string
}

// Start runs tocsin on dsn until the test ends.
func Start(t testing.TB, dsn string) *Env {
	t.Helper()
	return StartWith(t, server.Config{Database: dsn})
}

// StartWith runs tocsin with cfg (Database must be set) until the test ends.
func StartWith(t testing.TB, cfg server.Config) *Env {
	t.Helper()
	return StartStoppable(t, cfg).Env
}

// Stoppable is a running tocsin that a test may stop before it ends, to restart another in its place.
type Stoppable struct {
	*Env
	stop func(testing.TB)
}

// Stop shuts tocsin down gracefully and waits for it; it is safe to call more than once.
func (s *Stoppable) Stop(t testing.TB) { s.stop(t) }

// StartStoppable is StartWith for a tocsin the test can stop.
func StartStoppable(t testing.TB, cfg server.Config) *Stoppable {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("TOCSIN_TEST_LOG") != "" {
		// Logs go to stderr, not t.Log: background jobs may log after the test has ended.
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg.Log, cfg.ShutdownTimeout = log, 5*time.Second
	// Listen first, so links in notifications can name the real address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatalf("listen: %v", err)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://" + ln.Addr().String()
	}
	app, err := server.Open(ctx, cfg)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("open tocsin: %v", err)
	}
	// "test", or "test-2", … when another process on the same database made it first.
	var key string
	for i := 1; ; i++ {
		name := "test"
		if i > 1 {
			name = fmt.Sprintf("test-%d", i)
		}
		_, key, err = app.Integrations.Create(ctx, integration.Integration{Name: name, Type: integration.TypeAPI})
		if errors.Is(err, integration.ErrNameTaken) && i < 10 {
			continue
		}
		if err != nil {
			t.Fatalf("create integration: %v", err)
		}
		break
	}
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	var once sync.Once
	stop := func(t testing.TB) {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("tocsin shut down with an error: %v", err)
			}
			app.Close()
		})
	}
	t.Cleanup(func() { stop(t) })
	env := &Stoppable{Env: &Env{App: app, URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), Key: key}, stop: stop}
	// Serve starts the job queue before it answers; wait for it, and fail fast if it gave up.
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case err := <-done:
			done <- err // for stop
			t.Fatalf("tocsin stopped while starting: %v", err)
		default:
		}
		if res, err := http.Get(env.URL + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return env
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("tocsin did not become ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Integration creates another integration and returns its key.
func (e *Env) Integration(t testing.TB, in integration.Integration) string {
	t.Helper()
	_, key, err := e.App.Integrations.Create(context.Background(), in)
	if err != nil {
		t.Fatalf("create integration %s: %v", in.Name, err)
	}
	return key
}

// Apply makes the configuration what yaml (tocsin apply's format) declares.
func (e *Env) Apply(t testing.TB, yaml string) *apply.Result {
	t.Helper()
	f, err := apply.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := apply.Apply(context.Background(), e.App.DB, f, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}
