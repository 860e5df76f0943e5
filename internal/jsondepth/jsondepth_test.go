package jsondepth

import (
	"strings"
	"testing"
)

func TestExceedsCountsOnlyBracketsOutsideStrings(t *testing.T) {
	tests := []struct {
		body string
		max  int
		want bool
	}{
		{`{}`, 1, false},
		{`{"a":[1]}`, 1, true},
		{`{"a":[1]}`, 2, false},
		{`{"a":"[[[[[["}`, 1, false},
		{`{"a":"\"[[[["}`, 1, false},
		{strings.Repeat("[", 33), 32, true},
		{strings.Repeat("[", 32), 32, false},
	}
	for _, tt := range tests {
		if got := Exceeds([]byte(tt.body), tt.max); got != tt.want {
			t.Errorf("Exceeds(%q, %d) = %t, want %t", tt.body, tt.max, got, tt.want)
		}
	}
}
