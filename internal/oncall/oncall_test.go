package oncall_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/oncall"
)

// Helpers shared by the external test files.

func ts(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad time in test: %v", err)
	}
	return v
}

func loc(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return l
}

func onCall(t testing.TB, s *oncall.Schedule, at time.Time) string {
	t.Helper()
	users, err := s.OnCall(at)
	if err != nil {
		t.Fatalf("OnCall(%s): %v", at.Format(time.RFC3339), err)
	}
	return strings.Join(users, ",")
}

// timeline formats shifts one per line, with their real length, so DST tests read like a calendar.
func timeline(t testing.TB, s *oncall.Schedule, from, to string) []string {
	t.Helper()
	shifts, err := s.Shifts(ts(t, from), ts(t, to))
	if err != nil {
		t.Fatalf("Shifts: %v", err)
	}
	return format(shifts)
}

func format(shifts []oncall.Shift) []string {
	out := make([]string, len(shifts))
	for i, sh := range shifts {
		tag := sh.Rotation
		if sh.Override {
			tag = "override"
		}
		out[i] = fmt.Sprintf("%s %s → %s (%v) %s", sh.User, sh.Start.Format(time.RFC3339), sh.End.Format(time.RFC3339), sh.End.Sub(sh.Start), tag)
	}
	return out
}

func equalLines(t testing.TB, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func rot(name string, typ oncall.RotationType, length int, start time.Time, participants ...string) oncall.Rotation {
	return oncall.Rotation{Name: name, Type: typ, Length: length, Start: start, Participants: participants}
}

// designSchedule is the schedule of DESIGN.md's apply example.
func designSchedule(t testing.TB) *oncall.Schedule {
	return &oncall.Schedule{
		Name: "secops-primary", Team: "secops", Timezone: "Europe/Berlin",
		Rotations: []oncall.Rotation{{
			Name: "weekly", Type: oncall.Weekly, Length: 1, Start: ts(t, "2026-01-05T09:00:00+01:00"),
			Participants: []string{"alice@example.com", "bob@example.com"},
			Restrictions: []oncall.Restriction{{Kind: oncall.WeekdayAndTime, From: "mon 09:00", To: "fri 18:00"}},
		}},
		Overrides: []oncall.Override{{User: "bob@example.com", From: ts(t, "2026-12-24T00:00:00+01:00"), To: ts(t, "2026-12-27T00:00:00+01:00")}},
	}
}

func TestOnCall(t *testing.T) {
	start := ts(t, "2026-01-05T09:00:00+01:00") // a Monday
	weekly := &oncall.Schedule{Name: "s", Timezone: "Europe/Berlin", Rotations: []oncall.Rotation{
		rot("weekly", oncall.Weekly, 1, start, "alice", "bob", "carol")}}
	hourly := &oncall.Schedule{Name: "s", Timezone: "UTC", Rotations: []oncall.Rotation{
		rot("4h", oncall.Hourly, 4, ts(t, "2026-01-01T00:00:00Z"), "alice", "bob")}}
	custom := &oncall.Schedule{Name: "s", Timezone: "Europe/Berlin", Rotations: []oncall.Rotation{{
		Name: "36h", Type: oncall.Custom, Every: oncall.Duration(36 * time.Hour), Start: ts(t, "2026-03-28T00:00:00+01:00"),
		Participants: []string{"alice", "bob"}}}}
	daily3 := &oncall.Schedule{Name: "s", Timezone: "America/New_York", Rotations: []oncall.Rotation{
		rot("3d", oncall.Daily, 3, ts(t, "2026-01-01T08:00:00-05:00"), "alice", "bob")}}
	two := &oncall.Schedule{Name: "s", Timezone: "UTC", Rotations: []oncall.Rotation{
		rot("primary", oncall.Daily, 1, ts(t, "2026-01-01T00:00:00Z"), "alice", "bob"),
		rot("secondary", oncall.Daily, 1, ts(t, "2026-01-01T00:00:00Z"), "bob", "alice", "carol"),
	}}
	lengthOmitted := &oncall.Schedule{Name: "s", Timezone: "UTC", Rotations: []oncall.Rotation{
		rot("daily", oncall.Daily, 0, ts(t, "2026-01-01T00:00:00Z"), "alice", "bob")}}
	empty := &oncall.Schedule{Name: "s", Timezone: "UTC"}

	tests := []struct {
		name string
		s    *oncall.Schedule
		at   string
		want string
	}{
		{"nobody is on call before a rotation starts", weekly, "2026-01-05T08:59:59+01:00", ""},
		{"the first participant is on call from the start instant", weekly, "2026-01-05T09:00:00+01:00", "alice"},
		{"the first participant is on call until just before the hand-off", weekly, "2026-01-12T08:59:59+01:00", "alice"},
		{"the next participant is on call exactly at the hand-off", weekly, "2026-01-12T09:00:00+01:00", "bob"},
		{"participants repeat in order after the last one", weekly, "2026-01-26T09:00:00+01:00", "alice"},
		{"a weekly rotation far in the future still counts weeks correctly", weekly, "2027-01-04T09:00:00+01:00", "bob"}, // 52 weeks: 52 mod 3 = 1
		{"the question may be asked in any timezone", weekly, "2026-01-12T08:00:00Z", "bob"},
		{"an hourly rotation of length 4 hands off every four hours", hourly, "2026-01-01T04:00:00Z", "bob"},
		{"an hourly rotation is still the first participant just before four hours", hourly, "2026-01-01T03:59:59Z", "alice"},
		{"an hourly rotation counts right across 400 years", hourly, "2426-01-01T00:00:00Z", "alice"},
		{"a custom rotation hands off after 36 elapsed hours", custom, "2026-03-29T13:00:00+02:00", "bob"}, // 36h after 00:00 CET is 13:00 CEST
		{"a custom rotation has not handed off a moment earlier", custom, "2026-03-29T12:59:59+02:00", "alice"},
		{"a three-day daily rotation hands off every third day at the start time", daily3, "2026-01-04T08:00:00-05:00", "bob"},
		{"a three-day daily rotation is unchanged within its period", daily3, "2026-01-04T07:59:00-05:00", "alice"},
		{"two rotations are on call together in schedule order", two, "2026-01-02T12:00:00Z", "bob,alice"},
		{"a user on call in two rotations is listed once", two, "2026-01-01T12:00:00Z", "alice,bob"},
		{"a rotation without a length hands off every single unit", lengthOmitted, "2026-01-02T00:00:00Z", "bob"},
		{"a schedule without rotations has nobody on call", empty, "2026-01-02T00:00:00Z", ""},
		{"the DESIGN example has alice on call on the first Monday morning", designSchedule(t), "2026-01-05T10:00:00+01:00", "alice@example.com"},
		{"the DESIGN example has nobody on call on the first weekend", designSchedule(t), "2026-01-10T10:00:00+01:00", ""},
		{"the DESIGN example has bob on call in the second week", designSchedule(t), "2026-01-14T10:00:00+01:00", "bob@example.com"},
		{"the DESIGN example has bob on call over Christmas, a Friday evening", designSchedule(t), "2026-12-25T20:00:00+01:00", "bob@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := onCall(t, tc.s, ts(t, tc.at)); got != tc.want {
				t.Errorf("OnCall(%s) = %q, want %q", tc.at, got, tc.want)
			}
		})
	}
}

func TestShifts(t *testing.T) {
	single := &oncall.Schedule{Name: "s", Timezone: "UTC", Rotations: []oncall.Rotation{
		rot("solo", oncall.Hourly, 1, ts(t, "2026-01-01T00:00:00Z"), "alice")}}
	repeated := &oncall.Schedule{Name: "s", Timezone: "UTC", Rotations: []oncall.Rotation{
		rot("uneven", oncall.Daily, 1, ts(t, "2026-01-01T00:00:00Z"), "alice", "alice", "bob")}}
	two := &oncall.Schedule{Name: "s", Timezone: "UTC", Rotations: []oncall.Rotation{
		rot("primary", oncall.Daily, 1, ts(t, "2026-01-01T00:00:00Z"), "alice", "bob"),
		rot("secondary", oncall.Weekly, 1, ts(t, "2026-01-02T12:00:00Z"), "carol"),
	}}
	tests := []struct {
		name     string
		s        *oncall.Schedule
		from, to string
		want     []string
	}{
		{"a single-participant hourly rotation is one merged shift", single, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", []string{
			"alice 2026-01-01T00:00:00Z → 2026-01-02T00:00:00Z (24h0m0s) solo",
		}},
		{"consecutive periods of the same participant merge", repeated, "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z", []string{
			"alice 2026-01-01T00:00:00Z → 2026-01-03T00:00:00Z (48h0m0s) uneven",
			"bob 2026-01-03T00:00:00Z → 2026-01-04T00:00:00Z (24h0m0s) uneven",
			"alice 2026-01-04T00:00:00Z → 2026-01-05T00:00:00Z (24h0m0s) uneven",
		}},
		{"shifts are cut to the range asked for", repeated, "2026-01-01T06:00:00Z", "2026-01-03T06:00:00Z", []string{
			"alice 2026-01-01T06:00:00Z → 2026-01-03T00:00:00Z (42h0m0s) uneven",
			"bob 2026-01-03T00:00:00Z → 2026-01-03T06:00:00Z (6h0m0s) uneven",
		}},
		{"a range before the start has no shifts", repeated, "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z", nil},
		{"an empty range has no shifts", repeated, "2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z", nil},
		{"a range that begins before the start begins at the start", repeated, "2025-12-31T00:00:00Z", "2026-01-01T12:00:00Z", []string{
			"alice 2026-01-01T00:00:00Z → 2026-01-01T12:00:00Z (12h0m0s) uneven",
		}},
		{"rotations interleave sorted by start then schedule order", two, "2026-01-02T00:00:00Z", "2026-01-04T00:00:00Z", []string{
			"bob 2026-01-02T00:00:00Z → 2026-01-03T00:00:00Z (24h0m0s) primary",
			"carol 2026-01-02T12:00:00Z → 2026-01-04T00:00:00Z (36h0m0s) secondary",
			"alice 2026-01-03T00:00:00Z → 2026-01-04T00:00:00Z (24h0m0s) primary",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			equalLines(t, timeline(t, tc.s, tc.from, tc.to), tc.want)
		})
	}
}

func TestShiftsAreInTheSchedulesTimezone(t *testing.T) {
	s := &oncall.Schedule{Name: "s", Timezone: "Australia/Sydney", Rotations: []oncall.Rotation{
		rot("daily", oncall.Daily, 1, ts(t, "2026-01-01T09:00:00+11:00"), "alice")}}
	shifts, err := s.Shifts(ts(t, "2026-01-01T00:00:00Z"), ts(t, "2026-01-02T00:00:00Z"))
	if err != nil || len(shifts) != 1 {
		t.Fatalf("Shifts = %v, %v", shifts, err)
	}
	if got := shifts[0].Start.Location().String(); got != "Australia/Sydney" {
		t.Errorf("shift start is in %s, want Australia/Sydney", got)
	}
}

func TestOnCallAndShiftsRefuseBadInput(t *testing.T) {
	invalid := &oncall.Schedule{Name: "s", Timezone: "Mars/Olympus"}
	if _, err := invalid.OnCall(time.Now()); err == nil || !strings.Contains(err.Error(), `timezone: unknown timezone "Mars/Olympus"`) {
		t.Errorf("OnCall on an invalid schedule: err = %v, want the validation problem", err)
	}
	if _, err := invalid.Shifts(time.Now(), time.Now().Add(time.Hour)); err == nil {
		t.Error("Shifts on an invalid schedule: no error")
	}
	badRotation := &oncall.Schedule{Name: "s", Timezone: "UTC", Rotations: []oncall.Rotation{
		{Name: "r", Type: oncall.Daily, Start: ts(t, "2026-01-01T00:00:00Z")}}}
	if _, err := badRotation.OnCall(time.Now()); err == nil || err.Error() != "rotations[0].participants: a rotation needs at least one participant" {
		t.Errorf("OnCall with a rotation without participants: err = %v", err)
	}
	var none *oncall.Schedule
	if _, err := none.OnCall(time.Now()); err == nil {
		t.Error("OnCall on a nil schedule: no error")
	}
	s := designSchedule(t)
	if _, err := s.Shifts(ts(t, "2026-02-01T00:00:00Z"), ts(t, "2026-01-01T00:00:00Z")); err == nil || !strings.Contains(err.Error(), "before from") {
		t.Errorf("Shifts with to before from: err = %v", err)
	}
	if _, err := s.OnCall(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("OnCall in the year 10000: no error")
	}
}

// TestOnCallAgreesWithShifts checks the property the API relies on: the timeline and the point query
// never disagree. It samples random instants, and every shift boundary and the nanosecond before it, in
// schedules that have everything at once: DST, restrictions of both kinds, overrides, several rotations.
func TestOnCallAgreesWithShifts(t *testing.T) {
	schedules := map[string]*oncall.Schedule{
		"Berlin with everything": {
			Name: "berlin", Timezone: "Europe/Berlin",
			Rotations: []oncall.Rotation{
				{Name: "weekdays", Type: oncall.Weekly, Length: 1, Start: ts(t, "2026-01-05T09:00:00+01:00"),
					Participants: []string{"alice", "bob", "carol"},
					Restrictions: []oncall.Restriction{{Kind: oncall.WeekdayAndTime, From: "mon 09:00", To: "fri 18:00"}}},
				{Name: "nights", Type: oncall.Daily, Length: 2, Start: ts(t, "2026-01-01T02:30:00+01:00"),
					Participants: []string{"dave", "alice"},
					Restrictions: []oncall.Restriction{
						{Kind: oncall.TimeOfDay, From: "22:00", To: "06:00"},
						{Kind: oncall.WeekdayAndTime, From: "sat 06:00", To: "mon 09:00"},
					}},
				{Name: "hourly", Type: oncall.Hourly, Length: 5, Start: ts(t, "2026-03-01T00:00:00Z"),
					Participants: []string{"erin", "frank"},
					Restrictions: []oncall.Restriction{{Kind: oncall.TimeOfDay, From: "02:00", To: "02:30"}}},
			},
			Overrides: []oncall.Override{
				{User: "zoe", From: ts(t, "2026-03-28T20:00:00+01:00"), To: ts(t, "2026-03-29T12:00:00+02:00")},
				{User: "yann", From: ts(t, "2026-03-29T06:00:00+02:00"), To: ts(t, "2026-03-30T00:00:00+02:00")},
				{User: "zoe", From: ts(t, "2026-10-25T01:00:00+02:00"), To: ts(t, "2026-10-25T02:30:00+01:00")},
			},
		},
		"New York custom and weekly": {
			Name: "ny", Timezone: "America/New_York",
			Rotations: []oncall.Rotation{
				{Name: "custom", Type: oncall.Custom, Every: oncall.Duration(37*time.Hour + 13*time.Minute), Start: ts(t, "2026-02-01T01:30:00-05:00"),
					Participants: []string{"alice", "bob"}},
				{Name: "weekly", Type: oncall.Weekly, Length: 2, Start: ts(t, "2026-03-01T02:30:00-05:00"),
					Participants: []string{"carol", "dave", "erin"},
					Restrictions: []oncall.Restriction{{Kind: oncall.WeekdayAndTime, From: "fri 18:00", To: "mon 09:00"}}},
			},
		},
		"Sydney daily at the ambiguous hour": {
			Name: "syd", Timezone: "Australia/Sydney",
			Rotations: []oncall.Rotation{
				{Name: "daily", Type: oncall.Daily, Length: 1, Start: ts(t, "2026-01-01T02:30:00+11:00"),
					Participants: []string{"alice", "bob", "carol"},
					Restrictions: []oncall.Restriction{{Kind: oncall.TimeOfDay, From: "02:15", To: "02:45"}, {Kind: oncall.TimeOfDay, From: "09:00", To: "17:00"}}},
			},
		},
	}
	from, to := ts(t, "2026-01-01T00:00:00Z"), ts(t, "2027-01-01T00:00:00Z")
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: a failure must be reproducible
	for name, s := range schedules {
		t.Run(name, func(t *testing.T) {
			shifts, err := s.Shifts(from, to)
			if err != nil {
				t.Fatal(err)
			}
			covering := func(at time.Time) []string {
				var users []string
				for _, sh := range shifts {
					if !at.Before(sh.Start) && at.Before(sh.End) && !slices.Contains(users, sh.User) {
						users = append(users, sh.User)
					}
				}
				slices.Sort(users)
				return users
			}
			check := func(at time.Time) {
				got, err := s.OnCall(at)
				if err != nil {
					t.Fatal(err)
				}
				got = slices.Sorted(slices.Values(got))
				if want := covering(at); !slices.Equal(got, want) {
					t.Fatalf("at %s: OnCall = %v, shifts covering it = %v", at.Format(time.RFC3339Nano), got, want)
				}
			}
			for range 3000 {
				check(from.Add(time.Duration(rng.Int64N(int64(to.Sub(from))))))
			}
			for _, sh := range shifts {
				for _, at := range []time.Time{sh.Start, sh.Start.Add(-1), sh.End, sh.End.Add(-1)} {
					if !at.Before(from) && at.Before(to) {
						check(at)
					}
				}
			}
		})
	}
}

// TestOnCallAnswersDespiteProblemsThatDoNotChangeTheAnswer: the escalation engine asks stored
// schedules, and a labelling mistake must not stop a page.
func TestOnCallAnswersDespiteProblemsThatDoNotChangeTheAnswer(t *testing.T) {
	s := &oncall.Schedule{Name: "", Timezone: "UTC",
		Rotations: []oncall.Rotation{
			rot("same", oncall.Daily, 1, ts(t, "2026-01-01T00:00:00Z"), "alice"),
			rot("same", oncall.Daily, 1, ts(t, "2026-01-01T00:00:00Z"), "bob"),
		},
		Overrides: []oncall.Override{
			{User: "carol", From: ts(t, "2026-02-01T00:00:00Z"), To: ts(t, "2026-02-03T00:00:00Z")},
			{User: "carol", From: ts(t, "2026-02-02T00:00:00Z"), To: ts(t, "2026-02-04T00:00:00Z")},
			{User: "", From: ts(t, "2026-03-01T00:00:00Z"), To: ts(t, "2026-03-02T00:00:00Z")},
			{User: "dave", From: ts(t, "2026-03-02T00:00:00Z"), To: ts(t, "2026-03-01T00:00:00Z")},
		},
	}
	if s.Validate() == nil {
		t.Fatal("the schedule should have validation problems")
	}
	for at, want := range map[string]string{
		"2026-01-15T00:00:00Z": "alice,bob",
		"2026-02-03T12:00:00Z": "carol",
		"2026-03-01T12:00:00Z": "alice,bob",
	} {
		if got := onCall(t, s, ts(t, at)); got != want {
			t.Errorf("OnCall(%s) = %q, want %q", at, got, want)
		}
	}
	equalLines(t, timeline(t, s, "2026-02-01T00:00:00Z", "2026-02-05T00:00:00Z"), []string{
		"carol 2026-02-01T00:00:00Z → 2026-02-04T00:00:00Z (72h0m0s) override",
		"alice 2026-02-04T00:00:00Z → 2026-02-05T00:00:00Z (24h0m0s) same",
		"bob 2026-02-04T00:00:00Z → 2026-02-05T00:00:00Z (24h0m0s) same",
	})
}
