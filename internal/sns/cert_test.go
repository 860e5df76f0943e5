package sns_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/sns"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
)

// notificationWithCertAt returns a correctly signed notification whose SigningCertURL is then pointed
// at path on the server (SigningCertURL is not signed, so the signature stays valid).
func notificationWithCertAt(s *snstest.Server, path string) *sns.Message {
	m := s.Notification(s.TopicARN(topicName), "", eventJSON)
	m.SigningCertURL = s.URL() + path
	return m
}

func TestVerifyRefusesUnusableSigningCertificates(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	big := strings.Repeat("A", sns.DefaultMaxCertBytes+1)
	serve := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) }
	}
	s.Handle("GET /big-with-length.pem", serve(big))
	s.Handle("GET /big-streamed.pem", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// Flushing early leaves out Content-Length, so only the read limit can stop it.
		for i := 0; i < 20; i++ {
			_, _ = w.Write([]byte(strings.Repeat("A", 8<<10)))
			w.(http.Flusher).Flush()
		}
	}))
	s.Handle("GET /junk.pem", serve("hello"))
	s.Handle("GET /wrapped.pem", serve("<xml>\n"+string(s.CertPEM())+"</xml>"))
	s.Handle("GET /ecdsa.pem", serve(string(s.CAPEM()))) // a real certificate, but not an RSA key
	s.Handle("GET /empty.pem", serve(""))
	s.Handle("GET /forbidden.pem", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "AccessDenied", http.StatusForbidden)
	}))
	v := trusting(t, sns.Options{}, s)

	for name, path := range map[string]string{
		"larger than the limit with Content-Length":    "/big-with-length.pem",
		"larger than the limit without Content-Length": "/big-streamed.pem",
		"not PEM":                   "/junk.pem",
		"PEM wrapped in other text": "/wrapped.pem",
		"not an RSA key":            "/ecdsa.pem",
		"empty":                     "/empty.pem",
		"not found":                 "/missing.pem",
		"forbidden":                 "/forbidden.pem",
	} {
		t.Run(name, func(t *testing.T) {
			wantErr(t, v.Verify(context.Background(), notificationWithCertAt(s, path)), sns.ErrBadCertificate)
		})
	}
}

func TestVerifyRefusesACertificateOutsideItsValidity(t *testing.T) {
	now := time.Now()
	tests := map[string]snstest.Config{
		"expired":       {CertNotBefore: now.Add(-48 * time.Hour), CertNotAfter: now.Add(-time.Hour)},
		"not yet valid": {CertNotBefore: now.Add(time.Hour), CertNotAfter: now.Add(48 * time.Hour)},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			s := snstest.NewServer(t, cfg)
			v := trusting(t, sns.Options{}, s)
			err := v.Verify(context.Background(), s.Notification(s.TopicARN(topicName), "", eventJSON))
			wantErr(t, err, sns.ErrBadCertificate)
			if !strings.Contains(err.Error(), "valid only from") {
				t.Errorf("error %q should give the validity period", err)
			}
		})
	}
}

func TestVerifyFetchesTheCertificateOnceForManyMessages(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	v := trusting(t, sns.Options{}, s)
	topic := s.TopicARN(topicName)

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- v.Verify(context.Background(), s.Notification(topic, "", eventJSON))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		wantErr(t, err, nil)
	}
	for i := 0; i < 10; i++ {
		wantErr(t, v.Verify(context.Background(), s.SubscriptionConfirmation(topic)), nil)
	}
	if n := s.CertFetches(); n != 1 {
		t.Fatalf("certificate fetched %d times for 74 messages, want 1", n)
	}
}

func TestVerifyFetchesTheCertificateAgainAfterCacheTTL(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	v := trusting(t, sns.Options{CacheTTL: time.Nanosecond}, s)
	for i := 0; i < 3; i++ {
		wantErr(t, v.Verify(context.Background(), s.Notification(s.TopicARN(topicName), "", eventJSON)), nil)
	}
	if n := s.CertFetches(); n != 3 {
		t.Fatalf("certificate fetched %d times, want 3", n)
	}
}

func TestTheCertificateCacheKeepsAtMostCacheSizeEntries(t *testing.T) {
	a := snstest.NewServer(t, snstest.Config{})
	b := snstest.NewServer(t, snstest.Config{})
	v := trusting(t, sns.Options{CacheSize: 1}, a, b)
	for i := 0; i < 3; i++ {
		wantErr(t, v.Verify(context.Background(), a.Notification(a.TopicARN(topicName), "", eventJSON)), nil)
		wantErr(t, v.Verify(context.Background(), b.Notification(b.TopicARN(topicName), "", eventJSON)), nil)
	}
	if n := a.CertFetches() + b.CertFetches(); n != 6 {
		t.Fatalf("got %d fetches, want 6: each alternation must evict the other certificate", n)
	}
}

func TestVerifyReportsFetchFailuresAsTransient(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	var stall = make(chan struct{})
	t.Cleanup(func() { close(stall) })
	s.Handle("GET /unavailable.pem", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "", http.StatusServiceUnavailable)
	}))
	s.Handle("GET /throttled.pem", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "", http.StatusTooManyRequests)
	}))
	s.Handle("GET /slow.pem", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	v := trusting(t, sns.Options{Timeout: 200 * time.Millisecond}, s)

	for name, path := range map[string]string{
		"a 503":     "/unavailable.pem",
		"a 429":     "/throttled.pem",
		"a timeout": "/slow.pem",
	} {
		t.Run(name, func(t *testing.T) {
			err := v.Verify(context.Background(), notificationWithCertAt(s, path))
			wantErr(t, err, sns.ErrUnavailable)
			if errors.Is(err, sns.ErrBadSignature) || errors.Is(err, sns.ErrBadCertificate) {
				t.Errorf("a transient failure must not look like a forgery: %v", err)
			}
		})
	}

	t.Run("an unreachable host", func(t *testing.T) {
		gone := snstest.NewServer(t, snstest.Config{})
		v := trusting(t, sns.Options{}, gone)
		m := gone.Notification(gone.TopicARN(topicName), "", eventJSON)
		gone.Close()
		wantErr(t, v.Verify(context.Background(), m), sns.ErrUnavailable)
	})

	t.Run("a TLS certificate from an unknown CA", func(t *testing.T) {
		v, err := sns.NewVerifier(sns.Options{Hosts: []string{s.Host()}}) // no ExtraRootsPEM
		if err != nil {
			t.Fatal(err)
		}
		err = v.Verify(context.Background(), s.Notification(s.TopicARN(topicName), "", eventJSON))
		wantErr(t, err, sns.ErrUnavailable)
		if !strings.Contains(err.Error(), "--sns-ca-file") {
			t.Errorf("error %q should hint at --sns-ca-file", err)
		}
	})

	t.Run("the caller giving up", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := v.Verify(ctx, notificationWithCertAt(s, "/slow.pem"))
		wantErr(t, err, sns.ErrUnavailable)
		wantErr(t, err, context.Canceled)
	})
}

func TestVerifyDoesNotRememberAFailedFetch(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	var down atomic.Bool
	down.Store(true)
	s.Handle("GET /flaky.pem", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if down.Load() {
			http.Error(w, "", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(s.CertPEM())
	}))
	v := trusting(t, sns.Options{}, s)
	m := notificationWithCertAt(s, "/flaky.pem")
	wantErr(t, v.Verify(context.Background(), m), sns.ErrUnavailable)
	down.Store(false)
	wantErr(t, v.Verify(context.Background(), m), nil)
}

func TestVerifyNeverFollowsARedirectForTheCertificate(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	elsewhere := snstest.NewServer(t, snstest.Config{})
	s.Handle("GET /moved.pem", http.RedirectHandler(elsewhere.CertURL(), http.StatusFound))
	v := trusting(t, sns.Options{}, s, elsewhere) // even to a host that is itself allowed
	wantErr(t, v.Verify(context.Background(), notificationWithCertAt(s, "/moved.pem")), sns.ErrBadCertificate)
	if n := elsewhere.Requests(); n != 0 {
		t.Fatalf("the redirect target got %d requests, want 0", n)
	}
}
