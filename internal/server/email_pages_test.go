package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/mailsink"
	"github.com/tocsin-dev/tocsin/internal/server"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// The whole path of issue 6: a signed finding pages the on-call user by email at once, the next step
// pages the next user when it is due, and the Acknowledge link in that email (GET, then POST) stops
// the escalation.
const emailTeam = `
users:
  - username: alice@example.com
    fullName: Alice Doe
  - username: bob@example.com
    fullName: Bob Roe
    contacts: [{method: email, to: bob@example.com}]
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
      - {delay: 2s, notify: {user: bob@example.com}}
      - {delay: 5s, notify: {team: secops}}
`

func TestAFindingPagesByEmailEscalatesAndTheEmailsAcknowledgeLinkStopsIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		sink, err := mailsink.Start(mailsink.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		sn := snstest.NewServer(t, snstest.Config{})
		ca := filepath.Join(t.TempDir(), "sns-ca.pem")
		if err := os.WriteFile(ca, sn.CAPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		env := servertest.StartWith(t, server.Config{Database: dsn, SNSCertHosts: []string{sn.Host()}, SNSCAFile: ca,
			SMTPURL: sink.URL(), SMTPFrom: "tocsin <tocsin@example.com>"})
		env.Apply(t, emailTeam)
		key := env.Integration(t, integration.Integration{Name: "securityhub-prod", Type: integration.TypeSecurityHub, Team: "secops"})

		finding, err := os.ReadFile(filepath.Join("..", "securityhub", "testdata", "events", "guardduty.json"))
		if err != nil {
			t.Fatal(err)
		}
		req, err := snstest.NewRequest(context.Background(), env.URL+"/v1/json/amazonsecurityhub?apiKey="+key, sn.Notification(sn.TopicARN("findings"), "", string(finding)))
		if err != nil {
			t.Fatal(err)
		}
		posted := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("intake answered %d", res.StatusCode)
		}

		first, err := sink.Wait(1, 5*time.Second, mailsink.To("alice@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("finding to email: %s", first[0].ReceivedAt.Sub(posted))
		alice := readEmail(t, first[0])
		if !strings.HasPrefix(alice.subject, "[P") || !strings.Contains(alice.subject, "GuardDuty") {
			t.Errorf("subject %q, want [Pn] GuardDuty: …", alice.subject)
		}
		if alice.links["ack"] == "" || alice.links["close"] == "" || alice.html == "" || alice.text == "" {
			t.Fatalf("alice's email lacks a part or a link: links %v", alice.links)
		}

		second, err := sink.Wait(1, 8*time.Second, mailsink.To("bob@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if waited := second[0].ReceivedAt.Sub(posted); waited < 2*time.Second {
			t.Errorf("bob was paged %s after the finding, before his step was due (2s)", waited)
		}
		bob := readEmail(t, second[0])
		if !strings.Contains(bob.text, "Alice Doe") || !strings.Contains(strings.ToLower(bob.text), "step 2") {
			t.Errorf("bob's email does not say it is step 2 and that Alice was paged before:\n%s", bob.text)
		}
		if bob.header.Get("References") == "" || bob.header.Get("References") != alice.header.Get("References") {
			t.Errorf("the two emails are not one thread: References %q and %q", alice.header.Get("References"), bob.header.Get("References"))
		}

		page := get(t, bob.links["ack"])
		if !strings.Contains(page, "<form") {
			t.Fatalf("the Acknowledge link's page has no button: %q", page)
		}
		id := alertID(t, bob.links["ack"])
		a, _ := env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByID, Value: id})
		if a.Acknowledged {
			t.Fatal("following the link (GET) acknowledged the alert")
		}
		post, err := http.Post(bob.links["ack"], "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		post.Body.Close()
		a, _ = env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByID, Value: id})
		if post.StatusCode != http.StatusOK || !a.Acknowledged || a.Report.AcknowledgedBy != "bob@example.com" {
			t.Fatalf("POST = %d; acknowledged %v by %q, want by bob@example.com", post.StatusCode, a.Acknowledged, a.Report.AcknowledgedBy)
		}

		// The third step (the whole team, at 5 s) must not page anyone now.
		time.Sleep(time.Until(posted.Add(6500 * time.Millisecond)))
		if n := len(sink.Messages()); n != 2 {
			t.Errorf("%d emails after the acknowledgement stopped the escalation, want 2", n)
		}
	})
}

type email struct {
	header     mail.Header
	subject    string
	text, html string
	links      map[string]string // action → URL
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+/a/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+`)

func readEmail(t *testing.T, m mailsink.Message) email {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	e := email{header: msg.Header, subject: subject, links: map[string]string{}}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("Content-Type %q, want multipart", msg.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p) // multipart.Reader decodes quoted-printable
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			body, _ = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(body), "\r\n", ""))
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			e.text = string(body)
		case "text/html":
			e.html = string(body)
		}
	}
	for _, u := range linkRE.FindAllString(e.text, -1) {
		e.links[linkAction(t, u)] = u
	}
	return e
}

// linkAction reads the action out of a link's token (its payload is readable JSON; the server checks
// the signature).
func linkAction(t *testing.T, u string) string {
	return tokenClaims(t, u)["x"]
}

func alertID(t *testing.T, u string) string { return tokenClaims(t, u)["a"] }

func tokenClaims(t *testing.T, u string) map[string]string {
	t.Helper()
	tok := u[strings.LastIndex(u, "/a/")+3:]
	payload, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatalf("link %q: %v", u, err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range c {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func get(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %q", u, res.StatusCode, b)
	}
	return string(b)
}

func TestPagesWaitOutAMailServerThatIsDownOrRefusingAndAllArriveWhenItIsBack(t *testing.T) {
	sink, err := mailsink.Start(mailsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	env := servertest.StartWith(t, server.Config{Database: storetest.SQLite(t), SMTPURL: sink.URL(), SMTPFrom: "tocsin@example.com"})
	// Only the first step counts here: the team step pages alice again, and on a busy machine her
	// retries can come after it.
	env.Apply(t, strings.Replace(emailTeam, "{delay: 5s, notify: {team: secops}}", "{delay: 1h, notify: {team: secops}}", 1))
	create := func(alias string) {
		if _, err := env.App.Alerts.Create(context.Background(), alert.Origin{Actor: alert.System},
			alert.CreateRequest{Message: "disk full " + alias, Alias: alias, Priority: alert.P1, Responders: []alert.Responder{{Type: "team", Name: "secops"}}}); err != nil {
			t.Fatal(err)
		}
	}
	sink.Refuse(true)
	create("refused-1")
	create("refused-2")
	if err := sink.Stop(); err != nil {
		t.Fatal(err)
	}
	create("down-1")
	time.Sleep(3 * time.Second) // several failed attempts each
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("%d messages while the server refused or was down", n)
	}
	sink.Refuse(false)
	if err := sink.Restart(); err != nil {
		t.Fatal(err)
	}
	got, err := sink.Wait(3, 20*time.Second, mailsink.To("alice@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]int{}
	for _, m := range got {
		subjects[m.Header.Get("Subject")]++
	}
	for s, n := range subjects {
		if n != 1 {
			t.Errorf("%q arrived %d times", s, n)
		}
	}
}
