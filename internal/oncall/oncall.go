package oncall

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// Shift is a stretch of time one user is on call for a schedule: through a rotation, or through an
// override (Override true, Rotation empty).
type Shift struct {
	User     string    `json:"user"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"` // exclusive
	Rotation string    `json:"rotation,omitempty"`
	Override bool      `json:"override,omitempty"`
}

// OnCall returns the usernames on call for the schedule at t: the users of the overrides covering t if
// there are any; otherwise each rotation's current participant, for rotations that have started and
// whose restrictions (if any) include t. The order is deterministic — overrides, then rotations, in the
// order the schedule lists them — and each user appears once. Nobody on call is an empty result, not an
// error.
//
// OnCall returns an error (Problems) only when the answer cannot be computed: a bad timezone, or a
// rotation with an unknown type, bad length, no start, no participants or a malformed restriction.
// Problems Schedule.Validate reports that do not change the answer (names, two overlapping overrides of
// one user) do not stop it, because the escalation engine calls OnCall on stored schedules and a
// labelling mistake must not silence a page. Overrides without a user or with inverted times are
// ignored.
func (s *Schedule) OnCall(t time.Time) ([]string, error) {
	c, err := s.compile()
	if err != nil {
		return nil, err
	}
	if err := checkYear(t); err != nil {
		return nil, fmt.Errorf("oncall: %v", err)
	}
	var users []string
	for _, o := range c.overrides {
		if !t.Before(o.From) && t.Before(o.To) && !slices.Contains(users, o.User) {
			users = append(users, o.User)
		}
	}
	if len(users) > 0 {
		return users, nil
	}
	for _, r := range c.rotations {
		if u, ok := r.at(t); ok && !slices.Contains(users, u) {
			users = append(users, u)
		}
	}
	return users, nil
}

// Shifts returns the schedule's timeline over [from, to): every shift that overlaps it, cut to it, with
// times in the schedule's timezone. Consecutive shifts of the same user in the same rotation are merged
// (a single-participant rotation is one shift), and overlapping or touching overrides of the same user
// are merged. Rotation shifts are cut where an override applies, so at every instant the users of the
// shifts covering it are exactly OnCall's answer. Shifts are sorted by start, then overrides before
// rotations, then rotations in schedule order, then username.
//
// The result grows with the range (an hourly rotation has 24 shifts a day); callers taking the range
// from a request should bound it.
func (s *Schedule) Shifts(from, to time.Time) ([]Shift, error) {
	c, err := s.compile()
	if err != nil {
		return nil, err
	}
	if err := errors.Join(checkYear(from), checkYear(to)); err != nil {
		return nil, fmt.Errorf("oncall: %v", err)
	}
	if to.Before(from) {
		return nil, fmt.Errorf("oncall: shifts to %s is before from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	type ranked struct {
		Shift
		rank int // -1 for overrides, else the rotation's index
	}
	var all []ranked

	var overridden []interval
	byUser := make(map[string][]interval)
	var users []string // first-appearance order, so output never depends on map order
	for _, o := range c.overrides {
		ivs := clip([]interval{{o.From, o.To}}, from, to)
		if len(ivs) == 0 {
			continue
		}
		if _, seen := byUser[o.User]; !seen {
			users = append(users, o.User)
		}
		byUser[o.User] = append(byUser[o.User], ivs[0])
		overridden = append(overridden, ivs[0])
	}
	for _, u := range users {
		for _, iv := range union(byUser[u]) {
			all = append(all, ranked{Shift{User: u, Start: iv.start, End: iv.end, Override: true}, -1})
		}
	}
	overridden = union(overridden)

	for i, r := range c.rotations {
		lo := from
		if r.Start.After(lo) {
			lo = r.Start
		}
		if !lo.Before(to) {
			continue
		}
		cover := []interval{{lo, to}}
		if len(r.windows) > 0 {
			var occ []interval
			for _, w := range r.windows {
				occ = append(occ, w.occurrences(lo, to, c.loc)...)
			}
			cover = clip(union(occ), lo, to)
		}
		cover = subtract(cover, overridden)
		var mine []Shift
		for _, iv := range cover {
			r.split(iv, func(user string, a, b time.Time) {
				if n := len(mine); n > 0 && mine[n-1].User == user && mine[n-1].End.Equal(a) {
					mine[n-1].End = b
					return
				}
				mine = append(mine, Shift{User: user, Start: a, End: b, Rotation: r.Name})
			})
		}
		for _, sh := range mine {
			all = append(all, ranked{sh, i})
		}
	}

	slices.SortStableFunc(all, func(a, b ranked) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return strings.Compare(a.User, b.User)
	})
	out := make([]Shift, len(all))
	for i, r := range all {
		out[i] = r.Shift
		out[i].Start = r.Start.In(c.loc)
		out[i].End = r.End.In(c.loc)
	}
	return out, nil
}

// compiled is a schedule checked for what the calculation needs, with its timezone loaded and
// restrictions parsed, so the calculations below need no error handling.
type compiled struct {
	loc       *time.Location
	rotations []*rotationCalc
	overrides []Override // those with a user and From before To
}

func (s *Schedule) compile() (*compiled, error) {
	if s == nil {
		return nil, errors.New("oncall: no schedule")
	}
	var ps problems
	loc, err := loadLocation(s.Timezone)
	if err != nil {
		ps.add("timezone", "%v", err)
	}
	for i, r := range s.Rotations {
		var rp problems
		r.checkComputable(&rp)
		ps.addAll(elem("rotations", i), rp.err())
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	c := &compiled{loc: loc}
	for _, o := range s.Overrides {
		if o.User != "" && o.From.Before(o.To) {
			c.overrides = append(c.overrides, o)
		}
	}
	for i := range s.Rotations {
		r := &s.Rotations[i]
		rc := &rotationCalc{Rotation: r, loc: loc}
		for _, x := range r.Restrictions {
			w, _ := parseRestriction(x) // checked by checkComputable
			rc.windows = append(rc.windows, w)
		}
		switch r.Type {
		case Hourly:
			rc.period = time.Duration(r.length()) * time.Hour
		case Custom:
			rc.period = r.Every.Std()
		case Daily:
			rc.days = r.length()
		case Weekly:
			rc.days = 7 * r.length()
		}
		rc.startLocal = r.Start.In(loc)
		rc.startDate = civilDate(rc.startLocal)
		c.rotations = append(c.rotations, rc)
	}
	return c, nil
}

// rotationCalc answers questions about one rotation. Periods are numbered from 0 at Start; period k is
// [boundary(k), boundary(k+1)) and belongs to participant k mod n.
type rotationCalc struct {
	*Rotation
	loc        *time.Location
	windows    []window
	period     time.Duration // hourly and custom: elapsed time per period
	days       int           // daily and weekly: calendar days per period
	startLocal time.Time     // Start in the schedule's timezone
	startDate  time.Time     // its civil date
}

// at returns the participant on call at t through this rotation, if any.
func (r *rotationCalc) at(t time.Time) (string, bool) {
	if t.Before(r.Start) {
		return "", false
	}
	if len(r.windows) > 0 {
		in := false
		for _, w := range r.windows {
			if len(w.occurrences(t, t.Add(1), r.loc)) > 0 {
				in = true
				break
			}
		}
		if !in {
			return "", false
		}
	}
	return r.participant(r.periodAt(t)), true
}

func (r *rotationCalc) participant(k int64) string {
	return r.Participants[k%int64(len(r.Participants))]
}

// boundary is the start of period k (k >= 0).
func (r *rotationCalc) boundary(k int64) time.Time {
	if k == 0 {
		return r.Start
	}
	if r.days > 0 {
		y, m, d := r.startLocal.Date()
		hh, mm, ss := r.startLocal.Clock()
		return wallClock(y, m, d+int(k)*r.days, hh, mm, ss, r.startLocal.Nanosecond(), r.loc)
	}
	return addPeriods(r.Start, k, r.period)
}

// periodAt returns the period containing t (t >= Start). It estimates from calendar days or elapsed
// time, which is off by at most one period around DST changes, and then steps to the exact period.
func (r *rotationCalc) periodAt(t time.Time) int64 {
	var k int64
	if r.days > 0 {
		k = daysBetween(r.startDate, civilDate(t.In(r.loc))) / int64(r.days)
	} else {
		k = periodsBetween(r.Start, t, r.period)
	}
	for k > 0 && r.boundary(k).After(t) {
		k--
	}
	for !r.boundary(k + 1).After(t) {
		k++
	}
	return k
}

// split calls emit for each piece of iv (inside the rotation, after Start) cut at hand-offs.
func (r *rotationCalc) split(iv interval, emit func(user string, a, b time.Time)) {
	k := r.periodAt(iv.start)
	for a := iv.start; a.Before(iv.end); k++ {
		b := r.boundary(k + 1)
		if b.After(iv.end) {
			b = iv.end
		}
		emit(r.participant(k), a, b)
		a = b
	}
}

// periodsBetween returns floor((t-start)/p) for t >= start. time.Duration holds only 292 years, so the
// elapsed nanoseconds are computed in 128 bits; a schedule started in 2026 must still answer for 2400.
func periodsBetween(start, t time.Time, p time.Duration) int64 {
	sec := t.Unix() - start.Unix()
	nsec := int64(t.Nanosecond()) - int64(start.Nanosecond())
	if nsec < 0 {
		sec--
		nsec += 1e9
	}
	if sec < 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(sec), 1e9)
	lo, carry := bits.Add64(lo, uint64(nsec), 0)
	hi += carry
	// hi < p holds for years 1 to 9999 and p >= 1 minute; it is what Div64 needs to not panic.
	if hi >= uint64(p) {
		return 1<<63 - 1
	}
	q, _ := bits.Div64(hi, lo, uint64(p))
	return int64(q)
}

// addPeriods returns start + k*p without overflowing time.Duration.
func addPeriods(start time.Time, k int64, p time.Duration) time.Time {
	hi, lo := bits.Mul64(uint64(k), uint64(p))
	if hi == 0 && lo <= 1<<63-1 {
		return start.Add(time.Duration(lo))
	}
	sec, nsec := bits.Div64(hi, lo, 1e9) // hi < 1e9 for any time in years 1 to 9999
	return time.Unix(start.Unix()+int64(sec), int64(start.Nanosecond())+int64(nsec)).In(start.Location())
}
