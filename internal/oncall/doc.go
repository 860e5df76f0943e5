// Package oncall is tocsin's domain of people and time: users and how to reach them, teams, schedules
// (rotations, restrictions, overrides) and escalation policies, and the questions asked of them — who is
// on call for a schedule at time t, what the timeline of the next days looks like, in which order a user
// is notified, and when each escalation step is due.
//
// The package is pure: plain structs that load from JSON or YAML (the keys are the `tocsin apply`
// contract in DESIGN.md), validation that reports every problem with its location, and calculations
// without I/O, clocks or globals. The escalation engine, the API, the CLI and the tests therefore all get
// the same answer for the same input. It imports nothing from tocsin; storage and transports depend on
// it, never the other way round.
//
// # Time semantics
//
// Every interval is half-open, [start, end): at a hand-off instant the next person is on call, and an
// override ending at 10:00 no longer applies at 10:00.
//
// A rotation hands off every Length units from Start; participant i is on call in period i modulo the
// number of participants, and before Start the rotation has nobody.
//   - hourly and custom rotations count elapsed time (Length hours, or Every), so an hourly rotation
//     keeps handing off every 60 real minutes through a DST change.
//   - daily and weekly rotations hand off at Start's wall-clock time in the schedule's timezone, every
//     Length days or weeks, so a 09:00 hand-off stays 09:00 across DST changes (a shift across the change
//     is an hour shorter or longer).
//
// Wall-clock times that occur twice (clocks going back) mean the first occurrence. Wall-clock times that
// do not exist (clocks jumping forward) are read with the UTC offset in force before the jump, so they
// land as far after the jump as they were after its start: 02:30 on the day Berlin jumps from 02:00 to
// 03:00 is 03:30 CEST. That is the rule of RFC 5545 (iCalendar) and java.time. Go's time.Date promises
// neither behaviour: for 02:30 it returns 03:30 in Berlin and Sydney but 01:30 EST, an hour early, in New
// York, and for times that occur twice it returns the second occurrence in Berlin and Sydney but the
// first in New York. The package therefore resolves wall-clock times itself (wallClock) and never relies
// on time.Date's choice.
//
// Restrictions are windows in the schedule's timezone: "time-of-day" 09:00-17:00 every day (22:00-06:00
// crosses midnight), "weekday-and-time" mon 09:00 - fri 18:00 every week (fri 18:00 - mon 09:00 wraps the
// week). Several restrictions are OR'ed. Outside them the rotation has nobody on call, but its calendar
// keeps advancing, as in Opsgenie: the person on call inside a window is the one whose period it is.
//
// Rotations are on call together (the union, each user once). An override replaces everyone on call
// during [From, To) with its user; when overrides overlap, all of their users are on call.
package oncall
