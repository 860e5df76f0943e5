package securityhub

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Error says why an event or a finding was refused. Its text is made only of field paths, fixed
// wording and short quoted excerpts, never the raw input, so the intake can send it back in a 400
// body as it is.
type Error struct {
	// Finding is the index of the refused finding in detail.findings, or -1 when the problem is
	// not in one finding.
	Finding int
	// Field is the JSON path of the offending field ("detail.findings[3].Title"), or "" for the
	// event as a whole.
	Field string
	// Reason says what is wrong.
	Reason string
	// Err is the underlying decoding error, kept for logs.
	Err error
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

func fieldError(index int, field, format string, args ...any) *Error {
	return &Error{Finding: index, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// jsonError turns an encoding/json error into an *Error whose wording does not depend on Go types.
// prefix is the path of the value that was being decoded ("detail.findings[2]").
func jsonError(index int, prefix string, err error) *Error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return &Error{Finding: index, Field: prefix, Reason: fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, syntax.Error()), Err: err}
	case errors.As(err, &typ):
		// The path can hold map keys from the input: keep it short and on one line.
		return &Error{Finding: index, Field: clip(oneLine(joinPath(prefix, typ.Field)), 120), Reason: fmt.Sprintf("must be %s, not %s", jsonKind(typ.Type), cutRunes(typ.Value, 40)), Err: err}
	}
	return &Error{Finding: index, Field: prefix, Reason: "malformed JSON: " + err.Error(), Err: err}
}

func joinPath(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

// jsonKind names the JSON kind a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a different type"
}
