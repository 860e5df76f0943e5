package oncall

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Role is what a user may do in tocsin, as in Opsgenie.
type Role string

// The roles. An empty Role means RoleUser, the least surprising default for a person added to a team.
const (
	RoleAdmin    Role = "admin"
	RoleUser     Role = "user"
	RoleReadonly Role = "readonly"
)

// Valid reports whether r is one of the three roles (the empty default is not a role until WithDefaults).
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleUser, RoleReadonly:
		return true
	}
	return false
}

// ContactMethod is the channel type a contact is reached by. Delivery lives in internal/notify; this
// package only names the channel.
type ContactMethod string

// The contact methods.
const (
	MethodEmail   ContactMethod = "email"
	MethodSMS     ContactMethod = "sms"
	MethodVoice   ContactMethod = "voice"
	MethodWebhook ContactMethod = "webhook"
)

// Valid reports whether m is a known method.
func (m ContactMethod) Valid() bool {
	switch m {
	case MethodEmail, MethodSMS, MethodVoice, MethodWebhook:
		return true
	}
	return false
}

// User is a person who can be on call. Username is unique (usually an email address) and is how teams,
// rotations, overrides and escalation rules refer to the user.
type User struct {
	Username          string             `json:"username"`
	FullName          string             `json:"fullName,omitempty"`
	Timezone          string             `json:"timezone,omitempty"` // IANA name, for display; schedules have their own
	Role              Role               `json:"role,omitempty"`     // default RoleUser
	Contacts          []Contact          `json:"contacts,omitempty"`
	NotificationRules []NotificationRule `json:"notificationRules,omitempty"`
}

// Contact is one way to reach a user. Contacts have no name field; they are named by position, see
// ContactNames.
type Contact struct {
	Method ContactMethod `json:"method"`
	To     string        `json:"to"` // email address, E.164 phone number, or http(s) URL
}

// NotificationRule says: notify the contact named Contact (see ContactNames) Delay after the user is
// paged for an alert.
type NotificationRule struct {
	Contact string   `json:"contact"`
	Delay   Duration `json:"delay"`
}

// ContactNames returns the name of each contact, in order. A contact is named by its method ("email",
// "sms"); the second, third, ... contact of the same method is "sms-2", "sms-3". Names are positional so
// that a YAML file needs no extra key for the common case of one contact per method; reordering or
// removing contacts of the same method renames the later ones, and rules follow the names.
func ContactNames(contacts []Contact) []string {
	names := make([]string, len(contacts))
	seen := make(map[ContactMethod]int)
	for i, c := range contacts {
		seen[c.Method]++
		if n := seen[c.Method]; n > 1 {
			names[i] = fmt.Sprintf("%s-%d", c.Method, n)
		} else {
			names[i] = string(c.Method)
		}
	}
	return names
}

// WithDefaults returns a copy of u with the documented defaults filled in: role "user"; when there are
// no contacts and the username looks like an email address, an email contact to the username (the
// username is usually the address people expect to be paged at); when there are no notification rules,
// every contact at delay 0 (paging that reaches nobody is worse than paging everywhere at once). The copy
// shares no slices with u.
func (u User) WithDefaults() User {
	if u.Role == "" {
		u.Role = RoleUser
	}
	u.Contacts = slices.Clone(u.Contacts)
	if len(u.Contacts) == 0 && looksLikeEmail(u.Username) {
		u.Contacts = []Contact{{Method: MethodEmail, To: u.Username}}
	}
	u.NotificationRules = slices.Clone(u.NotificationRules)
	if len(u.NotificationRules) == 0 {
		for _, name := range ContactNames(u.Contacts) {
			u.NotificationRules = append(u.NotificationRules, NotificationRule{Contact: name})
		}
	}
	return u
}

// Validate checks u on its own (references to u from teams or schedules are Config's job). Paths are
// relative to the user: "contacts[1].to".
func (u User) Validate() error {
	var ps problems
	checkUsername(&ps, "username", u.Username)
	if u.Timezone != "" {
		if _, err := loadLocation(u.Timezone); err != nil {
			ps.add("timezone", "%v", err)
		}
	}
	if u.Role != "" && !u.Role.Valid() {
		ps.add("role", "unknown role %q; want admin, user or readonly", u.Role)
	}
	for i, c := range u.Contacts {
		p := elem("contacts", i)
		ps.addAll(p, c.Validate())
		if j := slices.Index(u.Contacts[:i], c); j >= 0 && c.To != "" {
			ps.add(p, "duplicate of contacts[%d]", j)
		}
	}
	eff := u.WithDefaults()
	if len(eff.Contacts) == 0 {
		ps.add("contacts", "no contact to notify; add one (a username that is an email address gets an email contact by default)")
	}
	names := ContactNames(eff.Contacts)
	for i, r := range u.NotificationRules {
		p := elem("notificationRules", i)
		ps.addAll(p, r.Validate())
		if r.Contact != "" && !slices.Contains(names, r.Contact) {
			ps.add(p+".contact", "unknown contact %q; %s", r.Contact, describeNames(names))
		}
		if j := slices.Index(u.NotificationRules[:i], r); j >= 0 {
			ps.add(p, "duplicate of notificationRules[%d]", j)
		}
	}
	return ps.err()
}

func describeNames(names []string) string {
	if len(names) == 0 {
		return "this user has no contacts"
	}
	return "this user's contacts are " + strings.Join(names, ", ")
}

// Validate checks the method and that To is an address that method can deliver to, so a typo is found
// when the configuration is applied rather than when someone needs to be woken up.
func (c Contact) Validate() error {
	var ps problems
	switch {
	case c.Method == "":
		ps.add("method", "is required: email, sms, voice or webhook")
	case !c.Method.Valid():
		ps.add("method", "unknown method %q; want email, sms, voice or webhook", c.Method)
	}
	switch {
	case c.To == "":
		ps.add("to", "is required")
	case c.Method == MethodEmail && !looksLikeEmail(c.To):
		ps.add("to", "%q is not an email address", c.To)
	case (c.Method == MethodSMS || c.Method == MethodVoice) && !isE164(c.To):
		ps.add("to", "%q is not a phone number in E.164 form, such as +4915112345678", c.To)
	case c.Method == MethodWebhook && !isHTTPURL(c.To):
		ps.add("to", "%q is not an http or https URL", c.To)
	}
	return ps.err()
}

// Validate checks the rule on its own; whether Contact names one of the user's contacts is checked by
// User.Validate, which knows the contacts.
func (r NotificationRule) Validate() error {
	var ps problems
	if r.Contact == "" {
		ps.add("contact", "is required: the name of a contact, such as email or sms-2")
	}
	if r.Delay < 0 {
		ps.add("delay", "%v is negative", r.Delay)
	}
	return ps.err()
}

// Step is one notification in a user's plan: reach the contact named Contact (Method, To) Delay after
// the user is paged. Rule is the index of the notification rule it comes from, in the user's rules after
// WithDefaults.
type Step struct {
	Rule    int           `json:"rule"`
	Contact string        `json:"contact"`
	Method  ContactMethod `json:"method"`
	To      string        `json:"to"`
	Delay   Duration      `json:"delay"`
}

// Plan lists how the user is notified when paged: one step per notification rule (after WithDefaults),
// sorted by delay and, for equal delays, in rule order. Identical rules give one step.
//
// A rule Plan cannot follow (unknown contact, negative delay) is left out and reported in the returned
// error, together with every step it could build: an alerting system should page through the rules
// that work and log the broken one, not go silent because of it. Plan returns an error and no steps when
// the user has nothing to be notified through.
func (u *User) Plan() ([]Step, error) {
	if u == nil {
		return nil, Problem{Msg: "no user"}
	}
	eff := u.WithDefaults()
	names := ContactNames(eff.Contacts)
	var ps problems
	var steps []Step
	for i, r := range eff.NotificationRules {
		p := elem("notificationRules", i)
		j := slices.Index(names, r.Contact)
		switch {
		case j < 0:
			ps.add(p+".contact", "unknown contact %q; %s", r.Contact, describeNames(names))
			continue
		case r.Delay < 0:
			ps.add(p+".delay", "%v is negative", r.Delay)
			continue
		case slices.ContainsFunc(steps, func(s Step) bool { return s.Contact == r.Contact && s.Delay == r.Delay }):
			continue
		}
		c := eff.Contacts[j]
		steps = append(steps, Step{Rule: i, Contact: r.Contact, Method: c.Method, To: c.To, Delay: r.Delay})
	}
	if len(steps) == 0 && len(ps.list) == 0 {
		ps.add("contacts", "no contact to notify")
	}
	slices.SortStableFunc(steps, func(a, b Step) int { return cmp.Compare(a.Delay, b.Delay) })
	return steps, ps.err()
}

// looksLikeEmail is a deliberately loose check (local@domain, no spaces or address punctuation): it
// decides whether the username can be the default email contact and catches typos such as a missing
// "@"; the mail server is the real judge of an address.
func looksLikeEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`<>()[],;:"\`, r)
	})
}

// isE164 accepts "+" and 7 to 15 digits, the form SMS and voice providers (Twilio) require; asking for
// it up front avoids guessing a country code for "0151 1234".
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// checkUsername: usernames appear in paths, logs and API URLs, so they may not contain spaces, control
// characters or slashes.
func checkUsername(ps *problems, path, name string) {
	switch {
	case name == "":
		ps.add(path, "is required")
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' }):
		ps.add(path, "%q contains a space, a control character or a slash", name)
	}
}

// maxNameRunes bounds names of teams, schedules, rotations and policies; Opsgenie uses the same limit
// and longer names only break layouts and URLs.
const maxNameRunes = 100

// checkName: names are identifiers people type and that appear in API paths (/api/schedules/{name}), so
// they may not have surrounding spaces, control characters or slashes.
func checkName(ps *problems, path, name string) {
	switch {
	case name == "":
		ps.add(path, "is required")
	case strings.TrimSpace(name) != name:
		ps.add(path, "%q has leading or trailing spaces", name)
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || r == '/' }):
		ps.add(path, "%q contains a control character or a slash", name)
	case utf8.RuneCountInString(name) > maxNameRunes:
		ps.add(path, "is longer than %d characters", maxNameRunes)
	}
}

// loadLocation loads an IANA timezone. "Local" is refused because it means whatever machine tocsin
// happens to run on, and "" because UTC by accident is a classic source of 1-hour-late pages.
func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("%q is not a timezone; want an IANA name such as Europe/Berlin or UTC", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown timezone %q; want an IANA name such as Europe/Berlin or UTC", name)
	}
	return loc, nil
}
