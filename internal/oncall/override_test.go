package oncall_test

import (
	"testing"

	"github.com/tocsin-dev/tocsin/internal/oncall"
)

// overridden is a daily rotation (alice, bob from 2026-01-01 09:00 UTC) plus a restricted second
// rotation (carol, office hours), with the given overrides.
func overridden(t *testing.T, overrides ...oncall.Override) *oncall.Schedule {
	office := rot("office", oncall.Daily, 1, ts(t, "2026-01-01T00:00:00Z"), "carol")
	office.Restrictions = []oncall.Restriction{{Kind: oncall.TimeOfDay, From: "09:00", To: "17:00"}}
	return &oncall.Schedule{Name: "s", Timezone: "UTC", Overrides: overrides, Rotations: []oncall.Rotation{
		rot("daily", oncall.Daily, 1, ts(t, "2026-01-01T09:00:00Z"), "alice", "bob"),
		office,
	}}
}

func override(t *testing.T, user, from, to string) oncall.Override {
	return oncall.Override{User: user, From: ts(t, from), To: ts(t, to)}
}

func TestOverrides(t *testing.T) {
	dave := override(t, "dave", "2026-01-02T12:00:00Z", "2026-01-02T18:00:00Z")
	erin := override(t, "erin", "2026-01-02T15:00:00Z", "2026-01-03T00:00:00Z")
	early := override(t, "dave", "2025-12-31T00:00:00Z", "2026-01-01T00:00:00Z")
	tests := []struct {
		name string
		s    *oncall.Schedule
		at   string
		want string
	}{
		{"without an override both rotations are on call", overridden(t, dave), "2026-01-02T10:00:00Z", "bob,carol"},
		{"an override replaces everyone on call from its start", overridden(t, dave), "2026-01-02T12:00:00Z", "dave"},
		{"an override replaces everyone on call until just before its end", overridden(t, dave), "2026-01-02T17:59:59Z", "dave"},
		{"an override no longer applies at its end", overridden(t, dave), "2026-01-02T18:00:00Z", "bob"},
		{"overlapping overrides put all their users on call", overridden(t, dave, erin), "2026-01-02T16:00:00Z", "dave,erin"},
		{"overlapping overrides list users in schedule order", overridden(t, erin, dave), "2026-01-02T16:00:00Z", "erin,dave"},
		{"the later of two overlapping overrides continues alone", overridden(t, dave, erin), "2026-01-02T20:00:00Z", "erin"},
		{"an override applies before any rotation starts", overridden(t, early), "2025-12-31T12:00:00Z", "dave"},
		{"an override applies outside a rotation's restrictions", overridden(t, erin), "2026-01-02T22:00:00Z", "erin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := onCall(t, tc.s, ts(t, tc.at)); got != tc.want {
				t.Errorf("OnCall(%s) = %q, want %q", tc.at, got, tc.want)
			}
		})
	}
}

func TestOverridesInTheTimeline(t *testing.T) {
	tests := []struct {
		name string
		s    *oncall.Schedule
		want []string
	}{
		{"an override cuts the rotations' shifts around it", overridden(t, override(t, "dave", "2026-01-02T12:00:00Z", "2026-01-02T18:00:00Z")), []string{
			"alice 2026-01-02T00:00:00Z → 2026-01-02T09:00:00Z (9h0m0s) daily",
			"bob 2026-01-02T09:00:00Z → 2026-01-02T12:00:00Z (3h0m0s) daily",
			"carol 2026-01-02T09:00:00Z → 2026-01-02T12:00:00Z (3h0m0s) office",
			"dave 2026-01-02T12:00:00Z → 2026-01-02T18:00:00Z (6h0m0s) override",
			"bob 2026-01-02T18:00:00Z → 2026-01-03T00:00:00Z (6h0m0s) daily",
		}},
		{"touching overrides of one user merge into one shift", overridden(t,
			override(t, "dave", "2026-01-02T00:00:00Z", "2026-01-02T12:00:00Z"),
			override(t, "dave", "2026-01-02T12:00:00Z", "2026-01-03T00:00:00Z")), []string{
			"dave 2026-01-02T00:00:00Z → 2026-01-03T00:00:00Z (24h0m0s) override",
		}},
		{"overlapping overrides of two users are both shown", overridden(t,
			override(t, "dave", "2026-01-01T22:00:00Z", "2026-01-02T10:00:00Z"),
			override(t, "erin", "2026-01-02T08:00:00Z", "2026-01-02T20:00:00Z")), []string{
			"dave 2026-01-02T00:00:00Z → 2026-01-02T10:00:00Z (10h0m0s) override",
			"erin 2026-01-02T08:00:00Z → 2026-01-02T20:00:00Z (12h0m0s) override",
			"bob 2026-01-02T20:00:00Z → 2026-01-03T00:00:00Z (4h0m0s) daily",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			equalLines(t, timeline(t, tc.s, "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"), tc.want)
		})
	}
}
