package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The scheme written out by hand, as a receiver in another language would implement it.
func TestTheSignatureIsHexHMACSHA256OfTimestampDotBody(t *testing.T) {
	body := []byte(`{"version":1}`)
	h := hmac.New(sha256.New, []byte("secret"))
	h.Write([]byte("1772366400." + string(body)))
	want := "v1=" + hex.EncodeToString(h.Sum(nil))
	if got := Sign([]byte("secret"), "1772366400", body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	// A fixed vector, so that a change to the scheme cannot pass unnoticed.
	if got := Sign([]byte("secret"), "1772366400", body); got != "v1=61a539189ac5280bae453369944c6b71e66393cd26fe17c756e0baa7147949da" {
		t.Fatalf("Sign = %s", got)
	}
}

func TestVerifyAcceptsOnlyAnUnchangedRecentRequestSignedWithTheSecret(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(`{"version":1,"type":"alert.page"}`)
	sig := Sign(testSecret, ts, body)
	old := strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10)
	future := strconv.FormatInt(now.Add(10*time.Minute).Unix(), 10)
	millis := strconv.FormatInt(now.UnixMilli(), 10)

	tests := []struct {
		name      string
		secret    []byte
		timestamp string
		signature string
		body      []byte
		tolerance time.Duration
		want      error
	}{
		{"the request as sent", testSecret, ts, sig, body, 0, nil},
		{"a second v1 signature that matches", testSecret, ts, "v1=00ff, " + sig, body, 0, nil},
		{"an unknown scheme next to v1", testSecret, ts, "v2=abc," + sig, body, 0, nil},
		{"upper-case hex", testSecret, ts, "v1=" + strings.ToUpper(strings.TrimPrefix(sig, "v1=")), body, 0, nil},
		{"a changed body", testSecret, ts, sig, []byte(`{"version":1,"type":"alert.test"}`), 0, ErrSignature},
		{"a body with a trailing newline", testSecret, ts, sig, append(body, '\n'), 0, ErrSignature},
		{"another secret", []byte("another-secret-0123456789"), ts, sig, body, 0, ErrSignature},
		{"a changed timestamp", testSecret, strconv.FormatInt(now.Unix()+1, 10), sig, body, 0, ErrSignature},
		{"no signature", testSecret, ts, "", body, 0, ErrSignature},
		{"a signature without its scheme", testSecret, ts, strings.TrimPrefix(sig, "v1="), body, 0, ErrSignature},
		{"only other schemes", testSecret, ts, "v0=" + strings.TrimPrefix(sig, "v1="), body, 0, ErrSignature},
		{"a truncated signature", testSecret, ts, sig[:20], body, 0, ErrSignature},
		{"a signature that is not hex", testSecret, ts, "v1=zz", body, 0, ErrSignature},
		{"no secret", nil, ts, sig, body, 0, ErrSignature},
		{"no timestamp", testSecret, "", sig, body, 0, ErrTimestamp},
		{"a timestamp in milliseconds", testSecret, millis, Sign(testSecret, millis, body), body, 0, ErrTimestamp},
		{"a negative timestamp", testSecret, "-1", sig, body, 0, ErrTimestamp},
		{"an RFC 3339 timestamp", testSecret, now.Format(time.RFC3339), sig, body, 0, ErrTimestamp},
		{"an authentic request ten minutes old", testSecret, old, Sign(testSecret, old, body), body, 0, ErrTimestamp},
		{"an authentic request ten minutes ahead", testSecret, future, Sign(testSecret, future, body), body, 0, ErrTimestamp},
		{"ten minutes old within a wider tolerance", testSecret, old, Sign(testSecret, old, body), body, 15 * time.Minute, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.timestamp, tt.signature, tt.body, now, tt.tolerance)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAStaleTimestampErrorSaysHowOldTheRequestIs(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ts := strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10)
	err := Verify(testSecret, ts, Sign(testSecret, ts, nil), nil, now, 0)
	if err == nil || !strings.Contains(err.Error(), "10m0s ago (tolerance 5m0s)") {
		t.Fatalf("Verify = %v", err)
	}
}

func TestVerifyErrorsNeverContainTheSecret(t *testing.T) {
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	for _, sig := range []string{"", "v1=00", Sign([]byte("other-secret-0123456789"), ts, nil)} {
		err := Verify(testSecret, ts, sig, nil, now, 0)
		if err == nil || strings.Contains(err.Error(), string(testSecret)) {
			t.Fatalf("Verify = %v", err)
		}
	}
}
