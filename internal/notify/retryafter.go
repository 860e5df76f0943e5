package notify

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps a parsed Retry-After hint; callers may cap it further.
const MaxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads an HTTP Retry-After header value (RFC 9110 section 10.2.3): either a number
// of seconds or an HTTP-date, which is measured from now. A date in the past means "now" (0). The
// result is at most MaxRetryAfter. ok is false for an empty or malformed value.
func ParseRetryAfter(value string, now time.Time) (d time.Duration, ok bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if isDigits(value) {
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil || n > uint64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter, true // too many digits to parse is still "a long time"
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	d = t.Sub(now)
	switch {
	case d < 0:
		return 0, true
	case d > MaxRetryAfter:
		return MaxRetryAfter, true
	}
	return d, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
