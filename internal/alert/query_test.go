package alert

import (
	"reflect"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestParseQueryUnderstandsOpsgenieSearchTerms(t *testing.T) {
	tests := []struct {
		in   string
		want Query
	}{
		{"", Query{}},
		{"status:open", Query{Status: StatusOpen}},
		{"status=closed", Query{Status: StatusClosed}},
		{"status:open AND acknowledged:false", Query{Status: StatusOpen, Acknowledged: ptr(false)}},
		{"priority:P1 priority:p2", Query{Priorities: []Priority{P1, P2}}},
		{"tag:disk AND tags:db", Query{Tags: []string{"disk", "db"}}},
		{`alias:"finding 1"`, Query{Alias: "finding 1"}},
		{"disk full", Query{Text: []string{"disk", "full"}}},
		{`"disk full" AND snoozed:true`, Query{Text: []string{"disk full"}, Snoozed: ptr(true)}},
		{`"a:b"`, Query{Text: []string{"a:b"}}},
		{"tinyId:42 source:nagios entity:db-1 owner:bob integration:prod", Query{TinyID: 42, Source: "nagios", Entity: "db-1", Owner: "bob", Integration: "prod"}},
		{"message:Disk", Query{Text: []string{"Disk"}}},
	}
	for _, tt := range tests {
		got, err := ParseQuery(tt.in)
		if err != nil {
			t.Errorf("ParseQuery(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseQuery(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseQueryRefusesWhatItCannotAnswer(t *testing.T) {
	for _, in := range []string{
		"status:pending", "acknowledged:maybe", "priority:P6", "colour:red", "a OR b", "NOT status:open",
		`alias:"unterminated`, "tinyId:abc", string(make([]byte, MaxQueryLength+1)),
	} {
		if _, err := ParseQuery(in); err == nil {
			t.Errorf("ParseQuery(%q) succeeded, want an error", in)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"status:open AND tag:x", `alias:"a b" "free text"`, "priority:P1 OR x", `"`, "a:b:c", "=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuery(s)
		if err != nil {
			return
		}
		for _, p := range q.Priorities {
			if !p.Valid() {
				t.Fatalf("ParseQuery(%q) accepted priority %q", s, p)
			}
		}
	})
}
