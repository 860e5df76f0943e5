package web_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/server"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// alertPeople are the people of the alert page tests: an admin, a user of each of two teams (alice
// is paged by webhook at %s), and a readonly auditor.
const alertPeople = `
users:
  - username: admin@example.com
    role: admin
  - username: alice@example.com
    contacts: [{method: webhook, to: "%s"}]
  - username: bob@example.com
  - username: audit@example.com
    role: readonly
teams:
  - name: secops
    members: [alice@example.com]
  - name: dbteam
    members: [bob@example.com]
`

const alertPassword = "correct horse battery staple"

// alertBrowser is one signed-in person's browser: cookies, the CSRF token, no redirects followed.
type alertBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var alertCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func signInToAlerts(t *testing.T, env *servertest.Env, username string) *alertBrowser {
	t.Helper()
	if err := env.App.SignIn.SetPassword(context.Background(), username, alertPassword); err != nil {
		t.Fatal(err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &alertBrowser{t: t, base: env.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	res, _ := b.do("POST", "/login", url.Values{"username": {username}, "password": {alertPassword}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d", username, res.StatusCode)
	}
	res, body := b.do("GET", "/alerts", nil, nil)
	m := alertCSRF.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("the alert list after signing in as %s: %d, CSRF token found: %v", username, res.StatusCode, m != nil)
	}
	b.csrf = m[1]
	return b
}

func (b *alertBrowser) do(method, path string, form url.Values, header http.Header) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, string(out)
}

func (b *alertBrowser) get(path string) (int, string) {
	b.t.Helper()
	res, body := b.do("GET", path, nil, nil)
	return res.StatusCode, body
}

// post sends a form with the CSRF token, as the page's forms do.
func (b *alertBrowser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	f := url.Values{"csrf": {b.csrf}}
	for k, v := range form {
		f[k] = v
	}
	return b.do("POST", path, f, nil)
}

func alertsCreate(t *testing.T, env *servertest.Env, o alert.Origin, req alert.CreateRequest) *alert.Alert {
	t.Helper()
	res, err := env.App.Alerts.Create(context.Background(), o, req)
	if err != nil {
		t.Fatal(err)
	}
	return res.Alert
}

func alertsGet(t *testing.T, env *servertest.Env, a *alert.Alert) *alert.Alert {
	t.Helper()
	got, err := env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByID, Value: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func alertsURL(a *alert.Alert) string { return "/alerts/" + strconv.FormatInt(a.TinyID, 10) }

var alertsByAPI = alert.Origin{Actor: alert.Actor{Kind: alert.ActorIntegration, ID: "api", Name: "test", Type: "api"}}

func alertsForSecops(message string, p alert.Priority) alert.CreateRequest {
	return alert.CreateRequest{Message: message, Priority: p, Responders: []alert.Responder{{Type: "team", Name: "secops"}}}
}

func TestTheAlertPagesListShowAndChangeAlertsForThePeopleAllowedTo(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer hook.Close()
	env := servertest.StartWith(t, server.Config{Database: storetest.SQLite(t)})
	env.Apply(t, fmt.Sprintf(alertPeople, hook.URL))
	env.Integration(t, integration.Integration{Name: "securityhub-prod", Type: integration.TypeSecurityHub, Team: "secops"})
	admin := signInToAlerts(t, env, "admin@example.com")
	alice := signInToAlerts(t, env, "alice@example.com")
	bob := signInToAlerts(t, env, "bob@example.com")
	audit := signInToAlerts(t, env, "audit@example.com")

	disk := alertsCreate(t, env, alertsByAPI, alertsForSecops("Disk full on db-1", alert.P1))
	cpu := alertsCreate(t, env, alertsByAPI, alertsForSecops("CPU high on web-2", alert.P4))
	finding := alertsCreate(t, env,
		alert.Origin{Actor: alert.Actor{Kind: alert.ActorIntegration, Name: "securityhub-prod", Type: "amazonsecurityhub"}},
		alert.CreateRequest{
			Message:     "S3 bucket is public",
			Priority:    alert.P2,
			Description: "The bucket logs-prod allows public reads.\nBlock public access.",
			Details: map[string]string{
				"Severity.Label": "HIGH", "AwsAccountId": "123456789012", "AwsAccountName": "prod", "Region": "eu-central-1",
				"ProductName": "Security Hub", "Types": "Effects/Data Exposure", "Workflow.Status": "NEW",
				"Id": "arn:aws:securityhub:eu-central-1:123456789012:finding/abc", "ProductArn": "arn:aws:securityhub:eu-central-1::product/aws/securityhub",
			},
		})

	t.Run("the list shows alerts and the search and filters narrow it", func(t *testing.T) {
		for _, c := range []struct {
			name, query   string
			want, notWant []string
		}{
			{"no search", "", []string{"Disk full on db-1", "CPU high on web-2", "S3 bucket is public"}, nil},
			{"a word of the message", "q=disk", []string{"Disk full on db-1"}, []string{"CPU high on web-2"}},
			{"a field term", "q=" + url.QueryEscape("message:CPU"), []string{"CPU high on web-2"}, []string{"Disk full on db-1"}},
			{"a priority", "priority=P1", []string{"Disk full on db-1"}, []string{"CPU high on web-2", "S3 bucket is public"}},
			{"an integration", "integration=securityhub-prod", []string{"S3 bucket is public"}, []string{"Disk full on db-1"}},
			{"a state", "state=closed", []string{"No alerts match"}, []string{"Disk full on db-1"}},
			{"a team", "team=dbteam", []string{"No alerts match"}, []string{"Disk full on db-1"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				status, body := admin.get("/alerts?" + c.query)
				if status != http.StatusOK {
					t.Fatalf("GET /alerts?%s: %d", c.query, status)
				}
				for _, w := range c.want {
					if !strings.Contains(body, w) {
						t.Errorf("the list lacks %q", w)
					}
				}
				for _, w := range c.notWant {
					if strings.Contains(body, w) {
						t.Errorf("the list shows %q", w)
					}
				}
			})
		}
		_, body := admin.get("/alerts")
		for _, want := range []string{`sse-connect="/events"`, `id="alert-list"`, `hx-trigger="sse:alert"`, `aria-live="polite"`, `class="responsive`, `data-select-all=".pick"`, `>Open <span class="alert-count">3</span>`} {
			if !strings.Contains(body, want) {
				t.Errorf("the list page lacks %s", want)
			}
		}
	})

	t.Run("a bad search is a 422 with the reason", func(t *testing.T) {
		status, body := admin.get("/alerts?q=" + url.QueryEscape("colour:red"))
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "unknown field") {
			t.Errorf("GET with an unknown field: %d", status)
		}
	})

	t.Run("the live region alone is rendered when htmx asks for it", func(t *testing.T) {
		res, body := admin.do("GET", "/alerts?priority=P1", nil, http.Header{"Hx-Request": {"true"}, "Hx-Target": {"alert-list"}})
		if res.StatusCode != http.StatusOK || strings.Contains(body, "<html") || !strings.Contains(body, "Disk full on db-1") || strings.Contains(body, "CPU high") {
			t.Errorf("fragment: %d %q", res.StatusCode, body)
		}
		// A reload keeps the boxes that were ticked.
		_, body = admin.do("GET", "/alerts?id="+disk.ID, nil, http.Header{"Hx-Request": {"true"}, "Hx-Target": {"alert-list"}})
		if !strings.Contains(body, `value="`+disk.ID+`" id="pick-`+strconv.FormatInt(disk.TinyID, 10)+`" checked`) {
			t.Errorf("the ticked alert is not ticked after a reload")
		}
	})

	t.Run("the alert page shows the finding's facts, the description and the timeline", func(t *testing.T) {
		for _, path := range []string{alertsURL(finding), "/alerts/" + finding.ID} {
			status, body := alice.get(path)
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d", path, status)
			}
			for _, want := range []string{
				"S3 bucket is public", `class="badge P2"`, "state-open", "HIGH", "123456789012", "eu-central-1", "Security Hub", "Effects/Data Exposure",
				"arn:aws:securityhub:eu-central-1:123456789012:finding/abc", "The bucket logs-prod allows public reads.\nBlock public access.",
				"Alert created via securityhub-prod", `action="` + alertsURL(finding) + `/ack"`, `name="for" value="tomorrow"`, "Notifications",
			} {
				if !strings.Contains(body, want) {
					t.Errorf("%s lacks %q", path, want)
				}
			}
		}
		if status, _ := admin.get("/alerts/999999"); status != http.StatusNotFound {
			t.Errorf("an alert that does not exist: %d, want 404", status)
		}
	})

	t.Run("acknowledging, adding a note, changing the priority, snoozing and closing through the forms change the alert", func(t *testing.T) {
		steps := []struct {
			action string
			form   url.Values
			flash  string
			check  func(a *alert.Alert) bool
		}{
			{"ack", nil, "Acknowledged #", func(a *alert.Alert) bool { return a.Acknowledged && a.Report.AcknowledgedBy == "alice@example.com" }},
			{"unack", nil, "Unacknowledged #", func(a *alert.Alert) bool { return !a.Acknowledged }},
			{"note", url.Values{"note": {"Looking into it.\nSecond line."}}, "Added a note", func(*alert.Alert) bool { return true }},
			{"priority", url.Values{"priority": {"P2"}}, "is P2", func(a *alert.Alert) bool { return a.Priority == alert.P2 }},
			{"snooze", url.Values{"for": {"1h"}}, "Snoozed #", func(a *alert.Alert) bool {
				return a.Snoozed && a.SnoozedUntil.After(time.Now().Add(50*time.Minute))
			}},
			{"close", nil, "Closed #", func(a *alert.Alert) bool { return a.Status == alert.StatusClosed }},
			{"ack", nil, "Nothing to change: #", func(a *alert.Alert) bool { return !a.Acknowledged && a.Status == alert.StatusClosed }},
		}
		for _, s := range steps {
			res, _ := alice.post(alertsURL(disk)+"/"+s.action, s.form)
			loc := res.Header.Get("Location")
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, alertsURL(disk)+"?flash=") {
				t.Fatalf("%s: %d → %q, want a redirect back to the alert", s.action, res.StatusCode, loc)
			}
			_, body := alice.get(loc)
			if !strings.Contains(body, s.flash) {
				t.Errorf("%s: the page after it does not say %q", s.action, s.flash)
			}
			if a := alertsGet(t, env, disk); !s.check(a) {
				t.Errorf("after %s the alert is %+v", s.action, a)
			}
		}
		notes, err := env.App.Alerts.Notes(context.Background(), alert.Ref{Type: alert.ByID, Value: disk.ID}, alert.Page{})
		if err != nil || len(notes) != 1 || notes[0].Owner != "alice@example.com" {
			t.Fatalf("notes: %+v %v", notes, err)
		}
		_, body := alice.get(alertsURL(disk))
		for _, want := range []string{"Looking into it.\nSecond line.", "Alert acknowledged", "Alert closed", "state-closed", "Priority changed from P1 to P2"} {
			if !strings.Contains(body, want) {
				t.Errorf("the alert page lacks %q", want)
			}
		}
		if strings.Index(body, "Alert closed") > strings.Index(body, "Alert acknowledged") {
			t.Error("the timeline is not newest first")
		}
	})

	t.Run("the alert page lists the notifications sent", func(t *testing.T) {
		for deadline := time.Now().Add(15 * time.Second); ; {
			_, body := alice.get(alertsURL(cpu))
			if strings.Contains(body, `<td data-label="Method">webhook</td>`) {
				for _, want := range []string{`<td data-label="Who">alice@example.com</td>`, hook.URL, "step 1, round 1", `<span class="ok">sent</span>`} {
					if !strings.Contains(body, want) {
						t.Errorf("the notifications lack %q", want)
					}
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("no notification shown within 15 s")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("invalid actions are 422 pages with the reason", func(t *testing.T) {
		for _, c := range []struct {
			action string
			form   url.Values
			want   string
		}{
			{"priority", url.Values{"priority": {"P9"}}, "P1, P2, P3, P4, P5"},
			{"snooze", url.Values{"for": {"forever"}}, "15 minutes"},
			{"note", url.Values{"note": {"  "}}, "must not be empty"},
		} {
			res, body := alice.post(alertsURL(cpu)+"/"+c.action, c.form)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, c.want) {
				t.Errorf("%s %v: %d, want 422 saying %q", c.action, c.form, res.StatusCode, c.want)
			}
		}
	})

	t.Run("a form without the CSRF token is refused and changes nothing", func(t *testing.T) {
		res, _ := alice.do("POST", alertsURL(cpu)+"/ack", url.Values{}, nil)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("ack without CSRF: %d, want 403", res.StatusCode)
		}
		res, _ = alice.do("POST", "/alerts/bulk", url.Values{"action": {"close"}, "id": {cpu.ID}, "csrf": {"forged"}}, nil)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("bulk close with a wrong CSRF token: %d, want 403", res.StatusCode)
		}
		if a := alertsGet(t, env, cpu); a.Acknowledged || a.Status != alert.StatusOpen {
			t.Errorf("the alert changed: %+v", a)
		}
	})

	t.Run("a readonly user sees every alert but may not change one", func(t *testing.T) {
		status, body := audit.get("/alerts")
		if status != http.StatusOK || !strings.Contains(body, "CPU high on web-2") || strings.Contains(body, "Acknowledge selected") || strings.Contains(body, `class="pick"`) {
			t.Errorf("readonly list: %d, shows the alert and no bulk actions?", status)
		}
		status, body = audit.get(alertsURL(cpu))
		if status != http.StatusOK || strings.Contains(body, "/ack\"") || !strings.Contains(body, "read-only") {
			t.Errorf("readonly alert page: %d, with no action forms?", status)
		}
		for _, action := range []string{"ack", "close", "note"} {
			if res, _ := audit.post(alertsURL(cpu)+"/"+action, url.Values{"note": {"hi"}}); res.StatusCode != http.StatusForbidden {
				t.Errorf("readonly %s: %d, want 403", action, res.StatusCode)
			}
		}
		if res, _ := audit.post("/alerts/bulk", url.Values{"action": {"ack"}, "id": {cpu.ID}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("readonly bulk ack: %d, want 403", res.StatusCode)
		}
		if a := alertsGet(t, env, cpu); a.Acknowledged {
			t.Error("the readonly user acknowledged the alert")
		}
	})

	t.Run("a user of another team neither sees nor changes the team's alerts", func(t *testing.T) {
		mine := alertsCreate(t, env, alertsByAPI, alert.CreateRequest{Message: "Replica lag on db-3", Responders: []alert.Responder{{Type: "team", Name: "dbteam"}}})
		status, body := bob.get("/alerts")
		if status != http.StatusOK || strings.Contains(body, "CPU high on web-2") || strings.Contains(body, "S3 bucket is public") || !strings.Contains(body, "Replica lag on db-3") {
			t.Errorf("bob's list: %d; shows secops alerts or lacks his own", status)
		}
		if !strings.Contains(body, `>All <span class="alert-count">1</span>`) {
			t.Error("bob's counts include alerts he may not see")
		}
		if status, _ := bob.get(alertsURL(cpu)); status != http.StatusForbidden {
			t.Errorf("bob opens a secops alert: %d, want 403", status)
		}
		if res, _ := bob.post(alertsURL(cpu)+"/ack", nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("bob acknowledges a secops alert: %d, want 403", res.StatusCode)
		}
		res, _ := bob.post("/alerts/bulk", url.Values{"action": {"ack"}, "id": {cpu.ID, mine.ID}})
		if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "skipped+1") {
			t.Errorf("bob's bulk ack of his and a secops alert: %d → %q", res.StatusCode, res.Header.Get("Location"))
		}
		if alertsGet(t, env, cpu).Acknowledged || !alertsGet(t, env, mine).Acknowledged {
			t.Error("the bulk ack changed the wrong alerts")
		}
		// Alice sees secops alerts, including those of the team's integration, but not dbteam's.
		_, body = alice.get("/alerts")
		if !strings.Contains(body, "CPU high on web-2") || !strings.Contains(body, "S3 bucket is public") || strings.Contains(body, "Replica lag on db-3") {
			t.Error("alice's list is not exactly secops' alerts")
		}
	})

	t.Run("bulk acknowledge acknowledges every selected alert", func(t *testing.T) {
		a := alertsCreate(t, env, alertsByAPI, alertsForSecops("Queue backlog", alert.P3))
		b := alertsCreate(t, env, alertsByAPI, alertsForSecops("Certificate expires soon", alert.P3))
		res, _ := admin.post("/alerts/bulk", url.Values{"action": {"ack"}, "id": {a.ID, b.ID}, "back": {"/alerts?state=open"}})
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/alerts?") || !strings.Contains(loc, "state=open") {
			t.Fatalf("bulk ack: %d → %q", res.StatusCode, loc)
		}
		for _, x := range []*alert.Alert{a, b} {
			if !alertsGet(t, env, x).Acknowledged {
				t.Errorf("#%d was not acknowledged", x.TinyID)
			}
		}
		_, body := admin.get(loc)
		if !strings.Contains(body, fmt.Sprintf("Acknowledged #%d, #%d", a.TinyID, b.TinyID)) && !strings.Contains(body, fmt.Sprintf("Acknowledged #%d, #%d", b.TinyID, a.TinyID)) {
			t.Error("the list does not say what was acknowledged")
		}
		if res, _ := admin.post("/alerts/bulk", url.Values{"action": {"ack"}}); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("bulk ack of nothing: %d, want 422", res.StatusCode)
		}
	})

	t.Run("each change to a Security Hub alert says whether it was written back", func(t *testing.T) {
		if res, _ := alice.post(alertsURL(finding)+"/ack", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("ack: %d", res.StatusCode)
		}
		_, body := alice.get(alertsURL(finding))
		if !strings.Contains(body, "Not sent to Security Hub") {
			t.Error("with send-updates off, the acknowledge is not marked as not sent")
		}
		ctx := context.Background()
		if err := env.App.Alerts.AddLog(ctx, finding.ID, "writebackFailed", "Security Hub write-back failed (Workflow.Status NOTIFIED): AccessDeniedException: not allowed"); err != nil {
			t.Fatal(err)
		}
		if res, _ := alice.post(alertsURL(finding)+"/note", url.Values{"note": {"Owner informed"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("note: %d", res.StatusCode)
		}
		if err := env.App.Alerts.AddLog(ctx, finding.ID, "writebackDone", "Written to Security Hub: Note"); err != nil {
			t.Fatal(err)
		}
		_, body = alice.get(alertsURL(finding))
		failed := strings.Index(body, "Security Hub write-back failed: AccessDeniedException: not allowed")
		written := strings.Index(body, "Written to Security Hub</span>")
		if failed < 0 || written < 0 || written > failed {
			t.Errorf("the note should show written (at %d) above the acknowledge's failure (at %d)", written, failed)
		}
	})

	t.Run("the event stream sends an alert event when an alert changes", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, "GET", env.URL+"/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := admin.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("GET /events: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
		}
		events := make(chan string, 16)
		go func() {
			defer close(events)
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				select {
				case events <- sc.Text():
				case <-ctx.Done():
					return
				}
			}
		}()
		// The feed notices changes once a second; change alerts until it tells.
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case line, ok := <-events:
				if !ok {
					t.Fatal("the stream ended without an alert event")
				}
				if line == "event: alert" {
					return
				}
			case <-tick.C:
				alertsCreate(t, env, alertsByAPI, alertsForSecops(fmt.Sprintf("New P1 number %d", i), alert.P1))
			case <-ctx.Done():
				t.Fatal("no alert event within 20 s")
			}
		}
	})
}
