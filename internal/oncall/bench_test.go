package oncall_test

import (
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/oncall"
)

// benchSchedule has what makes the calculation work hardest: a DST zone, two rotations, restrictions
// of both kinds and an override.
func benchSchedule(b *testing.B) *oncall.Schedule {
	s := designSchedule(b)
	nights := rot("nights", oncall.Daily, 1, ts(b, "2026-01-01T22:00:00+01:00"), "carol", "dave", "erin")
	nights.Restrictions = []oncall.Restriction{{Kind: oncall.TimeOfDay, From: "18:00", To: "09:00"}}
	s.Rotations = append(s.Rotations, nights)
	return s
}

// BenchmarkOnCall is the cost the escalation engine pays per "notify schedule" step.
func BenchmarkOnCall(b *testing.B) {
	s := benchSchedule(b)
	at := ts(b, "2026-10-25T02:30:00+01:00")
	for b.Loop() {
		if _, err := s.OnCall(at); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShifts90Days is the cost of a timeline page showing the next 90 days.
func BenchmarkShifts90Days(b *testing.B) {
	s := benchSchedule(b)
	from := ts(b, "2026-09-01T00:00:00+02:00")
	to := from.Add(90 * 24 * time.Hour)
	for b.Loop() {
		if _, err := s.Shifts(from, to); err != nil {
			b.Fatal(err)
		}
	}
}
