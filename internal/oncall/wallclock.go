package oncall

import "time"

// zoneProbe is how far before and after a wall-clock time wallClock looks for the UTC offsets that can
// apply to it. Candidate instants lie within 14 hours of the wall-clock time read as UTC (offsets range
// from -12h to +14h), so probing a day away lands outside them, while real timezones never change offset
// twice within two days.
const zoneProbe = 24 * time.Hour

// wallClock returns the instant at which clocks in loc show the given date and time (the date may be
// out of range, as with time.Date: day 32 is the 1st of the next month).
//
// When that wall-clock time occurs twice (clocks going back) it returns the first occurrence. When it
// does not occur (clocks jumping forward) it reads the time with the offset in force before the jump,
// which lands as far after the jump as the time was after its start (02:30 in a 02:00→03:00 jump is
// 03:30): RFC 5545's rule. time.Date is not used for the answer because it guarantees neither choice and
// in fact differs between zones east and west of Greenwich.
func wallClock(y int, mo time.Month, d, hh, mm, ss, ns int, loc *time.Location) time.Time {
	naive := time.Date(y, mo, d, hh, mm, ss, ns, time.UTC)
	_, before := naive.Add(-zoneProbe).In(loc).Zone()
	_, after := naive.Add(zoneProbe).In(loc).Zone()
	early := naive.Add(-time.Duration(before) * time.Second)
	if before == after {
		return early.In(loc)
	}
	late := naive.Add(-time.Duration(after) * time.Second)
	earlyOK := offsetAt(early, loc) == before
	lateOK := offsetAt(late, loc) == after
	switch {
	case earlyOK && lateOK:
		// Shown twice: the earlier instant is the first occurrence.
		if late.Before(early) {
			return late.In(loc)
		}
		return early.In(loc)
	case lateOK:
		return late.In(loc)
	default:
		// Valid only with the earlier offset, or in the gap: both mean the offset before the change.
		return early.In(loc)
	}
}

func offsetAt(t time.Time, loc *time.Location) int {
	_, off := t.In(loc).Zone()
	return off
}

// civilDate is t's calendar date (in t's location) as midnight UTC, a value that can be stepped by days
// with AddDate without any DST in the way.
func civilDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// daysBetween counts calendar days from civil date a to civil date b (both from civilDate).
func daysBetween(a, b time.Time) int64 {
	return (b.Unix() - a.Unix()) / 86400
}
