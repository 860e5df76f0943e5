package escalation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/escalation"
	"github.com/tocsin-dev/tocsin/internal/notify/webhook"
	"github.com/tocsin-dev/tocsin/internal/server"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

const secret = "0123456789abcdef0123456789abcdef"

// pager is a real HTTP server standing in for the people: it receives webhook pages, checks their
// signatures, and remembers who was paged for which step.
type pager struct {
	t     testing.TB
	srv   *httptest.Server
	mu    sync.Mutex
	pages []page
	// delay is how long each page takes to answer, set before the first.
	delay time.Duration
}

type page struct {
	User  string
	Alert string
	Step  int
	Round int
	At    time.Time
}

func newPager(t testing.TB) *pager {
	p := &pager{t: t}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify([]byte(secret), r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, time.Now(), time.Minute); err != nil {
			t.Errorf("a page with a bad signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var pl webhook.Payload
		if err := json.Unmarshal(body, &pl); err != nil {
			t.Errorf("a page that is not JSON: %v", err)
		}
		p.mu.Lock()
		p.pages = append(p.pages, page{User: pl.Recipient.Username, Alert: pl.Alert.ID, Step: pl.Step, Round: pl.Round, At: time.Now()})
		p.mu.Unlock()
		time.Sleep(p.delay)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pager) list() []page {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]page(nil), p.pages...)
}

// waitFor waits until n pages arrived and returns them.
func (p *pager) waitFor(t testing.TB, n int, within time.Duration) []page {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := p.list()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d pages %+v, want %d within %s", len(got), got, n, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// config is two users paged by webhook, a team, a schedule with alice always on call, and a policy:
// the schedule at once, bob after stepDelay, the whole team after 2×stepDelay.
func config(p *pager, stepDelay time.Duration) string {
	return fmt.Sprintf(`
users:
  - username: alice@example.com
    fullName: Alice Doe
    contacts: [{method: webhook, to: "%[1]s/alice"}]
  - username: bob@example.com
    contacts: [{method: webhook, to: "%[1]s/bob"}]
teams:
  - name: secops
    members: [alice@example.com, bob@example.com]
    escalation: secops-escalation
schedules:
  - name: secops-primary
    team: secops
    timezone: Europe/Berlin
    rotations:
      - {name: always, type: daily, start: "2026-01-01T09:00:00+01:00", participants: [alice@example.com]}
escalations:
  - name: secops-escalation
    rules:
      - {delay: 0s, notify: {schedule: secops-primary}}
      - {delay: %[2]s, notify: {user: bob@example.com}}
      - {delay: %[3]s, notify: {team: secops}}
`, p.srv.URL, stepDelay, 2*stepDelay)
}

func start(t testing.TB, dsn string) *servertest.Env {
	return servertest.StartWith(t, server.Config{Database: dsn, WebhookSecret: secret})
}

func createForTeam(t testing.TB, env *servertest.Env, alias string) *alert.Alert {
	t.Helper()
	res, err := env.App.Alerts.Create(context.Background(), alert.Origin{Actor: alert.Actor{Kind: alert.ActorIntegration, ID: "i", Name: "test"}},
		alert.CreateRequest{Message: "GuardDuty: instance talks to a C&C server", Alias: alias, Priority: alert.P1,
			Responders: []alert.Responder{{Type: "team", Name: "secops"}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Alert
}

func TestAnAlertForATeamPagesOnCallThenEscalatesUntilAcknowledged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		p := newPager(t)
		env := start(t, dsn)
		if res := env.Apply(t, config(p, 2*time.Second)); len(res.Changes) != 5 {
			t.Fatalf("first apply: %+v", res.Changes)
		}
		if res := env.Apply(t, config(p, 2*time.Second)); len(res.Changes) != 0 || res.Unchanged != 5 {
			t.Fatalf("second apply changed %+v", res.Changes)
		}
		created := time.Now()
		a := createForTeam(t, env, "finding-1")

		first := p.waitFor(t, 1, 3*time.Second)[0]
		if first.User != "alice@example.com" || first.Step != 1 || first.Alert != a.ID {
			t.Fatalf("first page %+v, want alice (on call) for step 1", first)
		}
		if late := first.At.Sub(created); late > time.Second {
			t.Errorf("the first page came %s after the alert, want within 1s", late)
		}
		second := p.waitFor(t, 2, 5*time.Second)[1]
		if second.User != "bob@example.com" || second.Step != 2 {
			t.Fatalf("second page %+v, want bob for step 2", second)
		}
		if late := second.At.Sub(created) - 2*time.Second; late > time.Second || late < 0 {
			t.Errorf("step 2 fired %s after it was due, want within 1s", late)
		}
		if _, err := env.App.Alerts.Acknowledge(context.Background(), alert.Origin{Actor: alert.System, User: "bob"}, alert.Ref{Type: alert.ByID, Value: a.ID}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second) // step 3 (the whole team) was due at 4 s
		if got := p.list(); len(got) != 2 {
			t.Fatalf("pages after the ack: %+v", got[2:])
		}
		notes, err := env.App.DB.Escalations(env.App.Queue).Notifications(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(notes) != 2 || notes[0].State != escalation.Sent || notes[1].State != escalation.Sent {
			t.Fatalf("notification records: %+v", notes)
		}
		logs, _ := env.App.Alerts.Logs(context.Background(), alert.Ref{Type: alert.ByID, Value: a.ID}, alert.Page{})
		var text []string
		for _, l := range logs {
			text = append(text, l.Text)
		}
		joined := strings.Join(text, "\n")
		for _, want := range []string{"Escalation started with secops-escalation", "Escalation step 1: paging alice@example.com (webhook) via schedule secops-primary", "Escalation step 2: paging bob@example.com (webhook) via user bob@example.com"} {
			if !strings.Contains(joined, want) {
				t.Errorf("activity log lacks %q:\n%s", want, joined)
			}
		}
	})
}

func TestARepeatedStepJobPagesNobodyTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		p := newPager(t)
		env := start(t, dsn)
		env.Apply(t, config(p, time.Hour))
		a := createForTeam(t, env, "finding-2")
		p.waitFor(t, 1, 3*time.Second)
		// The same step again, as a retry after a crash or a second replica would run it.
		for range 3 {
			if err := env.App.Escalation.Step(context.Background(), escalation.StepArgs{AlertID: a.ID, Epoch: 0, Step: 0, Base: a.CreatedAt.UnixMilli()}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Second)
		if got := p.list(); len(got) != 1 {
			t.Fatalf("pages: %+v, want alice once", got)
		}
	})
}

func TestUnacknowledgingStartsPagingAgainAndSnoozingPausesIt(t *testing.T) {
	p := newPager(t)
	env := start(t, storetest.SQLite(t))
	env.Apply(t, config(p, time.Hour))
	ctx := context.Background()
	a := createForTeam(t, env, "finding-3")
	ref := alert.Ref{Type: alert.ByID, Value: a.ID}
	p.waitFor(t, 1, 3*time.Second)
	env.App.Alerts.Acknowledge(ctx, alert.Origin{Actor: alert.System}, ref)
	env.App.Alerts.Unacknowledge(ctx, alert.Origin{Actor: alert.System}, ref)
	if again := p.waitFor(t, 2, 3*time.Second)[1]; again.User != "alice@example.com" || again.Step != 1 {
		t.Fatalf("after unack: %+v, want alice paged again for step 1", again)
	}
	if _, err := env.App.Alerts.Snooze(ctx, alert.Origin{Actor: alert.System}, ref, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if woke := p.waitFor(t, 3, 4*time.Second)[2]; woke.User != "alice@example.com" {
		t.Fatalf("after the snooze: %+v", woke)
	}
	env.App.Alerts.Close(ctx, alert.Origin{Actor: alert.System}, ref)
	time.Sleep(500 * time.Millisecond)
	if n := len(p.list()); n != 3 {
		t.Errorf("%d pages, want 3", n)
	}
}

func TestTwoProcessesOnOnePostgresPageEachPersonOncePerStep(t *testing.T) {
	dsn := storetest.Postgres(t)
	p := newPager(t)
	one, two := start(t, dsn), start(t, dsn)
	one.Apply(t, config(p, time.Second))
	alerts := []*alert.Alert{createForTeam(t, one, "a-1"), createForTeam(t, two, "a-2"), createForTeam(t, one, "a-3"), createForTeam(t, two, "a-4")}
	// Each alert: alice (step 1), bob (step 2), alice and bob (step 3).
	got := p.waitFor(t, 4*4, 10*time.Second)
	time.Sleep(time.Second)
	got = p.list()
	seen := map[string]int{}
	for _, pg := range got {
		seen[fmt.Sprintf("%s/%d/%s", pg.Alert, pg.Step, pg.User)]++
	}
	for _, a := range alerts {
		for _, k := range []string{"1/alice@example.com", "2/bob@example.com", "3/alice@example.com", "3/bob@example.com"} {
			if n := seen[a.ID+"/"+k]; n != 1 {
				t.Errorf("alert %s step/user %s paged %d times, want once", a.Alias, k, n)
			}
		}
	}
	if len(got) != 16 {
		t.Errorf("%d pages, want 16", len(got))
	}
}

func TestARestartedProcessCarriesOnWhereTheOldOneStopped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		p := newPager(t)
		first := servertest.StartStoppable(t, server.Config{Database: dsn, WebhookSecret: secret})
		first.Env.Apply(t, config(p, 2*time.Second))
		a := createForTeam(t, first.Env, "restart-1")
		p.waitFor(t, 1, 3*time.Second)
		first.Stop(t) // before step 2 is due
		second := start(t, dsn)
		got := p.waitFor(t, 2, 6*time.Second)
		if got[1].User != "bob@example.com" || got[1].Step != 2 || got[1].Alert != a.ID {
			t.Fatalf("after the restart: %+v", got[1])
		}
		second.App.Alerts.Acknowledge(context.Background(), alert.Origin{Actor: alert.System}, alert.Ref{Type: alert.ByID, Value: a.ID})
		time.Sleep(3 * time.Second)
		if n := len(p.list()); n != 2 {
			t.Errorf("%d pages, want alice once and bob once: %+v", n, p.list())
		}
	})
}

func TestAPageThatFailsWithA5xxIsRetriedAndOneThatFailsWithA4xxIsNot(t *testing.T) {
	var calls sync.Map // path → count
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := calls.LoadOrStore(r.URL.Path, new(int))
		n := v.(*int)
		*n++
		switch {
		case r.URL.Path == "/alice" && *n == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.URL.Path == "/bob":
			w.WriteHeader(http.StatusGone)
		}
	}))
	defer recv.Close()
	env := start(t, storetest.SQLite(t))
	env.Apply(t, fmt.Sprintf(`
users:
  - {username: alice@example.com, contacts: [{method: webhook, to: "%[1]s/alice"}]}
  - {username: bob@example.com, contacts: [{method: webhook, to: "%[1]s/bob"}]}
teams:
  - {name: secops, members: [alice@example.com, bob@example.com]}
`, recv.URL))
	a := createForTeam(t, env, "retry-1")
	esc := env.App.DB.Escalations(env.App.Queue)
	deadline := time.Now().Add(20 * time.Second)
	for {
		notes, err := esc.Notifications(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]*escalation.Notification{}
		for _, n := range notes {
			states[n.Username] = n
		}
		al, bob := states["alice@example.com"], states["bob@example.com"]
		if al != nil && bob != nil && al.State == escalation.Sent && bob.State == escalation.Failed {
			if al.Attempts != 2 || bob.Attempts != 1 || !strings.Contains(bob.Error, "410") {
				t.Errorf("alice %+v, bob %+v", al, bob)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifications did not settle: %+v", notes)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestAPolicyRepeatsFromItsFirstRuleWhileNobodyAcknowledges(t *testing.T) {
	p := newPager(t)
	env := start(t, storetest.SQLite(t))
	env.Apply(t, fmt.Sprintf(`
users:
  - {username: alice@example.com, contacts: [{method: webhook, to: "%[1]s/alice"}]}
teams:
  - {name: secops, members: [alice@example.com], escalation: page-alice}
escalations:
  - name: page-alice
    rules: [{delay: 0s, notify: {user: alice@example.com}}]
    repeat: {after: 1s, times: 2}
`, p.srv.URL))
	createForTeam(t, env, "repeat-1")
	got := p.waitFor(t, 3, 8*time.Second)
	for i, pg := range got {
		if pg.User != "alice@example.com" || pg.Step != 1 || pg.Round != i+1 {
			t.Errorf("page %d = %+v, want alice, step 1, round %d", i, pg, i+1)
		}
	}
	if gap := got[1].At.Sub(got[0].At); gap < 900*time.Millisecond || gap > 2*time.Second {
		t.Errorf("round 2 came %s after round 1, want about 1s", gap)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := len(p.list()); n != 3 {
		t.Errorf("%d pages, want 3 (one round and two repeats)", n)
	}
}
