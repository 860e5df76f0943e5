package oncall

// This file is an internal test because the fuzz target checks the parsed window and its occurrences,
// which are not exported; the behaviour tests below use only the exported API.

import (
	"strings"
	"testing"
	"time"
)

func TestRestrictionSyntax(t *testing.T) {
	tests := []struct {
		name      string
		r         Restriction
		canonical Restriction // zero when invalid
		problems  string
	}{
		{"a time-of-day window is two HH:MM times", Restriction{TimeOfDay, "09:00", "17:00"}, Restriction{TimeOfDay, "09:00", "17:00"}, ""},
		{"a time-of-day window may cross midnight", Restriction{TimeOfDay, "22:00", "06:00"}, Restriction{TimeOfDay, "22:00", "06:00"}, ""},
		{"a time-of-day window may end at midnight", Restriction{TimeOfDay, "18:00", "00:00"}, Restriction{TimeOfDay, "18:00", "00:00"}, ""},
		{"a weekday-and-time window takes any case and spacing", Restriction{WeekdayAndTime, "MON  09:00", " Fri 18:00 "}, Restriction{WeekdayAndTime, "mon 09:00", "fri 18:00"}, ""},
		{"a weekday-and-time window may wrap the week", Restriction{WeekdayAndTime, "fri 18:00", "mon 09:00"}, Restriction{WeekdayAndTime, "fri 18:00", "mon 09:00"}, ""},
		{"a weekday-and-time window may start and end on the same day a week apart", Restriction{WeekdayAndTime, "mon 09:00", "mon 08:00"}, Restriction{WeekdayAndTime, "mon 09:00", "mon 08:00"}, ""},
		{"a single-digit hour is refused", Restriction{TimeOfDay, "9:00", "17:00"}, Restriction{},
			`from: "9:00" is not a time of day; want HH:MM from 00:00 to 23:59`},
		{"24:00 is refused in favour of 00:00", Restriction{TimeOfDay, "18:00", "24:00"}, Restriction{},
			`to: "24:00" is not a time of day; want HH:MM from 00:00 to 23:59`},
		{"seconds are refused", Restriction{TimeOfDay, "09:00:00", "17:60"}, Restriction{},
			"from: \"09:00:00\" is not a time of day; want HH:MM from 00:00 to 23:59\nto: \"17:60\" is not a time of day; want HH:MM from 00:00 to 23:59"},
		{"an empty window is refused", Restriction{TimeOfDay, "09:00", "09:00"}, Restriction{},
			`to: "09:00" equals from; a window needs a length (leave out restrictions to be on call all day)`},
		{"an empty weekly window is refused", Restriction{WeekdayAndTime, "tue 09:00", "TUE 09:00"}, Restriction{},
			`to: "TUE 09:00" equals from; a window needs a length (leave out restrictions to be on call all week)`},
		{"a full weekday name is refused", Restriction{WeekdayAndTime, "monday 09:00", "fri 18:00"}, Restriction{},
			`from: "monday 09:00" does not start with a weekday; want mon, tue, wed, thu, fri, sat or sun`},
		{"a weekday with a single-digit hour is refused", Restriction{WeekdayAndTime, "mon 9:00", "fri 18:00"}, Restriction{},
			`from: "mon 9:00" does not end with a time of day; want HH:MM from 00:00 to 23:59`},
		{"a bad weekday and a bad time are both reported", Restriction{WeekdayAndTime, "mon 09:00", "fry 25:00"}, Restriction{},
			"to: \"fry 25:00\" does not start with a weekday; want mon, tue, wed, thu, fri, sat or sun\nto: \"fry 25:00\" does not end with a time of day; want HH:MM from 00:00 to 23:59"},
		{"a weekday without a time is refused", Restriction{WeekdayAndTime, "mon", "fri 18:00"}, Restriction{},
			`from: "mon" is not a weekday and time; want e.g. "mon 09:00"`},
		{"a time-of-day value in a weekday window is refused", Restriction{WeekdayAndTime, "09:00", "17:00"}, Restriction{},
			"from: \"09:00\" is not a weekday and time; want e.g. \"mon 09:00\"\nto: \"17:00\" is not a weekday and time; want e.g. \"mon 09:00\""},
		{"an unknown kind is refused", Restriction{"weekday", "mon 09:00", "fri 18:00"}, Restriction{},
			`kind: unknown kind "weekday"; want time-of-day or weekday-and-time`},
		{"a missing kind is refused", Restriction{"", "09:00", "17:00"}, Restriction{},
			`kind: is required: time-of-day or weekday-and-time`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := parseRestriction(tc.r)
			if tc.problems != "" {
				if err == nil || err.Error() != tc.problems {
					t.Fatalf("problems:\n%v\nwant:\n%s", err, tc.problems)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected problems: %v", err)
			}
			if got := w.restriction(); got != tc.canonical {
				t.Errorf("canonical form %+v, want %+v", got, tc.canonical)
			}
		})
	}
}

// restricted is a weekly rotation of alice, bob and carol from Monday 2026-01-05 09:00 Berlin time,
// limited to the given windows.
func restricted(t *testing.T, rs ...Restriction) *Schedule {
	start, err := time.Parse(time.RFC3339, "2026-01-05T09:00:00+01:00")
	if err != nil {
		t.Fatal(err)
	}
	return &Schedule{Name: "s", Timezone: "Europe/Berlin", Rotations: []Rotation{{
		Name: "r", Type: Weekly, Start: start, Participants: []string{"alice", "bob", "carol"}, Restrictions: rs,
	}}}
}

func TestRestrictionsLimitWhenARotationIsOnCall(t *testing.T) {
	office := Restriction{TimeOfDay, "09:00", "17:00"}
	night := Restriction{TimeOfDay, "22:00", "06:00"}
	workweek := Restriction{WeekdayAndTime, "mon 09:00", "fri 18:00"}
	weekend := Restriction{WeekdayAndTime, "fri 18:00", "mon 09:00"}
	tests := []struct {
		name string
		s    *Schedule
		at   string
		want string
	}{
		{"an office-hours rotation is on call at 09:00", restricted(t, office), "2026-01-06T09:00:00+01:00", "alice"},
		{"an office-hours rotation is on call just before 17:00", restricted(t, office), "2026-01-06T16:59:59+01:00", "alice"},
		{"an office-hours rotation is not on call at 17:00", restricted(t, office), "2026-01-06T17:00:00+01:00", ""},
		{"an office-hours rotation is not on call before 09:00", restricted(t, office), "2026-01-06T08:59:59+01:00", ""},
		{"an office-hours rotation is on call on a Sunday too", restricted(t, office), "2026-01-11T12:00:00+01:00", "alice"},
		{"a night window is on call before midnight", restricted(t, night), "2026-01-06T23:00:00+01:00", "alice"},
		{"a night window is on call after midnight", restricted(t, night), "2026-01-07T05:59:59+01:00", "alice"},
		{"a night window is not on call at its end", restricted(t, night), "2026-01-07T06:00:00+01:00", ""},
		{"a night window is not on call in the afternoon", restricted(t, night), "2026-01-07T15:00:00+01:00", ""},
		{"a workweek window is on call on Wednesday night", restricted(t, workweek), "2026-01-07T03:00:00+01:00", "alice"},
		{"a workweek window is not on call on Saturday", restricted(t, workweek), "2026-01-10T12:00:00+01:00", ""},
		{"a workweek window is not on call at Friday 18:00", restricted(t, workweek), "2026-01-09T18:00:00+01:00", ""},
		{"a weekend window wraps the week on Sunday", restricted(t, weekend), "2026-01-11T12:00:00+01:00", "alice"},
		{"a weekend window wraps the week until Monday 09:00", restricted(t, weekend), "2026-01-12T08:59:59+01:00", "alice"},
		{"a weekend window ends Monday 09:00, when the next period starts", restricted(t, weekend), "2026-01-12T09:00:00+01:00", ""},
		{"a weekend window is not on call on Wednesday", restricted(t, weekend), "2026-01-14T12:00:00+01:00", ""},
		{"several restrictions are or'ed: the first applies", restricted(t, office, night), "2026-01-07T10:00:00+01:00", "alice"},
		{"several restrictions are or'ed: the second applies", restricted(t, office, night), "2026-01-07T23:00:00+01:00", "alice"},
		{"several restrictions are or'ed: neither applies", restricted(t, office, night), "2026-01-07T19:00:00+01:00", ""},
		{"the calendar advances outside the windows: the third week is carol's", restricted(t, office), "2026-01-19T10:00:00+01:00", "carol"},
		{"a window before the rotation starts has nobody", restricted(t, office), "2026-01-05T08:30:00+01:00", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, err := time.Parse(time.RFC3339, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			users, err := tc.s.OnCall(at)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(users, ","); got != tc.want {
				t.Errorf("OnCall(%s) = %q, want %q", tc.at, got, tc.want)
			}
		})
	}
}

// FuzzRestriction feeds the parser arbitrary text. It must never panic; what it accepts must have a
// canonical form that parses back to the same window; and every accepted window must occur, with
// positive length and in order, within any 15 days (a DST change can empty one occurrence, not two).
func FuzzRestriction(f *testing.F) {
	for _, seed := range [][3]string{
		{"time-of-day", "09:00", "17:00"},
		{"time-of-day", "22:00", "06:00"},
		{"time-of-day", "02:00", "02:30"},
		{"time-of-day", "23:59", "00:00"},
		{"weekday-and-time", "mon 09:00", "fri 18:00"},
		{"weekday-and-time", "fri 18:00", "mon 09:00"},
		{"weekday-and-time", "SUN 02:30", "sun 02:29"},
		{"weekday-and-time", "sun\t02:30", "  mon 00:00"},
		{"time-of-day", "9:00", "24:00"},
		{"weekday-and-time", "monday 09:00", "fri"},
		{"", "", ""},
		{"time-of-day", "0٩:00", "１２:00"},
	} {
		f.Add(seed[0], seed[1], seed[2], int64(0))
	}
	f.Add("weekday-and-time", "sun 02:00", "sun 02:30", int64(1774742400)) // Berlin's 2026 spring Sunday
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, kind, from, to string, unix int64) {
		r := Restriction{Kind: RestrictionKind(kind), From: from, To: to}
		w, err := parseRestriction(r)
		if err != nil {
			if r.Validate() == nil {
				t.Fatal("Validate accepts what parseRestriction refuses")
			}
			return
		}
		c := w.restriction()
		w2, err := parseRestriction(c)
		if err != nil || w2 != w {
			t.Fatalf("canonical form %+v parses to %+v, %v; want %+v", c, w2, err, w)
		}
		if w.spanDays() < 0 || w.spanDays() > 7 {
			t.Fatalf("span %d days", w.spanDays())
		}
		// A start between 1970 and 2106 keeps the check within the years tocsin serves.
		a := time.Unix(1<<31+unix%(1<<31), 0)
		b := a.Add(15 * 24 * time.Hour)
		occ := w.occurrences(a, b, berlin)
		if len(occ) == 0 {
			t.Fatalf("%+v does not occur between %v and %v", c, a, b)
		}
		for i, iv := range occ {
			if !iv.start.Before(iv.end) || !iv.start.Before(b) || !iv.end.After(a) {
				t.Fatalf("occurrence %v outside [%v, %v) or empty", iv, a, b)
			}
			if iv.end.Sub(iv.start) > time.Duration(w.spanDays()+1)*25*time.Hour {
				t.Fatalf("occurrence %v longer than its span", iv)
			}
			if i > 0 && iv.start.Before(occ[i-1].end) {
				t.Fatalf("occurrences overlap or are out of order: %v then %v", occ[i-1], iv)
			}
		}
	})
}
