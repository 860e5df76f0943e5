package oncall_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/oncall"
)

func minutes(n int) oncall.Duration { return oncall.Duration(time.Duration(n) * time.Minute) }

func formatSteps(steps []oncall.Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = fmt.Sprintf("%v %s %s %s (rule %d)", s.Delay, s.Contact, s.Method, s.To, s.Rule)
	}
	return out
}

func TestContactNames(t *testing.T) {
	tests := []struct {
		name     string
		contacts []oncall.Contact
		want     []string
	}{
		{"one contact per method is named by its method", []oncall.Contact{{Method: "email"}, {Method: "sms"}, {Method: "voice"}}, []string{"email", "sms", "voice"}},
		{"a second and third contact of a method are numbered from 2", []oncall.Contact{{Method: "sms"}, {Method: "email"}, {Method: "sms"}, {Method: "sms"}}, []string{"sms", "email", "sms-2", "sms-3"}},
		{"no contacts have no names", nil, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := oncall.ContactNames(tc.contacts); !slices.Equal(got, tc.want) {
				t.Errorf("ContactNames = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUserPlan(t *testing.T) {
	alice := oncall.User{
		Username: "alice@example.com",
		Contacts: []oncall.Contact{{Method: "email", To: "alice@example.com"}, {Method: "sms", To: "+4915112345678"}},
		NotificationRules: []oncall.NotificationRule{
			{Contact: "email", Delay: 0}, {Contact: "sms", Delay: minutes(5)},
		},
	}
	twoPhones := oncall.User{
		Username: "bob",
		Contacts: []oncall.Contact{{Method: "sms", To: "+4915100000001"}, {Method: "voice", To: "+4915100000001"}, {Method: "sms", To: "+4915100000002"}},
		NotificationRules: []oncall.NotificationRule{
			{Contact: "voice", Delay: minutes(10)}, {Contact: "sms-2", Delay: minutes(2)}, {Contact: "sms", Delay: minutes(2)}, {Contact: "sms", Delay: 0},
			{Contact: "sms", Delay: minutes(2)},
		},
	}
	tests := []struct {
		name     string
		u        oncall.User
		want     []string
		problems string
	}{
		{"the DESIGN example notifies by email at once and by SMS after five minutes", alice, []string{
			"0s email email alice@example.com (rule 0)",
			"5m0s sms sms +4915112345678 (rule 1)",
		}, ""},
		{"steps are sorted by delay, then rule order, and duplicates are dropped", twoPhones, []string{
			"0s sms sms +4915100000001 (rule 3)",
			"2m0s sms-2 sms +4915100000002 (rule 1)",
			"2m0s sms sms +4915100000001 (rule 2)",
			"10m0s voice voice +4915100000001 (rule 0)",
		}, ""},
		{"a user without rules is notified through every contact at once", oncall.User{
			Username: "carol", Contacts: []oncall.Contact{{Method: "sms", To: "+15555550100"}, {Method: "webhook", To: "https://hooks.example.com/carol"}},
		}, []string{
			"0s sms sms +15555550100 (rule 0)",
			"0s webhook webhook https://hooks.example.com/carol (rule 1)",
		}, ""},
		{"a user without contacts is emailed at the username when it is an address", oncall.User{Username: "dave@example.com"}, []string{
			"0s email email dave@example.com (rule 0)",
		}, ""},
		{"rules may refer to the default email contact", oncall.User{
			Username: "dave@example.com", NotificationRules: []oncall.NotificationRule{{Contact: "email", Delay: minutes(1)}},
		}, []string{
			"1m0s email email dave@example.com (rule 0)",
		}, ""},
		{"a rule naming an unknown contact is skipped and reported, the rest still planned", oncall.User{
			Username:          "erin@example.com",
			NotificationRules: []oncall.NotificationRule{{Contact: "sms", Delay: 0}, {Contact: "email", Delay: minutes(3)}},
		}, []string{
			"3m0s email email erin@example.com (rule 1)",
		}, `notificationRules[0].contact: unknown contact "sms"; this user's contacts are email`},
		{"a user who is not an email address and has no contacts cannot be notified", oncall.User{Username: "frank"}, nil,
			"contacts: no contact to notify"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := tc.u.Plan()
			equalLines(t, formatSteps(steps), tc.want)
			switch {
			case tc.problems == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.problems != "" && (err == nil || err.Error() != tc.problems):
				t.Errorf("error = %v, want %s", err, tc.problems)
			}
		})
	}
}

func TestWithDefaultsDoesNotChangeTheUser(t *testing.T) {
	u := oncall.User{Username: "alice@example.com", Contacts: []oncall.Contact{{Method: "sms", To: "+4915112345678"}}}
	d := u.WithDefaults()
	d.Contacts[0].To = "changed"
	if u.Contacts[0].To != "+4915112345678" || u.Role != "" || u.NotificationRules != nil {
		t.Errorf("WithDefaults changed the original: %+v", u)
	}
	if d.Role != oncall.RoleUser || len(d.NotificationRules) != 1 {
		t.Errorf("defaults not filled in: %+v", d)
	}
}

func formatDue(steps []oncall.StepTime, created time.Time) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = fmt.Sprintf("round %d rule %d at +%v", s.Round, s.Rule, s.Due.Sub(created))
	}
	return out
}

func TestEscalationDue(t *testing.T) {
	created := ts(t, "2026-05-04T10:00:00Z")
	rules := []oncall.EscalationRule{
		{Delay: 0, Notify: oncall.Target{Schedule: "secops-primary"}},
		{Delay: minutes(10), Notify: oncall.Target{User: "bob@example.com"}},
		{Delay: minutes(20), Notify: oncall.Target{Team: "secops"}},
	}
	tests := []struct {
		name string
		p    *oncall.EscalationPolicy
		want []string
	}{
		{"without repeat each rule is due its delay after creation", &oncall.EscalationPolicy{Name: "p", Rules: rules}, []string{
			"round 0 rule 0 at +0s",
			"round 0 rule 1 at +10m0s",
			"round 0 rule 2 at +20m0s",
		}},
		{"the DESIGN example repeats twice, each round starting 30m after the last rule of the previous one",
			&oncall.EscalationPolicy{Name: "p", Rules: rules, Repeat: &oncall.Repeat{After: minutes(30), Times: 2}}, []string{
				"round 0 rule 0 at +0s",
				"round 0 rule 1 at +10m0s",
				"round 0 rule 2 at +20m0s",
				"round 1 rule 0 at +50m0s",
				"round 1 rule 1 at +1h0m0s",
				"round 1 rule 2 at +1h10m0s",
				"round 2 rule 0 at +1h40m0s",
				"round 2 rule 1 at +1h50m0s",
				"round 2 rule 2 at +2h0m0s",
			}},
		{"a single immediate rule repeated every five minutes", &oncall.EscalationPolicy{Name: "p",
			Rules: rules[:1], Repeat: &oncall.Repeat{After: minutes(5), Times: 3}}, []string{
			"round 0 rule 0 at +0s",
			"round 1 rule 0 at +5m0s",
			"round 2 rule 0 at +10m0s",
			"round 3 rule 0 at +15m0s",
		}},
		{"a policy without rules has nothing due", &oncall.EscalationPolicy{Name: "p"}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			equalLines(t, formatDue(tc.p.Due(created), created), tc.want)
		})
	}
}

func TestEscalationDueIsSortedAndBounded(t *testing.T) {
	// Out-of-order delays are a validation problem, but Due must still return a usable, sorted plan,
	// and an unvalidated repeat count must not make it allocate without bound.
	p := &oncall.EscalationPolicy{Name: "p", Rules: []oncall.EscalationRule{
		{Delay: minutes(15), Notify: oncall.Target{User: "a"}},
		{Delay: minutes(5), Notify: oncall.Target{User: "b"}},
	}, Repeat: &oncall.Repeat{After: minutes(1), Times: 1 << 30}}
	created := ts(t, "2026-05-04T10:00:00Z")
	steps := p.Due(created)
	if want := 2 * (1 + oncall.MaxRepeatTimes); len(steps) != want {
		t.Fatalf("%d steps, want %d", len(steps), want)
	}
	if !slices.IsSortedFunc(steps, func(a, b oncall.StepTime) int { return a.Due.Compare(b.Due) }) {
		t.Errorf("steps not sorted by due time:\n%s", strings.Join(formatDue(steps, created), "\n"))
	}
	if got := formatDue(steps[:3], created); !slices.Equal(got, []string{"round 0 rule 1 at +5m0s", "round 0 rule 0 at +15m0s", "round 1 rule 1 at +21m0s"}) {
		t.Errorf("first steps %q", got)
	}
}

func TestTargetsDescribeThemselves(t *testing.T) {
	for _, tc := range []struct {
		target oncall.Target
		want   string
	}{
		{oncall.Target{Schedule: "secops-primary"}, "schedule secops-primary"},
		{oncall.Target{User: "bob@example.com"}, "user bob@example.com"},
		{oncall.Target{Team: "secops"}, "team secops"},
		{oncall.Target{}, "nobody"},
	} {
		if got := tc.target.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.target, got, tc.want)
		}
	}
}
