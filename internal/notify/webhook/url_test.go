package webhook

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestPlainHTTPIsAllowedToLoopbackButNotBeyondUnlessAllowed(t *testing.T) {
	rcv := newReceiver(t, nil)
	_, port, _ := net.SplitHostPort(rcv.Listener.Addr().String())
	c := newChannel(t, Options{})
	for _, to := range []string{rcv.URL, "http://localhost:" + port, "http://LOCALHOST:" + port + "/x"} {
		if _, err := send(t, c, to); err != nil {
			t.Errorf("Send to %s = %v, want sent", to, err)
		}
	}
	for _, to := range []string{"http://hooks.example.com/x", "http://10.0.0.5:8080/x", "http://192.168.1.10/x"} {
		_, err := send(t, c, to)
		if outcomeOf(err) != permanent || !strings.Contains(err.Error(), "must be https://") {
			t.Errorf("Send to %s = %v, want a permanent https-required error", to, err)
		}
	}
}

func TestAllowHTTPAllowsPlainHTTPEverywhereAndWarnsOnce(t *testing.T) {
	var logs bytes.Buffer
	c := newChannel(t, Options{AllowHTTP: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "http://") {
		t.Fatalf("New with AllowHTTP logged %q, want a warning", logs.String())
	}
	url, err := c.checkURL("http://hooks.internal.example:8080/page")
	if err != nil || url.Host != "hooks.internal.example:8080" {
		t.Fatalf("checkURL = %v, %v", url, err)
	}
	if strings.Count(logs.String(), "\n") != 1 {
		t.Fatalf("logged %q, want one line", logs.String())
	}
}

func TestContactsThatAreNotHTTPURLsArePermanentErrors(t *testing.T) {
	c := newChannel(t, Options{AllowHTTP: true})
	for _, to := range []string{
		"", "hooks.example.com/x", "/relative", "ftp://hooks.example.com/x", "file:///etc/passwd",
		"mailto:alice@example.com", "https://", "https:///path", "http://[::1", "https://host:port/",
		"javascript:alert(1)",
	} {
		_, err := send(t, c, to)
		if outcomeOf(err) != permanent {
			t.Errorf("Send to %q = %v, want permanent", to, err)
		}
	}
}

func TestErrorsNameTheHostButNeverThePathQueryCredentialsOrSecret(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) })
	host := strings.TrimPrefix(rcv.URL, "http://")
	c := newChannel(t, Options{})
	closed := newReceiver(t, nil)
	closed.Close()
	for _, to := range []string{
		"http://user:pa55word@" + host + "/hooks/T0KEN-PATH?token=QUERY-T0KEN",
		"http://user:pa55word@" + strings.TrimPrefix(closed.URL, "http://") + "/hooks/T0KEN-PATH?token=QUERY-T0KEN",
		"https://user:pa55word@hooks.example.com:99999/hooks/T0KEN-PATH?token=QUERY-T0KEN",
		"http://user:pa55word@hooks.example.com/hooks/T0KEN-PATH?token=QUERY-T0KEN",
		"gopher://user:pa55word@hooks.example.com/hooks/T0KEN-PATH?token=QUERY-T0KEN",
		"http://user:pa55word@[::1/hooks/T0KEN-PATH?token=QUERY-T0KEN",
	} {
		_, err := send(t, c, to)
		if err == nil {
			t.Fatalf("Send to %s succeeded", to)
		}
		for _, secret := range []string{"pa55word", "T0KEN-PATH", "QUERY-T0KEN", string(testSecret)} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q contains %q", err, secret)
			}
		}
	}
}

func TestCredentialsInTheURLAreSentAsBasicAuth(t *testing.T) {
	rcv := newReceiver(t, nil)
	to := "http://user:pa55word@" + strings.TrimPrefix(rcv.URL, "http://") + "/hook"
	if _, err := send(t, newChannel(t, Options{}), to); err != nil {
		t.Fatal(err)
	}
	got := rcv.requests()[0].header.Get("Authorization")
	req := http.Request{Header: http.Header{"Authorization": {got}}}
	if user, pass, ok := req.BasicAuth(); !ok || user != "user" || pass != "pa55word" {
		t.Fatalf("Authorization = %q", got)
	}
}
