package securityhub_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/securityhub"
)

// readEvent returns a file from testdata/events.
func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseEvent parses a file from testdata/events and fails the test on error.
func parseEvent(t testing.TB, name string) *securityhub.Event {
	t.Helper()
	ev, err := securityhub.ParseEvent(readEvent(t, name))
	if err != nil {
		t.Fatalf("ParseEvent(%s): %v", name, err)
	}
	return ev
}

// finding returns the first finding of an event file, for tests that vary one field of it.
func finding(t testing.TB, name string) securityhub.Finding {
	t.Helper()
	ev := parseEvent(t, name)
	if len(ev.Detail.Findings) == 0 {
		t.Fatalf("%s has no findings", name)
	}
	return ev.Detail.Findings[0]
}

// eventWith builds an Imported event around raw findings (each a JSON object).
func eventWith(findings ...string) []byte {
	return []byte(`{"version":"0","id":"e","detail-type":"Security Hub Findings - Imported","source":"aws.securityhub",` +
		`"account":"123456789012","time":"2026-03-02T08:09:10Z","region":"us-east-1","resources":[],` +
		`"detail":{"findings":[` + strings.Join(findings, ",") + `]}}`)
}

// minimalFinding is the smallest finding ParseEvent accepts, with extra JSON members appended.
func minimalFinding(id string, extra ...string) string {
	f := map[string]any{
		"Id": id, "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty",
		"AwsAccountId": "123456789012", "Title": "t",
	}
	b, _ := json.Marshal(f)
	s := string(b)
	for _, e := range extra {
		s = strings.TrimSuffix(s, "}") + "," + e + "}"
	}
	return s
}

func intp(n int) *int { return &n }

// checkRequest fails unless req is within every limit package alert enforces, so that
// alert.Service.Create could never refuse or alter it.
func checkRequest(t testing.TB, req alert.CreateRequest) {
	t.Helper()
	runes := utf8.RuneCountInString
	valid := func(field, s string) { // as alert stores text: valid UTF-8 without NUL
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			t.Errorf("%s is not valid UTF-8 or holds NUL: %q", field, s)
		}
	}
	valid("message", req.Message)
	if req.Message == "" || strings.TrimSpace(req.Message) != req.Message || runes(req.Message) > alert.MaxMessageRunes {
		t.Errorf("message %q: empty, untrimmed or longer than %d runes", req.Message, alert.MaxMessageRunes)
	}
	if req.Alias == "" || strings.TrimSpace(req.Alias) != req.Alias || runes(req.Alias) > alert.MaxAliasRunes {
		t.Errorf("alias %q: empty, untrimmed or longer than %d runes", req.Alias, alert.MaxAliasRunes)
	}
	valid("alias", req.Alias)
	valid("description", req.Description)
	if runes(req.Description) > alert.MaxDescriptionRunes {
		t.Errorf("description has %d runes, limit %d", runes(req.Description), alert.MaxDescriptionRunes)
	}
	if len(req.Tags) > alert.MaxTags {
		t.Errorf("%d tags, limit %d", len(req.Tags), alert.MaxTags)
	}
	seen := map[string]bool{}
	for _, tag := range req.Tags {
		valid("tag", tag)
		if tag == "" || strings.TrimSpace(tag) != tag || runes(tag) > alert.MaxTagRunes || seen[tag] {
			t.Errorf("tag %q: empty, untrimmed, longer than %d runes or repeated", tag, alert.MaxTagRunes)
		}
		seen[tag] = true
	}
	total := 0
	for k, v := range req.Details {
		valid("detail key", k)
		valid("detail value", v)
		if k == "" {
			t.Error("empty detail key")
		}
		total += runes(k) + runes(v)
	}
	if total > alert.MaxDetailsTotal {
		t.Errorf("details total %d runes, limit %d", total, alert.MaxDetailsTotal)
	}
	valid("entity", req.Entity)
	if runes(req.Entity) > alert.MaxEntityRunes {
		t.Errorf("entity has %d runes", runes(req.Entity))
	}
	valid("source", req.Source)
	if runes(req.Source) > alert.MaxSourceRunes {
		t.Errorf("source has %d runes", runes(req.Source))
	}
	if !req.Priority.Valid() {
		t.Errorf("priority %q is not valid", req.Priority)
	}
}

// checkDecision checks what must hold for every decision, whatever the input.
func checkDecision(t testing.TB, d securityhub.Decision) {
	t.Helper()
	switch d.Action {
	case securityhub.ActionCreate:
		checkRequest(t, d.Request)
		if d.Request.Alias != d.Alias {
			t.Errorf("request alias %q differs from decision alias %q", d.Request.Alias, d.Alias)
		}
	case securityhub.ActionClose, securityhub.ActionDrop:
		if d.Reason == "" {
			t.Errorf("%s without a reason", d.Action)
		}
		if d.Request.Message != "" {
			t.Errorf("%s carries a create request", d.Action)
		}
	default:
		t.Errorf("unknown action %q", d.Action)
	}
}
