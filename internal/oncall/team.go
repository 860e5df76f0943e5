package oncall

import "slices"

// Team is a group of users that alerts are routed to. Escalation names the policy an alert routed to the
// team starts; whether the members and the policy exist is checked by Config.Validate.
type Team struct {
	Name       string   `json:"name"`
	Members    []string `json:"members,omitempty"`    // usernames
	Escalation string   `json:"escalation,omitempty"` // escalation policy name
}

// Validate checks t on its own. A team without members is allowed: teams are often created before
// people are added.
func (t Team) Validate() error {
	var ps problems
	checkName(&ps, "name", t.Name)
	for i, m := range t.Members {
		p := elem("members", i)
		if m == "" {
			ps.add(p, "is empty; want a username")
			continue
		}
		if j := slices.Index(t.Members[:i], m); j >= 0 {
			ps.add(p, "duplicate member %q (also members[%d])", m, j)
		}
	}
	return ps.err()
}
