package writeback_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/securityhub/awsapi/awstest"
	"github.com/tocsin-dev/tocsin/internal/server"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

const (
	roleARN    = "arn:aws:iam::123456789012:role/tocsinSecurityHubRole"
	externalID = "tocsin-ext-7f3a"
	findingID  = "arn:aws:guardduty:us-east-1:123456789012:detector/d4b040365221be2b54a6264dc9a4bc64/finding/7ec6a9f1e1a30c2e8c8b0ef1a3c6b2d4"
	productARN = "arn:aws:securityhub:us-east-1::product/aws/guardduty"
)

// rig is tocsin with a Security Hub integration that writes back through a stand-in AWS, and a
// stand-in SNS to deliver findings with.
type rig struct {
	aws    *awstest.Server
	env    *servertest.Env
	sns    *snstest.Server
	intake string
}

func newRig(t *testing.T, dsn string, sendUpdates bool) *rig {
	t.Helper()
	aws := awstest.New(t, awstest.Options{Roles: []awstest.Role{{ARN: roleARN, ExternalID: externalID,
		Allow: []string{awstest.ActionBatchUpdateFindings, awstest.ActionGetFindings}}}})
	aws.Env(t) // before tocsin starts: it reads the AWS configuration once
	sn := snstest.NewServer(t, snstest.Config{})
	ca := filepath.Join(t.TempDir(), "sns-ca.pem")
	if err := os.WriteFile(ca, sn.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	env := servertest.StartWith(t, server.Config{Database: dsn, SNSCertHosts: []string{sn.Host()}, SNSCAFile: ca})
	key := env.Integration(t, integration.Integration{Name: "securityhub-prod", Type: integration.TypeSecurityHub,
		Settings: integration.Settings{RoleARN: roleARN, ExternalID: externalID, Region: "eu-central-1", SendUpdates: sendUpdates}})
	return &rig{aws: aws, env: env, sns: sn, intake: env.URL + "/v1/json/amazonsecurityhub?apiKey=" + key}
}

func (r *rig) deliver(t *testing.T, event string) {
	t.Helper()
	req, err := snstest.NewRequest(context.Background(), r.intake, r.sns.Notification(r.sns.TopicARN("findings"), "", event))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("intake answered %d", res.StatusCode)
	}
}

func guardDuty(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "events", "guardduty.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// echo is the Imported event Security Hub emits after a BatchUpdateFindings: the same finding, the
// same UpdatedAt, the new workflow status and note.
func echo(t *testing.T, workflow string) string {
	ev := strings.Replace(guardDuty(t), `"Status": "NEW"`, `"Status": "`+workflow+`"`, 1)
	return strings.Replace(ev, `"UpdatedAt": "2026-03-02T08:09:07.402Z",`, `"UpdatedAt": "2026-03-02T08:09:07.402Z", "Note": {"Text": "looking", "UpdatedBy": "tocsin/alice", "UpdatedAt": "2026-03-02T10:00:00Z"},`, 1)
}

func (r *rig) api(t *testing.T, method, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(method, r.env.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "GenieKey "+r.env.Key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s = %d", method, path, res.StatusCode)
	}
}

// waitCalls waits for n successful BatchUpdateFindings calls and returns them.
func (r *rig) waitCalls(t *testing.T, n int) []awstest.Call {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		calls := r.aws.CallsTo(awstest.OpBatchUpdateFindings)
		if len(calls) >= n {
			return calls
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d BatchUpdateFindings calls, want %d", len(calls), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func TestActionsOnAFindingsAlertAreWrittenBackSignedWithTheAssumedRole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		r := newRig(t, dsn, true)
		r.deliver(t, guardDuty(t))
		a, err := r.env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByAlias, Value: findingID})
		if err != nil {
			t.Fatal(err)
		}
		path := "/v2/alerts/" + a.ID

		steps := []struct {
			name  string
			do    func()
			check func(c awstest.Call) string
		}{
			{"acknowledge → NOTIFIED", func() { r.api(t, "POST", path+"/acknowledge", `{"user":"alice"}`) }, func(c awstest.Call) string {
				return str(c.BatchUpdate.Workflow.Status)
			}},
			{"note → Note by tocsin/USER", func() { r.api(t, "POST", path+"/notes", `{"user":"alice","note":"looking"}`) }, func(c awstest.Call) string {
				return str(c.BatchUpdate.Note.Text) + " by " + str(c.BatchUpdate.Note.UpdatedBy)
			}},
			{"priority P1 → CRITICAL", func() { r.api(t, "PUT", path+"/priority", `{"priority":"P1"}`) }, func(c awstest.Call) string {
				return str(c.BatchUpdate.Severity.Label)
			}},
			{"close → RESOLVED", func() { r.api(t, "POST", path+"/close", `{"user":"alice"}`) }, func(c awstest.Call) string {
				return str(c.BatchUpdate.Workflow.Status)
			}},
		}
		want := []string{"NOTIFIED", "looking by tocsin/alice", "CRITICAL", "RESOLVED"}
		for i, s := range steps {
			s.do()
			calls := r.waitCalls(t, i+1)
			c := calls[i]
			if got := s.check(c); got != want[i] {
				t.Errorf("%s: wrote %q, want %q", s.name, got, want[i])
			}
			if c.Region != "us-east-1" || !strings.HasPrefix(c.AccessKeyID, "ASIA") || c.RoleARN != roleARN {
				t.Errorf("%s: call in %s with key %s as %q; want the finding's region us-east-1, the assumed role's ASIA key", s.name, c.Region, c.AccessKeyID, c.RoleARN)
			}
			if ids := c.BatchUpdate.FindingIdentifiers; len(ids) != 1 || str(ids[0].Id) != findingID || str(ids[0].ProductArn) != productARN {
				t.Errorf("%s: finding identifiers %+v", s.name, ids)
			}
			if i == 1 {
				// The acknowledgement's echo arrives: it must change nothing.
				r.deliver(t, echo(t, "NOTIFIED"))
			}
		}
		if n := len(r.aws.CallsTo(awstest.OpAssumeRole)); n != 1 {
			t.Errorf("%d AssumeRole calls, want 1 (credentials cached)", n)
		}

		// The close's echo: RESOLVED again, and a late NOTIFIED echo, make no new alert.
		r.deliver(t, echo(t, "RESOLVED"))
		r.deliver(t, echo(t, "NOTIFIED"))
		list, _ := r.env.App.Alerts.List(context.Background(), alert.ListOptions{Limit: 10})
		if len(list) != 1 || list[0].Status != alert.StatusClosed || list[0].Count != 1 {
			t.Fatalf("after the echoes: %d alerts (want 1, closed, count 1): %+v", len(list), list)
		}
		logs, _ := r.env.App.Alerts.Logs(context.Background(), alert.Ref{Type: alert.ByID, Value: a.ID}, alert.Page{Limit: 100})
		written := 0
		for _, l := range logs {
			if l.Type == "writebackDone" {
				written++
			}
		}
		if written != 4 {
			t.Errorf("%d write-backs on the activity log, want 4: %+v", written, logs)
		}
	})
}

func TestAFindingResolvedInTheConsoleStillClosesTheAlert(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), true)
	r.deliver(t, guardDuty(t))
	r.deliver(t, strings.Replace(guardDuty(t), `"Status": "NEW"`, `"Status": "RESOLVED"`, 1))
	a, err := r.env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByAlias, Value: findingID})
	if err != nil || a.Status != alert.StatusClosed {
		t.Fatalf("alert %+v, %v; want closed", a, err)
	}
	time.Sleep(time.Second)
	if n := len(r.aws.CallsTo(awstest.OpBatchUpdateFindings)); n != 0 {
		t.Errorf("%d calls: a close caused by the finding was written back to it", n)
	}
}

func TestAnIntegrationWithoutSendUpdatesMakesNoCall(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), false)
	r.deliver(t, guardDuty(t))
	a, _ := r.env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByAlias, Value: findingID})
	r.api(t, "POST", "/v2/alerts/"+a.ID+"/acknowledge", `{}`)
	r.api(t, "POST", "/v2/alerts/"+a.ID+"/close", `{}`)
	time.Sleep(1500 * time.Millisecond) // the batch window and the queue's poll, several times over
	if n := len(r.aws.Calls()); n != 0 {
		t.Errorf("%d AWS calls with send-updates off, want 0", n)
	}
}

func TestThrottlingAndServerErrorsAreRetriedAndAccessDeniedIsRecorded(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), true)
	r.deliver(t, guardDuty(t))
	a, _ := r.env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByAlias, Value: findingID})
	r.aws.Inject(awstest.Throttling(awstest.OpBatchUpdateFindings))
	r.aws.Inject(awstest.InternalError(awstest.OpBatchUpdateFindings))
	r.api(t, "POST", "/v2/alerts/"+a.ID+"/acknowledge", `{}`)
	calls := r.waitCalls(t, 1)
	if str(calls[0].BatchUpdate.Workflow.Status) != "NOTIFIED" {
		t.Errorf("after a throttle and a 500, wrote %+v", calls[0].BatchUpdate)
	}

	denied := awstest.AccessDenied(awstest.OpBatchUpdateFindings)
	denied.Always = true
	r.aws.Inject(denied)
	r.api(t, "POST", "/v2/alerts/"+a.ID+"/close", `{}`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		logs, _ := r.env.App.Alerts.Logs(context.Background(), alert.Ref{Type: alert.ByID, Value: a.ID}, alert.Page{Limit: 100})
		var failed []string
		for _, l := range logs {
			if l.Type == "writebackFailed" {
				failed = append(failed, l.Text)
			}
		}
		if len(failed) == 1 && strings.Contains(failed[0], "AccessDenied") {
			break
		}
		if time.Now().After(deadline) || len(failed) > 1 {
			t.Fatalf("write-back failures on the log: %q; want one naming AccessDenied", failed)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
