package oncall_test

import (
	"testing"

	// The tests name real zones and must give the same answer on a machine without /usr/share/zoneinfo
	// (a minimal CI image). The package itself does not import time/tzdata: Go's documentation reserves
	// that for main packages, where one import serves the whole binary (cmd/tocsin should have it, so a
	// scratch container still knows Europe/Berlin).
	_ "time/tzdata"

	"github.com/tocsin-dev/tocsin/internal/oncall"
)

// The transitions exercised, all in 2026:
//
//	Europe/Berlin     2026-03-29 02:00 → 03:00 (CET → CEST)    2026-10-25 03:00 → 02:00 (CEST → CET)
//	America/New_York  2026-03-08 02:00 → 03:00 (EST → EDT)     2026-11-01 02:00 → 01:00 (EDT → EST)
//	Australia/Sydney  2026-10-04 02:00 → 03:00 (AEST → AEDT)   2026-04-05 03:00 → 02:00 (AEDT → AEST)

func TestHandOffsAcrossDSTChanges(t *testing.T) {
	tests := []struct {
		name     string
		zone     string
		typ      oncall.RotationType
		length   int
		start    string
		from, to string
		want     []string
	}{
		// Daily at 09:00: the hand-off keeps its wall-clock time, the shift across the change is 23 or 25 hours.
		{"a daily 09:00 hand-off stays at 09:00 when Berlin springs forward", "Europe/Berlin", oncall.Daily, 1,
			"2026-03-27T09:00:00+01:00", "2026-03-28T09:00:00+01:00", "2026-03-30T09:00:00+02:00", []string{
				"b 2026-03-28T09:00:00+01:00 → 2026-03-29T09:00:00+02:00 (23h0m0s) r",
				"a 2026-03-29T09:00:00+02:00 → 2026-03-30T09:00:00+02:00 (24h0m0s) r",
			}},
		{"a daily 09:00 hand-off stays at 09:00 when Berlin falls back", "Europe/Berlin", oncall.Daily, 1,
			"2026-10-23T09:00:00+02:00", "2026-10-24T09:00:00+02:00", "2026-10-26T09:00:00+01:00", []string{
				"b 2026-10-24T09:00:00+02:00 → 2026-10-25T09:00:00+01:00 (25h0m0s) r",
				"a 2026-10-25T09:00:00+01:00 → 2026-10-26T09:00:00+01:00 (24h0m0s) r",
			}},
		{"a daily 09:00 hand-off stays at 09:00 when New York springs forward", "America/New_York", oncall.Daily, 1,
			"2026-03-06T09:00:00-05:00", "2026-03-07T09:00:00-05:00", "2026-03-09T09:00:00-04:00", []string{
				"b 2026-03-07T09:00:00-05:00 → 2026-03-08T09:00:00-04:00 (23h0m0s) r",
				"a 2026-03-08T09:00:00-04:00 → 2026-03-09T09:00:00-04:00 (24h0m0s) r",
			}},
		{"a daily 09:00 hand-off stays at 09:00 when New York falls back", "America/New_York", oncall.Daily, 1,
			"2026-10-30T09:00:00-04:00", "2026-10-31T09:00:00-04:00", "2026-11-02T09:00:00-05:00", []string{
				"b 2026-10-31T09:00:00-04:00 → 2026-11-01T09:00:00-05:00 (25h0m0s) r",
				"a 2026-11-01T09:00:00-05:00 → 2026-11-02T09:00:00-05:00 (24h0m0s) r",
			}},
		{"a daily 09:00 hand-off stays at 09:00 when Sydney falls back in April", "Australia/Sydney", oncall.Daily, 1,
			"2026-04-03T09:00:00+11:00", "2026-04-04T09:00:00+11:00", "2026-04-06T09:00:00+10:00", []string{
				"b 2026-04-04T09:00:00+11:00 → 2026-04-05T09:00:00+10:00 (25h0m0s) r",
				"a 2026-04-05T09:00:00+10:00 → 2026-04-06T09:00:00+10:00 (24h0m0s) r",
			}},
		{"a daily 09:00 hand-off stays at 09:00 when Sydney springs forward in October", "Australia/Sydney", oncall.Daily, 1,
			"2026-10-02T09:00:00+10:00", "2026-10-03T09:00:00+10:00", "2026-10-05T09:00:00+11:00", []string{
				"b 2026-10-03T09:00:00+10:00 → 2026-10-04T09:00:00+11:00 (23h0m0s) r",
				"a 2026-10-04T09:00:00+11:00 → 2026-10-05T09:00:00+11:00 (24h0m0s) r",
			}},

		// Daily at 02:30, which does not exist on spring-forward days (it becomes 03:30, read with the
		// offset before the jump) and exists twice on Berlin's and Sydney's fall-back days (the first one).
		{"a daily 02:30 hand-off happens at 03:30 on the day Berlin skips 02:00 to 03:00", "Europe/Berlin", oncall.Daily, 1,
			"2026-03-27T02:30:00+01:00", "2026-03-28T02:30:00+01:00", "2026-03-30T02:30:00+02:00", []string{
				"b 2026-03-28T02:30:00+01:00 → 2026-03-29T03:30:00+02:00 (24h0m0s) r",
				"a 2026-03-29T03:30:00+02:00 → 2026-03-30T02:30:00+02:00 (23h0m0s) r",
			}},
		{"a daily 02:30 hand-off happens at the first 02:30 on the day Berlin repeats an hour", "Europe/Berlin", oncall.Daily, 1,
			"2026-10-23T02:30:00+02:00", "2026-10-24T02:30:00+02:00", "2026-10-26T02:30:00+01:00", []string{
				"b 2026-10-24T02:30:00+02:00 → 2026-10-25T02:30:00+02:00 (24h0m0s) r",
				"a 2026-10-25T02:30:00+02:00 → 2026-10-26T02:30:00+01:00 (25h0m0s) r",
			}},
		{"a daily 02:30 hand-off happens at 03:30 EDT on the day New York skips an hour, not at 01:30 as time.Date says", "America/New_York", oncall.Daily, 1,
			"2026-03-06T02:30:00-05:00", "2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00", []string{
				"b 2026-03-07T02:30:00-05:00 → 2026-03-08T03:30:00-04:00 (24h0m0s) r",
				"a 2026-03-08T03:30:00-04:00 → 2026-03-09T02:30:00-04:00 (23h0m0s) r",
			}},
		{"a daily 02:30 hand-off is unambiguous when New York repeats 01:00 to 02:00", "America/New_York", oncall.Daily, 1,
			"2026-10-30T02:30:00-04:00", "2026-10-31T02:30:00-04:00", "2026-11-02T02:30:00-05:00", []string{
				"b 2026-10-31T02:30:00-04:00 → 2026-11-01T02:30:00-05:00 (25h0m0s) r",
				"a 2026-11-01T02:30:00-05:00 → 2026-11-02T02:30:00-05:00 (24h0m0s) r",
			}},
		{"a daily 01:30 hand-off happens at the first 01:30 on the day New York repeats an hour", "America/New_York", oncall.Daily, 1,
			"2026-10-30T01:30:00-04:00", "2026-10-31T01:30:00-04:00", "2026-11-02T01:30:00-05:00", []string{
				"b 2026-10-31T01:30:00-04:00 → 2026-11-01T01:30:00-04:00 (24h0m0s) r",
				"a 2026-11-01T01:30:00-04:00 → 2026-11-02T01:30:00-05:00 (25h0m0s) r",
			}},
		{"a daily 02:30 hand-off happens at the first 02:30 on the day Sydney repeats an hour", "Australia/Sydney", oncall.Daily, 1,
			"2026-04-03T02:30:00+11:00", "2026-04-04T02:30:00+11:00", "2026-04-06T02:30:00+10:00", []string{
				"b 2026-04-04T02:30:00+11:00 → 2026-04-05T02:30:00+11:00 (24h0m0s) r",
				"a 2026-04-05T02:30:00+11:00 → 2026-04-06T02:30:00+10:00 (25h0m0s) r",
			}},
		{"a daily 02:30 hand-off happens at 03:30 on the day Sydney skips 02:00 to 03:00", "Australia/Sydney", oncall.Daily, 1,
			"2026-10-02T02:30:00+10:00", "2026-10-03T02:30:00+10:00", "2026-10-05T02:30:00+11:00", []string{
				"b 2026-10-03T02:30:00+10:00 → 2026-10-04T03:30:00+11:00 (24h0m0s) r",
				"a 2026-10-04T03:30:00+11:00 → 2026-10-05T02:30:00+11:00 (23h0m0s) r",
			}},

		// Weekly: the same rules, a week at a time (all three changes fall on Sundays).
		{"a weekly Sunday 09:00 hand-off stays at 09:00 across Berlin's spring change", "Europe/Berlin", oncall.Weekly, 1,
			"2026-03-22T09:00:00+01:00", "2026-03-22T09:00:00+01:00", "2026-04-05T09:00:00+02:00", []string{
				"a 2026-03-22T09:00:00+01:00 → 2026-03-29T09:00:00+02:00 (167h0m0s) r",
				"b 2026-03-29T09:00:00+02:00 → 2026-04-05T09:00:00+02:00 (168h0m0s) r",
			}},
		{"a weekly Sunday 02:30 hand-off happens at 03:30 the Sunday Berlin springs forward", "Europe/Berlin", oncall.Weekly, 1,
			"2026-03-22T02:30:00+01:00", "2026-03-22T02:30:00+01:00", "2026-04-05T02:30:00+02:00", []string{
				"a 2026-03-22T02:30:00+01:00 → 2026-03-29T03:30:00+02:00 (168h0m0s) r",
				"b 2026-03-29T03:30:00+02:00 → 2026-04-05T02:30:00+02:00 (167h0m0s) r",
			}},
		{"a weekly Sunday 02:30 hand-off happens at the first 02:30 the Sunday Berlin falls back", "Europe/Berlin", oncall.Weekly, 1,
			"2026-10-18T02:30:00+02:00", "2026-10-18T02:30:00+02:00", "2026-11-01T02:30:00+01:00", []string{
				"a 2026-10-18T02:30:00+02:00 → 2026-10-25T02:30:00+02:00 (168h0m0s) r",
				"b 2026-10-25T02:30:00+02:00 → 2026-11-01T02:30:00+01:00 (169h0m0s) r",
			}},
		{"a weekly Sunday 09:00 hand-off stays at 09:00 across New York's fall change", "America/New_York", oncall.Weekly, 1,
			"2026-10-25T09:00:00-04:00", "2026-10-25T09:00:00-04:00", "2026-11-08T09:00:00-05:00", []string{
				"a 2026-10-25T09:00:00-04:00 → 2026-11-01T09:00:00-05:00 (169h0m0s) r",
				"b 2026-11-01T09:00:00-05:00 → 2026-11-08T09:00:00-05:00 (168h0m0s) r",
			}},
		{"a weekly Sunday 02:30 hand-off happens at 03:30 the Sunday New York springs forward", "America/New_York", oncall.Weekly, 1,
			"2026-03-01T02:30:00-05:00", "2026-03-01T02:30:00-05:00", "2026-03-15T02:30:00-04:00", []string{
				"a 2026-03-01T02:30:00-05:00 → 2026-03-08T03:30:00-04:00 (168h0m0s) r",
				"b 2026-03-08T03:30:00-04:00 → 2026-03-15T02:30:00-04:00 (167h0m0s) r",
			}},
		{"a weekly Sunday 02:30 hand-off happens at the first 02:30 the Sunday Sydney falls back", "Australia/Sydney", oncall.Weekly, 1,
			"2026-03-29T02:30:00+11:00", "2026-03-29T02:30:00+11:00", "2026-04-12T02:30:00+10:00", []string{
				"a 2026-03-29T02:30:00+11:00 → 2026-04-05T02:30:00+11:00 (168h0m0s) r",
				"b 2026-04-05T02:30:00+11:00 → 2026-04-12T02:30:00+10:00 (169h0m0s) r",
			}},
		{"a weekly Sunday 09:00 hand-off stays at 09:00 across Sydney's spring change", "Australia/Sydney", oncall.Weekly, 1,
			"2026-09-27T09:00:00+10:00", "2026-09-27T09:00:00+10:00", "2026-10-11T09:00:00+11:00", []string{
				"a 2026-09-27T09:00:00+10:00 → 2026-10-04T09:00:00+11:00 (167h0m0s) r",
				"b 2026-10-04T09:00:00+11:00 → 2026-10-11T09:00:00+11:00 (168h0m0s) r",
			}},

		// Hourly: elapsed time, so hand-offs stay 60 real minutes apart and the wall clock shows the jump.
		{"an hourly rotation hands off every real hour while Berlin skips 02:00 to 03:00", "Europe/Berlin", oncall.Hourly, 1,
			"2026-03-29T00:00:00+01:00", "2026-03-29T00:00:00+01:00", "2026-03-29T05:00:00+02:00", []string{
				"a 2026-03-29T00:00:00+01:00 → 2026-03-29T01:00:00+01:00 (1h0m0s) r",
				"b 2026-03-29T01:00:00+01:00 → 2026-03-29T03:00:00+02:00 (1h0m0s) r",
				"a 2026-03-29T03:00:00+02:00 → 2026-03-29T04:00:00+02:00 (1h0m0s) r",
				"b 2026-03-29T04:00:00+02:00 → 2026-03-29T05:00:00+02:00 (1h0m0s) r",
			}},
		{"an hourly rotation hands off twice at 02:00 while Berlin repeats an hour", "Europe/Berlin", oncall.Hourly, 1,
			"2026-10-25T00:00:00+02:00", "2026-10-25T00:00:00+02:00", "2026-10-25T04:00:00+01:00", []string{
				"a 2026-10-25T00:00:00+02:00 → 2026-10-25T01:00:00+02:00 (1h0m0s) r",
				"b 2026-10-25T01:00:00+02:00 → 2026-10-25T02:00:00+02:00 (1h0m0s) r",
				"a 2026-10-25T02:00:00+02:00 → 2026-10-25T02:00:00+01:00 (1h0m0s) r",
				"b 2026-10-25T02:00:00+01:00 → 2026-10-25T03:00:00+01:00 (1h0m0s) r",
				"a 2026-10-25T03:00:00+01:00 → 2026-10-25T04:00:00+01:00 (1h0m0s) r",
			}},
		{"a 12-hour rotation hands off 12 real hours apart across New York's spring change", "America/New_York", oncall.Hourly, 12,
			"2026-03-07T08:00:00-05:00", "2026-03-07T20:00:00-05:00", "2026-03-08T21:00:00-04:00", []string{
				"b 2026-03-07T20:00:00-05:00 → 2026-03-08T09:00:00-04:00 (12h0m0s) r",
				"a 2026-03-08T09:00:00-04:00 → 2026-03-08T21:00:00-04:00 (12h0m0s) r",
			}},
		{"an hourly rotation of three hours hands off on time across Sydney's fall change", "Australia/Sydney", oncall.Hourly, 3,
			"2026-04-05T00:00:00+11:00", "2026-04-05T00:00:00+11:00", "2026-04-05T08:00:00+10:00", []string{
				"a 2026-04-05T00:00:00+11:00 → 2026-04-05T02:00:00+10:00 (3h0m0s) r",
				"b 2026-04-05T02:00:00+10:00 → 2026-04-05T05:00:00+10:00 (3h0m0s) r",
				"a 2026-04-05T05:00:00+10:00 → 2026-04-05T08:00:00+10:00 (3h0m0s) r",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &oncall.Schedule{Name: "s", Timezone: tc.zone, Rotations: []oncall.Rotation{
				rot("r", tc.typ, tc.length, ts(t, tc.start), "a", "b")}}
			equalLines(t, timeline(t, s, tc.from, tc.to), tc.want)
		})
	}
}

func TestOnCallAroundDSTChanges(t *testing.T) {
	berlin9 := &oncall.Schedule{Name: "s", Timezone: "Europe/Berlin", Rotations: []oncall.Rotation{
		rot("r", oncall.Daily, 1, ts(t, "2026-03-28T09:00:00+01:00"), "a", "b")}}
	berlin230 := &oncall.Schedule{Name: "s", Timezone: "Europe/Berlin", Rotations: []oncall.Rotation{
		rot("r", oncall.Daily, 1, ts(t, "2026-10-24T02:30:00+02:00"), "a", "b")}}
	nyGap := &oncall.Schedule{Name: "s", Timezone: "America/New_York", Rotations: []oncall.Rotation{
		rot("r", oncall.Daily, 1, ts(t, "2026-03-07T02:30:00-05:00"), "a", "b")}}
	tests := []struct {
		name string
		s    *oncall.Schedule
		at   string
		want string
	}{
		{"at 08:59 CEST on Berlin's spring day the old shift still runs", berlin9, "2026-03-29T08:59:59+02:00", "a"},
		{"at 09:00 CEST on Berlin's spring day the new shift has begun", berlin9, "2026-03-29T09:00:00+02:00", "b"},
		{"09:00 CET would be 10:00 CEST and is not when the hand-off happens", berlin9, "2026-03-29T07:30:00Z", "b"},
		{"the first 02:30 on Berlin's fall-back day is the hand-off", berlin230, "2026-10-25T02:30:00+02:00", "b"},
		{"the second 02:30 on Berlin's fall-back day is an hour into the new shift", berlin230, "2026-10-25T02:30:00+01:00", "b"},
		{"a moment before the first 02:30 on Berlin's fall-back day is the old shift", berlin230, "2026-10-25T02:29:59+02:00", "a"},
		{"01:59 EST before New York's jump is still the old shift of a 02:30 rotation", nyGap, "2026-03-08T01:59:59-05:00", "a"},
		{"03:29 EDT after New York's jump is still the old shift of a 02:30 rotation", nyGap, "2026-03-08T03:29:59-04:00", "a"},
		{"03:30 EDT after New York's jump is the new shift of a 02:30 rotation", nyGap, "2026-03-08T03:30:00-04:00", "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := onCall(t, tc.s, ts(t, tc.at)); got != tc.want {
				t.Errorf("OnCall(%s) = %q, want %q", tc.at, got, tc.want)
			}
		})
	}
}

func TestRestrictionsAcrossDSTChanges(t *testing.T) {
	tests := []struct {
		name     string
		zone     string
		r        oncall.Restriction
		from, to string
		want     []string
	}{
		{"a 09:00-17:00 window is eight real hours on both sides of Berlin's spring change", "Europe/Berlin",
			oncall.Restriction{Kind: oncall.TimeOfDay, From: "09:00", To: "17:00"}, "2026-03-28T00:00:00+01:00", "2026-03-30T00:00:00+02:00", []string{
				"a 2026-03-28T09:00:00+01:00 → 2026-03-28T17:00:00+01:00 (8h0m0s) r",
				"a 2026-03-29T09:00:00+02:00 → 2026-03-29T17:00:00+02:00 (8h0m0s) r",
			}},
		{"a 22:00-06:00 night window is seven real hours the night Berlin springs forward", "Europe/Berlin",
			oncall.Restriction{Kind: oncall.TimeOfDay, From: "22:00", To: "06:00"}, "2026-03-28T12:00:00+01:00", "2026-03-29T12:00:00+02:00", []string{
				"a 2026-03-28T22:00:00+01:00 → 2026-03-29T06:00:00+02:00 (7h0m0s) r",
			}},
		{"a 22:00-06:00 night window is nine real hours the night Berlin falls back", "Europe/Berlin",
			oncall.Restriction{Kind: oncall.TimeOfDay, From: "22:00", To: "06:00"}, "2026-10-24T12:00:00+02:00", "2026-10-25T12:00:00+01:00", []string{
				"a 2026-10-24T22:00:00+02:00 → 2026-10-25T06:00:00+01:00 (9h0m0s) r",
			}},
		{"a window ending inside New York's skipped hour ends as far after the jump", "America/New_York",
			oncall.Restriction{Kind: oncall.TimeOfDay, From: "01:00", To: "02:30"}, "2026-03-08T00:00:00-05:00", "2026-03-08T12:00:00-04:00", []string{
				"a 2026-03-08T01:00:00-05:00 → 2026-03-08T03:30:00-04:00 (1h30m0s) r",
			}},
		{"a window from 01:00 to 02:00 covers both repeated hours when New York falls back", "America/New_York",
			oncall.Restriction{Kind: oncall.TimeOfDay, From: "01:00", To: "02:00"}, "2026-11-01T00:00:00-04:00", "2026-11-01T12:00:00-05:00", []string{
				"a 2026-11-01T01:00:00-04:00 → 2026-11-01T02:00:00-05:00 (2h0m0s) r",
			}},
		{"a window wholly inside Sydney's skipped hour is moved past the jump with it", "Australia/Sydney",
			oncall.Restriction{Kind: oncall.TimeOfDay, From: "02:00", To: "02:30"}, "2026-10-04T00:00:00+10:00", "2026-10-04T12:00:00+11:00", []string{
				"a 2026-10-04T03:00:00+11:00 → 2026-10-04T03:30:00+11:00 (30m0s) r",
			}},
		{"a weekend window is one hour shorter over New York's spring-forward weekend", "America/New_York",
			oncall.Restriction{Kind: oncall.WeekdayAndTime, From: "fri 18:00", To: "mon 09:00"}, "2026-03-03T00:00:00-05:00", "2026-03-10T00:00:00-04:00", []string{
				"a 2026-03-06T18:00:00-05:00 → 2026-03-09T09:00:00-04:00 (62h0m0s) r",
			}},
		{"a weekend window is one hour longer over Sydney's fall-back weekend", "Australia/Sydney",
			oncall.Restriction{Kind: oncall.WeekdayAndTime, From: "fri 18:00", To: "mon 09:00"}, "2026-03-31T00:00:00+11:00", "2026-04-07T00:00:00+10:00", []string{
				"a 2026-04-03T18:00:00+11:00 → 2026-04-06T09:00:00+10:00 (64h0m0s) r",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rot("r", oncall.Weekly, 1, ts(t, "2026-01-01T00:00:00Z"), "a")
			r.Restrictions = []oncall.Restriction{tc.r}
			s := &oncall.Schedule{Name: "s", Timezone: tc.zone, Rotations: []oncall.Rotation{r}}
			equalLines(t, timeline(t, s, tc.from, tc.to), tc.want)
		})
	}
}
