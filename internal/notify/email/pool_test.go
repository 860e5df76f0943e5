package email

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestABurstOfPagesSharesAtMostMaxConnsConnections(t *testing.T) {
	srv := newTestServer(t, serverOptions{StartTLS: true, User: "alerts", Pass: "s3cret"})
	c := newChannel(t, srv, srv.url("alerts:s3cret", ""), Options{MaxConns: 2})
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := opsgenieMessage(fmt.Sprintf("user%d@example.com", i))
			m.IdempotencyKey = fmt.Sprintf("key-%d", i)
			if _, err := send(t, c, m); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	msgs := srv.messages()
	if len(msgs) != n {
		t.Fatalf("the server accepted %d messages, want %d", len(msgs), n)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[m.To[0]] = true
		if !m.TLS || m.AuthUser != "alerts" {
			t.Errorf("a message came without TLS or AUTH: %+v", m)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct recipients, want %d", len(seen), n)
	}
	if got := srv.connections(); got < 1 || got > 2 {
		t.Errorf("the server saw %d connections, want 1 or 2", got)
	}
}

func TestSequentialSendsReuseOneConnection(t *testing.T) {
	srv := newTestServer(t, serverOptions{})
	c := newChannel(t, srv, srv.url("", ""), Options{})
	for range 5 {
		if _, err := send(t, c, opsgenieMessage("dave@example.com")); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.connections(); got != 1 {
		t.Errorf("the server saw %d connections, want 1", got)
	}
}

func TestIdleConnectionsAreClosedAfterIdleTimeout(t *testing.T) {
	srv := newTestServer(t, serverOptions{})
	c := newChannel(t, srv, srv.url("", ""), Options{IdleTimeout: 50 * time.Millisecond})
	if _, err := send(t, c, opsgenieMessage("dave@example.com")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the idle connection to close", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.idle) == 0
	})
	if _, err := send(t, c, opsgenieMessage("dave@example.com")); err != nil {
		t.Fatal(err)
	}
	if got := srv.connections(); got != 2 {
		t.Errorf("the server saw %d connections, want 2 (one closed when idle, one new)", got)
	}
}

func TestCloseClosesIdleConnectionsAndRefusesNewSends(t *testing.T) {
	srv := newTestServer(t, serverOptions{})
	c := newChannel(t, srv, srv.url("", ""), Options{})
	if _, err := send(t, c, opsgenieMessage("dave@example.com")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("a second Close = %v", err)
	}
	c.mu.Lock()
	idle := len(c.idle)
	c.mu.Unlock()
	if idle != 0 {
		t.Errorf("%d idle connections after Close", idle)
	}
	_, err := send(t, c, opsgenieMessage("dave@example.com"))
	if outcome(err) != "temporary" {
		t.Errorf("Send after Close = %v, want a temporary error", err)
	}
}

func TestAKeptConnectionThatDiedIsReplacedWithoutAnError(t *testing.T) {
	srv := newTestServer(t, serverOptions{})
	c := newChannel(t, srv, srv.url("", ""), Options{MaxConns: 3})
	// Three kept connections, all of which die when the server restarts.
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := send(t, c, opsgenieMessage("dave@example.com")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	srv.stop()
	srv.start()
	if _, err := send(t, c, opsgenieMessage("dave@example.com")); err != nil {
		t.Fatalf("Send after a server restart = %v", err)
	}
	if got := len(srv.messages()); got != 4 {
		t.Errorf("the server accepted %d messages, want 4", got)
	}
}

func TestWaitingForAFreeConnectionHonoursTheContext(t *testing.T) {
	srv := newTestServer(t, serverOptions{})
	c := newChannel(t, srv, srv.url("", ""), Options{MaxConns: 1})
	c.slots <- struct{}{} // the only connection is busy
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Send(ctx, opsgenieMessage("dave@example.com"))
	<-c.slots
	if outcome(err) != "temporary" {
		t.Errorf("Send = %v, want a temporary error", err)
	}
}

// waitFor polls cond for up to 10 seconds: long enough for any machine, short enough to fail.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
