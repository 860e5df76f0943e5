package notify

import (
	"errors"
	"time"
)

// permanentError marks an error as one that no retry can fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// retryAfterError carries a provider's hint of when to try again.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// Permanent marks err as permanent: the message cannot be delivered as it is (a malformed address, a
// provider that rejected it), so the caller records the failure instead of retrying. The message of
// err is unchanged. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or any error it wraps, was marked by Permanent. Every other
// non-nil error is temporary.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Temporary marks err as temporary with a hint that the next attempt should wait at least after (as
// a provider's Retry-After said). A hint of zero or less adds nothing: an unmarked error is already
// temporary. Temporary(nil, d) is nil.
func Temporary(err error, after time.Duration) error {
	if err == nil || after <= 0 {
		return err
	}
	return &retryAfterError{err: err, after: after}
}

// RetryAfter returns the hint given to Temporary, if err carries one and is not permanent.
func RetryAfter(err error) (time.Duration, bool) {
	var r *retryAfterError
	if IsPermanent(err) || !errors.As(err, &r) {
		return 0, false
	}
	return r.after, true
}
