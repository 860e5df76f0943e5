package oncall

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// dayNames are the weekday abbreviations restrictions use, in time.Weekday order (Sunday first).
const dayNames = "sunmontuewedthufrisat"

// window is a parsed Restriction. from and to are minutes after midnight; the days are used only by
// weekly windows.
type window struct {
	weekly         bool
	fromDay, toDay time.Weekday
	from, to       int
}

// Validate checks the kind and the syntax of From and To: "HH:MM" (00:00 to 23:59) for time-of-day,
// "ddd HH:MM" with ddd one of mon, tue, wed, thu, fri, sat, sun (any case) for weekday-and-time.
// From == To is refused: it could mean "always" or "never", and an unrestricted rotation already says
// "always".
func (r Restriction) Validate() error {
	_, err := parseRestriction(r)
	return err
}

func parseRestriction(r Restriction) (window, error) {
	var ps problems
	var w window
	var okFrom, okTo bool
	switch r.Kind {
	case TimeOfDay:
		w.from, okFrom = parseClock(&ps, "from", r.From)
		w.to, okTo = parseClock(&ps, "to", r.To)
		if okFrom && okTo && w.from == w.to {
			ps.add("to", "%q equals from; a window needs a length (leave out restrictions to be on call all day)", r.To)
		}
	case WeekdayAndTime:
		w.weekly = true
		w.fromDay, w.from, okFrom = parseDayClock(&ps, "from", r.From)
		w.toDay, w.to, okTo = parseDayClock(&ps, "to", r.To)
		if okFrom && okTo && w.fromDay == w.toDay && w.from == w.to {
			ps.add("to", "%q equals from; a window needs a length (leave out restrictions to be on call all week)", r.To)
		}
	case "":
		ps.add("kind", "is required: time-of-day or weekday-and-time")
	default:
		ps.add("kind", "unknown kind %q; want time-of-day or weekday-and-time", r.Kind)
	}
	return w, ps.err()
}

// parseClock reads "HH:MM" strictly (two digits each), so "9:00" and "09:00:00" are reported rather
// than guessed at.
func parseClock(ps *problems, path, s string) (int, bool) {
	m, ok := clock(s)
	if !ok {
		ps.add(path, "%q is not a time of day; want HH:MM from 00:00 to 23:59", s)
	}
	return m, ok
}

func clock(s string) (int, bool) {
	if len(s) == 5 && s[2] == ':' && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[3]) && isDigit(s[4]) {
		h := int(s[0]-'0')*10 + int(s[1]-'0')
		m := int(s[3]-'0')*10 + int(s[4]-'0')
		if h < 24 && m < 60 {
			return h*60 + m, true
		}
	}
	return 0, false
}

func parseDayClock(ps *problems, path, s string) (time.Weekday, int, bool) {
	fields := strings.Fields(s)
	if len(fields) != 2 {
		ps.add(path, "%q is not a weekday and time; want e.g. \"mon 09:00\"", s)
		return 0, 0, false
	}
	day := -1
	if d := strings.ToLower(fields[0]); len(d) == 3 {
		day = strings.Index(dayNames, d)
		if day%3 != 0 {
			day = -1
		}
	}
	if day < 0 {
		ps.add(path, "%q does not start with a weekday; want mon, tue, wed, thu, fri, sat or sun", s)
	}
	m, ok := clock(fields[1])
	if !ok {
		ps.add(path, "%q does not end with a time of day; want HH:MM from 00:00 to 23:59", s)
	}
	if day < 0 || !ok {
		return 0, 0, false
	}
	return time.Weekday(day / 3), m, true
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// restriction formats w back in the canonical form (lower-case day, one space).
func (w window) restriction() Restriction {
	clock := func(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }
	if !w.weekly {
		return Restriction{Kind: TimeOfDay, From: clock(w.from), To: clock(w.to)}
	}
	day := func(d time.Weekday) string { return dayNames[3*d : 3*d+3] }
	return Restriction{
		Kind: WeekdayAndTime,
		From: day(w.fromDay) + " " + clock(w.from),
		To:   day(w.toDay) + " " + clock(w.to),
	}
}

// spanDays is how many calendar days after the window's start date its end falls: 0 or 1 for
// time-of-day (1 when it crosses midnight), 0 to 7 for weekday-and-time (7 when it wraps the whole week
// back to the same day).
func (w window) spanDays() int {
	if !w.weekly {
		if w.to > w.from {
			return 0
		}
		return 1
	}
	d := (int(w.toDay) - int(w.fromDay) + 7) % 7
	if d == 0 && w.to <= w.from {
		d = 7
	}
	return d
}

// occurrences returns the window's occurrences in loc that overlap [a, b), in order and unclipped. Each
// starts at the From wall-clock time on its date and ends at the To wall-clock time spanDays later, both
// resolved by wallClock; an occurrence the DST change leaves empty is skipped.
func (w window) occurrences(a, b time.Time, loc *time.Location) []interval {
	span := w.spanDays()
	// One spare day each side absorbs offsets moving a wall-clock time across midnight.
	first := civilDate(a.In(loc)).AddDate(0, 0, -span-1)
	last := civilDate(b.In(loc))
	step := 1
	if w.weekly {
		for first.Weekday() != w.fromDay {
			first = first.AddDate(0, 0, 1)
		}
		step = 7
	}
	var out []interval
	for d := first; !d.After(last); d = d.AddDate(0, 0, step) {
		y, m, day := d.Date()
		start := wallClock(y, m, day, w.from/60, w.from%60, 0, 0, loc)
		end := wallClock(y, m, day+span, w.to/60, w.to%60, 0, 0, loc)
		if start.Before(end) && start.Before(b) && end.After(a) {
			out = append(out, interval{start, end})
		}
	}
	return out
}

// interval is [start, end).
type interval struct{ start, end time.Time }

// union sorts intervals and merges those that overlap or touch.
func union(ivs []interval) []interval {
	ivs = slices.Clone(ivs)
	slices.SortFunc(ivs, func(x, y interval) int { return x.start.Compare(y.start) })
	var out []interval
	for _, iv := range ivs {
		if n := len(out); n > 0 && !iv.start.After(out[n-1].end) {
			if iv.end.After(out[n-1].end) {
				out[n-1].end = iv.end
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

// clip cuts each interval to [a, b) and drops what is left empty.
func clip(ivs []interval, a, b time.Time) []interval {
	var out []interval
	for _, iv := range ivs {
		if iv.start.Before(a) {
			iv.start = a
		}
		if iv.end.After(b) {
			iv.end = b
		}
		if iv.start.Before(iv.end) {
			out = append(out, iv)
		}
	}
	return out
}

// subtract removes the sorted, disjoint intervals cut from the sorted, disjoint intervals ivs.
func subtract(ivs, cut []interval) []interval {
	var out []interval
	for _, iv := range ivs {
		cur := iv.start
		for _, c := range cut {
			if !c.end.After(cur) || !c.start.Before(iv.end) {
				continue
			}
			if c.start.After(cur) {
				out = append(out, interval{cur, c.start})
			}
			cur = c.end
		}
		if cur.Before(iv.end) {
			out = append(out, interval{cur, iv.end})
		}
	}
	return out
}
