package oncall

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("0s", "5m", "1h30m") in JSON and YAML.
// A bare number is not accepted (except 0): "delay: 300" could mean seconds, minutes or Go's
// nanoseconds, and guessing wrong would page someone at the wrong time.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d as Go does ("5m0s"), which ParseDuration reads back.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler, so YAML libraries write a duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler, so YAML libraries (and anything else that decodes
// text) read "5m" without knowing this type.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q: want a Go duration such as 0s, 5m or 1h30m", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string; the number 0 is also accepted because it is unambiguous and
// people write it. null leaves d unchanged, as encoding/json does for other types.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return d.UnmarshalText([]byte(s))
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		if f, err := n.Float64(); err == nil && f == 0 {
			*d = 0
			return nil
		}
		return fmt.Errorf("invalid duration %s: write it with a unit, such as \"5m\"", b)
	}
	return fmt.Errorf("invalid duration %s: want a string such as \"5m\"", b)
}
