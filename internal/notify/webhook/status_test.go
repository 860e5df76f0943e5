package webhook

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/notify"
)

type outcome int

const (
	sent outcome = iota
	temporary
	permanent
)

func (o outcome) String() string { return [...]string{"sent", "temporary", "permanent"}[o] }

func outcomeOf(err error) outcome {
	switch {
	case err == nil:
		return sent
	case notify.IsPermanent(err):
		return permanent
	}
	return temporary
}

func TestEachStatusCodeIsSentTemporaryOrPermanent(t *testing.T) {
	tests := map[int]outcome{
		200: sent, 201: sent, 202: sent, 204: sent, 299: sent,
		301: permanent, 302: permanent, 303: permanent, 304: permanent, 307: permanent, 308: permanent,
		400: permanent, 401: permanent, 403: permanent, 404: permanent, 405: permanent, 410: permanent,
		413: permanent, 415: permanent, 422: permanent,
		408: temporary, 425: temporary, 429: temporary,
		500: temporary, 501: temporary, 502: temporary, 503: temporary, 504: temporary, 599: temporary,
	}
	var status atomic.Int32
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(status.Load())) })
	c := newChannel(t, Options{})
	for code, want := range tests {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			status.Store(int32(code))
			_, err := send(t, c, rcv.URL)
			if got := outcomeOf(err); got != want {
				t.Fatalf("HTTP %d: %v (%v), want %v", code, got, err, want)
			}
			if err != nil && !strings.Contains(err.Error(), "HTTP "+strconv.Itoa(code)) {
				t.Fatalf("error %q does not give the status", err)
			}
		})
	}
}

func TestRetryAfterOnATemporaryAnswerBecomesTheRetryHint(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		min, max   time.Duration
		hint       bool
	}{
		{"429 with seconds", 429, "120", 120 * time.Second, 120 * time.Second, true},
		{"503 with seconds", 503, "7", 7 * time.Second, 7 * time.Second, true},
		{"503 with an HTTP date", 503, date, 80 * time.Second, 90 * time.Second, true},
		{"429 with a date in the past", 429, "Sun, 01 Mar 2020 12:00:00 GMT", 0, 0, false},
		{"429 with garbage", 429, "soon", 0, 0, false},
		{"429 without the header", 429, "", 0, 0, false},
		{"502 with seconds", 502, "3", 3 * time.Second, 3 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
			})
			_, err := send(t, newChannel(t, Options{}), rcv.URL)
			if outcomeOf(err) != temporary {
				t.Fatalf("Send = %v, want a temporary error", err)
			}
			d, ok := notify.RetryAfter(err)
			if ok != tt.hint || d < tt.min || d > tt.max {
				t.Fatalf("RetryAfter = %v, %v; want %v..%v, %v", d, ok, tt.min, tt.max, tt.hint)
			}
		})
	}
}

func TestAPermanentAnswerCarriesNoRetryHint(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusBadRequest)
	})
	_, err := send(t, newChannel(t, Options{}), rcv.URL)
	if _, ok := notify.RetryAfter(err); ok || outcomeOf(err) != permanent {
		t.Fatalf("Send = %v, want a permanent error without a hint", err)
	}
}

func TestARedirectIsNotFollowedAndIsPermanent(t *testing.T) {
	target := newReceiver(t, nil)
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/moved", http.StatusTemporaryRedirect)
	})
	_, err := send(t, newChannel(t, Options{}), rcv.URL)
	if outcomeOf(err) != permanent {
		t.Fatalf("Send = %v, want permanent", err)
	}
	for _, want := range []string{"HTTP 307", "redirects are not followed", "Location: " + target.URL + "/moved"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := len(target.requests()); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}

func TestTheAnswerIsQuotedCutAndOnOneLineInTheError(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write([]byte("{\"error\":\n\t\"bad payload\"}\r\n" + strings.Repeat("x", 200<<10)))
	})
	_, err := send(t, newChannel(t, Options{}), rcv.URL)
	if outcomeOf(err) != permanent {
		t.Fatalf("Send = %v, want permanent", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, `HTTP 422 Unprocessable Entity: {"error": "bad payload"} xxx`) {
		t.Fatalf("error does not quote the answer: %.200q", msg)
	}
	if !strings.HasSuffix(msg, "x…") || len(msg) > 700 || strings.ContainsAny(msg, "\r\n\t") {
		t.Fatalf("error is not cut to one short line: %d bytes, ends %q", len(msg), msg[len(msg)-20:])
	}
}

func TestAnAnswerThatIsNotUTF8IsCleanedForTheError(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte("bad \xff\x00\x1b[31m input"))
	})
	_, err := send(t, newChannel(t, Options{}), rcv.URL)
	if err == nil || strings.ContainsAny(err.Error(), "\x00\x1b") || !strings.Contains(err.Error(), "bad \uFFFD") {
		t.Fatalf("Send = %q", err)
	}
}

func TestASuccessWithoutARequestIDHasNoProviderID(t *testing.T) {
	rcv := newReceiver(t, nil)
	receipt, err := send(t, newChannel(t, Options{}), rcv.URL)
	if err != nil || receipt.ProviderID != "" || receipt.Detail != "HTTP 200 OK" {
		t.Fatalf("Send = %+v, %v", receipt, err)
	}
}
