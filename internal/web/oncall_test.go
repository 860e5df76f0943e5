package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/oncall"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
)

// berlinTomorrow is hour:00 tomorrow in the schedule's timezone.
func berlinTomorrow(t *testing.T, hour int) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	d := time.Now().In(loc).AddDate(0, 0, 1)
	return time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, loc)
}

// onCallAt asks the stored configuration who is on call for the schedule.
func onCallAt(t *testing.T, env *servertest.Env, schedule string, at time.Time) []string {
	t.Helper()
	cfg, err := env.App.DB.OnCall().Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(cfg.Schedules, func(s oncall.Schedule) bool { return s.Name == schedule })
	if i < 0 {
		t.Fatalf("no schedule %s", schedule)
	}
	users, err := cfg.Schedules[i].OnCall(at)
	if err != nil {
		t.Fatal(err)
	}
	return users
}

func overrideForm(csrf, user string, from, to time.Time) url.Values {
	return url.Values{"csrf": {csrf}, "user": {user}, "from": {from.Format("2006-01-02T15:04")}, "to": {to.Format("2006-01-02T15:04")}}
}

func TestTheOnCallPageShowsWhoIsOnCallNowTheNextTwoWeeksAndTheConfigurationReadOnly(t *testing.T) {
	env := startWithPeople(t)
	c, _ := signedInClient(t, env, "alice@example.com")

	res, body := fetch(t, c, "GET", env.URL+"/oncall", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /oncall: %d", res.StatusCode)
	}
	for _, want := range []string{
		"<strong>On call now:</strong>\n  alice@example.com",
		`<span class="w100" title="00:00–24:00 alice@example.com">`, // a whole day of alice in the bar
		`action="/oncall/secops-primary/overrides"`,                 // alice is in the schedule's team
		"escalation: secops-escalation",                             // the team's YAML
		`data-copy="#team-yaml-0"`, `data-copy="#policy-yaml-0"`,
		"after 10m0s: every member of team secops",
		"tocsin apply",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(body, `<th scope="row"`); n != 14 {
		t.Errorf("the timeline has %d days, want 14", n)
	}
}

func TestAddingAnOverrideChangesWhoIsOnCallAtThatTime(t *testing.T) {
	env := startWithPeople(t)
	c, csrf := signedInClient(t, env, "bob@example.com")
	from, to := berlinTomorrow(t, 10), berlinTomorrow(t, 12)

	if got := onCallAt(t, env, "secops-primary", from.Add(time.Hour)); !slices.Equal(got, []string{"alice@example.com"}) {
		t.Fatalf("before the override %v is on call, want alice", got)
	}
	res, body := fetch(t, c, "POST", env.URL+"/oncall/secops-primary/overrides", overrideForm(csrf, "bob@example.com", from, to))
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/oncall?flash=") {
		t.Fatalf("add override: %d → %q\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{from.Add(-time.Minute), "alice@example.com"},
		{from, "bob@example.com"},
		{from.Add(time.Hour), "bob@example.com"},
		{to, "alice@example.com"},
	} {
		if got := onCallAt(t, env, "secops-primary", tc.at); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("at %s %v is on call, want %s", tc.at.Format(time.RFC3339), got, tc.want)
		}
	}
	_, body = fetch(t, c, "GET", env.URL+"/oncall", nil)
	if !strings.Contains(body, `<span class="mono">10:00–12:00</span> bob@example.com <span class="badge override-badge">override</span>`) {
		t.Errorf("the timeline does not show the override\n%s", body)
	}
}

func TestAdminsAndTheScheduleTeamMayAddOverridesOthersMayNot(t *testing.T) {
	env := startWithPeople(t)
	for i, tc := range []struct {
		user   string
		status int
	}{
		{"admin@example.com", http.StatusSeeOther},
		{"alice@example.com", http.StatusSeeOther},
		{"carol@example.com", http.StatusForbidden}, // in the team, but read-only
		{"dave@example.com", http.StatusForbidden},  // in another team
		{"stranger@example.com", http.StatusForbidden},
	} {
		t.Run(tc.user, func(t *testing.T) {
			c, csrf := signedInClient(t, env, tc.user)
			from := berlinTomorrow(t, 0).AddDate(0, 0, i)
			res, body := fetch(t, c, "POST", env.URL+"/oncall/secops-primary/overrides", overrideForm(csrf, "bob@example.com", from, from.Add(time.Hour)))
			if res.StatusCode != tc.status {
				t.Fatalf("%d, want %d\n%s", res.StatusCode, tc.status, body)
			}
			_, body = fetch(t, c, "GET", env.URL+"/oncall", nil)
			if hasForm := strings.Contains(body, `action="/oncall/secops-primary/overrides"`); hasForm != (tc.status == http.StatusSeeOther) {
				t.Errorf("the page offers the override form: %v", hasForm)
			}
		})
	}
}

func TestAnOverrideTheScheduleWouldRefuseIsRefusedWithTheReason(t *testing.T) {
	env := startWithPeople(t)
	c, csrf := signedInClient(t, env, "admin@example.com")
	from, to := berlinTomorrow(t, 10), berlinTomorrow(t, 12)
	if res, _ := fetch(t, c, "POST", env.URL+"/oncall/secops-primary/overrides", overrideForm(csrf, "bob@example.com", from, to)); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the first override: %d", res.StatusCode)
	}
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"an end before the start", overrideForm(csrf, "alice@example.com", to, from), "is not after from"},
		{"an unknown user", overrideForm(csrf, "mallory@example.com", from, to), `unknown user &#34;mallory@example.com&#34;`},
		{"an overlap with the same user's override", overrideForm(csrf, "bob@example.com", from.Add(time.Hour), to.Add(time.Hour)), "overlaps overrides[0]"},
		{"a start that is no time", url.Values{"csrf": {csrf}, "user": {"alice@example.com"}, "from": {"tomorrow"}, "to": {"2030-01-01T10:00"}}, "is not a date and time"},
		{"no end", url.Values{"csrf": {csrf}, "user": {"alice@example.com"}, "from": {"2030-01-01T10:00"}}, "To is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := fetch(t, c, "POST", env.URL+"/oncall/secops-primary/overrides", tc.form)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) {
				t.Fatalf("%d, want 422 saying %q\n%s", res.StatusCode, tc.want, body)
			}
			if from := tc.form.Get("from"); !strings.Contains(body, `value="`+from+`"`) {
				t.Errorf("the form lost the start %q", from)
			}
		})
	}
	if got := onCallAt(t, env, "secops-primary", from.Add(30*time.Minute)); !slices.Equal(got, []string{"bob@example.com"}) {
		t.Errorf("after the refusals %v is on call, want only the first override's bob", got)
	}
	if res, _ := fetch(t, c, "POST", env.URL+"/oncall/no-such-schedule/overrides", overrideForm(csrf, "bob@example.com", from, to)); res.StatusCode != http.StatusNotFound {
		t.Errorf("an override of a schedule that does not exist: %d, want 404", res.StatusCode)
	}
}
