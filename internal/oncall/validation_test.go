package oncall_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/oncall"
)

// designConfig is DESIGN.md's `tocsin apply` example (without integrations) written as JSON, with the
// same keys: loading it checks that the struct tags are the YAML contract.
const designConfig = `{
  "users": [
    {"username": "alice@example.com", "fullName": "Alice Doe", "timezone": "Europe/Berlin",
     "contacts": [{"method": "email", "to": "alice@example.com"}, {"method": "sms", "to": "+4915112345678"}],
     "notificationRules": [{"contact": "email", "delay": "0s"}, {"contact": "sms", "delay": "5m"}]},
    {"username": "bob@example.com"}
  ],
  "teams": [{"name": "secops", "members": ["alice@example.com", "bob@example.com"], "escalation": "secops-escalation"}],
  "schedules": [{
    "name": "secops-primary", "team": "secops", "timezone": "Europe/Berlin",
    "rotations": [{"name": "weekly", "type": "weekly", "length": 1, "start": "2026-01-05T09:00:00+01:00",
      "participants": ["alice@example.com", "bob@example.com"],
      "restrictions": [{"kind": "weekday-and-time", "from": "mon 09:00", "to": "fri 18:00"}]}],
    "overrides": [{"user": "bob@example.com", "from": "2026-12-24T00:00:00+01:00", "to": "2026-12-27T00:00:00+01:00"}]
  }],
  "escalations": [{
    "name": "secops-escalation",
    "rules": [
      {"delay": "0s", "notify": {"schedule": "secops-primary"}},
      {"delay": "10m", "notify": {"user": "bob@example.com"}},
      {"delay": "20m", "notify": {"team": "secops"}}
    ],
    "repeat": {"after": "30m", "times": 2}
  }]
}`

func loadDesign(t *testing.T) oncall.Config {
	t.Helper()
	var c oncall.Config
	dec := json.NewDecoder(strings.NewReader(designConfig))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("decoding the DESIGN example: %v", err)
	}
	return c
}

func TestTheDesignExampleIsValid(t *testing.T) {
	c := loadDesign(t)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate:\n%v", err)
	}
	if got := c.Users[0].NotificationRules[1].Delay.Std(); got != 5*time.Minute {
		t.Errorf("sms delay %v, want 5m", got)
	}
	if got := c.Escalations[0].Repeat.After.Std(); got != 30*time.Minute {
		t.Errorf("repeat after %v, want 30m", got)
	}
	// Marshalling and loading again gives the same configuration, so the API can serve what apply reads.
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var again oncall.Config
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(again)
	if string(b) != string(b2) {
		t.Errorf("round trip changed the configuration:\n%s\n%s", b, b2)
	}
}

// problemsOf returns the problem lines of err, which must be Problems.
func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ps oncall.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %T is not Problems: %v", err, err)
	}
	return strings.Split(ps.Error(), "\n")
}

func TestConfigValidationReportsEveryProblemWithItsLocation(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *oncall.Config)
		want   []string
	}{
		{"a misspelt rotation participant is reported at its exact position", func(c *oncall.Config) {
			c.Schedules[0].Rotations = append(c.Schedules[0].Rotations, oncall.Rotation{
				Name: "second", Type: oncall.Daily, Start: c.Schedules[0].Rotations[0].Start,
				Participants: []string{"alice@example.com", "bob@example.com", "bbo@example.com"}})
		}, []string{`schedules[0].rotations[1].participants[2]: unknown user "bbo@example.com"`}},
		{"a reference that differs only in case names the intended user", func(c *oncall.Config) {
			c.Teams[0].Members[0] = "Alice@example.com"
		}, []string{`teams[0].members[0]: unknown user "Alice@example.com" (did you mean "alice@example.com"?)`}},
		{"unknown references of every kind are all reported", func(c *oncall.Config) {
			c.Teams[0].Escalation = "secops-escalaton"
			c.Schedules[0].Team = "sec-ops"
			c.Schedules[0].Overrides[0].User = "carol@example.com"
			c.Escalations[0].Rules[0].Notify.Schedule = "secops-secondary"
			c.Escalations[0].Rules[1].Notify.User = "bob@example.org"
			c.Escalations[0].Rules[2].Notify.Team = "secopz"
		}, []string{
			`teams[0].escalation: unknown escalation policy "secops-escalaton"`,
			`schedules[0].team: unknown team "sec-ops"`,
			`schedules[0].overrides[0].user: unknown user "carol@example.com"`,
			`escalations[0].rules[0].notify.schedule: unknown schedule "secops-secondary"`,
			`escalations[0].rules[1].notify.user: unknown user "bob@example.org"`,
			`escalations[0].rules[2].notify.team: unknown team "secopz"`,
		}},
		{"duplicate names of every kind are reported at the later entry", func(c *oncall.Config) {
			c.Users = append(c.Users, oncall.User{Username: "bob@example.com"}, oncall.User{Username: "ALICE@example.com"})
			c.Teams = append(c.Teams, c.Teams[0])
			c.Schedules = append(c.Schedules, c.Schedules[0])
			c.Escalations = append(c.Escalations, c.Escalations[0])
		}, []string{
			`users[2].username: duplicate username "bob@example.com" (first at users[1])`,
			`users[3].username: duplicate username "ALICE@example.com": differs only in case from users[0] "alice@example.com"`,
			`teams[1].name: duplicate team name "secops" (first at teams[0])`,
			`schedules[1].name: duplicate schedule name "secops-primary" (first at schedules[0])`,
			`escalations[1].name: duplicate escalation policy name "secops-escalation" (first at escalations[0])`,
		}},
		{"problems inside values and between them are reported together", func(c *oncall.Config) {
			c.Users[0].Timezone = "Europe/Berln"
			c.Users[0].Contacts[1].To = "015112345678"
			c.Schedules[0].Timezone = "CET+1"
			c.Schedules[0].Rotations[0].Participants = nil
			c.Schedules[0].Rotations[0].Restrictions[0].To = "fri 18"
			c.Schedules[0].Overrides[0].To = c.Schedules[0].Overrides[0].From.Add(-time.Hour)
			c.Escalations[0].Rules[2].Notify.User = "alice@example.com"
			c.Escalations[0].Repeat.Times = 0
		}, []string{
			`users[0].timezone: unknown timezone "Europe/Berln"; want an IANA name such as Europe/Berlin or UTC`,
			`users[0].contacts[1].to: "015112345678" is not a phone number in E.164 form, such as +4915112345678`,
			`schedules[0].timezone: unknown timezone "CET+1"; want an IANA name such as Europe/Berlin or UTC`,
			`schedules[0].rotations[0].participants: a rotation needs at least one participant`,
			`schedules[0].rotations[0].restrictions[0].to: "fri 18" does not end with a time of day; want HH:MM from 00:00 to 23:59`,
			`schedules[0].overrides[0].to: 2026-12-23T23:00:00+01:00 is not after from 2026-12-24T00:00:00+01:00`,
			`escalations[0].rules[2].notify: set exactly one of schedule, user or team, not user and team`,
			`escalations[0].repeat.times: must be 1 to 20, got 0`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := loadDesign(t)
			tc.change(&c)
			equalLines(t, problemsOf(t, c.Validate()), tc.want)
		})
	}
}

func TestValuesValidateOnTheirOwn(t *testing.T) {
	start := ts(t, "2026-01-05T09:00:00+01:00")
	tests := []struct {
		name string
		v    interface{ Validate() error }
		want []string
	}{
		{"a user needs a username", oncall.User{Contacts: []oncall.Contact{{Method: "email", To: "x@example.com"}}}, []string{
			"username: is required"}},
		{"a username may not contain spaces", oncall.User{Username: "alice smith", Contacts: []oncall.Contact{{Method: "email", To: "x@example.com"}}}, []string{
			`username: "alice smith" contains a space, a control character or a slash`}},
		{"a role must be admin, user or readonly", oncall.User{Username: "a@example.com", Role: "owner"}, []string{
			`role: unknown role "owner"; want admin, user or readonly`}},
		{"the Local timezone is refused as machine-dependent", oncall.User{Username: "a@example.com", Timezone: "Local"}, []string{
			`timezone: "Local" is not a timezone; want an IANA name such as Europe/Berlin or UTC`}},
		{"contacts are checked against their method", oncall.User{Username: "a@example.com", Contacts: []oncall.Contact{
			{Method: "email", To: "a.example.com"}, {Method: "voice", To: "+0123456789"}, {Method: "webhook", To: "ftp://x"},
			{Method: "pigeon", To: "roof"}, {Method: "sms"},
		}}, []string{
			`contacts[0].to: "a.example.com" is not an email address`,
			`contacts[1].to: "+0123456789" is not a phone number in E.164 form, such as +4915112345678`,
			`contacts[2].to: "ftp://x" is not an http or https URL`,
			`contacts[3].method: unknown method "pigeon"; want email, sms, voice or webhook`,
			`contacts[4].to: is required`,
		}},
		{"a duplicate contact is reported", oncall.User{Username: "a@example.com", Contacts: []oncall.Contact{
			{Method: "sms", To: "+4915112345678"}, {Method: "sms", To: "+4915112345678"}}}, []string{
			`contacts[1]: duplicate of contacts[0]`}},
		{"rules must name a contact by its position name", oncall.User{Username: "a@example.com",
			Contacts:          []oncall.Contact{{Method: "sms", To: "+4915112345678"}, {Method: "sms", To: "+4915112345679"}},
			NotificationRules: []oncall.NotificationRule{{Contact: "sms-2"}, {Contact: "sms-1"}, {Contact: "email"}, {Contact: "", Delay: -1}, {Contact: "sms-2"}},
		}, []string{
			`notificationRules[1].contact: unknown contact "sms-1"; this user's contacts are sms, sms-2`,
			`notificationRules[2].contact: unknown contact "email"; this user's contacts are sms, sms-2`,
			`notificationRules[3].contact: is required: the name of a contact, such as email or sms-2`,
			`notificationRules[3].delay: -1ns is negative`,
			`notificationRules[4]: duplicate of notificationRules[0]`,
		}},
		{"a user who cannot be reached is reported", oncall.User{Username: "bob"}, []string{
			`contacts: no contact to notify; add one (a username that is an email address gets an email contact by default)`}},
		{"a team needs a name and distinct members", oncall.Team{Members: []string{"a", "", "a"}}, []string{
			`name: is required`, `members[1]: is empty; want a username`, `members[2]: duplicate member "a" (also members[0])`}},
		{"names may not carry spaces at their ends or slashes", oncall.Team{Name: " ops/sec"}, []string{
			`name: " ops/sec" has leading or trailing spaces`}},
		{"a schedule needs a timezone", oncall.Schedule{Name: "s"}, []string{
			`timezone: is required (an IANA name such as Europe/Berlin), because hand-offs and restrictions are wall-clock times`}},
		{"rotation names are unique within a schedule", oncall.Schedule{Name: "s", Timezone: "UTC", Rotations: []oncall.Rotation{
			rot("r", oncall.Daily, 1, start, "a"), rot("r", oncall.Daily, 1, start, "b")}}, []string{
			`rotations[1].name: duplicate rotation name "r" (also rotations[0])`}},
		{"overlapping overrides of the same user are reported, of different users not", oncall.Schedule{Name: "s", Timezone: "UTC", Overrides: []oncall.Override{
			{User: "a", From: start, To: start.Add(4 * time.Hour)},
			{User: "b", From: start.Add(time.Hour), To: start.Add(5 * time.Hour)},
			{User: "a", From: start.Add(3 * time.Hour), To: start.Add(6 * time.Hour)},
			{User: "a", From: start.Add(6 * time.Hour), To: start.Add(7 * time.Hour)},
			{User: "a", From: start.Add(8 * time.Hour), To: start.Add(8 * time.Hour)},
			{From: time.Time{}, To: time.Time{}},
		}}, []string{
			`overrides[2]: overlaps overrides[0] for the same user "a"`,
			`overrides[4].to: 2026-01-05T17:00:00+01:00 is not after from 2026-01-05T17:00:00+01:00`,
			`overrides[5].user: is required`,
			`overrides[5].from: is required`,
			`overrides[5].to: is required`,
		}},
		{"a rotation needs a name, type, start and participants", oncall.Rotation{}, []string{
			`name: is required`, `type: is required: hourly, daily, weekly or custom`, `start: is required`,
			`participants: a rotation needs at least one participant`}},
		{"a rotation type must be known and its length sensible", oncall.Rotation{Name: "r", Type: "monthly", Start: start, Participants: []string{"a", ""}}, []string{
			`type: unknown type "monthly"; want hourly, daily, weekly or custom`, `participants[1]: is empty; want a username`}},
		{"a length must not be negative or huge", oncall.Schedule{Name: "s", Timezone: "UTC", Rotations: []oncall.Rotation{
			rot("r", oncall.Daily, -1, start, "a"), rot("q", oncall.Weekly, 10001, start, "a")}}, []string{
			`rotations[0].length: -1 is negative`, `rotations[1].length: 10001 is more than 10000`}},
		{"a custom rotation uses every, not length", oncall.Rotation{Name: "r", Type: oncall.Custom, Length: 2, Every: oncall.Duration(time.Second), Start: start, Participants: []string{"a"}}, []string{
			`length: is not used by custom rotations; set every to the shift length, such as 36h`,
			`every: a custom rotation needs every of at least 1m0s, got 1s`}},
		{"every is only for custom rotations", oncall.Rotation{Name: "r", Type: oncall.Hourly, Every: oncall.Duration(time.Hour), Start: start, Participants: []string{"a"}}, []string{
			`every: is only for custom rotations; hourly rotations use length`}},
		{"a start beyond the year 9999 is refused", oncall.Rotation{Name: "r", Type: oncall.Hourly, Start: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Participants: []string{"a"}}, []string{
			`start: 10000-01-01 00:00:00 +0000 UTC is outside the years 1 to 9999`}},
		{"a policy needs rules", oncall.EscalationPolicy{Name: "p"}, []string{`rules: an escalation policy needs at least one rule`}},
		{"policy rules must be in order of delay and target someone", oncall.EscalationPolicy{Name: "p", Rules: []oncall.EscalationRule{
			{Delay: minutes(10), Notify: oncall.Target{User: "a"}},
			{Delay: minutes(5), Notify: oncall.Target{User: "b"}},
			{Delay: -1},
		}, Repeat: &oncall.Repeat{After: 0, Times: 21}}, []string{
			`rules[1].delay: 5m0s is before the previous rule's 10m0s; delays count from the start, so list rules in order`,
			`rules[2].delay: -1ns is negative`,
			`rules[2].notify: set one of schedule, user or team`,
			`repeat.after: must be positive, got 0s`,
			`repeat.times: must be 1 to 20, got 21`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			equalLines(t, problemsOf(t, tc.v.Validate()), tc.want)
		})
	}
}

func TestValidValuesHaveNoProblems(t *testing.T) {
	// A nil error, not an empty Problems: `if err != nil` must mean "invalid".
	for name, v := range map[string]interface{ Validate() error }{
		"user":     oncall.User{Username: "a@example.com"},
		"team":     oncall.Team{Name: "t"},
		"schedule": oncall.Schedule{Name: "s", Timezone: "UTC"},
		"config":   oncall.Config{},
	} {
		if err := v.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestProblemsAreErrors(t *testing.T) {
	err := oncall.Config{Teams: []oncall.Team{{Name: "t", Members: []string{"ghost"}}}}.Validate()
	var p oncall.Problem
	if !errors.As(err, &p) || p.Path != "teams[0].members[0]" || p.Msg != `unknown user "ghost"` {
		t.Errorf("errors.As(Problem) = %+v from %v", p, err)
	}
	if got := (oncall.Problem{Msg: "whole"}).Error(); got != "whole" {
		t.Errorf("a problem without a path formats as %q", got)
	}
}

func TestDurationEncoding(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Duration
		err  string
	}{
		{"a Go duration string is read", `"1h30m"`, 90 * time.Minute, ""},
		{"zero seconds is read", `"0s"`, 0, ""},
		{"a bare zero is read", `0`, 0, ""},
		{"a bare number other than zero is refused as ambiguous", `300`, 0, `invalid duration 300: write it with a unit, such as "5m"`},
		{"a string without a unit is refused", `"300"`, 0, `invalid duration "300": want a Go duration such as 0s, 5m or 1h30m`},
		{"an object is refused", `{}`, 0, `invalid duration {}: want a string such as "5m"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d oncall.Duration
			err := json.Unmarshal([]byte(tc.in), &d)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil || d.Std() != tc.want {
				t.Fatalf("got %v, %v; want %v", d, err, tc.want)
			}
		})
	}
	b, err := json.Marshal(struct{ D oncall.Duration }{oncall.Duration(5 * time.Minute)})
	if err != nil || string(b) != `{"D":"5m0s"}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	var d oncall.Duration
	if err := d.UnmarshalText([]byte("10m")); err != nil || d.Std() != 10*time.Minute {
		t.Errorf("UnmarshalText(10m) = %v, %v", d, err)
	}
	if text, err := d.MarshalText(); err != nil || string(text) != "10m0s" {
		t.Errorf("MarshalText = %s, %v", text, err)
	}
}
