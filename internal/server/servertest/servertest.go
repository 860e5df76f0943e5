// Package servertest starts a whole tocsin (database, job queue, HTTP API) for tests, on a real
// listener, so tests talk to it the way clients do.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

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
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("TOCSIN_TEST_LOG") != "" {
		// Logs go to stderr, not t.Log: background jobs may log after the test has ended.
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	app, err := server.Open(ctx, server.Config{Database: dsn, Log: log, ShutdownTimeout: 5 * time.Second})
	if err != nil {
		cancel()
		t.Fatalf("open tocsin: %v", err)
	}
	_, key, err := app.Integrations.Create(ctx, integration.Integration{Name: "test", Type: integration.TypeAPI})
	if err != nil {
		t.Fatalf("create integration: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("tocsin shut down with an error: %v", err)
		}
		app.Close()
	})
	return &Env{App: app, URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), Key: key}
}
