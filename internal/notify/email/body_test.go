package email

import (
	"bytes"
	htmltemplate "html/template"
	"strings"
	"testing"
	texttemplate "text/template"
	"time"

	"github.com/tocsin-dev/tocsin/internal/notify"
)

// The bodies were html/template and text/template templates until writing them by hand made a page
// cheaper (body.go). The templates stay in testdata as the reference: whatever the message, the
// hand-written bodies must be the same bytes, so that html/template's contextual escaping is still
// what protects the HTML part.

var (
	referenceText = texttemplate.Must(texttemplate.ParseFiles("testdata/templates/email.txt.tmpl"))
	referenceHTML = htmltemplate.Must(htmltemplate.ParseFiles("testdata/templates/email.html.tmpl"))
)

func referenceBodies(t *testing.T, m notify.Message) (text, html string) {
	t.Helper()
	v := newView(m)
	var tb, hb bytes.Buffer
	if err := referenceText.Execute(&tb, v); err != nil {
		t.Fatal(err)
	}
	if err := referenceHTML.Execute(&hb, v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(tb.String(), "\n") + "\n", hb.String()
}

func requireSameAsTemplates(t *testing.T, m notify.Message) {
	t.Helper()
	text, html := referenceBodies(t, m)
	r := renderBody(m)
	if r.Text != text {
		t.Errorf("the text part differs from the template's:\n got %q\nwant %q", r.Text, text)
	}
	if r.HTML != html {
		t.Errorf("the HTML part differs from the template's:\n got %q\nwant %q", r.HTML, html)
	}
}

func TestTheBodiesAreTheBytesTheTemplatesMake(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    func() notify.Message
	}{
		{"a Security Hub finding re-paged at step 2", func() notify.Message { return securityHubMessage("carol@example.com") }},
		{"an Opsgenie alert with details", func() notify.Message { return opsgenieMessage("dave@example.com") }},
		{"a test notification without links", func() notify.Message {
			m := opsgenieMessage("dave@example.com")
			m.Test, m.Links = true, notify.Links{}
			return m
		}},
		{"a closed alert with only a Close link", func() notify.Message {
			m := securityHubMessage("carol@example.com")
			m.Alert.Status, m.Links.Ack = "closed", ""
			return m
		}},
		{"an acknowledged alert with only an Ack link and no facts", func() notify.Message {
			m := opsgenieMessage("dave@example.com")
			m.Alert = notify.Alert{Acknowledged: true, Message: "x"}
			m.Links = notify.Links{Ack: "https://t.example/a/1"}
			return m
		}},
		{"hostile text and links", func() notify.Message {
			m := opsgenieMessage("dave@example.com")
			m.Alert.Message = `<script>alert("m")</script> + 'q' & more`
			m.Alert.Priority = `P9"><b>`
			m.Alert.Description = "see <b>this</b> & https://example.com/a?b=1&c=<2>'\"+%zz%41 then javascript:alert(1)\n" +
				"- item https://ex.example/ü?q=a b\nHeading:\nLabel: https://x.example/(y)\n\n\x00\x1b[31mred"
			m.Alert.Details = map[string]string{"<img src=x>": `"><svg onload=alert(1)>`, "plus+": "a\x00b"}
			m.Links.Alert = "https://tocsin.example.com/alerts/a'b\"c<d>e%2"
			m.Links.Finding = "HTTPS://console.example/?x=1&y=+2#frag"
			return m
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { requireSameAsTemplates(t, tc.m()) })
	}
}

// FuzzBodiesAreTheBytesTheTemplatesMake renders fuzzed alerts both ways.
func FuzzBodiesAreTheBytesTheTemplatesMake(f *testing.F) {
	sh := securityHubMessage("carol@example.com")
	og := opsgenieMessage("dave@example.com")
	f.Add(sh.Alert.Message, sh.Alert.Description, sh.Alert.Priority, sh.Alert.Source, sh.Alert.Entity, "Types", sh.Alert.Details["Types"], sh.Links.Ack, sh.Links.Finding, true, false, 2)
	f.Add(og.Alert.Message, og.Alert.Description, og.Alert.Priority, og.Alert.Source, og.Alert.Entity, "used", "95%", og.Links.Ack, og.Links.Alert, false, true, 1)
	f.Add("<b>&'\"+</b>", "Label: https://a.example/x?y=1&z=<2>\n- https://b.example/%zz\n\n", "P1", "s\x00", "e", "<k>", "\x00v", "http://h/'", "javascript:alert(1)", false, false, 0)
	f.Fuzz(func(t *testing.T, message, description, priority, source, entity, key, value, link1, link2 string, securityHub, closed bool, step int) {
		m := notify.Message{
			Alert: notify.Alert{
				ID: "a1", TinyID: 7, Message: message, Description: description, Priority: priority,
				Source: source, Entity: entity, Details: map[string]string{key: value, "Region": value},
				Tags: []string{key, value}, Count: 2, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
				LastOccurredAt: time.Date(2026, 1, 2, 3, 9, 5, 0, time.UTC),
			},
			Step: step % 5, Round: 1,
			Links: notify.Links{Ack: link1, Close: link2, Alert: link2, Finding: link1},
		}
		if securityHub {
			m.Alert.Integration.Type = integrationSecurityHub
		}
		if closed {
			m.Alert.Status = "closed"
		}
		requireSameAsTemplates(t, m)
	})
}

// BenchmarkRenderBodies renders the Security Hub golden message's two parts; -bench with
// BenchmarkRenderBodiesWithTemplates beside it shows what writing them by hand saves per page.
func BenchmarkRenderBodies(b *testing.B) {
	m := securityHubMessage("carol@example.com")
	for b.Loop() {
		renderBody(m)
	}
}

func BenchmarkRenderBodiesWithTemplates(b *testing.B) {
	m := securityHubMessage("carol@example.com")
	for b.Loop() {
		v := newView(m)
		var tb, hb bytes.Buffer
		if err := referenceText.Execute(&tb, v); err != nil {
			b.Fatal(err)
		}
		if err := referenceHTML.Execute(&hb, v); err != nil {
			b.Fatal(err)
		}
	}
}
