package oncall

import (
	"slices"
	"strings"
	"time"
)

// MaxRepeatTimes is the most repeats a policy may have, Opsgenie's limit: a page that nobody has
// answered after 20 rounds needs a person, not a 21st round.
const MaxRepeatTimes = 20

// EscalationPolicy says whom to notify, and when, while nobody acknowledges an alert.
type EscalationPolicy struct {
	Name   string           `json:"name"`
	Rules  []EscalationRule `json:"rules"`
	Repeat *Repeat          `json:"repeat,omitempty"`
}

// EscalationRule notifies its target Delay after the round starts (for the first round, after the alert
// is created).
type EscalationRule struct {
	Delay  Duration `json:"delay"`
	Notify Target   `json:"notify"`
}

// Target is whom a rule notifies: a schedule's on-call users, a user, or every member of a team. Exactly
// one field is set; a struct of three optional names matches the YAML ({schedule: secops-primary}).
type Target struct {
	Schedule string `json:"schedule,omitempty"`
	User     string `json:"user,omitempty"`
	Team     string `json:"team,omitempty"`
}

// Repeat restarts the policy from its first rule, Times more times, while nobody has acknowledged. The
// next round starts After the last rule of the previous round was due (Opsgenie's "repeat after"), so
// every rule of a round fires before the next round begins whatever the delays.
type Repeat struct {
	After Duration `json:"after"`
	Times int      `json:"times"`
}

// StepTime is when one rule of one round is due. Round 0 is the first run through the rules; rounds
// 1..Times are the repeats. Rule indexes the policy's Rules.
type StepTime struct {
	Round int       `json:"round"`
	Rule  int       `json:"rule"`
	Due   time.Time `json:"due"`
}

// Due lists when every rule of every round is due for an alert created (or escalation restarted) at
// created, sorted by due time, then round, then rule. Round r starts at
//
//	created + r × (last rule's delay + Repeat.After)
//
// and rule i of it is due at that start + Rules[i].Delay. With the DESIGN example (0s, 10m, 20m; repeat
// after 30m, twice) rounds start at 0, 50m and 100m, nine steps in all.
//
// Due is a pure function: whether a step still fires (acknowledged, closed, snoozed) is the escalation
// engine's decision. It computes from any policy; it assumes delays are valid and repeats at most
// MaxRepeatTimes times.
func (p *EscalationPolicy) Due(created time.Time) []StepTime {
	if p == nil || len(p.Rules) == 0 {
		return nil
	}
	var last time.Duration
	for _, r := range p.Rules {
		last = max(last, r.Delay.Std())
	}
	rounds := 1
	var cycle time.Duration
	if p.Repeat != nil && p.Repeat.Times > 0 {
		rounds += min(p.Repeat.Times, MaxRepeatTimes)
		cycle = last + p.Repeat.After.Std()
	}
	out := make([]StepTime, 0, rounds*len(p.Rules))
	for round := range rounds {
		start := created.Add(time.Duration(round) * cycle)
		for i, r := range p.Rules {
			out = append(out, StepTime{Round: round, Rule: i, Due: start.Add(r.Delay.Std())})
		}
	}
	slices.SortStableFunc(out, func(a, b StepTime) int { return a.Due.Compare(b.Due) })
	return out
}

// Validate checks p on its own; whether the targets exist is checked by Config.Validate. Delays must
// not decrease from one rule to the next: they count from the start of the round, so a rule listed after
// a later one reads as a mistake.
func (p EscalationPolicy) Validate() error {
	var ps problems
	checkName(&ps, "name", p.Name)
	if len(p.Rules) == 0 {
		ps.add("rules", "an escalation policy needs at least one rule")
	}
	for i, r := range p.Rules {
		path := elem("rules", i)
		ps.addAll(path, r.Validate())
		if i > 0 && r.Delay >= 0 && r.Delay < p.Rules[i-1].Delay {
			ps.add(path+".delay", "%v is before the previous rule's %v; delays count from the start, so list rules in order", r.Delay, p.Rules[i-1].Delay)
		}
	}
	if p.Repeat != nil {
		ps.addAll("repeat", p.Repeat.Validate())
	}
	return ps.err()
}

// Validate checks the delay and the target.
func (r EscalationRule) Validate() error {
	var ps problems
	if r.Delay < 0 {
		ps.add("delay", "%v is negative", r.Delay)
	}
	ps.addAll("notify", r.Notify.Validate())
	return ps.err()
}

// Validate checks that exactly one of Schedule, User and Team is set.
func (t Target) Validate() error {
	var set []string
	for _, f := range []struct{ key, val string }{{"schedule", t.Schedule}, {"user", t.User}, {"team", t.Team}} {
		if f.val != "" {
			set = append(set, f.key)
		}
	}
	switch len(set) {
	case 0:
		return Problems{{Msg: "set one of schedule, user or team"}}
	case 1:
		return nil
	}
	return Problems{{Msg: "set exactly one of schedule, user or team, not " + strings.Join(set, " and ")}}
}

// String describes the target as "schedule secops-primary", "user bob@example.com" or "team secops".
func (t Target) String() string {
	switch {
	case t.Schedule != "":
		return "schedule " + t.Schedule
	case t.User != "":
		return "user " + t.User
	case t.Team != "":
		return "team " + t.Team
	}
	return "nobody"
}

// Validate checks After is positive (a zero pause would page the first rule's target at the same moment
// as the last rule's) and Times is 1 to MaxRepeatTimes.
func (r Repeat) Validate() error {
	var ps problems
	if r.After <= 0 {
		ps.add("after", "must be positive, got %v", r.After)
	}
	if r.Times < 1 || r.Times > MaxRepeatTimes {
		ps.add("times", "must be 1 to %d, got %d", MaxRepeatTimes, r.Times)
	}
	return ps.err()
}
