package webhook

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/netguard"
)

func TestAReceiverThatDoesNotAnswerInTimeIsATemporaryTimeout(t *testing.T) {
	release := make(chan struct{})
	rcv := newReceiver(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	c := newChannel(t, Options{Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := send(t, c, rcv.URL)
	if outcomeOf(err) != temporary {
		t.Fatalf("Send = %v, want temporary", err)
	}
	if !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Fatalf("error %q does not say it timed out", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Send took %v with a 200ms timeout", took)
	}
}

func TestACallerThatGivesUpGetsATemporaryError(t *testing.T) {
	rcv := newReceiver(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	c := newChannel(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := c.Send(ctx, testMessage(rcv.URL))
	if outcomeOf(err) != temporary || !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want a temporary context.Canceled", err)
	}
}

func TestARefusedConnectionIsTemporary(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = send(t, newChannel(t, Options{}), "http://"+addr+"/hook")
	if outcomeOf(err) != temporary {
		t.Fatalf("Send = %v, want temporary", err)
	}
	if !strings.Contains(err.Error(), "webhook to "+addr+": ") {
		t.Fatalf("error %q does not name the receiver", err)
	}
}

func TestAReceiverThatHangsUpWithoutAnsweringIsTemporary(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	_, err := send(t, newChannel(t, Options{}), rcv.URL)
	if outcomeOf(err) != temporary {
		t.Fatalf("Send = %v, want temporary", err)
	}
}

func TestAHostThatDoesNotResolveIsTemporary(t *testing.T) {
	_, err := send(t, newChannel(t, Options{Timeout: 3 * time.Second}), "https://tocsin-test.invalid/hook")
	if outcomeOf(err) != temporary {
		t.Fatalf("Send = %v, want temporary", err)
	}
}

func TestMetadataAndLinkLocalURLsAreRefusedWithoutAConnectionAttempt(t *testing.T) {
	for _, to := range []string{
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"https://169.254.169.254/",
		"http://[::ffff:169.254.169.254]/",
		"http://[fd00:ec2::254]/latest/api/token",
		"http://169.254.170.2/v2/credentials",
		"http://[fe80::1%25eth0]:8080/",
		"http://0.0.0.0:8080/",
		"http://224.0.0.1/",
	} {
		for _, opts := range []Options{{}, {AllowHTTP: true}, {RefusePrivate: true}} {
			c := newChannel(t, opts)
			start := time.Now()
			_, err := send(t, c, to)
			if !errors.Is(err, netguard.ErrRefused) || outcomeOf(err) != permanent {
				t.Fatalf("Send to %s with %+v = %v, want a permanent netguard refusal", to, opts, err)
			}
			if took := time.Since(start); took > time.Second {
				t.Fatalf("refusing %s took %v", to, took)
			}
		}
	}
}

func TestANameThatResolvesToARefusedAddressIsRefusedAtDialTime(t *testing.T) {
	rcv := newReceiver(t, nil)
	_, port, _ := net.SplitHostPort(rcv.Listener.Addr().String())
	c := newChannel(t, Options{RefusePrivate: true})
	_, err := send(t, c, "http://localhost:"+port+"/hook")
	if !errors.Is(err, netguard.ErrRefused) || outcomeOf(err) != permanent {
		t.Fatalf("Send = %v, want a permanent netguard refusal", err)
	}
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}
}

func TestLoopbackReceiversAreAllowedByDefaultAndRefusedWithRefusePrivate(t *testing.T) {
	rcv := newReceiver(t, nil)
	if _, err := send(t, newChannel(t, Options{}), rcv.URL); err != nil {
		t.Fatalf("default options: %v", err)
	}
	_, err := send(t, newChannel(t, Options{RefusePrivate: true}), rcv.URL)
	if !errors.Is(err, netguard.ErrRefused) || outcomeOf(err) != permanent {
		t.Fatalf("RefusePrivate: Send = %v, want a permanent netguard refusal", err)
	}
	allowed := newChannel(t, Options{RefusePrivate: true, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if _, err := send(t, allowed, rcv.URL); err != nil {
		t.Fatalf("RefusePrivate with 127.0.0.0/8 allowed: %v", err)
	}
	if n := len(rcv.requests()); n != 2 {
		t.Fatalf("the receiver got %d requests, want 2", n)
	}
}

func TestHTTPSReceiversAreVerifiedAgainstTheGivenRoots(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	receipt, err := send(t, newChannel(t, Options{RootCAs: roots}), srv.URL+"/hook")
	if err != nil || receipt.Detail != "HTTP 204 No Content" {
		t.Fatalf("Send over https = %+v, %v", receipt, err)
	}

	_, err = send(t, newChannel(t, Options{RootCAs: x509.NewCertPool()}), srv.URL+"/hook")
	if outcomeOf(err) != permanent || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("Send to an unknown certificate authority = %v, want a permanent TLS error", err)
	}
}
