package load

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// newTestSigner is a Signer on a fresh directory and a free port, closed when the test ends.
func newTestSigner(t testing.TB) *Signer {
	t.Helper()
	return newTestSignerIn(t, t.TempDir())
}

// newTestSignerIn is a Signer on dir and a free port, closed when the test ends.
func newTestSignerIn(t testing.TB, dir string) *Signer {
	t.Helper()
	s, err := NewSigner(SignerConfig{Dir: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// newTestSink is a Sink on a free port, closed when the test ends.
func newTestSink(t testing.TB) *Sink {
	t.Helper()
	s, err := StartSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newHTTPServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
