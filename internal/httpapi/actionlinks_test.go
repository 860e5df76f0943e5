package httpapi_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/actionlink"
	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/server"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// newAlert creates an alert through the API and returns it as stored.
func newAlert(t *testing.T, env *servertest.Env, alias string) *alert.Alert {
	t.Helper()
	if r := do(t, "POST", env.URL+"/v2/alerts", "GenieKey "+env.Key, `{"message":"disk full on db-1","alias":"`+alias+`","priority":"P2"}`); r.status != http.StatusAccepted {
		t.Fatalf("create: %d %v", r.status, r.body)
	}
	a, err := env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByAlias, Value: alias})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func link(t *testing.T, env *servertest.Env, a *alert.Alert, action string) string {
	t.Helper()
	tok, err := env.App.Links.Sign(a.ID, action, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return env.URL + "/a/" + tok
}

func TestAnAcknowledgeLinkShowsAPageOnGetAndActsOnlyOnPost(t *testing.T) {
	env := servertest.Start(t, storetest.SQLite(t))
	a := newAlert(t, env, "links-ack")
	url := link(t, env, a, actionlink.Ack)

	for range 2 { // a mail scanner fetching twice changes nothing
		page := rawDo(t, "GET", url, "", "")
		if page.status != http.StatusOK || !strings.Contains(page.body, "disk full on db-1") || !strings.Contains(page.body, `<form method="post">`) {
			t.Fatalf("GET = %d %q, want the alert and a button", page.status, page.body)
		}
	}
	if got, _ := env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByID, Value: a.ID}); got.Acknowledged {
		t.Fatal("a GET acknowledged the alert")
	}

	done := rawDo(t, "POST", url, "", "")
	if done.status != http.StatusOK || !strings.Contains(done.body, "You acknowledged the alert") {
		t.Fatalf("POST = %d %q", done.status, done.body)
	}
	got, _ := env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByID, Value: a.ID})
	if !got.Acknowledged || got.Report.AcknowledgedBy != "alice@example.com" {
		t.Errorf("after POST: acknowledged %v by %q, want by alice@example.com", got.Acknowledged, got.Report.AcknowledgedBy)
	}
	logs, _ := env.App.Alerts.Logs(context.Background(), alert.Ref{Type: alert.ByID, Value: a.ID}, alert.Page{Limit: 20})
	if !logged(logs, "alice@example.com", "acknowledged") {
		t.Errorf("the activity log does not say alice acknowledged: %+v", logs)
	}
	if again := rawDo(t, "POST", url, "", ""); again.status != http.StatusOK || !strings.Contains(again.body, "already") {
		t.Errorf("second POST = %d %q, want a page saying it was acknowledged already", again.status, again.body)
	}
}

func logged(logs []alert.LogEntry, owner, word string) bool {
	for _, l := range logs {
		if l.Owner == owner && strings.Contains(strings.ToLower(l.Text), word) {
			return true
		}
	}
	return false
}

func TestACloseLinkForAClosedAlertSaysSoAndChangesNothing(t *testing.T) {
	env := servertest.Start(t, storetest.SQLite(t))
	a := newAlert(t, env, "links-closed")
	url := link(t, env, a, actionlink.Close)
	if done := rawDo(t, "POST", url, "", ""); done.status != http.StatusOK || !strings.Contains(done.body, "You closed the alert") {
		t.Fatalf("POST close = %d %q", done.status, done.body)
	}
	if page := rawDo(t, "GET", url, "", ""); page.status != http.StatusOK || !strings.Contains(page.body, "Already closed") || strings.Contains(page.body, "<form") {
		t.Errorf("GET after close = %d %q, want 'Already closed' and no button", page.status, page.body)
	}
	ack := link(t, env, a, actionlink.Ack)
	if r := rawDo(t, "POST", ack, "", ""); r.status != http.StatusConflict || !strings.Contains(r.body, "closed already") {
		t.Errorf("POST ack on a closed alert = %d %q, want 409 saying it is closed", r.status, r.body)
	}
	if got, _ := env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByID, Value: a.ID}); got.Acknowledged {
		t.Error("an ack link acknowledged a closed alert")
	}
}

func TestTamperedExpiredAndForeignLinksAreRefusedAndChangeNothing(t *testing.T) {
	env := servertest.Start(t, storetest.SQLite(t))
	a := newAlert(t, env, "links-bad")
	good := link(t, env, a, actionlink.Ack)
	tok := strings.TrimPrefix(good, env.URL+"/a/")

	secret, err := env.App.DB.Secret(context.Background(), server.LinkSecretName)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(secret)
	past, _ := actionlink.NewSigner(key, time.Hour, func() time.Time { return time.Now().Add(-2 * time.Hour) })
	expired, _ := past.Sign(a.ID, actionlink.Ack, "alice@example.com")
	foreign, _ := actionlink.NewSigner([]byte(strings.Repeat("k", 32)), time.Hour, nil)
	forged, _ := foreign.Sign(a.ID, actionlink.Ack, "mallory@example.com")
	other, _ := env.App.Links.Sign("no-such-alert", actionlink.Ack, "alice@example.com")
	body, sig, _ := strings.Cut(tok, ".")

	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"a payload changed to name another user", strings.ToUpper(body[:4]) + body[4:] + "." + sig, http.StatusForbidden},
		{"a truncated signature", body + "." + sig[:8], http.StatusForbidden},
		{"a link from another server", forged, http.StatusForbidden},
		{"an expired link", expired, http.StatusGone},
		{"garbage", "not-a-token", http.StatusBadRequest},
		{"a link to an alert that does not exist", other, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, method := range []string{"GET", "POST"} {
				if r := rawDo(t, method, env.URL+"/a/"+tt.token, "", ""); r.status != tt.status || strings.Contains(r.body, "<form") {
					t.Errorf("%s = %d %q, want %d and no button", method, r.status, r.body, tt.status)
				}
			}
			req, _ := http.NewRequest("POST", env.URL+"/a/"+tt.token, nil)
			req.Header.Set("Accept", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.status || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Errorf("JSON POST = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
			}
		})
	}
	if got, _ := env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByID, Value: a.ID}); got.Acknowledged {
		t.Error("a refused link acknowledged the alert")
	}
}

func TestAViewLinkShowsTheAlertWithFreshButtonsAndNeverActs(t *testing.T) {
	env := servertest.Start(t, storetest.SQLite(t))
	a := newAlert(t, env, "links-view")
	url := link(t, env, a, actionlink.View)
	page := rawDo(t, "GET", url, "", "")
	if page.status != http.StatusOK || strings.Count(page.body, `<form method="post" action="/a/`) != 2 {
		t.Fatalf("GET view = %d %q, want two buttons", page.status, page.body)
	}
	if r := rawDo(t, "POST", url, "", ""); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST view = %d, want 405", r.status)
	}
	start := strings.Index(page.body, `action="/a/`) + len(`action="`)
	ackPath := page.body[start : start+strings.Index(page.body[start:], `"`)]
	if r := rawDo(t, "POST", env.URL+ackPath, "", ""); r.status != http.StatusOK {
		t.Fatalf("POST to the page's Acknowledge = %d %q", r.status, r.body)
	}
	if got, _ := env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByID, Value: a.ID}); !got.Acknowledged {
		t.Error("the view page's Acknowledge button did not acknowledge")
	}
}
