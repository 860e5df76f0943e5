package securityhub_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/securityhub"
)

func TestParseEventRealisticEvents(t *testing.T) {
	tests := []struct {
		file     string
		kind     securityhub.Kind
		findings int
		product  string
	}{
		{"guardduty.json", securityhub.KindFindingsImported, 1, "GuardDuty"},
		{"guardduty-resolved.json", securityhub.KindFindingsImported, 1, "GuardDuty"},
		{"guardduty-archived.json", securityhub.KindFindingsImported, 1, "GuardDuty"},
		{"inspector.json", securityhub.KindFindingsImported, 1, "Inspector"},
		{"macie.json", securityhub.KindFindingsImported, 1, "Macie"},
		{"cspm-control.json", securityhub.KindFindingsImported, 1, "Security Hub"},
		{"cspm-control-passed.json", securityhub.KindFindingsImported, 1, "Security Hub"},
		{"seed-cis-benchmark.json", securityhub.KindFindingsImported, 1, "Security Hub"},
		{"access-analyzer.json", securityhub.KindFindingsImported, 1, "IAM Access Analyzer"},
		{"third-party-prowler.json", securityhub.KindFindingsImported, 1, "Prowler"},
		{"custom-action.json", securityhub.KindCustomAction, 4, "GuardDuty"},
		{"insight-results.json", securityhub.KindInsightResults, 0, ""},
		{"unknown-findings-imported-v2.json", securityhub.KindUnknown, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev := parseEvent(t, tt.file)
			if ev.Kind != tt.kind {
				t.Errorf("kind %q, want %q", ev.Kind, tt.kind)
			}
			if ev.Source != securityhub.Source || ev.Account == "" || ev.Region == "" || ev.ID == "" {
				t.Errorf("envelope not read: %+v", ev)
			}
			if got := len(ev.Detail.Findings); got != tt.findings {
				t.Fatalf("%d findings, want %d", got, tt.findings)
			}
			if tt.findings > 0 {
				if got := ev.Detail.Findings[0].Product(); got != tt.product {
					t.Errorf("product %q, want %q", got, tt.product)
				}
			}
		})
	}
}

func TestParseEventReadsFields(t *testing.T) {
	f := finding(t, "cspm-control.json")
	if f.Compliance.SecurityControlId != "S3.8" || len(f.Compliance.AssociatedStandards) != 3 ||
		f.Severity.Label != "HIGH" || f.Severity.Normalized == nil || *f.Severity.Normalized != 70 ||
		f.Remediation.Recommendation.Url == "" || f.Resources[0].Type != "AwsS3Bucket" ||
		len(f.Resources[0].Details) == 0 || f.ProductFields["aws/securityhub/ProductName"] != "Security Hub" {
		t.Errorf("fields not read: %+v", f)
	}
	g := finding(t, "guardduty-resolved.json")
	if g.Note.UpdatedBy != "tocsin" || g.Workflow.Status != "RESOLVED" || g.AwsAccountName != "prod-payments" {
		t.Errorf("fields not read: %+v", g)
	}
	ca := parseEvent(t, "custom-action.json")
	if ca.Detail.ActionName != "SendToTocsin" || ca.Detail.ActionDescription == "" {
		t.Errorf("custom action not read: %+v", ca.Detail)
	}
	in := parseEvent(t, "insight-results.json")
	want := []securityhub.InsightResult{
		{Value: "arn:aws:s3:::marketing-site-assets", Count: 4},
		{Value: "arn:aws:s3:::doc-example-bucket", Count: 2},
		{Value: "arn:aws:s3:::customer-exports", Count: 1},
	}
	if fmt.Sprint(in.Detail.InsightResults) != fmt.Sprint(want) || in.Detail.ResultType != "ResourceId" ||
		!strings.Contains(in.Detail.InsightArn, ":insight/") || in.Detail.InsightName == "" {
		t.Errorf("insight not read: %+v", in.Detail)
	}
}

// The Opsgenie documentation's sample keeps odd timestamps; they are shown, never a reason to refuse.
func TestParseEventToleratesOddTimestamps(t *testing.T) {
	body := eventWith(minimalFinding("x", `"UpdatedAt":"123578964332"`, `"Severity":{"Product":8.3,"Normalized":25}`))
	ev, err := securityhub.ParseEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.Detail.Findings[0].UpdatedAt; got != "123578964332" {
		t.Errorf("UpdatedAt %q", got)
	}
}

func TestParseEventErrors(t *testing.T) {
	many := func(n int) []byte {
		fs := make([]string, n)
		for i := range fs {
			fs[i] = minimalFinding(fmt.Sprintf("id-%d", i))
		}
		return eventWith(fs...)
	}
	without := func(field string) string {
		var m map[string]any
		_ = json.Unmarshal([]byte(minimalFinding("x")), &m)
		delete(m, field)
		b, _ := json.Marshal(m)
		return string(b)
	}
	deep := `{"version":"0","source":"aws.securityhub","detail-type":"Security Hub Findings - Imported","detail":{"x":` +
		strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}}`
	envelope := func(detailType, detail string) []byte {
		return []byte(`{"source":"aws.securityhub","detail-type":"` + detailType + `","detail":` + detail + `}`)
	}

	tests := []struct {
		name    string
		body    []byte
		finding int    // want Error.Finding
		field   string // want Error.Field
		reason  string // want in Error.Reason
	}{
		{"bad JSON", []byte(`{"source": "aws.securityhub",`), -1, "", "malformed JSON"},
		{"trailing garbage", []byte(`{"source":"aws.securityhub"} x`), -1, "", "malformed JSON"},
		{"empty body", nil, -1, "", "malformed JSON"},
		{"not an object", []byte(`[1,2]`), -1, "", "must be a JSON object"},
		{"wrong source (Opsgenie's sample)", readEvent(t, "seed-opsgenie-sample.json"), -1, "source", `must be "aws.securityhub", not "aws.ec2"`},
		{"no source", []byte(`{"detail-type":"Security Hub Findings - Imported"}`), -1, "source", "is required"},
		{"source of wrong type", []byte(`{"source":7}`), -1, "source", "must be a string, not number"},
		{"no detail-type", []byte(`{"source":"aws.securityhub"}`), -1, "detail-type", "is required"},
		{"no detail", []byte(`{"source":"aws.securityhub","detail-type":"Security Hub Findings - Imported"}`), -1, "detail", "is required"},
		{"detail not an object", envelope("Security Hub Findings - Imported", `"x"`), -1, "detail", "must be an object"},
		{"findings not an array", envelope("Security Hub Findings - Imported", `{"findings":{}}`), -1, "detail.findings", "must be an array"},
		{"no findings", envelope("Security Hub Findings - Imported", `{"findings":[]}`), -1, "detail.findings", "at least one"},
		{"null findings", envelope("Security Hub Findings - Custom Action", `{"findings":null}`), -1, "detail.findings", "at least one"},
		{"101 findings", many(101), -1, "detail.findings", "holds 101 findings; at most 100"},
		{"finding not an object", eventWith(minimalFinding("a"), `"b"`), 1, "detail.findings[1]", "must be a JSON object"},
		{"missing Id", eventWith(minimalFinding("a"), minimalFinding("b"), without("Id")), 2, "detail.findings[2].Id", "is required"},
		{"blank Id", eventWith(minimalFinding("  ")), 0, "detail.findings[0].Id", "is required"},
		{"missing ProductArn", eventWith(without("ProductArn")), 0, "detail.findings[0].ProductArn", "is required"},
		{"missing AwsAccountId", eventWith(without("AwsAccountId")), 0, "detail.findings[0].AwsAccountId", "is required"},
		{"missing Title", eventWith(minimalFinding("a"), without("Title")), 1, "detail.findings[1].Title", "is required"},
		{"unprintable Title", eventWith(minimalFinding("a", `"Title":"\u0000\n"`)), 0, "detail.findings[0].Title", "is required"},
		{"wrong type in a finding", eventWith(minimalFinding("a", `"Severity":{"Normalized":"high"}`)), 0, "detail.findings[0].Severity.Normalized", "must be an integer, not string"},
		{"deep nesting", []byte(deep), -1, "", "nests deeper than 64"},
		{"detail twice", []byte(`{"source":"aws.securityhub","detail-type":"Security Hub Insight Results","detail":{"insightArn":"a"},"Detail":{"insightName":"n"}}`), -1, "detail", "appears more than once"},
		{"detail twice, escaped", []byte(`{"detail":{},"source":"aws.securityhub","d\u0065tail":{}}`), -1, "detail", "appears more than once"},
		{"too large", append([]byte(`{"source":"aws.securityhub","x":"`), make([]byte, securityhub.MaxEventBytes)...), -1, "", "at most 1048576"},
		{"insight without ARN", envelope("Security Hub Insight Results", `{"insightName":"n","insightResults":[]}`), -1, "detail.insightArn", "is required"},
		{"insight result not an object", envelope("Security Hub Insight Results", `{"insightArn":"a","insightResults":[5]}`), -1, "detail.insightResults[0]", "must be an object"},
		{"insight count not a whole number", envelope("Security Hub Insight Results", `{"insightArn":"a","insightResults":[{"x":1.5}]}`), -1, "detail.insightResults[0]", `count of "x" must be a whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := securityhub.ParseEvent(tt.body)
			if err == nil {
				t.Fatalf("accepted: %+v", ev)
			}
			var e *securityhub.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *securityhub.Error", err, err)
			}
			if e.Finding != tt.finding || e.Field != tt.field || !strings.Contains(e.Reason, tt.reason) {
				t.Errorf("got finding %d field %q reason %q\nwant finding %d field %q reason containing %q",
					e.Finding, e.Field, e.Reason, tt.finding, tt.field, tt.reason)
			}
			if len(err.Error()) > 300 {
				t.Errorf("error message is %d bytes long: %.300s", len(err.Error()), err)
			}
		})
	}
}

// Errors go back to the client: they quote the input only in short, escaped excerpts.
func TestParseEventErrorsAreSafeToShow(t *testing.T) {
	hostile := strings.Repeat("<script>alert(1)</script>\n", 1000)
	bodies := [][]byte{
		[]byte(`{"source":` + mustJSON(hostile) + `}`),
		eventWith(minimalFinding("a", `"Severity":{"Normalized":`+strings.Repeat("9", 5000)+`}`)),
		[]byte(`{"source":"aws.securityhub","detail-type":"Security Hub Insight Results","detail":{"insightArn":"a","insightResults":[{` + mustJSON(hostile) + `:1.5}]}}`),
	}
	for _, b := range bodies {
		_, err := securityhub.ParseEvent(b)
		if err == nil {
			t.Fatal("accepted")
		}
		if msg := err.Error(); len(msg) > 300 || strings.Contains(msg, "\n") {
			t.Errorf("unsafe message (%d bytes): %.300q", len(msg), msg)
		}
	}
}

func TestParseEventUnknownDetailTypeTolerated(t *testing.T) {
	for _, body := range [][]byte{
		readEvent(t, "unknown-findings-imported-v2.json"),
		[]byte(`{"source":"aws.securityhub","detail-type":"Security Hub Something New","detail":"anything"}`),
		[]byte(`{"source":"aws.securityhub","detail-type":"Security Hub Findings - Imported "}`), // not exactly a known type
	} {
		ev, err := securityhub.ParseEvent(body)
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		if ev.Kind != securityhub.KindUnknown {
			t.Errorf("kind %q", ev.Kind)
		}
		if ds := securityhub.Decide(ev, securityhub.Filter{}, securityhub.Options{}); len(ds) != 0 {
			t.Errorf("unknown event made decisions: %+v", ds)
		}
	}
}

func TestParseEventBoundaries(t *testing.T) {
	fs := make([]string, securityhub.MaxFindingsPerEvent)
	for i := range fs {
		fs[i] = minimalFinding(fmt.Sprintf("id-%d", i))
	}
	ev, err := securityhub.ParseEvent(eventWith(fs...))
	if err != nil || len(ev.Detail.Findings) != 100 {
		t.Fatalf("100 findings: %v", err)
	}
	// Brackets inside strings are not nesting.
	inString := eventWith(minimalFinding("x", `"Description":"`+strings.Repeat("[{", 5000)+`\"]"`))
	if _, err := securityhub.ParseEvent(inString); err != nil {
		t.Errorf("brackets in a string: %v", err)
	}
	// Exactly MaxDepth levels pass.
	depth := securityhub.MaxDepth - 4 // event, detail, findings, finding
	exact := eventWith(minimalFinding("x", `"X":`+strings.Repeat("[", depth)+strings.Repeat("]", depth)))
	if _, err := securityhub.ParseEvent(exact); err != nil {
		t.Errorf("%d levels: %v", securityhub.MaxDepth, err)
	}
}

func TestParseFinding(t *testing.T) {
	ev := parseEvent(t, "inspector.json")
	b, err := json.Marshal(ev.Detail.Findings[0])
	if err != nil {
		t.Fatal(err)
	}
	f, err := securityhub.ParseFinding(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Id != ev.Detail.Findings[0].Id || f.Severity.Level() != "CRITICAL" {
		t.Errorf("round trip lost fields: %+v", f)
	}
	_, err = securityhub.ParseFinding([]byte(`{"Id":"x","ProductArn":"p","AwsAccountId":"1"}`))
	var e *securityhub.Error
	if !errors.As(err, &e) || e.Field != "Title" || e.Finding != -1 {
		t.Errorf("missing Title: %v", err)
	}
}

// An Event marshals back to the wire format, so tests and tools can build events from values.
func TestEventRoundTrip(t *testing.T) {
	for _, name := range []string{"custom-action.json", "insight-results.json"} {
		ev := parseEvent(t, name)
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		again, err := securityhub.ParseEvent(b)
		if err != nil {
			t.Fatalf("%s: re-parse: %v", name, err)
		}
		b2, _ := json.Marshal(again)
		if string(b2) != string(b) || again.Kind != ev.Kind {
			t.Errorf("%s: round trip changed the detail", name)
		}
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ParseEvent decodes good events in one pass; it must agree with the careful parser on every
// realistic event and every seed.
func TestParseEventAgreesWithCarefulParser(t *testing.T) {
	bodies := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies[filepath.Base(f)] = body
	}
	head := `{"source":"aws.securityhub","detail-type":`
	for name, body := range map[string]string{
		"findings twice, differently cased": head + `"Security Hub Findings - Imported","detail":{"findings":[` + minimalFinding("a") + `],"Findings":[` + minimalFinding("b") + `]}}`,
		"key inside a finding twice":        head + `"Security Hub Findings - Imported","detail":{"findings":[` + minimalFinding("a", `"Severity":{"Label":"LOW"}`, `"severity":{"Normalized":95}`) + `]}}`,
		"insight results twice":             head + `"Security Hub Insight Results","detail":{"insightArn":"a","insightResults":[{"x":1}],"insightResults":[{"y":2}]}}`,
		"insight with odd findings":         head + `"Security Hub Insight Results","detail":{"insightArn":"a","findings":"nope"}}`,
		"findings with odd insight results": head + `"Security Hub Findings - Imported","detail":{"findings":[` + minimalFinding("a") + `],"insightResults":7}}`,
		"unknown type with findings":        head + `"Security Hub Findings - Imported V9","detail":{"findings":[` + minimalFinding("a") + `]}}`,
		"source twice":                      `{"source":"aws.ec2","Source":"aws.securityhub","detail-type":"Security Hub Findings - Imported","detail":{"findings":[` + minimalFinding("a") + `]}}`,
		"detail null":                       head + `"Security Hub Findings - Imported","detail":null}`,
		"insight result with two pairs":     head + `"Security Hub Insight Results","detail":{"insightArn":"a","insightResults":[{"x":1,"y":2}]}}`,
	} {
		bodies[name] = []byte(body)
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			ev, err := securityhub.ParseEvent(body)
			checkSamePaths(t, body, ev, err)
		})
	}
}
