package notify

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestAnUnmarkedErrorIsTemporaryWithoutAHint(t *testing.T) {
	err := errors.New("connection reset")
	if IsPermanent(err) {
		t.Fatal("an unmarked error is permanent")
	}
	if d, ok := RetryAfter(err); ok {
		t.Fatalf("an unmarked error has a retry hint %v", d)
	}
}

func TestPermanentErrorsStayPermanentWhenWrapped(t *testing.T) {
	base := errors.New("550 no such user")
	err := fmt.Errorf("email: %w", Permanent(base))
	if !IsPermanent(err) {
		t.Fatal("a wrapped permanent error is not permanent")
	}
	if !errors.Is(err, base) {
		t.Fatal("Permanent hides the error it marks from errors.Is")
	}
	if err.Error() != "email: 550 no such user" {
		t.Fatalf("Permanent changed the message: %q", err)
	}
}

func TestATemporaryErrorCarriesItsRetryHint(t *testing.T) {
	base := errors.New("429 Too Many Requests")
	err := fmt.Errorf("webhook: %w", Temporary(base, 30*time.Second))
	if IsPermanent(err) {
		t.Fatal("Temporary made a permanent error")
	}
	if d, ok := RetryAfter(err); !ok || d != 30*time.Second {
		t.Fatalf("RetryAfter = %v, %v; want 30s, true", d, ok)
	}
	if !errors.Is(err, base) || err.Error() != "webhook: 429 Too Many Requests" {
		t.Fatalf("Temporary changed the error: %q", err)
	}
}

func TestAZeroOrNegativeHintAddsNothing(t *testing.T) {
	base := errors.New("503")
	for _, d := range []time.Duration{0, -time.Second} {
		if err := Temporary(base, d); err != base {
			t.Errorf("Temporary(err, %v) = %#v, want err itself", d, err)
		}
	}
}

func TestPermanentWinsOverARetryHint(t *testing.T) {
	err := Permanent(Temporary(errors.New("gone"), time.Minute))
	if !IsPermanent(err) {
		t.Fatal("not permanent")
	}
	if _, ok := RetryAfter(err); ok {
		t.Fatal("a permanent error offers a retry hint")
	}
	err = Temporary(Permanent(errors.New("gone")), time.Minute)
	if !IsPermanent(err) {
		t.Fatal("a temporary wrapper hid a permanent error")
	}
	if _, ok := RetryAfter(err); ok {
		t.Fatal("a permanent error offers a retry hint")
	}
}

func TestMarkingNilGivesNil(t *testing.T) {
	if Permanent(nil) != nil || Temporary(nil, time.Second) != nil {
		t.Fatal("marking nil made an error")
	}
	if IsPermanent(nil) {
		t.Fatal("nil is permanent")
	}
}

func TestContextErrorsAreTemporary(t *testing.T) {
	if IsPermanent(context.DeadlineExceeded) || IsPermanent(context.Canceled) {
		t.Fatal("a context error is permanent")
	}
}
