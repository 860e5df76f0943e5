package load

import (
	"context"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/securityhub"
	"github.com/tocsin-dev/tocsin/internal/sns"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
)

// verify parses and verifies a body as tocsin's intake does, trusting what opts trusts.
func verify(t *testing.T, v *sns.Verifier, body []byte) *sns.Message {
	t.Helper()
	m, err := sns.Parse(body)
	if err != nil {
		t.Fatalf("the body does not parse as SNS: %v", err)
	}
	if err := v.Verify(context.Background(), m); err != nil {
		t.Fatalf("the signature does not verify: %v", err)
	}
	return m
}

func TestASignerRestartedOnItsDirectoryIsStillTrustedThroughThePersistedCA(t *testing.T) {
	dir := t.TempDir() + "/certs"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	first, err := NewSigner(SignerConfig{Dir: dir, Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	flags := ServeFlags(first.Host(), first.CAFile(), SMTPURL("127.0.0.1:2525"), "tocsin <tocsin@example.com>")
	want := []string{"--sns-cert-hosts", addr, "--sns-ca-file", dir + "/" + snstest.CAFileName,
		"--smtp-url", "smtp://127.0.0.1:2525?tls=none", "--smtp-from", "tocsin <tocsin@example.com>"}
	if !slices.Equal(flags, want) {
		t.Fatalf("ServeFlags = %q\nwant %q", flags, want)
	}
	// tocsin as started with those flags: the allow list and the CA file, read once.
	ca, err := os.ReadFile(first.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	tocsin, err := sns.NewVerifier(sns.Options{Hosts: []string{addr}, ExtraRootsPEM: ca})
	if err != nil {
		t.Fatal(err)
	}
	m, err := first.Notification([]byte(`{"before":"restart"}`))
	if err != nil {
		t.Fatal(err)
	}
	verify(t, tocsin, m.Body)
	first.Close()

	second, err := NewSigner(SignerConfig{Dir: dir, Addr: addr, SignatureVersion: "2"})
	if err != nil {
		t.Fatalf("restarting the signer: %v", err)
	}
	defer second.Close()
	m, err = second.Notification([]byte(`{"after":"restart"}`))
	if err != nil {
		t.Fatal(err)
	}
	got := verify(t, tocsin, m.Body)
	if got.SignatureVersion != "2" || got.MessageID != m.ID || got.Message != `{"after":"restart"}` {
		t.Errorf("verified message %+v", got)
	}
	if m.Header.Get(sns.HeaderMessageID) != m.ID || !sns.FromSNS(m.Header) {
		t.Errorf("headers %v", m.Header)
	}
}

func TestMakeCAWritesTheCAThatALaterSignerUses(t *testing.T) {
	dir := t.TempDir()
	caFile, err := MakeCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	made, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSignerIn(t, dir)
	tocsin, err := sns.NewVerifier(sns.Options{Hosts: []string{s.Host()}, ExtraRootsPEM: made})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Notification([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	verify(t, tocsin, m.Body)
	if again, err := MakeCA(dir); err != nil || again != caFile {
		t.Errorf("MakeCA again: %q, %v", again, err)
	}
	if now, _ := os.ReadFile(caFile); string(now) != string(made) {
		t.Error("MakeCA replaced the CA")
	}
}

func TestASignerNeedsADirectoryForItsCA(t *testing.T) {
	if _, err := NewSigner(SignerConfig{Addr: "127.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("NewSigner without a Dir: %v", err)
	}
}

func TestEveryKindOfFindingIsWhatSecurityHubWouldSendAndMapsAsIntended(t *testing.T) {
	b, err := newBuilder("r9")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 26, 10, 0, 0, 123e6, time.UTC)
	tests := []struct {
		name     string
		plan     plan
		action   securityhub.Action
		priority string
		title    string
		reason   string
	}{
		{"a new finding", plan{kind: KindNew, seq: 7, updatedAt: at}, securityhub.ActionCreate, "P2", "load#r9.7# Credentials", ""},
		{"its first update", plan{kind: KindUpdate, seq: 7, updatedAt: at.Add(time.Millisecond), version: 1}, securityhub.ActionCreate, "P3", "load#r9.7# (update 1) Credentials", ""},
		{"its second update", plan{kind: KindUpdate, seq: 7, updatedAt: at.Add(2 * time.Millisecond), version: 2}, securityhub.ActionCreate, "P1", "load#r9.7# (update 2) Credentials", ""},
		{"the resolve of an even seq", plan{kind: KindResolve, seq: 8, updatedAt: at, version: 1}, securityhub.ActionClose, "", "", "workflow status RESOLVED"},
		{"the resolve of an odd seq", plan{kind: KindResolve, seq: 7, updatedAt: at.Add(3 * time.Millisecond), version: 3}, securityhub.ActionClose, "", "", "record state ARCHIVED"},
		{"a new finding after a resolve was built", plan{kind: KindNew, seq: 9, updatedAt: at}, securityhub.ActionCreate, "P2", "load#r9.9# Credentials", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := b.event(tt.plan)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := securityhub.ParseEvent(body)
			if err != nil {
				t.Fatalf("securityhub.ParseEvent: %v", err)
			}
			ds := securityhub.Decide(ev, securityhub.Filter{}, securityhub.Options{})
			if len(ds) != 1 {
				t.Fatalf("%d decisions", len(ds))
			}
			d := ds[0]
			if d.Action != tt.action || d.Alias != FindingID("r9", tt.plan.seq) {
				t.Fatalf("decision %s for alias %s, want %s for %s", d.Action, d.Alias, tt.action, FindingID("r9", tt.plan.seq))
			}
			if d.UpdatedAt != tt.plan.updatedAt.Format("2006-01-02T15:04:05.000Z") {
				t.Errorf("UpdatedAt %s", d.UpdatedAt)
			}
			if tt.action == securityhub.ActionClose {
				if !strings.Contains(d.Reason, tt.reason) {
					t.Errorf("closes because %q, want %q", d.Reason, tt.reason)
				}
				return
			}
			if string(d.Request.Priority) != tt.priority || !strings.HasPrefix(d.Request.Message, tt.title) {
				t.Errorf("alert %s %q, want %s %q…", d.Request.Priority, d.Request.Message, tt.priority, tt.title)
			}
			if run, seq, ok := ParseMarker(d.Request.Message); !ok || run != "r9" || seq != tt.plan.seq {
				t.Errorf("the alert's message %q does not carry the marker", d.Request.Message)
			}
		})
	}
}

func TestMarkersAreFoundInSubjects(t *testing.T) {
	tests := []struct {
		subject string
		run     string
		seq     int
		ok      bool
	}{
		{"[P2] GuardDuty: " + Marker("k3x9a2", 41) + " Credentials for … (123456789012 us-east-1)", "k3x9a2", 41, true},
		{Marker("a", 0), "a", 0, true},
		{"[P2] GuardDuty: bench#41# Credentials", "", 0, false},
		{"load#UPPER.1#", "", 0, false},
		{"load#r.#", "", 0, false},
		{"", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			run, seq, ok := ParseMarker(tt.subject)
			if run != tt.run || seq != tt.seq || ok != tt.ok {
				t.Fatalf("= %q, %d, %v; want %q, %d, %v", run, seq, ok, tt.run, tt.seq, tt.ok)
			}
		})
	}
}

func TestTheSinkKeepsWhatIdentifiesEachEmail(t *testing.T) {
	sink := newTestSink(t)
	subject := "[P2] GuardDuty: " + Marker("r1", 12) + " Credentials … (123456789012 us-east-1)"
	msg := "From: tocsin <tocsin@example.com>\r\nTo: oncall@example.com\r\n" +
		"Subject: =?UTF-8?q?" + strings.ReplaceAll(strings.ReplaceAll(subject, " ", "_"), "…", "=E2=80=A6") + "?=\r\n" +
		"Message-ID: <abc.123@tocsin.example.com>\r\nX-Tocsin-Alert-Id: 0195f3a2-7c4e-7d11-9a3b-000000000012\r\n\r\nbody\r\n"
	if err := smtp.SendMail(sink.Addr(), nil, "tocsin@example.com", []string{"oncall@example.com"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := smtp.SendMail(sink.Addr(), nil, "tocsin@example.com", []string{"x@example.com"}, []byte("Subject: hello\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	emails, _ := sink.Emails(0)
	if len(emails) != 2 || sink.Len() != 2 {
		t.Fatalf("%d emails", len(emails))
	}
	e := emails[0]
	want := Email{At: e.At, To: []string{"oncall@example.com"}, Subject: subject, MessageID: "<abc.123@tocsin.example.com>",
		AlertID: "0195f3a2-7c4e-7d11-9a3b-000000000012", Run: "r1", Seq: 12}
	if fmt.Sprint(e) != fmt.Sprint(want) || time.Since(e.At) > time.Minute {
		t.Errorf("email\n got %+v\nwant %+v", e, want)
	}
	if emails[1].Seq != -1 || emails[1].Run != "" {
		t.Errorf("an email without a marker: %+v", emails[1])
	}
	if later, _ := sink.Emails(1); len(later) != 1 || later[0].Subject != "hello" {
		t.Errorf("Emails(1) = %+v", later)
	}
}
