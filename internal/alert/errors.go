package alert

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned when no alert (or request status) matches a reference.
var ErrNotFound = errors.New("not found")

// ValidationError says which field of a request is wrong and why; transports answer it with 422.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Reason)
}

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
