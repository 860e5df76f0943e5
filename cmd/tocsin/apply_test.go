package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const designYAML = `
users:
  - username: alice@example.com
    fullName: Alice Doe
    timezone: Europe/Berlin
    contacts: [{method: email, to: alice@example.com}, {method: sms, to: "+4915112345678"}]
    notificationRules: [{contact: email, delay: 0s}, {contact: sms, delay: 5m}]
  - username: bob@example.com
teams:
  - name: secops
    members: [alice@example.com, bob@example.com]
    escalation: secops-escalation
schedules:
  - name: secops-primary
    team: secops
    timezone: Europe/Berlin
    rotations:
      - {name: weekly, type: weekly, length: 1, start: "2026-01-05T09:00:00+01:00",
         participants: [alice@example.com, bob@example.com],
         restrictions: [{kind: weekday-and-time, from: "mon 09:00", to: "fri 18:00"}]}
    overrides: [{user: bob@example.com, from: "2026-12-24T00:00:00+01:00", to: "2026-12-27T00:00:00+01:00"}]
escalations:
  - name: secops-escalation
    rules:
      - {delay: 0s, notify: {schedule: secops-primary}}
      - {delay: 10m, notify: {user: bob@example.com}}
      - {delay: 20m, notify: {team: secops}}
    repeat: {after: 30m, times: 2}
integrations:
  - name: securityhub-prod
    type: amazonsecurityhub
    team: secops
    roleArn: arn:aws:iam::123456789012:role/tocsinSecurityHubRole
    region: eu-central-1
    sendUpdates: true
    filter: {minSeverity: MEDIUM}
`

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tocsin.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestApplyingTheDesignExampleTwiceChangesNothingTheSecondTime(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "t.db")
	file := writeFile(t, designYAML)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"apply", "-f", file, "--dry-run", "--database", dsn}, &out, &errOut); err != nil {
		t.Fatalf("dry run: %v %s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), `would create schedule "secops-primary"`) || out.Len() != 0 {
		t.Fatalf("dry run said %q / %q", errOut.String(), out.String())
	}
	errOut.Reset()
	if err := run(context.Background(), []string{"apply", "-f", file, "--database", dsn}, &out, &errOut); err != nil {
		t.Fatalf("apply: %v %s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "Applied 6 changes") {
		t.Errorf("first apply said %q", errOut.String())
	}
	if line := strings.TrimSpace(out.String()); !strings.HasPrefix(line, "securityhub-prod ") || len(line) != len("securityhub-prod ")+64 {
		t.Errorf("the new integration's key was not printed: %q", out.String())
	}
	out.Reset()
	errOut.Reset()
	if err := run(context.Background(), []string{"apply", "-f", file, "--database", dsn}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "No changes: 6 objects are as declared.") || out.Len() != 0 {
		t.Errorf("second apply said %q / %q", errOut.String(), out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"oncall", "--database", dsn, "--at", "2026-12-25T10:00:00+01:00"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "secops-primary  bob@example.com") {
		t.Errorf("on call at Christmas (override): %q", out.String())
	}
	// --prune deletes what the file no longer declares.
	smaller := strings.Replace(designYAML, "  - username: bob@example.com\n", "", 1)
	smaller = strings.ReplaceAll(smaller, ", bob@example.com", "")
	smaller = strings.Replace(smaller, "      - {delay: 10m, notify: {user: bob@example.com}}\n", "", 1)
	smaller = strings.Replace(smaller, `    overrides: [{user: bob@example.com, from: "2026-12-24T00:00:00+01:00", to: "2026-12-27T00:00:00+01:00"}]`+"\n", "", 1)
	errOut.Reset()
	if err := run(context.Background(), []string{"apply", "-f", writeFile(t, smaller), "--prune", "--database", dsn}, &out, &errOut); err != nil {
		t.Fatalf("prune: %v %s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), `delete user "bob@example.com"`) {
		t.Errorf("prune said %q", errOut.String())
	}
}

func TestApplyReportsEveryProblemWithItsLocationAndChangesNothing(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "t.db")
	bad := strings.Replace(designYAML, "participants: [alice@example.com, bob@example.com]", "participants: [alice@example.com, bbo@example.com]", 1)
	bad = strings.Replace(bad, "escalation: secops-escalation", "escalation: secops-escalaton", 1)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"apply", "-f", writeFile(t, bad), "--database", dsn}, &out, &errOut)
	if err == nil {
		t.Fatal("a bad file was applied")
	}
	for _, want := range []string{
		`schedules[0].rotations[0].participants[1]: unknown user "bbo@example.com"`,
		`teams[0].escalation: unknown escalation policy "secops-escalaton"`,
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, errOut.String())
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"oncall", "--database", dsn}, &out, &errOut); err != nil || strings.Contains(out.String(), "secops") {
		t.Errorf("something was stored: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"apply", "-f", writeFile(t, "users: [{username: x, colour: red}]"), "--database", dsn}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("an unknown key: %v", err)
	}
}

func TestApikeyCreatePrintsTheKeyAloneOnTheLastLine(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "t.db")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"apikey", "create", "--name", "ops", "--role", "admin", "--database", dsn}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if line := strings.TrimSpace(out.String()); !strings.HasPrefix(line, "tcs_") || strings.Contains(line, "\n") {
		t.Errorf("stdout = %q", out.String())
	}
	if err := run(context.Background(), []string{"apikey", "create", "--name", "x", "--role", "root", "--database", dsn}, &out, &errOut); err == nil {
		t.Error("an unknown role was accepted")
	}
}
