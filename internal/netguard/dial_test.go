package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestDialingTheMetadataServiceFailsAtOnceWithoutConnecting(t *testing.T) {
	d := Policy{}.Dialer(&net.Dialer{Timeout: 5 * time.Second})
	start := time.Now()
	conn, err := d.DialContext(context.Background(), "tcp", "169.254.169.254:80")
	if err == nil {
		conn.Close()
		t.Fatal("dial to 169.254.169.254 succeeded")
	}
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("dial error = %v, want ErrRefused", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("refusal took %v; a refusal must not wait for a connection attempt", took)
	}
}

// listen accepts on 127.0.0.1 and counts the connections it sees.
func listen(t *testing.T) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), accepted
}

func TestARefusedDestinationNeverSeesAConnection(t *testing.T) {
	addr, accepted := listen(t)
	d := Policy{RefusePrivate: true}.Dialer(nil)
	if conn, err := d.Dial("tcp", addr); !errors.Is(err, ErrRefused) {
		if conn != nil {
			conn.Close()
		}
		t.Fatalf("dial %s with RefusePrivate = %v, want ErrRefused", addr, err)
	}
	// A connection that was made would have been accepted well within this time.
	probe, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	probe.Close()
	deadline := time.Now().Add(2 * time.Second)
	for accepted.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := accepted.Load(); n != 1 {
		t.Fatalf("listener accepted %d connections, want only the probe's", n)
	}
}

func TestAHostNameThatResolvesToARefusedAddressIsRefused(t *testing.T) {
	addr, _ := listen(t)
	_, port, _ := net.SplitHostPort(addr)
	d := Policy{RefusePrivate: true}.Dialer(nil)
	if conn, err := d.Dial("tcp", net.JoinHostPort("localhost", port)); !errors.Is(err, ErrRefused) {
		if conn != nil {
			conn.Close()
		}
		t.Fatalf("dial localhost:%s with RefusePrivate = %v, want ErrRefused", port, err)
	}
}

func TestTheAllowListLetsATestServerThroughUnderRefusePrivate(t *testing.T) {
	addr, accepted := listen(t)
	p := Policy{RefusePrivate: true, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	conn, err := p.Dialer(nil).Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s = %v, want allowed", addr, err)
	}
	conn.Close()
	deadline := time.Now().Add(2 * time.Second)
	for accepted.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if accepted.Load() != 1 {
		t.Fatal("the allowed connection never arrived")
	}
}

func TestTheGuardRunsBeforeTheDialersOwnControlFunction(t *testing.T) {
	addr, _ := listen(t)
	var calls atomic.Int32
	base := &net.Dialer{Control: func(_, _ string, _ syscall.RawConn) error { calls.Add(1); return nil }}

	conn, err := Policy{}.Dialer(base).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if calls.Load() != 1 {
		t.Fatalf("the dialer's own Control ran %d times after an allowed dial, want 1", calls.Load())
	}

	guarded := Policy{}.Dialer(base)
	if _, err := guarded.Dial("tcp", "169.254.169.254:80"); !errors.Is(err, ErrRefused) {
		t.Fatalf("dial = %v, want ErrRefused", err)
	}
	if calls.Load() != 1 {
		t.Fatal("the dialer's own Control ran for a refused address")
	}
	if base.ControlContext != nil || base.Control == nil {
		t.Fatal("Dialer changed the dialer it was given")
	}
}

func TestTheGuardChainsIntoAControlContextFunction(t *testing.T) {
	addr, _ := listen(t)
	var calls atomic.Int32
	base := &net.Dialer{ControlContext: func(_ context.Context, _, _ string, _ syscall.RawConn) error {
		calls.Add(1)
		return nil
	}}
	conn, err := Policy{}.Dialer(base).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if calls.Load() != 1 {
		t.Fatalf("ControlContext ran %d times, want 1", calls.Load())
	}
}
