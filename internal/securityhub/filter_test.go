package securityhub_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/securityhub"
)

func TestFilterAllows(t *testing.T) {
	gd := finding(t, "guardduty.json")           // HIGH, GuardDuty, 123456789012, ACTIVE
	tp := finding(t, "third-party-prowler.json") // no label, Normalized 92, Prowler via ProductFields
	with := func(f securityhub.Finding, change func(*securityhub.Finding)) securityhub.Finding {
		change(&f)
		return f
	}
	tests := []struct {
		name   string
		filter securityhub.Filter
		f      securityhub.Finding
		ok     bool
		reason string
	}{
		{"zero filter", securityhub.Filter{}, gd, true, ""},
		{"at the minimum", securityhub.Filter{MinSeverity: "HIGH"}, gd, true, ""},
		{"above the minimum", securityhub.Filter{MinSeverity: "low"}, gd, true, ""},
		{"below the minimum", securityhub.Filter{MinSeverity: "CRITICAL"}, gd, false, "severity HIGH is below the minimum CRITICAL"},
		{"minimum against Normalized", securityhub.Filter{MinSeverity: "CRITICAL"}, tp, true, ""},
		{"INFORMATIONAL", securityhub.Filter{MinSeverity: "LOW"}, with(gd, func(f *securityhub.Finding) { f.Severity = securityhub.Severity{Label: "INFORMATIONAL"} }), false, "severity INFORMATIONAL is below the minimum LOW"},
		{"no severity counts as MEDIUM", securityhub.Filter{MinSeverity: "MEDIUM"}, with(gd, func(f *securityhub.Finding) { f.Severity = securityhub.Severity{} }), true, ""},
		{"no severity below HIGH", securityhub.Filter{MinSeverity: "HIGH"}, with(gd, func(f *securityhub.Finding) { f.Severity = securityhub.Severity{} }), false, "severity unknown is below the minimum HIGH"},
		{"product listed", securityhub.Filter{ProductNames: []string{"Inspector", "guardduty"}}, gd, true, ""},
		{"product by ARN", securityhub.Filter{ProductNames: []string{"arn:aws:securityhub:us-east-1::product/aws/guardduty"}}, gd, true, ""},
		{"product from ProductFields", securityhub.Filter{ProductNames: []string{"Prowler"}}, tp, true, ""},
		{"product not listed", securityhub.Filter{ProductNames: []string{"Inspector"}}, gd, false, `product "GuardDuty" is not in the filter's product names`},
		{"account listed", securityhub.Filter{AccountIDs: []string{"111122223333", " 123456789012 "}}, gd, true, ""},
		{"account not listed", securityhub.Filter{AccountIDs: []string{"111122223333"}}, gd, false, `account "123456789012" is not in the filter's account ids`},
		{"ACTIVE by default", securityhub.Filter{}, with(gd, func(f *securityhub.Finding) { f.RecordState = "" }), true, ""},
		{"odd record state refused by default", securityhub.Filter{}, with(gd, func(f *securityhub.Finding) { f.RecordState = "PENDING" }), false, `record state "PENDING" is not one of ACTIVE`},
		{"record states listed", securityhub.Filter{RecordStates: []string{"archived"}}, gd, false, `record state "ACTIVE" is not one of ARCHIVED`},
		{"closing findings always pass", securityhub.Filter{MinSeverity: "CRITICAL", ProductNames: []string{"x"}, AccountIDs: []string{"x"}, RecordStates: []string{"ACTIVE"}},
			with(gd, func(f *securityhub.Finding) { f.RecordState = "ARCHIVED" }), true, ""},
		{"resolved passes", securityhub.Filter{MinSeverity: "CRITICAL"}, with(gd, func(f *securityhub.Finding) { f.Workflow.Status = "RESOLVED" }), true, ""},
		{"all conditions", securityhub.Filter{MinSeverity: "MEDIUM", ProductNames: []string{"GuardDuty"}, AccountIDs: []string{"123456789012"}, RecordStates: []string{"ACTIVE"}}, gd, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.filter.Validate(); err != nil {
				t.Fatalf("filter invalid: %v", err)
			}
			ok, reason := tt.filter.Allows(tt.f)
			if ok != tt.ok || reason != tt.reason {
				t.Errorf("Allows = %v, %q; want %v, %q", ok, reason, tt.ok, tt.reason)
			}
		})
	}
}

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		filter securityhub.Filter
		err    string
	}{
		{securityhub.Filter{}, ""},
		{securityhub.Filter{MinSeverity: "informational", RecordStates: []string{"ACTIVE", "archived"}}, ""},
		{securityhub.Filter{MinSeverity: "SEVERE"}, `filter.minSeverity: must be one of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, not "SEVERE"`},
		{securityhub.Filter{RecordStates: []string{"DELETED"}}, `filter.recordStates: must be ACTIVE or ARCHIVED, not "DELETED"`},
		{securityhub.Filter{ProductNames: []string{" "}}, "filter.productNames: names must not be empty"},
		{securityhub.Filter{AccountIDs: []string{""}}, "filter.accountIds: account ids must not be empty"},
	}
	for _, tt := range tests {
		err := tt.filter.Validate()
		if (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("%+v: %v, want %q", tt.filter, err, tt.err)
		}
	}
}

// The filter is stored as JSON with the integration; the key names are those of `tocsin apply`.
func TestFilterJSON(t *testing.T) {
	var f securityhub.Filter
	in := `{"minSeverity":"MEDIUM","productNames":["GuardDuty"],"accountIds":["123456789012"],"recordStates":["ACTIVE"]}`
	if err := json.Unmarshal([]byte(in), &f); err != nil {
		t.Fatal(err)
	}
	if f.MinSeverity != "MEDIUM" || f.ProductNames[0] != "GuardDuty" || f.AccountIDs[0] != "123456789012" || f.RecordStates[0] != "ACTIVE" {
		t.Errorf("decoded %+v", f)
	}
	out, _ := json.Marshal(f)
	if string(out) != in {
		t.Errorf("encoded %s", out)
	}
	if out, _ := json.Marshal(securityhub.Filter{}); string(out) != "{}" {
		t.Errorf("zero filter encodes as %s", out)
	}
	if out, _ := json.Marshal(securityhub.Filter{MinSeverity: "MEDIUM"}); !strings.Contains(string(out), `"minSeverity":"MEDIUM"`) {
		t.Errorf("encoded %s", out)
	}
}

// The integration stores its own copy of the filter (the domain must not import this package); the
// two must stay convertible, field for field, and encode alike.
func TestFilterMatchesIntegrationSettings(t *testing.T) {
	stored := integration.FindingFilter{MinSeverity: "HIGH", ProductNames: []string{"GuardDuty"}, AccountIDs: []string{"1"}, RecordStates: []string{"ACTIVE"}}
	f := securityhub.Filter(stored)
	a, _ := json.Marshal(stored)
	b, _ := json.Marshal(f)
	if string(a) != string(b) {
		t.Errorf("integration encodes %s, securityhub %s", a, b)
	}
}
