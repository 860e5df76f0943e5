package securityhub_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/securityhub"
)

// Seeds live in testdata/fuzz/<FuzzName>/, built from testdata/events; these add the hostile shapes.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"source":"aws.securityhub","detail-type":"Security Hub Findings - Imported","detail":{"findings":[` +
		strings.Repeat("[", 80) + `]}}`))
	f.Add([]byte(`{"source":"aws.securityhub","detail-type":"Security Hub Insight Results","detail":{"insightArn":"a","insightResults":[{"x":1},{"y":"2"}]}}`))
	f.Add([]byte(`{"source":"aws.securityhub","detail-type":"Security Hub Findings - Custom Action","detail":{"findings":[{"Id":" ","ProductArn":"p","AwsAccountId":"1","Title":"t"}]}}`))
	f.Add([]byte(`{"source":"aws.securityhub","detail-type":"Security Hub Findings - Imported","detail":{"findings":[{"Id":"a","ProductArn":"p","AwsAccountId":"1","Title":"t"}],"Findings":[]},"Detail":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := securityhub.ParseEvent(body)
		checkSamePaths(t, body, ev, err)
		if err != nil {
			checkParseError(t, err)
			return
		}
		switch ev.Kind {
		case securityhub.KindFindingsImported, securityhub.KindCustomAction:
			if n := len(ev.Detail.Findings); n < 1 || n > securityhub.MaxFindingsPerEvent {
				t.Fatalf("accepted %d findings", n)
			}
		case securityhub.KindInsightResults, securityhub.KindUnknown:
		default:
			t.Fatalf("kind %q", ev.Kind)
		}
		for _, filter := range []securityhub.Filter{{}, {MinSeverity: "HIGH", ProductNames: []string{"GuardDuty"}}} {
			for _, d := range securityhub.Decide(ev, filter, securityhub.Options{Tags: []string{"secops"}}) {
				checkDecision(t, d)
			}
		}
	})
}

// FuzzMapFinding feeds one ASFF finding through ParseFinding and Map: whatever the input, no panic,
// and every alert request within alert's limits.
func FuzzMapFinding(f *testing.F) {
	f.Add([]byte(`{"Id":"` + strings.Repeat("é", 600) + `","ProductArn":"arn:aws-cn:securityhub:cn-north-1::product/aws/guardduty","AwsAccountId":"1","Title":"` + strings.Repeat("タイトル", 50) + `","Severity":{"Normalized":-5}}`))
	f.Add([]byte(`{"Id":"x","ProductArn":"p","AwsAccountId":"1","Title":"t","Resources":[{"Type":"` + strings.Repeat("T", 60) + `","Id":"\n"}],"Workflow":{"Status":"resolved"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fi, err := securityhub.ParseFinding(data)
		if err != nil {
			checkParseError(t, err)
			return
		}
		d := securityhub.Map(fi, securityhub.Options{Tags: []string{"secops"}, Responders: []alert.Responder{{Type: "team", Name: "secops"}}})
		checkDecision(t, d)
		if d.Alias == "" {
			t.Fatal("a parsed finding has no alias")
		}
		if _, reason := (securityhub.Filter{MinSeverity: "MEDIUM", AccountIDs: []string{"1"}}).Allows(fi); len(reason) > 400 {
			t.Fatalf("filter reason of %d bytes", len(reason))
		}
		if u := securityhub.ConsoleURL(fi); u != "" && (!strings.HasPrefix(u, "https://console.") || strings.ContainsAny(u, " \n\"<>")) {
			t.Fatalf("console URL %q", u)
		}
	})
}

// checkSamePaths fails unless the careful parser agrees with ParseEvent's result (which came
// either from the one-pass decoding or from the careful parser itself).
func checkSamePaths(t *testing.T, body []byte, ev *securityhub.Event, err error) {
	t.Helper()
	if securityhub.CheckShape(body, "detail") != nil {
		return // refused before either parser runs
	}
	slow, slowErr := securityhub.ParseCarefully(body)
	if (err == nil) != (slowErr == nil) {
		t.Fatalf("ParseEvent error %v, careful parser error %v", err, slowErr)
	}
	if err != nil {
		if err.Error() != slowErr.Error() {
			t.Fatalf("ParseEvent says %q, careful parser %q", err, slowErr)
		}
		return
	}
	a, _ := json.Marshal(ev)
	b, _ := json.Marshal(slow)
	if string(a) != string(b) || ev.Kind != slow.Kind {
		t.Fatalf("ParseEvent and the careful parser disagree:\n%s\n%s", a, b)
	}
}

// checkParseError fails unless err is a short, one-line *securityhub.Error.
func checkParseError(t *testing.T, err error) {
	t.Helper()
	var e *securityhub.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not a *securityhub.Error: %v", err, err)
	}
	if msg := err.Error(); len(msg) > 400 || strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error message unsafe to show (%d bytes): %.400q", len(msg), msg)
	}
}
