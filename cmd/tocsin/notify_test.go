package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/mailsink"
)

func TestNotifyTestSendsToEveryContactAndSaysWhatFailed(t *testing.T) {
	sink, err := mailsink.Start(mailsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	db := "sqlite://" + filepath.Join(t.TempDir(), "t.db")
	file := writeFile(t, `
users:
  - username: alice@example.com
    contacts: [{method: email, to: alice@example.com}, {method: sms, to: "+4915112345678"}]
`)
	if _, _, err := tocsin(t, "apply", "-f", file, "--database", db); err != nil {
		t.Fatal(err)
	}
	out, _, err := tocsin(t, "notify", "test", "--user", "alice@example.com", "--smtp-url", sink.URL(), "--smtp-from", "tocsin@example.com", "--database", db)
	if err == nil || !strings.Contains(out, "email alice@example.com: sent") || !strings.Contains(out, "sms +4915112345678: FAILED") {
		t.Fatalf("notify test = %v\n%s; want email sent and sms failed (no SMS channel)", err, out)
	}
	got, err := sink.Wait(1, 5*time.Second, mailsink.To("alice@example.com"))
	if err != nil || !strings.HasPrefix(got[0].Header.Get("Subject"), "[TEST]") {
		t.Fatalf("the test email: %v %+v", err, got)
	}
	sink.Stop()
	out, _, err = tocsin(t, "notify", "test", "--user", "alice@example.com", "--smtp-url", sink.URL(), "--smtp-from", "tocsin@example.com", "--timeout", "3s", "--database", db)
	if err == nil || !strings.Contains(out, "email alice@example.com: FAILED") {
		t.Errorf("with the mail server down: %v\n%s", err, out)
	}
	if _, _, err := tocsin(t, "notify", "test", "--user", "nobody@example.com", "--database", db); err == nil {
		t.Error("notify test for an unknown user succeeded")
	}
}
