package intake_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/securityhub"
	"github.com/tocsin-dev/tocsin/internal/server"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/sns"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// rig is a running tocsin that trusts a stand-in SNS (a test CA and an HTTPS server on 127.0.0.1),
// with a Security Hub integration.
type rig struct {
	env      *servertest.Env
	sns      *snstest.Server
	key      string // the Security Hub integration's key
	endpoint string // POST here, key included, as the SNS subscription would
	topic    string
}

func newRig(t testing.TB, dsn string, filter integration.FindingFilter) *rig {
	t.Helper()
	s := snstest.NewServer(t, snstest.Config{})
	ca := filepath.Join(t.TempDir(), "sns-ca.pem")
	if err := os.WriteFile(ca, s.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	env := servertest.StartWith(t, server.Config{Database: dsn, SNSCertHosts: []string{s.Host()}, SNSCAFile: ca})
	key := env.Integration(t, integration.Integration{
		Name: "securityhub-prod", Type: integration.TypeSecurityHub, Team: "secops",
		Settings: integration.Settings{Filter: filter},
	})
	return &rig{env: env, sns: s, key: key, endpoint: env.URL + "/v1/json/amazonsecurityhub?apiKey=" + key, topic: s.TopicARN("securityhub-findings")}
}

func event(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "securityhub", "testdata", "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type answer struct {
	status int
	body   map[string]any
}

func (a answer) receipt() map[string]any {
	d, _ := a.body["data"].(map[string]any)
	return d
}

func send(t *testing.T, req *http.Request) answer {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", res.StatusCode, raw)
	}
	return a
}

func (r *rig) deliver(t *testing.T, m *sns.Message) answer {
	t.Helper()
	req, err := snstest.NewRequest(context.Background(), r.endpoint, m)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, req)
}

func (r *rig) alerts(t *testing.T) []*alert.Alert {
	t.Helper()
	list, err := r.env.App.Alerts.List(context.Background(), alert.ListOptions{Limit: 100, Order: alert.Asc})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestSignedFindingsBecomeTheAlertsTheMappingSays(t *testing.T) {
	for _, version := range []string{"1", "2"} {
		t.Run("SignatureVersion"+version, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, dsn string) {
				r := newRig(t, dsn, integration.FindingFilter{})
				for _, name := range []string{"guardduty", "inspector", "macie", "cspm-control", "access-analyzer", "third-party-prowler", "custom-action", "insight-results", "seed-cis-benchmark"} {
					body := event(t, name)
					m := r.sns.Notification(r.topic, "", string(body))
					if err := r.sns.Sign(m, version); err != nil {
						t.Fatal(err)
					}
					if a := r.deliver(t, m); a.status != 200 {
						t.Fatalf("%s: %d %v", name, a.status, a.body)
					}
					ev, err := securityhub.ParseEvent(body)
					if err != nil {
						t.Fatal(err)
					}
					for _, d := range securityhub.Decide(ev, securityhub.Filter{}, securityhub.Options{Responders: []alert.Responder{{Type: "team", Name: "secops"}}}) {
						a, err := r.env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByAlias, Value: d.Alias})
						if d.Action == securityhub.ActionClose {
							if err == nil && a.Status == alert.StatusOpen {
								t.Errorf("%s: a closing finding left %q open", name, d.Alias)
							}
							continue
						}
						if err != nil {
							t.Errorf("%s: no alert for %q: %v", name, d.Alias, err)
							continue
						}
						// A finding seen before (the Custom Action resends one) dedupes onto the first
						// alert, which keeps its first description.
						if a.Message != d.Request.Message || a.Priority != d.Request.Priority || a.Entity != d.Request.Entity ||
							a.Source != d.Request.Source || strings.Join(a.Tags, ",") != strings.Join(d.Request.Tags, ",") ||
							(a.Count == 1 && a.Description != d.Request.Description) || a.Details["Id"] != d.Request.Details["Id"] ||
							len(a.Responders) != 1 || a.Responders[0].Name != "secops" || a.Integration.Name != "securityhub-prod" {
							t.Errorf("%s: alert %+v does not match the mapping %+v", name, a, d.Request)
						}
					}
				}
			})
		})
	}
}

func TestTheGuardDutyFindingMapsToTheDesignTable(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), integration.FindingFilter{})
	if a := r.deliver(t, r.sns.Notification(r.topic, "", string(event(t, "guardduty")))); a.status != 200 {
		t.Fatalf("%d %v", a.status, a.body)
	}
	list := r.alerts(t)
	if len(list) != 1 {
		t.Fatalf("got %d alerts, want 1", len(list))
	}
	a := list[0]
	var ev struct {
		Detail struct{ Findings []securityhub.Finding } `json:"detail"`
	}
	json.Unmarshal(event(t, "guardduty"), &ev)
	f := ev.Detail.Findings[0]
	if a.Alias != f.Id || a.Priority != alert.P2 || a.Source != "GuardDuty" || a.Entity != f.Resources[0].Id {
		t.Errorf("alias %q priority %s source %q entity %q; want the finding id, P2 (HIGH), GuardDuty, the first resource", a.Alias, a.Priority, a.Source, a.Entity)
	}
	for _, tag := range []string{f.AwsAccountId, f.Region, "HIGH"} {
		if !strings.Contains(strings.Join(a.Tags, "|"), tag) {
			t.Errorf("tags %v lack %q", a.Tags, tag)
		}
	}
	if !strings.Contains(a.Description, "console.aws.amazon.com/securityhub") {
		t.Errorf("the description has no console link:\n%s", a.Description)
	}
}

func TestRedeliveriesChangeNothingAndUpdatesCountAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		r := newRig(t, dsn, integration.FindingFilter{})
		m := r.sns.Notification(r.topic, "", string(event(t, "guardduty")))
		first := r.deliver(t, m)
		again := r.deliver(t, m)
		if first.status != 200 || again.status != 200 || again.receipt()["duplicate"] != true {
			t.Fatalf("first %d %v, redelivery %d %v", first.status, first.body, again.status, again.body)
		}
		if list := r.alerts(t); len(list) != 1 || list[0].Count != 1 {
			t.Fatalf("after a redelivery: %d alerts, count %d; want one alert, count 1", len(list), list[0].Count)
		}
		// The same finding in a new message with the same UpdatedAt is an edit made with
		// BatchUpdateFindings (tocsin's own write-back coming back, a note in the console): quiet.
		edited := strings.Replace(string(event(t, "guardduty")), `"Status": "NEW"`, `"Status": "NOTIFIED"`, 1)
		if a := r.deliver(t, r.sns.Notification(r.topic, "", edited)); a.receipt()["quiet"] != float64(1) {
			t.Errorf("an edit: %v, want quiet 1", a.body)
		}
		if list := r.alerts(t); len(list) != 1 || list[0].Count != 1 {
			t.Fatalf("after an edit: %d alerts, count %d; want one alert, count 1", len(list), list[0].Count)
		}
		// The provider updating the finding (a newer UpdatedAt) counts again, and pages no one.
		updated := strings.Replace(string(event(t, "guardduty")), `"UpdatedAt": "2026-03-02T08:09:07.402Z"`, `"UpdatedAt": "2026-03-02T09:09:07.402Z"`, 1)
		r.deliver(t, r.sns.Notification(r.topic, "", updated))
		if list := r.alerts(t); len(list) != 1 || list[0].Count != 2 {
			t.Fatalf("after an update: %d alerts, count %d; want one alert, count 2", len(list), list[0].Count)
		}
		// RESOLVED closes it, with a note saying why; a second RESOLVED finds nothing open and makes nothing.
		if a := r.deliver(t, r.sns.Notification(r.topic, "", string(event(t, "guardduty-resolved")))); a.receipt()["closed"] != float64(1) {
			t.Fatalf("resolved: %v", a.body)
		}
		list := r.alerts(t)
		if len(list) != 1 || list[0].Status != alert.StatusClosed {
			t.Fatalf("after RESOLVED: %+v", list)
		}
		notes, _ := r.env.App.Alerts.Notes(context.Background(), alert.Ref{Type: alert.ByID, Value: list[0].ID}, alert.Page{})
		if len(notes) != 1 || !strings.Contains(notes[0].Text, "RESOLVED") {
			t.Errorf("close notes = %+v", notes)
		}
		if a := r.deliver(t, r.sns.Notification(r.topic, "", string(event(t, "guardduty-resolved")))); a.receipt()["ignored"] != float64(1) {
			t.Errorf("a second RESOLVED: %v", a.body)
		}
		for _, name := range []string{"guardduty-archived", "cspm-control-passed"} {
			r.deliver(t, r.sns.Notification(r.topic, "", string(event(t, name))))
		}
		if n := len(r.alerts(t)); n != 1 {
			t.Errorf("closing findings made alerts: %d alerts, want 1", n)
		}
	})
}

func TestASubscriptionIsConfirmedOnceAndRecordedAsAClosedAlert(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), integration.FindingFilter{})
	m := r.sns.SubscriptionConfirmation(r.topic)
	if a := r.deliver(t, m); a.status != 200 {
		t.Fatalf("%d %v", a.status, a.body)
	}
	if a := r.deliver(t, m); a.status != 200 {
		t.Fatalf("redelivered confirmation: %d %v", a.status, a.body)
	}
	if n := r.sns.Confirmations(); n < 1 {
		t.Fatalf("the SubscribeURL was visited %d times", n)
	}
	list := r.alerts(t)
	if len(list) != 1 {
		t.Fatalf("got %d alerts, want one confirmation alert", len(list))
	}
	a := list[0]
	if !strings.HasPrefix(a.Message, "SNS subscription confirmed: securityhub-findings") || !strings.Contains(a.Message, "securityhub-prod") ||
		a.Priority != alert.P5 || a.Status != alert.StatusClosed || !strings.Contains(a.Description, r.topic) {
		t.Errorf("confirmation alert = %+v", a)
	}
	if a := r.deliver(t, r.sns.UnsubscribeConfirmation(r.topic)); a.status != 200 {
		t.Fatalf("unsubscribe: %d %v", a.status, a.body)
	}
	if list := r.alerts(t); len(list) != 2 || !strings.HasPrefix(list[1].Message, "SNS subscription removed") {
		t.Errorf("after unsubscribe: %+v", list)
	}
}

func TestForgedTamperedAndUntrustedMessagesAreRefusedAndCreateNothing(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), integration.FindingFilter{})
	body := string(event(t, "guardduty"))
	tampered := r.sns.Notification(r.topic, "", body)
	tampered.Message = strings.Replace(tampered.Message, "HIGH", "LOW", 1)
	otherTopic := r.sns.Notification(r.topic, "", body)
	otherTopic.TopicARN += "-evil"
	foreignCert := r.sns.Notification(r.topic, "", body)
	foreignCert.SigningCertURL = "https://sns.evil.example.com/cert.pem"
	old := r.sns.Notification(r.topic, "", body)
	old.Timestamp = time.Now().Add(-8 * 24 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	if err := r.sns.Sign(old, "1"); err != nil {
		t.Fatal(err)
	}
	metadata := r.sns.SubscriptionConfirmation(r.topic)
	metadata.SubscribeURL = "https://169.254.169.254/latest/meta-data/"
	before := r.sns.Requests()
	for _, tc := range []struct {
		name   string
		m      *sns.Message
		status int
	}{
		{"tampered message", tampered, 403},
		{"another topic", otherTopic, 403},
		{"certificate from an untrusted host", foreignCert, 403},
		{"subscribe URL to the metadata service", metadata, 403},
		{"a signed message older than seven days", old, 403},
	} {
		if a := r.deliver(t, tc.m); a.status != tc.status {
			t.Errorf("%s: %d %v, want %d", tc.name, a.status, a.body, tc.status)
		}
	}
	if n := len(r.alerts(t)); n != 0 {
		t.Errorf("refused messages made %d alerts", n)
	}
	// Only the two signature checks fetched the (cached) certificate; the untrusted URLs got nothing.
	if got := r.sns.Requests() - before; got > 1 { // the old message verifies against the cached certificate
		t.Errorf("the stand-in SNS saw %d requests, want at most the one certificate fetch", got)
	}
}

func TestBadRequestsGetClearErrors(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), integration.FindingFilter{})
	apiKey := r.env.Key
	body := event(t, "guardduty")
	raw, _ := snstest.NewRawRequest(context.Background(), r.endpoint, r.sns.Notification(r.topic, "", string(body)))
	post := func(url string, body []byte, header map[string]string) *http.Request {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		return req
	}
	for _, tc := range []struct {
		name    string
		req     *http.Request
		status  int
		message string
	}{
		{"raw message delivery", raw, 400, "raw message delivery"},
		{"no key", post(r.env.URL+"/v1/json/amazonsecurityhub", body, nil), 401, "missing API key"},
		{"an API integration's key", post(r.env.URL+"/v1/json/amazonsecurityhub?apiKey="+apiKey, body, nil), 403, "amazonsecurityhub"},
		{"the Security Hub key on /v2", post(r.env.URL+"/v2/alerts", []byte(`{"message":"m"}`), map[string]string{"Authorization": "GenieKey " + r.key}), 403, "api integrations"},
		{"an unknown integration type", post(r.env.URL+"/v1/json/pagerduty?apiKey="+r.key, body, nil), 404, "unknown integration type"},
		{"not JSON", post(r.endpoint, []byte("hello"), nil), 400, ""},
		{"an event with no findings", post(r.endpoint, []byte(`{"version":"0","id":"x","detail-type":"Security Hub Findings - Imported","source":"aws.securityhub","account":"1","time":"2026-01-01T00:00:00Z","region":"eu-central-1","resources":[],"detail":{"findings":[]}}`), nil), 400, "finding"},
		{"a body over the limit", post(r.endpoint, bytes.Repeat([]byte(" "), 2<<20), nil), 413, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := send(t, tc.req)
			if a.status != tc.status || !strings.Contains(strings.ToLower(a.body["message"].(string)), strings.ToLower(tc.message)) {
				t.Errorf("%d %v, want %d with %q", a.status, a.body, tc.status, tc.message)
			}
		})
	}
}

func TestAnEventBridgeAPIDestinationPostsEventsWithTheKey(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), integration.FindingFilter{})
	req, _ := http.NewRequest("POST", r.env.URL+"/v1/json/amazonsecurityhub", bytes.NewReader(event(t, "custom-action")))
	req.Header.Set("X-Api-Key", r.key)
	a := send(t, req)
	if a.status != 200 || a.receipt()["via"] != "eventbridge" {
		t.Fatalf("%d %v", a.status, a.body)
	}
	open := 0
	for _, al := range r.alerts(t) {
		if al.Status == alert.StatusOpen {
			open++
		}
	}
	if open != 3 { // four findings, one of them SUPPRESSED
		t.Errorf("%d open alerts, want 3", open)
	}
	req, _ = http.NewRequest("POST", r.env.URL+"/v1/json/amazonsecurityhub", bytes.NewReader(event(t, "custom-action")))
	req.Header.Set("Authorization", "GenieKey "+r.key)
	if a := send(t, req); a.receipt()["duplicate"] != true {
		t.Errorf("the same event id again: %v, want a duplicate", a.body)
	}
}

func TestTheFilterDropsFindingsBelowTheMinimumSeverityButAnswers2xx(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), integration.FindingFilter{MinSeverity: "CRITICAL"})
	a := r.deliver(t, r.sns.Notification(r.topic, "", string(event(t, "guardduty"))))
	if a.status != 200 || a.receipt()["filtered"] != float64(1) || a.receipt()["created"] != float64(0) {
		t.Fatalf("%d %v", a.status, a.body)
	}
	if n := len(r.alerts(t)); n != 0 {
		t.Errorf("a filtered finding made %d alerts", n)
	}
	res, _ := http.Get(r.env.URL + "/metrics")
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(raw), `tocsin_securityhub_findings_total{integration="securityhub-prod",outcome="filtered"} 1`) {
		t.Error("the filtered finding is not counted in /metrics")
	}
}

func TestADatabaseThatCannotCommitGetsA5xxSoSNSRetries(t *testing.T) {
	dsn := storetest.SQLite(t)
	r := newRig(t, dsn, integration.FindingFilter{})
	m := r.sns.Notification(r.topic, "", string(event(t, "guardduty")))
	// Another process holds SQLite's write lock for longer than tocsin waits for it.
	blocker, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(dsn, "sqlite://"))
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Close()
	conn, err := blocker.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	a := r.deliver(t, m)
	conn.ExecContext(context.Background(), "ROLLBACK")
	if a.status < 500 {
		t.Fatalf("%d %v, want 5xx", a.status, a.body)
	}
	// SNS delivers again once the database is back, and the finding is not lost.
	if a := r.deliver(t, m); a.status != 200 || a.receipt()["created"] != float64(1) {
		t.Fatalf("redelivery after the outage: %d %v", a.status, a.body)
	}
}
