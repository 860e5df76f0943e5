package email

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/notify"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// renderChannel is a channel that is only used to render.
func renderChannel(t *testing.T) *Channel {
	t.Helper()
	return newChannel(t, nil, "smtp://127.0.0.1:2525", Options{Rand: fixedRand(1)})
}

func TestRenderingMatchesTheGoldenFiles(t *testing.T) {
	c := renderChannel(t)
	for _, tc := range []struct {
		name string
		m    notify.Message
	}{
		{"securityhub", securityHubMessage("carol@example.com")},
		{"opsgenie", opsgenieMessage("dave@example.com")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := c.Render(tc.m)
			if err != nil {
				t.Fatal(err)
			}
			for ext, got := range map[string]string{".txt": r.Text, ".html": r.HTML} {
				path := filepath.Join("testdata", tc.name+ext)
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to write it)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from the rendering (go test -update rewrites it); got:\n%s", path, got)
				}
			}
		})
	}
}

func TestRenderingDependsOnTheMessageAloneApartFromDateAndMessageID(t *testing.T) {
	m := securityHubMessage("carol@example.com")
	a, err := newChannel(t, nil, "smtp://127.0.0.1:2525", Options{Rand: fixedRand(1)}).Render(m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newChannel(t, nil, "smtp://127.0.0.1:2525", Options{Rand: fixedRand(2), Now: time.Now}).Render(m)
	if err != nil {
		t.Fatal(err)
	}
	if a.Subject != b.Subject || a.Text != b.Text || a.HTML != b.HTML || a.References != b.References {
		t.Error("two renderings of one message differ")
	}
	if a.MessageID == b.MessageID || a.Date.Equal(b.Date) {
		t.Error("two channels with different clocks and randomness made the same Message-ID and Date")
	}
}

func TestSubjects(t *testing.T) {
	sh := securityHubMessage("carol@example.com")
	og := opsgenieMessage("dave@example.com")
	for _, tc := range []struct {
		name string
		edit func(m *notify.Message)
		base notify.Message
		want string
	}{
		{"a Security Hub alert names the product, account and region", nil, sh,
			"[P2] GuardDuty: EC2 instance i-0abc is communicating with a known C&C server (123456789012 eu-central-1)"},
		{"a Security Hub alert without a region names the account", func(m *notify.Message) { delete(m.Alert.Details, "Region") }, sh,
			"[P2] GuardDuty: EC2 instance i-0abc is communicating with a known C&C server (123456789012)"},
		{"a Security Hub alert without details has no parentheses", func(m *notify.Message) { m.Alert.Details = nil; m.Alert.Source = "" }, sh,
			"[P2] Security Hub: EC2 instance i-0abc is communicating with a known C&C server"},
		{"another alert names its source after the message", nil, og, "[P3] Disk /var is 95% full on db-1 (prometheus)"},
		{"another alert without a source is the message", func(m *notify.Message) { m.Alert.Source = "" }, og, "[P3] Disk /var is 95% full on db-1"},
		{"a test notification says so first", func(m *notify.Message) { m.Test = true }, og, "[TEST] [P3] Disk /var is 95% full on db-1 (prometheus)"},
		{"a re-page keeps the subject of the thread", func(m *notify.Message) { m.Step, m.Round = 3, 2 }, og, "[P3] Disk /var is 95% full on db-1 (prometheus)"},
		{"line breaks become spaces", func(m *notify.Message) { m.Alert.Message = "Disk\r\nfull\n\nBcc: x@example.com" }, og,
			"[P3] Disk full Bcc: x@example.com (prometheus)"},
		{"an empty message is named as such", func(m *notify.Message) { m.Alert.Message = " \n" }, og, "[P3] (no message) (prometheus)"},
		{"a long message is cut", func(m *notify.Message) { m.Alert.Message = strings.Repeat("a", 500); m.Alert.Source = "" }, og,
			"[P3] " + strings.Repeat("a", maxSubjectMessageRunes-1) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.base
			m.Alert.Details = cloneMap(m.Alert.Details)
			if tc.edit != nil {
				tc.edit(&m)
			}
			r := renderBody(m)
			if r.Subject != tc.want {
				t.Errorf("subject %q, want %q", r.Subject, tc.want)
			}
		})
	}
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestTheBodySaysWhatStateTheAlertIsInAndWhyYouGotIt(t *testing.T) {
	for _, tc := range []struct {
		name       string
		edit       func(m *notify.Message)
		want, lack []string
	}{
		{"a first page names its step and no earlier recipients", func(m *notify.Message) { m.Step, m.Round, m.PreviousRecipients = 1, 1, nil },
			[]string{"on call for this alert (escalation step 1) as carol@example.com"}, []string{"Escalation step", "Paged before"}},
		{"a re-page names the step, round and who was paged before", func(m *notify.Message) { m.Step, m.Round = 1, 2 },
			[]string{"Escalation step 1 (round 2). Paged before: Alice Doe, bob@example.com.", "(escalation step 1, round 2)"}, nil},
		{"an acknowledged alert says so", func(m *notify.Message) { m.Alert.Acknowledged = true },
			[]string{"already been acknowledged", "Acknowledged"}, nil},
		{"a closed alert says so", func(m *notify.Message) { m.Alert.Status = "closed" },
			[]string{"already closed", "Closed"}, nil},
		{"a test notification says no alert needs attention", func(m *notify.Message) { m.Test, m.Step, m.Round = true, 0, 0 },
			[]string{"Test notification", "test notification for carol@example.com"}, []string{"on call"}},
		{"without action links there are no buttons and nothing expires", func(m *notify.Message) { m.Links.Ack, m.Links.Close = "", "" },
			nil, []string{"Acknowledge", ">Close<", "expire"}},
		{"only the links that exist are offered", func(m *notify.Message) { m.Links.Close = "" },
			[]string{">Acknowledge<", "The Acknowledge link is for you alone and expires"}, []string{">Close<"}},
		{"links that are not web links are left out", func(m *notify.Message) {
			m.Links.Ack, m.Links.Finding = "javascript:alert(1)", "ftp://example.com/x"
		}, nil, []string{"javascript:", "ftp://", ">Acknowledge<", "AWS console"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := securityHubMessage("carol@example.com")
			tc.edit(&m)
			r := renderBody(m)
			body := r.Text + r.HTML
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("the email lacks %q", w)
				}
			}
			for _, l := range tc.lack {
				if strings.Contains(body, l) {
					t.Errorf("the email contains %q", l)
				}
			}
		})
	}
}

func TestTheHTMLPartEscapesTheAlertAndLinksOnlyWebURLs(t *testing.T) {
	m := opsgenieMessage("dave@example.com")
	m.Alert.Message = `<script>alert("m")</script>`
	m.Alert.Description = "see <b>this</b> & https://example.com/a?b=1&c=<2> then javascript:alert(1)\nline two (https://example.com/x).\n\x00\x1b[31mred"
	m.Alert.Details = map[string]string{"<img src=x>": `"><svg onload=alert(1)>`}
	r := renderBody(m)
	for _, bad := range []string{"<script>", "<b>this", "<img", "<svg", "\x00", "\x1b", `href="javascript`} {
		if strings.Contains(r.HTML, bad) {
			t.Errorf("the HTML part contains %q", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;", "&lt;b&gt;this&lt;/b&gt; &amp; ",
		`<a href="https://example.com/a?b=1&amp;c=" `, `<a href="https://example.com/x" `,
		"line two (<a", "</a>).", // the link stops before the closing parenthesis and the full stop
	} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("the HTML part lacks %q", want)
		}
	}
	if !strings.Contains(r.Text, "see <b>this</b> & https://example.com/a?b=1&c=<2>") {
		t.Errorf("the text part changed the description:\n%s", r.Text)
	}
}

func TestLongLinksShowShortButLeadToTheFullURL(t *testing.T) {
	segs := linkify("Open in Security Hub: " + testConsoleURL + ".")
	if len(segs) != 3 || segs[1].URL != testConsoleURL || segs[2].Text != "." {
		t.Fatalf("segments %+v", segs)
	}
	if got := segs[1].Text; got != "console.aws.amazon.com/securityhub/home" {
		t.Errorf("link text %q", got)
	}
}

func TestDescriptionLinesAreParsedIntoFieldsHeadingsAndItems(t *testing.T) {
	lines := parseDescription(cleanText("What.\n\n\n\nSeverity: HIGH\nResources:\n  - AwsEc2Instance i-0abc\nplain: lower-case is text\n"))
	var kinds []string
	for _, l := range lines {
		kinds = append(kinds, l.Kind)
	}
	if got := strings.Join(kinds, " "); got != "text gap field heading item text" {
		t.Errorf("kinds %q", got)
	}
	if lines[2].Label != "Severity:" || lines[2].Segs[0].Text != "HIGH" {
		t.Errorf("field %+v", lines[2])
	}
}
