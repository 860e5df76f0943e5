package notify

import (
	"strconv"
	"testing"
	"time"
)

// Retry-After comes from whatever server a webhook points at: it must never panic, and never give a
// negative or unbounded wait.
func FuzzRetryAfter(f *testing.F) {
	for _, seed := range []string{
		"120", "0", "", " 7 ", "-1", "1e9", "99999999999999999999",
		"Sun, 01 Mar 2026 12:00:30 GMT", "Sunday, 01-Mar-26 12:01:00 GMT", "Sun Mar  1 12:00:05 2026",
		"Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT", "soon",
	} {
		f.Add(seed)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, value string) {
		d, ok := ParseRetryAfter(value, now)
		if d < 0 || d > MaxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %v, outside [0, %v]", value, d, MaxRetryAfter)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, false; a failed parse must give 0", value, d)
		}
		if n, err := strconv.ParseUint(value, 10, 32); err == nil && n <= 86400 {
			if !ok || d != time.Duration(n)*time.Second {
				t.Fatalf("ParseRetryAfter(%q) = %v, %v; want %ds", value, d, ok, n)
			}
		}
	})
}
