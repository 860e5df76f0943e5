package web_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/oncall"
)

// profileForm fills the profile form's rows in order; a row is {method, to} or {contact, delay}.
func profileForm(csrf, fullName, timezone string, contacts, rules [][2]string) url.Values {
	f := url.Values{"csrf": {csrf}, "full_name": {fullName}, "timezone": {timezone}}
	for _, c := range contacts {
		f.Add("contact_method", c[0])
		f.Add("contact_to", c[1])
	}
	for _, r := range rules {
		f.Add("rule_contact", r[0])
		f.Add("rule_delay", r[1])
	}
	return f
}

func TestEditingTheProfileSavesContactsAndRulesButNeverTheRole(t *testing.T) {
	env := startWithPeople(t)
	c, csrf := signedInClient(t, env, "alice@example.com")

	res, body := fetch(t, c, "GET", env.URL+"/profile", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Alice Doe") || !strings.Contains(body, "secops") || !strings.Contains(body, `name="contact_to"`) {
		t.Fatalf("the profile page: %d\n%s", res.StatusCode, body)
	}
	form := profileForm(csrf, "Alice Q. Doe", "Europe/Berlin",
		[][2]string{{"email", "alice@example.com"}, {"", ""}, {"sms", "+4915112345678"}},
		[][2]string{{"email", "0s"}, {"sms", "5m"}, {"", ""}})
	form.Set("role", "admin") // not a field of the form; must change nothing
	res, body = fetch(t, c, "POST", env.URL+"/profile", form)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/profile?flash=") {
		t.Fatalf("save: %d → %q\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}
	u, err := env.App.DB.OnCall().User(context.Background(), "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := oncall.User{
		Username: "alice@example.com", FullName: "Alice Q. Doe", Timezone: "Europe/Berlin",
		Contacts:          []oncall.Contact{{Method: oncall.MethodEmail, To: "alice@example.com"}, {Method: oncall.MethodSMS, To: "+4915112345678"}},
		NotificationRules: []oncall.NotificationRule{{Contact: "email"}, {Contact: "sms", Delay: oncall.Duration(5 * time.Minute)}},
	}
	if u.Username != want.Username || u.FullName != want.FullName || u.Timezone != want.Timezone || u.Role != "" ||
		!slices.Equal(u.Contacts, want.Contacts) || !slices.Equal(u.NotificationRules, want.NotificationRules) {
		t.Errorf("saved %+v\nwant  %+v", *u, want)
	}
	_, body = fetch(t, c, "GET", env.URL+"/profile", nil)
	if !strings.Contains(body, `value="+4915112345678"`) && !strings.Contains(body, `value="&#43;4915112345678"`) {
		t.Error("the profile page does not show the saved phone number")
	}
	if !strings.Contains(body, "after 5m0s: sms to") {
		t.Error("the profile page does not show how the user is paged")
	}
}

func TestAProfileTheConfigurationWouldRefuseIsRefusedWithEveryProblemAndTheValuesKept(t *testing.T) {
	env := startWithPeople(t)
	c, csrf := signedInClient(t, env, "bob@example.com")
	for _, tc := range []struct {
		name     string
		timezone string
		contacts [][2]string
		rules    [][2]string
		want     []string
	}{
		{"a phone number that is not E.164", "", [][2]string{{"email", "bob@example.com"}, {"sms", "0151 1234"}}, nil,
			[]string{"Contact row 2: to: &#34;0151 1234&#34; is not a phone number"}},
		{"a rule for a contact that does not exist", "", [][2]string{{"email", "bob@example.com"}}, [][2]string{{"", ""}, {"voice", "1m"}},
			[]string{"Rule row 2: contact: unknown contact &#34;voice&#34;"}},
		{"a delay that is no duration", "", nil, [][2]string{{"email", "soon"}},
			[]string{"Rule row 1: delay &#34;soon&#34; is not a duration"}},
		{"an unknown timezone and a contact without a method", "Mars/Olympus", [][2]string{{"", "bob@example.com"}}, nil,
			[]string{"Timezone: unknown timezone", "Contact row 1: method: is required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := fetch(t, c, "POST", env.URL+"/profile", profileForm(csrf, "Bob Roe", tc.timezone, tc.contacts, tc.rules))
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%d, want 422\n%s", res.StatusCode, body)
			}
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("the page does not say %q\n%s", want, body)
				}
			}
			for _, row := range append(tc.contacts, tc.rules...) {
				if row[1] != "" && !strings.Contains(html.UnescapeString(body), `value="`+row[1]+`"`) {
					t.Errorf("the form lost %q", row[1])
				}
			}
		})
	}
	u, err := env.App.DB.OnCall().User(context.Background(), "bob@example.com")
	if err != nil || len(u.Contacts) != 0 || u.Timezone != "" {
		t.Errorf("a refused profile was saved: %+v, %v", u, err)
	}
}

func TestTheTestNotificationReportsAResultForEachContact(t *testing.T) {
	env := startWithPeople(t)
	var hooks atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hooks.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	c, csrf := signedInClient(t, env, "alice@example.com")
	form := profileForm(csrf, "Alice Doe", "", [][2]string{{"email", "alice@example.com"}, {"webhook", hook.URL + "/page"}}, nil)
	if res, body := fetch(t, c, "POST", env.URL+"/profile", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", res.StatusCode, body)
	}

	res, body := fetch(t, c, "POST", env.URL+"/profile/test", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("test notification: %d\n%s", res.StatusCode, body)
	}
	for _, want := range []string{
		// No SMTP server is configured: no channel serves email.
		`<td data-label="To" class="msg">alice@example.com</td>
      <td data-label="Result" class="msg"><span class="bad">Failed:</span> `,
		"no channel for this contact method",
		`<td data-label="To" class="msg">` + hook.URL + `/page</td>
      <td data-label="Result" class="msg"><span class="ok">Sent</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the results lack %q\n%s", want, body)
		}
	}
	if hooks.Load() != 1 {
		t.Errorf("the webhook was called %d times, want once", hooks.Load())
	}
}

func TestPeopleWhoMayNotEditAProfileSeeNoForm(t *testing.T) {
	env := startWithPeople(t)
	for _, tc := range []struct {
		user, note string
		test       int // the test notification's status
	}{
		{"carol@example.com", "may read but not change the profile", http.StatusOK},
		{"stranger@example.com", "not in the on-call configuration", http.StatusNotFound},
	} {
		t.Run(tc.user, func(t *testing.T) {
			c, csrf := signedInClient(t, env, tc.user)
			res, body := fetch(t, c, "GET", env.URL+"/profile", nil)
			if res.StatusCode != http.StatusOK || !strings.Contains(body, tc.note) || strings.Contains(body, `action="/profile"`) {
				t.Errorf("the profile page: %d, want the note %q and no form\n%s", res.StatusCode, tc.note, body)
			}
			form := profileForm(csrf, "Someone", "", [][2]string{{"email", "x@example.com"}}, nil)
			if res, _ := fetch(t, c, "POST", env.URL+"/profile", form); res.StatusCode != http.StatusForbidden {
				t.Errorf("saving: %d, want 403", res.StatusCode)
			}
			if res, _ := fetch(t, c, "POST", env.URL+"/profile/test", url.Values{"csrf": {csrf}}); res.StatusCode != tc.test {
				t.Errorf("the test notification: %d, want %d", res.StatusCode, tc.test)
			}
		})
	}
}
