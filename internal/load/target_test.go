package load

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestOnlyTargetsOnThisMachineAreAccepted(t *testing.T) {
	tests := []struct {
		target string
		want   string // "" for accepted; else a part of the error
	}{
		{"http://127.0.0.1:8080", ""},
		{"http://127.0.0.2:18080/", ""},
		{"http://localhost:8080", ""},
		{"http://LOCALHOST:8080", ""},
		{"http://[::1]:8080", ""},
		{"https://127.0.0.1:8443", ""},
		{"http://10.0.0.1:8080", "not a loopback address"},
		{"http://192.168.1.20", "not a loopback address"},
		{"http://0.0.0.0:8080", "not a loopback address"},
		{"http://[::]:8080", "not a loopback address"},
		{"http://example.com", "not a loopback address"},
		{"http://127.0.0.1.nip.io:8080", "not a loopback address"},
		{"http://localhost.example.com", "not a loopback address"},
		{"ftp://127.0.0.1", "scheme must be http or https"},
		{"127.0.0.1:8080", "scheme must be http or https"},
		{"http://127.0.0.1:8080/v1/json/amazonsecurityhub", "base URL only"},
		{"http://127.0.0.1:8080/?apiKey=x", "base URL only"},
		{"http://user:pass@127.0.0.1:8080", "base URL only"},
		{"http://", "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			u, err := CheckTarget(tt.target)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if u.Path != "" {
					t.Errorf("path %q left on the base URL", u.Path)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
			if tt.want == "not a loopback address" && !errors.Is(err, ErrNotLoopback) {
				t.Errorf("error %v is not ErrNotLoopback", err)
			}
		})
	}
}

func TestRunRefusesATargetOffThisMachineBeforeSendingAnything(t *testing.T) {
	s := newTestSigner(t)
	for _, cfg := range []Config{
		{Targets: []string{"http://127.0.0.1:1", "http://10.1.2.3:8080"}, APIKey: "k", Signer: s, Count: 1},
		{Targets: []string{"http://127.0.0.1:1"}, APIKey: "k", Signer: s, Count: 1, MetricsURL: "http://10.1.2.3/metrics"},
	} {
		_, err := Run(context.Background(), cfg)
		if !errors.Is(err, ErrNotLoopback) {
			t.Errorf("Run(%v, metrics %q) = %v, want ErrNotLoopback", cfg.Targets, cfg.MetricsURL, err)
		}
	}
}

func TestTheClientDialsNothingButLoopbackWhateverANameResolvesTo(t *testing.T) {
	// 192.0.2.1 is TEST-NET-1: nothing answers there, and the dialer must not even try.
	c := newClient(1, 2*time.Second)
	start := time.Now()
	_, err := c.Get("http://192.0.2.1/")
	if !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("GET a non-loopback address: %v, want ErrNotLoopback", err)
	}
	if TransportClass(err) != "not-loopback" {
		t.Errorf("class %q", TransportClass(err))
	}
	if time.Since(start) > time.Second {
		t.Error("the dialer tried to connect before refusing")
	}
}

func TestTheClientFollowsNoRedirect(t *testing.T) {
	srv := newHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://192.0.2.1/elsewhere", http.StatusFound)
	}))
	res, err := newClient(1, 2*time.Second).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want the 302 itself", res.StatusCode)
	}
}
