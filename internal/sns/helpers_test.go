package sns_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/sns"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
)

const topicName = "securityhub-findings"

// trusting returns a Verifier that allows exactly the given test servers.
func trusting(t *testing.T, opts sns.Options, servers ...*snstest.Server) *sns.Verifier {
	t.Helper()
	for _, s := range servers {
		opts.Hosts = append(opts.Hosts, s.Host())
		opts.ExtraRootsPEM = append(opts.ExtraRootsPEM, s.CAPEM()...)
	}
	v, err := sns.NewVerifier(opts)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// noNetwork is a Verifier option whose client fails the test if any request is attempted.
func noNetwork(t *testing.T) (*http.Client, *atomic.Int64) {
	var calls atomic.Int64
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		t.Errorf("unexpected outbound request: %s %s", r.Method, r.URL)
		return nil, errors.New("no network in this test")
	})}, &calls
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if target == nil {
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		return
	}
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// resign signs m again after a test changed it, so that only the change under test can fail.
func resign(t *testing.T, s *snstest.Server, m *sns.Message) {
	t.Helper()
	if err := s.Sign(m, m.SignatureVersion); err != nil {
		t.Fatal(err)
	}
}
