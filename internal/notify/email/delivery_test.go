package email

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/tocsin-dev/tocsin/internal/notify"
)

// part is one decoded part of a received message.
type part struct {
	contentType string
	encoding    string // Content-Transfer-Encoding
	body        string
}

// parseMessage reads a received message with net/mail and mime/multipart, as a mail client would.
func parseMessage(t *testing.T, data []byte) (*mail.Message, []part) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, data)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	var parts []part
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart() // raw: NextPart would hide Content-Transfer-Encoding
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			r = quotedprintable.NewReader(p)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts = append(parts, part{contentType: ct, encoding: p.Header.Get("Content-Transfer-Encoding"), body: string(body)})
	}
	return msg, parts
}

func TestAPageArrivesWithItsHeadersAndBothParts(t *testing.T) {
	srv := newTestServer(t, serverOptions{})
	c := newChannel(t, srv, srv.url("", ""), Options{Rand: fixedRand(7)})
	m := securityHubMessage("carol@example.com")
	rec, err := send(t, c, m)
	if err != nil {
		t.Fatal(err)
	}
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("the server got %d messages, want 1", len(got))
	}
	env := got[0]
	if env.From != "tocsin@example.com" || len(env.To) != 1 || env.To[0] != "carol@example.com" {
		t.Errorf("envelope from %q to %q", env.From, env.To)
	}
	msg, parts := parseMessage(t, env.Data)
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	thread := "<alert-" + testAlertID + "@example.com>"
	r, _ := c.Render(m)
	for _, h := range []struct{ name, got, want string }{
		{"Subject", subject, "[P2] GuardDuty: EC2 instance i-0abc is communicating with a known C&C server (123456789012 eu-central-1)"},
		{"From", msg.Header.Get("From"), `"tocsin" <tocsin@example.com>`},
		{"To", msg.Header.Get("To"), `"Carol Poe" <carol@example.com>`},
		{"Message-ID", msg.Header.Get("Message-ID"), r.MessageID},
		{"In-Reply-To", msg.Header.Get("In-Reply-To"), thread},
		{"References", msg.Header.Get("References"), thread},
		{"Auto-Submitted", msg.Header.Get("Auto-Submitted"), "auto-generated"},
		{"X-Tocsin-Alert-Id", msg.Header.Get("X-Tocsin-Alert-Id"), testAlertID},
		{"X-Tocsin-Priority", msg.Header.Get("X-Tocsin-Priority"), "P2"},
		{"Date", msg.Header.Get("Date"), "Sun, 01 Mar 2026 11:03:00 +0000"},
	} {
		if h.got != h.want {
			t.Errorf("%s = %q, want %q", h.name, h.got, h.want)
		}
	}
	if !strings.HasSuffix(r.MessageID, "@example.com>") || !strings.HasPrefix(r.MessageID, "<") {
		t.Errorf("Message-ID %q", r.MessageID)
	}
	if rec.ProviderID != r.MessageID || !strings.HasPrefix(rec.Detail, "250 ") {
		t.Errorf("receipt %+v, want the Message-ID and a 250 reply", rec)
	}

	types := map[string]string{}
	for _, p := range parts {
		types[p.contentType] = p.body
	}
	for _, ct := range []string{"text/plain", "text/html"} {
		body, ok := types[ct]
		if !ok {
			t.Errorf("no %s part", ct)
			continue
		}
		for _, want := range []string{
			m.Links.Ack, m.Links.Close, m.Links.Alert, "Acknowledge", "Close",
			"123456789012", "prod-payments", "eu-central-1", "i-0abc", "HIGH",
			"2026-03-01 11:00:00 UTC", "2026-03-01 11:01:30 UTC",
			"Escalation step 2 (round 1). Paged before: Alice Doe, bob@example.com.",
			"Isolate the instance", "https://docs.aws.amazon.com/guardduty/latest/ug/compromised-ec2.html",
			"escalation step 2", "carol@example.com", "expire",
		} {
			if ct == "text/html" {
				want = strings.ReplaceAll(want, "&", "&amp;")
			}
			if !strings.Contains(body, want) {
				t.Errorf("the %s part lacks %q", ct, want)
			}
		}
	}
	if !strings.Contains(types["text/html"], `href="`+strings.ReplaceAll(testConsoleURL, "&", "&amp;")+`"`) {
		t.Errorf("the HTML part does not link to the finding in the console")
	}
}

func TestEveryEmailAboutOneAlertHasANewMessageIDButTheSameThread(t *testing.T) {
	c := newChannel(t, nil, "smtp://127.0.0.1:2525", Options{})
	m := securityHubMessage("carol@example.com")
	first, err := c.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	m.Step, m.IdempotencyKey = 3, testAlertID+"/3/1/carol@example.com/email-0"
	second, err := c.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	if first.MessageID == second.MessageID {
		t.Errorf("both emails have Message-ID %s", first.MessageID)
	}
	if first.References != second.References || first.InReplyTo != first.References || first.InReplyTo == "" {
		t.Errorf("threads %q/%q and %q/%q, want one", first.InReplyTo, first.References, second.InReplyTo, second.References)
	}
	if first.Subject != second.Subject {
		t.Errorf("subjects %q and %q differ; clients that thread by subject would split the thread", first.Subject, second.Subject)
	}
	again, _ := c.Render(m)
	if again.MessageID == second.MessageID {
		t.Errorf("a retry of one page reused Message-ID %s", again.MessageID)
	}
}

func TestTheReceiptNamesTheServersQueueIDWhenItGivesOne(t *testing.T) {
	srv := newTestServer(t, serverOptions{DataReply: &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Ok: queued as 4Q1x2Y3zAbC"}})
	c := newChannel(t, srv, srv.url("", ""), Options{})
	rec, err := send(t, c, opsgenieMessage("dave@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.ProviderID != "4Q1x2Y3zAbC" || rec.Detail != "250 2.0.0 Ok: queued as 4Q1x2Y3zAbC" {
		t.Errorf("receipt %+v", rec)
	}
}

func TestRecipientsThatAreNotEmailAddressesArePermanentErrors(t *testing.T) {
	srv := newTestServer(t, serverOptions{})
	c := newChannel(t, srv, srv.url("", ""), Options{})
	for _, to := range []string{"", "  ", "carol", "carol@", "@example.com", "+15551234567", "carol@example.com\r\nBcc: eve@example.com",
		"carol@example.com, eve@example.com", "https://hooks.example.com/x", "carol@[127.0.0.1]"} {
		_, err := send(t, c, securityHubMessage(to))
		if outcome(err) != "permanent" {
			t.Errorf("Send to %q = %v, want permanent", to, err)
		}
	}
	if n := srv.connections(); n != 0 {
		t.Errorf("the server saw %d connections for invalid recipients, want 0", n)
	}
}

func TestAContactWithADisplayNameKeepsIt(t *testing.T) {
	srv := newTestServer(t, serverOptions{})
	c := newChannel(t, srv, srv.url("", ""), Options{})
	if _, err := send(t, c, opsgenieMessage("Dave at work <dave@example.com>")); err != nil {
		t.Fatal(err)
	}
	msg, _ := parseMessage(t, srv.messages()[0].Data)
	if got := msg.Header.Get("To"); got != `"Dave at work" <dave@example.com>` {
		t.Errorf("To = %q", got)
	}
}

func TestHeadersCarryNoLineBreaksFromTheAlert(t *testing.T) {
	srv := newTestServer(t, serverOptions{})
	c := newChannel(t, srv, srv.url("", ""), Options{})
	m := opsgenieMessage("dave@example.com")
	m.Alert.Message = "Disk full\r\nBcc: eve@example.com\r\n\r\nspoofed body"
	m.Alert.Priority = "P3\nX-Evil: 1"
	m.Alert.ID = "id\r\nX-Evil: 2"
	if _, err := send(t, c, m); err != nil {
		t.Fatal(err)
	}
	env := srv.messages()[0]
	if len(env.To) != 1 {
		t.Errorf("envelope recipients %q", env.To)
	}
	msg, _ := parseMessage(t, env.Data)
	for _, h := range []string{"Bcc", "X-Evil"} {
		if v := msg.Header.Get(h); v != "" {
			t.Errorf("header %s: %q was injected", h, v)
		}
	}
	if got := msg.Header.Get("X-Tocsin-Priority"); got != "P3 X-Evil: 1" {
		t.Errorf("X-Tocsin-Priority = %q", got)
	}
	if got := msg.Header.Get("In-Reply-To"); !strings.HasPrefix(got, "<alert-h") || strings.ContainsAny(got, " \r\n") {
		t.Errorf("In-Reply-To = %q, want a hashed thread id", got)
	}
}

func TestPartsGoAs8bitOnlyWhenTheServerAndTheBodyAllowIt(t *testing.T) {
	long := securityHubMessage("carol@example.com")
	long.Alert.Description = "A line of 1,200 characters: " + strings.Repeat("x", 1200)
	for _, tc := range []struct {
		name   string
		server scripted
		m      notify.Message
		want   string
	}{
		{"a server that offers 8BITMIME gets 8bit", scripted{}, securityHubMessage("carol@example.com"), "8bit"},
		{"a server without 8BITMIME gets quoted-printable", scripted{no8BitMIME: true}, securityHubMessage("carol@example.com"), "quoted-printable"},
		{"a line longer than 998 octets is quoted-printable", scripted{}, long, "quoted-printable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, data, _ := scriptedServer(t, tc.server)
			c := newChannel(t, nil, "smtp://"+addr, Options{})
			if _, err := send(t, c, tc.m); err != nil {
				t.Fatal(err)
			}
			got := data()
			if len(got) != 1 {
				t.Fatalf("the server got %d messages", len(got))
			}
			for _, line := range strings.Split(got[0], "\r\n") {
				if len(line) > 998 {
					t.Fatalf("the message has a line of %d octets", len(line))
				}
			}
			r, _ := c.Render(tc.m)
			_, parts := parseMessage(t, []byte(got[0]))
			if len(parts) != 2 {
				t.Fatalf("%d parts", len(parts))
			}
			for _, p := range parts {
				if p.encoding != tc.want {
					t.Errorf("%s is %q, want %q", p.contentType, p.encoding, tc.want)
				}
				want := map[string]string{"text/plain": r.Text, "text/html": r.HTML}[p.contentType]
				if body := strings.ReplaceAll(p.body, "\r\n", "\n"); body != want {
					t.Errorf("%s reads back as\n%q\nwant\n%q", p.contentType, body, want)
				}
			}
		})
	}
}

func TestEightBitSafe(t *testing.T) {
	for _, tc := range []struct {
		body string
		want bool
	}{
		{"", true},
		{"a\nb\n", true},
		{strings.Repeat("é", 499) + "\n", true}, // 998 octets
		{strings.Repeat("x", 999), false},
		{"a\rb", false},
		{"a\x00b", false},
	} {
		if got := eightBitSafe(tc.body); got != tc.want {
			t.Errorf("eightBitSafe(%.20q…) = %v, want %v", tc.body, got, tc.want)
		}
	}
}

func TestTheMessageIsDotStuffedWithCRLFLineEnds(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\r\nb", "a\r\nb\r\n"},
		{".\n..x\n.", "..\r\n...x\r\n..\r\n"},
		{"\n\n", "\r\n\r\n"},
		{"x.\n y", "x.\r\n y\r\n"},
	} {
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		writeLines(w, []byte(tc.in), true)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("writeLines(%q, dot-stuffed) = %q, want %q", tc.in, b.String(), tc.want)
		}
		b.Reset()
		writeLines(w, []byte(tc.in), false)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if n := linesLen([]byte(tc.in)); n != b.Len() {
			t.Errorf("linesLen(%q) = %d, but writeLines writes %d bytes (%q)", tc.in, n, b.Len(), b.String())
		}
	}
}

func TestADescriptionLineThatStartsWithADotArrivesIntact(t *testing.T) {
	srv := newTestServer(t, serverOptions{})
	c := newChannel(t, srv, srv.url("", ""), Options{})
	m := opsgenieMessage("dave@example.com")
	m.Alert.Description = "first\n.\n.hidden line\n..two dots"
	if _, err := send(t, c, m); err != nil {
		t.Fatal(err)
	}
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("the server got %d messages", len(got))
	}
	_, parts := parseMessage(t, got[0].Data)
	r, _ := c.Render(m)
	for _, p := range parts {
		if p.contentType == "text/plain" && strings.ReplaceAll(p.body, "\r\n", "\n") != r.Text {
			t.Errorf("the text part arrived as\n%q\nwant\n%q", p.body, r.Text)
		}
	}
}
