package oncall

import "strings"

// Config is everything `tocsin apply` declares about people and time, with the YAML/JSON keys of
// DESIGN.md. Integrations are not here: they belong to internal/integration, and the apply command
// combines both.
type Config struct {
	Users       []User             `json:"users,omitempty"`
	Teams       []Team             `json:"teams,omitempty"`
	Schedules   []Schedule         `json:"schedules,omitempty"`
	Escalations []EscalationPolicy `json:"escalations,omitempty"`
}

// Validate checks every value and every reference between them (team members, team policies, schedule
// teams, rotation participants, override users, escalation targets) and unique names, and returns all
// problems found as Problems with full paths, such as
//
//	schedules[0].rotations[1].participants[2]: unknown user "bbo@example.com"
//
// or nil. Usernames are unique regardless of case, because Alice@example.com and alice@example.com are
// one mailbox; references must match exactly, and a reference that differs only in case is reported
// with the intended name.
func (c Config) Validate() error {
	var ps problems

	// Index every name first, so a team can refer to a policy listed after it.
	users := make(map[string]int)
	foldedUsers := make(map[string]int)
	for i, u := range c.Users {
		if u.Username == "" {
			continue
		}
		if _, ok := users[u.Username]; !ok {
			users[u.Username] = i
		}
		if _, ok := foldedUsers[strings.ToLower(u.Username)]; !ok {
			foldedUsers[strings.ToLower(u.Username)] = i
		}
	}
	teams := firstIndex(len(c.Teams), func(i int) string { return c.Teams[i].Name })
	schedules := firstIndex(len(c.Schedules), func(i int) string { return c.Schedules[i].Name })
	policies := firstIndex(len(c.Escalations), func(i int) string { return c.Escalations[i].Name })

	user := func(path, name string) {
		if name == "" {
			return // the value's own validation reports it
		}
		if _, ok := users[name]; ok {
			return
		}
		if j, ok := foldedUsers[strings.ToLower(name)]; ok {
			ps.add(path, "unknown user %q (did you mean %q?)", name, c.Users[j].Username)
			return
		}
		ps.add(path, "unknown user %q", name)
	}
	ref := func(path, kind string, index map[string]int, name string) {
		if _, ok := index[name]; name != "" && !ok {
			ps.add(path, "unknown %s %q", kind, name)
		}
	}
	dup := func(path, kind string, index map[string]int, name, list string, i int) {
		if j, ok := index[name]; ok && j != i {
			ps.add(path, "duplicate %s %q (first at %s)", kind, name, elem(list, j))
		}
	}

	for i, u := range c.Users {
		p := elem("users", i)
		ps.addAll(p, u.Validate())
		if u.Username == "" {
			continue
		}
		if j := foldedUsers[strings.ToLower(u.Username)]; j != i {
			if c.Users[j].Username == u.Username {
				ps.add(p+".username", "duplicate username %q (first at %s)", u.Username, elem("users", j))
			} else {
				ps.add(p+".username", "duplicate username %q: differs only in case from %s %q", u.Username, elem("users", j), c.Users[j].Username)
			}
		}
	}
	for i, t := range c.Teams {
		p := elem("teams", i)
		ps.addAll(p, t.Validate())
		dup(p+".name", "team name", teams, t.Name, "teams", i)
		for k, m := range t.Members {
			user(p+"."+elem("members", k), m)
		}
		ref(p+".escalation", "escalation policy", policies, t.Escalation)
	}
	for i, s := range c.Schedules {
		p := elem("schedules", i)
		ps.addAll(p, s.Validate())
		dup(p+".name", "schedule name", schedules, s.Name, "schedules", i)
		ref(p+".team", "team", teams, s.Team)
		for k, r := range s.Rotations {
			for n, u := range r.Participants {
				user(p+"."+elem("rotations", k)+"."+elem("participants", n), u)
			}
		}
		for k, o := range s.Overrides {
			user(p+"."+elem("overrides", k)+".user", o.User)
		}
	}
	for i, e := range c.Escalations {
		p := elem("escalations", i)
		ps.addAll(p, e.Validate())
		dup(p+".name", "escalation policy name", policies, e.Name, "escalations", i)
		for k, r := range e.Rules {
			q := p + "." + elem("rules", k) + ".notify"
			ref(q+".schedule", "schedule", schedules, r.Notify.Schedule)
			user(q+".user", r.Notify.User)
			ref(q+".team", "team", teams, r.Notify.Team)
		}
	}
	return ps.err()
}

// firstIndex maps each non-empty name to the index of its first occurrence.
func firstIndex(n int, name func(int) string) map[string]int {
	index := make(map[string]int, n)
	for i := range n {
		if s := name(i); s != "" {
			if _, ok := index[s]; !ok {
				index[s] = i
			}
		}
	}
	return index
}
