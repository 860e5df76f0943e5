package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of a webhook request.
const (
	HeaderTimestamp      = "X-Tocsin-Timestamp"
	HeaderSignature      = "X-Tocsin-Signature"
	HeaderIdempotencyKey = "Idempotency-Key"
)

// DefaultTolerance is how far a timestamp may be from the receiver's clock when Verify is given no
// tolerance. It bounds how long a captured request can be replayed.
const DefaultTolerance = 5 * time.Minute

// Errors returned by Verify; test with errors.Is.
var (
	// ErrSignature: the signature header is missing, malformed, or no v1 signature in it matches.
	ErrSignature = errors.New("webhook: signature does not verify")
	// ErrTimestamp: the timestamp header is missing, not a unix time in seconds, or too far from now.
	ErrTimestamp = errors.New("webhook: timestamp not acceptable")
)

// Sign returns the X-Tocsin-Signature value for a request: "v1=" and the lower-case hex of
// HMAC-SHA256(secret, timestamp + "." + body).
func Sign(secret []byte, timestamp string, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a received webhook request: timestamp and signature are the values of the
// X-Tocsin-Timestamp and X-Tocsin-Signature headers, body the raw request body exactly as received
// (before any JSON decoding), now the receiver's clock and tolerance how far the timestamp may be from
// it (DefaultTolerance when zero or negative).
//
// The signature header is a comma-separated list of scheme=value entries; Verify accepts the request
// when any v1 entry matches, compared in constant time, and ignores entries of other schemes, so that
// a later sender may add a second signature (a new secret during rotation, or a new scheme) without
// breaking receivers. It returns nil, or an error wrapping ErrSignature or ErrTimestamp. An authentic
// request with a stale timestamp gets ErrTimestamp, which usually means a clock is wrong.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no secret to verify with", ErrSignature)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if timestamp == "" || len(timestamp) > 18 || strings.Trim(timestamp, "0123456789") != "" {
		return fmt.Errorf("%w: %s must be unix seconds", ErrTimestamp, HeaderTimestamp)
	}
	sent, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s must be unix seconds", ErrTimestamp, HeaderTimestamp)
	}

	want := mac(secret, timestamp, body)
	seen, matched := false, false
	for entry := range strings.SplitSeq(signature, ",") {
		scheme, value, ok := strings.Cut(strings.TrimSpace(entry), "=")
		if !ok || scheme != "v1" {
			continue
		}
		seen = true
		got, err := hex.DecodeString(value)
		if err == nil && hmac.Equal(got, want) {
			matched = true
		}
	}
	switch {
	case !seen:
		return fmt.Errorf("%w: %s has no v1 signature", ErrSignature, HeaderSignature)
	case !matched:
		return fmt.Errorf("%w: no v1 signature matches the body and timestamp", ErrSignature)
	}

	signedAt := time.Unix(sent, 0)
	switch age := now.Sub(signedAt); {
	case age > tolerance:
		return fmt.Errorf("%w: signed at %s, %s ago (tolerance %s)",
			ErrTimestamp, signedAt.UTC().Format(time.RFC3339), age.Round(time.Second), tolerance)
	case age < -tolerance:
		return fmt.Errorf("%w: signed at %s, %s in the future (tolerance %s)",
			ErrTimestamp, signedAt.UTC().Format(time.RFC3339), (-age).Round(time.Second), tolerance)
	}
	return nil
}
