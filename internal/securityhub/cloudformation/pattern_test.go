package cloudformation

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/securityhub"
)

// matchEvent decides whether an EventBridge event pattern matches an event, for the parts of the
// pattern language the templates use: lists of exact strings, {"equals-ignore-case": s}, nested
// fields and $or. As EventBridge does, it flattens the event first, so a field inside an array (the
// findings) matches when any element's value does.
func matchEvent(pattern, event map[string]any) bool {
	flat := map[string][]any{}
	flatten("", event, flat)
	return matchAt("", pattern, flat)
}

func flatten(prefix string, v any, out map[string][]any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			flatten(joinPath(prefix, k), x, out)
		}
	case []any:
		for _, x := range v {
			flatten(prefix, x, out)
		}
	default:
		out[prefix] = append(out[prefix], v)
	}
}

func joinPath(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func matchAt(prefix string, pattern map[string]any, flat map[string][]any) bool {
	for k, v := range pattern {
		if k == "$or" {
			if !slices.ContainsFunc(v.([]any), func(alt any) bool { return matchAt(prefix, asMap(alt), flat) }) {
				return false
			}
			continue
		}
		path := joinPath(prefix, k)
		switch v := v.(type) {
		case map[string]any:
			if !matchAt(path, v, flat) {
				return false
			}
		case []any:
			if !slices.ContainsFunc(flat[path], func(have any) bool {
				return slices.ContainsFunc(v, func(m any) bool { return matchValue(m, have) })
			}) {
				return false
			}
		default:
			panic(fmt.Sprintf("pattern value at %s is %T; EventBridge wants a list or an object", path, v))
		}
	}
	return true
}

func matchValue(matcher, have any) bool {
	switch m := matcher.(type) {
	case string:
		return m == have
	case map[string]any:
		if s, ok := m["equals-ignore-case"].(string); ok {
			h, ok := have.(string)
			return ok && strings.EqualFold(s, h)
		}
		panic(fmt.Sprintf("matcher %v is not one the templates use", m))
	}
	return false
}

// importedPatternFor returns the imported-findings rule's pattern of a generated template.
func importedPatternFor(t *testing.T, p Params) map[string]any {
	t.Helper()
	tp := parse(t, mustTemplate(t, p))
	return asMap(dig(tp.doc, "Resources", "FindingsImportedRule", "Properties", "EventPattern"))
}

func eventOf(t *testing.T, detailType string, findings ...securityhub.Finding) map[string]any {
	t.Helper()
	raw, err := json.Marshal(map[string]any{
		"version": "0", "source": "aws.securityhub", "detail-type": detailType,
		"account": "111122223333", "region": "eu-central-1", "resources": []string{},
		"detail": map[string]any{"findings": findings},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// The rule is an early copy of the integration's filter and must never be stricter than it: a
// finding the filter lets through, or that closes an alert, must reach tocsin.
func TestPatternNeverStricterThanFilter(t *testing.T) {
	inspectorArn := "arn:aws:securityhub:eu-central-1::product/aws/inspector"
	filters := []securityhub.Filter{
		{},
		{MinSeverity: "INFORMATIONAL"},
		{MinSeverity: "LOW"},
		{MinSeverity: "HIGH"},
		{MinSeverity: "CRITICAL"},
		{ProductNames: []string{"guardduty"}},
		{MinSeverity: "MEDIUM", ProductNames: []string{"GuardDuty", inspectorArn}},
		{AccountIDs: []string{"111122223333"}},
		{RecordStates: []string{"ACTIVE"}},
		{RecordStates: []string{"ARCHIVED"}},
		{MinSeverity: "HIGH", AccountIDs: []string{"222233334444"}, RecordStates: []string{"active", "archived"}},
	}
	products := []struct{ name, arn string }{
		{"GuardDuty", "arn:aws:securityhub:eu-central-1::product/aws/guardduty"},
		{"Inspector", inspectorArn},
		{"Prowler", "arn:aws:securityhub:eu-central-1::product/prowler/prowler"},
	}
	var findings []securityhub.Finding
	for _, label := range []string{"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"} {
		for _, wf := range []string{"NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"} {
			for _, rs := range []string{"ACTIVE", "ARCHIVED"} {
				for _, cs := range []string{"", "FAILED", "PASSED"} {
					for _, pr := range products {
						for _, acct := range []string{"111122223333", "222233334444"} {
							fi := securityhub.Finding{
								Id: "f", Title: "t", ProductName: pr.name, ProductArn: pr.arn, AwsAccountId: acct,
								RecordState: rs,
							}
							fi.Severity.Label, fi.Workflow.Status, fi.Compliance.Status = label, wf, cs
							findings = append(findings, fi)
						}
					}
				}
			}
		}
	}

	for _, fl := range filters {
		name, _ := json.Marshal(fl)
		t.Run(string(name), func(t *testing.T) {
			pattern := importedPatternFor(t, Params{
				IntegrationName: "x", EndpointURL: testEndpoint, SkipRole: true,
				MinSeverity: fl.MinSeverity, ProductNames: fl.ProductNames, AccountIDs: fl.AccountIDs, RecordStates: fl.RecordStates,
			})
			var dropped int
			for _, fi := range findings {
				ok, _ := fl.Allows(fi)
				matched := matchEvent(pattern, eventOf(t, securityhub.DetailTypeFindingsImported, fi))
				if ok && !matched {
					t.Fatalf("the filter lets %s/%s/%s/%q/%s/%s through but the rule drops it", fi.Severity.Label, fi.Workflow.Status, fi.RecordState, fi.Compliance.Status, fi.ProductName, fi.AwsAccountId)
				}
				if !matched {
					dropped++
				}
			}
			// And it does filter: a non-empty filter saves traffic.
			if filtering := fl.MinSeverity != "" && fl.MinSeverity != "INFORMATIONAL" || len(fl.ProductNames)+len(fl.AccountIDs) > 0; filtering && dropped == 0 {
				t.Error("the rule drops nothing")
			}
			if len(fl.ProductNames)+len(fl.AccountIDs)+len(fl.RecordStates) == 0 && (fl.MinSeverity == "" || fl.MinSeverity == "INFORMATIONAL") && dropped != 0 {
				t.Errorf("an empty filter's rule dropped %d findings", dropped)
			}
		})
	}
}

// The rules against the recorded events in ../testdata/events (real shapes, including the seed
// documents' samples).
func TestPatternOnRecordedEvents(t *testing.T) {
	files, err := filepath.Glob("../testdata/events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded events: %v", err)
	}
	events := map[string]map[string]any{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev map[string]any
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if msg, ok := ev["Message"].(string); ok { // an SNS envelope
			ev = nil
			if err := json.Unmarshal([]byte(msg), &ev); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
		events[strings.TrimSuffix(filepath.Base(f), ".json")] = ev
	}

	all := importedPatternFor(t, Params{IntegrationName: "x", EndpointURL: testEndpoint, SkipRole: true})
	critical := importedPatternFor(t, Params{IntegrationName: "x", EndpointURL: testEndpoint, SkipRole: true, MinSeverity: "CRITICAL"})
	for name, ev := range events {
		imported := ev["source"] == "aws.securityhub" && ev["detail-type"] == securityhub.DetailTypeFindingsImported
		if got := matchEvent(all, ev); got != imported {
			t.Errorf("%s: unfiltered rule matches = %v, want %v", name, got, imported)
		}
	}
	for name, want := range map[string]bool{
		"guardduty":            false, // HIGH, NEW
		"guardduty-resolved":   true,  // HIGH, but RESOLVED closes
		"guardduty-archived":   true,  // ARCHIVED closes
		"cspm-control":         false, // HIGH, FAILED
		"cspm-control-passed":  true,  // PASSED closes
		"inspector":            true,  // CRITICAL
		"seed-cis-benchmark":   false, // MEDIUM
		"third-party-prowler":  false, // no label: only Filter's MEDIUM default would let it in
		"custom-action":        false, // another rule's
		"insight-results":      false,
		"seed-opsgenie-sample": false,
	} {
		ev, ok := events[name]
		if !ok {
			t.Errorf("recorded event %s is gone", name)
			continue
		}
		if got := matchEvent(critical, ev); got != want {
			t.Errorf("%s: CRITICAL rule matches = %v, want %v", name, got, want)
		}
	}

	// The custom action rule takes what this stack's action sends, findings or insight results.
	tp := parse(t, mustTemplate(t, testParams()))
	custom := asMap(dig(tp.doc, "Resources", "CustomActionRule", "Properties", "EventPattern"))
	for _, name := range []string{"custom-action", "insight-results"} {
		ev := events[name]
		arn := stringList(ev["resources"])
		if len(arn) != 1 || !strings.HasSuffix(arn[0], ":action/custom/"+DefaultCustomActionID) {
			t.Fatalf("%s: resources = %v", name, arn)
		}
		// Stand the recorded action's ARN in for the !GetAtt the stack would resolve.
		pattern := map[string]any{"source": custom["source"], "detail-type": custom["detail-type"], "resources": []any{arn[0]}}
		if !matchEvent(pattern, ev) {
			t.Errorf("custom action rule does not match %s", name)
		}
		ev2 := map[string]any{}
		for k, v := range ev {
			ev2[k] = v
		}
		ev2["resources"] = []any{strings.Replace(arn[0], DefaultCustomActionID, "SomeoneElses", 1)}
		if matchEvent(pattern, ev2) {
			t.Errorf("custom action rule matches %s sent by another custom action", name)
		}
		if matchEvent(all, ev) {
			t.Errorf("imported rule matches %s too: the finding would arrive twice", name)
		}
	}
}
