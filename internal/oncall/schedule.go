package oncall

import (
	"fmt"
	"time"
)

// RotationType is the unit a rotation's shifts are measured in.
type RotationType string

// The rotation types. Hourly and custom count elapsed time; daily and weekly count calendar days in the
// schedule's timezone (see the package documentation).
const (
	Hourly RotationType = "hourly"
	Daily  RotationType = "daily"
	Weekly RotationType = "weekly"
	Custom RotationType = "custom"
)

// MaxRotationLength bounds Length: 10,000 weeks is almost two centuries, anything larger is a typo.
const MaxRotationLength = 10000

// MinCustomEvery is the shortest custom shift; shorter shifts make timelines of millions of entries and
// nobody hands a pager over every few seconds.
const MinCustomEvery = time.Minute

// Schedule says who is on call when. Timezone is required because hand-offs of daily and weekly
// rotations and all restrictions are wall-clock times in it.
type Schedule struct {
	Name      string     `json:"name"`
	Team      string     `json:"team,omitempty"` // owning team name
	Timezone  string     `json:"timezone"`       // IANA name, e.g. Europe/Berlin
	Rotations []Rotation `json:"rotations,omitempty"`
	Overrides []Override `json:"overrides,omitempty"`
}

// Rotation hands on-call duty to its participants in turn.
type Rotation struct {
	Name string       `json:"name"` // unique within the schedule; shifts name their rotation
	Type RotationType `json:"type"`
	// Length is the number of Type units per shift for hourly, daily and weekly rotations; 0 means 1, so
	// YAML can leave it out.
	Length int `json:"length,omitempty"`
	// Every is the shift length of a custom rotation (and only of a custom rotation).
	Every Duration `json:"every,omitempty"`
	// Start is the first hand-off. For daily and weekly rotations its wall-clock time in the schedule's
	// timezone is the hand-off time of every shift.
	Start        time.Time     `json:"start"`
	Participants []string      `json:"participants"` // usernames, in order; a name may repeat
	Restrictions []Restriction `json:"restrictions,omitempty"`
}

// RestrictionKind is the shape of a restriction window.
type RestrictionKind string

// The restriction kinds.
const (
	// TimeOfDay windows repeat every day: From and To are "HH:MM".
	TimeOfDay RestrictionKind = "time-of-day"
	// WeekdayAndTime windows repeat every week: From and To are "mon 09:00" (mon, tue, wed, thu, fri,
	// sat, sun).
	WeekdayAndTime RestrictionKind = "weekday-and-time"
)

// Restriction limits a rotation to a window, [From, To) in the schedule's timezone. A window whose To is
// not after From crosses midnight (time-of-day) or the end of the week (weekday-and-time).
type Restriction struct {
	Kind RestrictionKind `json:"kind"`
	From string          `json:"from"`
	To   string          `json:"to"`
}

// Override puts User on call instead of everyone else during [From, To).
type Override struct {
	User string    `json:"user"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Validate checks s on its own: everything except whether its team, participants and override users
// exist, which Config.Validate checks.
func (s Schedule) Validate() error {
	var ps problems
	checkName(&ps, "name", s.Name)
	if s.Timezone == "" {
		ps.add("timezone", "is required (an IANA name such as Europe/Berlin), because hand-offs and restrictions are wall-clock times")
	} else if _, err := loadLocation(s.Timezone); err != nil {
		ps.add("timezone", "%v", err)
	}
	rotations := make(map[string]int)
	for i, r := range s.Rotations {
		p := elem("rotations", i)
		ps.addAll(p, r.Validate())
		if r.Name == "" {
			continue
		}
		if j, dup := rotations[r.Name]; dup {
			ps.add(p+".name", "duplicate rotation name %q (also rotations[%d])", r.Name, j)
		} else {
			rotations[r.Name] = i
		}
	}
	for i, o := range s.Overrides {
		p := elem("overrides", i)
		err := o.Validate()
		ps.addAll(p, err)
		if err != nil {
			continue
		}
		// Overlapping overrides of different users are meaningful (both are on call); of the same user
		// they are redundant at best and usually a copy-paste mistake in the dates.
		for j, q := range s.Overrides[:i] {
			if q.User == o.User && q.Validate() == nil && o.From.Before(q.To) && q.From.Before(o.To) {
				ps.add(p, "overlaps overrides[%d] for the same user %q", j, o.User)
			}
		}
	}
	return ps.err()
}

// Validate checks r on its own.
func (r Rotation) Validate() error {
	var ps problems
	checkName(&ps, "name", r.Name)
	r.checkComputable(&ps)
	return ps.err()
}

// checkComputable reports the problems that make the rotation's on-call answer undefined (everything
// Validate checks except the name, which is only a label). OnCall and Shifts refuse only these.
func (r Rotation) checkComputable(ps *problems) {
	switch r.Type {
	case Hourly, Daily, Weekly:
		switch {
		case r.Length < 0:
			ps.add("length", "%d is negative", r.Length)
		case r.Length > MaxRotationLength:
			ps.add("length", "%d is more than %d", r.Length, MaxRotationLength)
		}
		if r.Every != 0 {
			ps.add("every", "is only for custom rotations; %s rotations use length", r.Type)
		}
	case Custom:
		if r.Length != 0 {
			ps.add("length", "is not used by custom rotations; set every to the shift length, such as 36h")
		}
		if r.Every.Std() < MinCustomEvery {
			ps.add("every", "a custom rotation needs every of at least %v, got %v", MinCustomEvery, r.Every)
		}
	case "":
		ps.add("type", "is required: hourly, daily, weekly or custom")
	default:
		ps.add("type", "unknown type %q; want hourly, daily, weekly or custom", r.Type)
	}
	if r.Start.IsZero() {
		ps.add("start", "is required")
	} else if err := checkYear(r.Start); err != nil {
		ps.add("start", "%v", err)
	}
	if len(r.Participants) == 0 {
		ps.add("participants", "a rotation needs at least one participant")
	}
	for i, u := range r.Participants {
		if u == "" {
			ps.add(elem("participants", i), "is empty; want a username")
		}
	}
	for i, x := range r.Restrictions {
		ps.addAll(elem("restrictions", i), x.Validate())
	}
}

// length is the shift length in Type units, with 0 meaning 1.
func (r Rotation) length() int {
	if r.Length == 0 {
		return 1
	}
	return r.Length
}

// Validate checks o on its own. From == To is refused with inverted times: an override that covers no
// time is always a mistake.
func (o Override) Validate() error {
	var ps problems
	if o.User == "" {
		ps.add("user", "is required")
	}
	if o.From.IsZero() {
		ps.add("from", "is required")
	} else if err := checkYear(o.From); err != nil {
		ps.add("from", "%v", err)
	}
	if o.To.IsZero() {
		ps.add("to", "is required")
	} else if err := checkYear(o.To); err != nil {
		ps.add("to", "%v", err)
	}
	if !o.From.IsZero() && !o.To.IsZero() && !o.To.After(o.From) {
		ps.add("to", "%s is not after from %s", o.To.Format(time.RFC3339), o.From.Format(time.RFC3339))
	}
	return ps.err()
}

// checkYear keeps times within years 1 to 9999, the range JSON and RFC 3339 can write, which also keeps
// the arithmetic of OnCall and Shifts far from overflow.
func checkYear(t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("%v is outside the years 1 to 9999", t)
	}
	return nil
}
