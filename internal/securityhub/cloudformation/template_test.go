package cloudformation

import (
	"bytes"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	testKey      = "k3y-0f-the-integration"
	testEndpoint = "https://tocsin.example.com/v1/json/amazonsecurityhub?apiKey=" + testKey
)

func testParams() Params {
	return Params{
		IntegrationName:  "securityhub-prod",
		EndpointURL:      testEndpoint,
		MinSeverity:      "MEDIUM",
		TrustedPrincipal: "111122223333",
		ExternalID:       "tocsin-7f3a9c",
	}
}

func testOrg() Org {
	return Org{
		Regions:               []string{"eu-central-1", "eu-west-1", "us-east-1"},
		OrganizationalUnitIDs: []string{"ou-ab12-34cd56ef"},
	}
}

func mustTemplate(t *testing.T, p Params) []byte {
	t.Helper()
	out, err := Template(p)
	if err != nil {
		t.Fatalf("Template: %v", err)
	}
	return out
}

func resourceTypes(p parsed) map[string]string {
	out := map[string]string{}
	for id, r := range asMap(p.doc["Resources"]) {
		out[id], _ = asMap(r)["Type"].(string)
	}
	return out
}

func TestTemplateResources(t *testing.T) {
	p := parse(t, mustTemplate(t, testParams()))

	want := map[string]string{
		"TocsinTopic":            "AWS::SNS::Topic",
		"TocsinTopicPolicy":      "AWS::SNS::TopicPolicy",
		"TocsinSubscription":     "AWS::SNS::Subscription",
		"FindingsImportedRule":   "AWS::Events::Rule",
		"CustomActionRule":       "AWS::Events::Rule",
		"SendToTocsinAction":     "AWS::SecurityHub::ActionTarget",
		"TocsinRole":             "AWS::IAM::Role",
		"TocsinSetupCheckPolicy": "AWS::IAM::RolePolicy",
	}
	if got := resourceTypes(p); !maps.Equal(got, want) {
		t.Fatalf("resources = %v, want %v", got, want)
	}

	t.Run("subscription", func(t *testing.T) {
		sub, err := p.tpl.GetSNSSubscriptionWithName("TocsinSubscription")
		if err != nil {
			t.Fatal(err)
		}
		if sub.Protocol != "https" {
			t.Errorf("Protocol = %q, want https", sub.Protocol)
		}
		if sub.Endpoint == nil || *sub.Endpoint != "{Ref:TocsinEndpoint}" {
			t.Errorf("Endpoint = %v, want !Ref TocsinEndpoint", sub.Endpoint)
		}
		if sub.TopicArn != "{Ref:TocsinTopic}" {
			t.Errorf("TopicArn = %q, want !Ref TocsinTopic", sub.TopicArn)
		}
		if sub.RawMessageDelivery != nil && *sub.RawMessageDelivery {
			t.Error("raw delivery would strip the SNS envelope tocsin verifies")
		}
		retry := asMap(dig(sub.DeliveryPolicy, "healthyRetryPolicy"))
		if n, _ := retry["numRetries"].(float64); n < 10 || n > 100 {
			t.Errorf("numRetries = %v, want 10-100 (SNS allows up to 100)", retry["numRetries"])
		}
	})

	t.Run("topic policy", func(t *testing.T) {
		tp, err := p.tpl.GetSNSTopicPolicyWithName("TocsinTopicPolicy")
		if err != nil {
			t.Fatal(err)
		}
		st := dig(tp.PolicyDocument, "Statement", 0)
		if got := dig(st, "Principal", "Service"); got != "events.amazonaws.com" {
			t.Errorf("Principal.Service = %v", got)
		}
		if got := stringList(dig(st, "Action")); !slices.Equal(got, []string{"sns:Publish"}) {
			t.Errorf("Action = %v, want only sns:Publish", got)
		}
		if got := dig(st, "Condition", "StringEquals", "aws:SourceAccount"); got != "{Ref:AWS::AccountId}" {
			t.Errorf("aws:SourceAccount condition = %v", got)
		}
		if !slices.Equal(tp.Topics, []string{"{Ref:TocsinTopic}"}) {
			t.Errorf("Topics = %v", tp.Topics)
		}
	})

	t.Run("rules", func(t *testing.T) {
		imported, err := p.tpl.GetEventsRuleWithName("FindingsImportedRule")
		if err != nil {
			t.Fatal(err)
		}
		if got := stringList(dig(imported.EventPattern, "detail-type")); !slices.Equal(got, []string{"Security Hub Findings - Imported"}) {
			t.Errorf("imported rule detail-type = %v", got)
		}
		if got := stringList(dig(imported.EventPattern, "source")); !slices.Equal(got, []string{"aws.securityhub"}) {
			t.Errorf("imported rule source = %v", got)
		}
		if got := severityLabels(imported.EventPattern); !slices.Equal(got, []string{"MEDIUM", "HIGH", "CRITICAL"}) {
			t.Errorf("severity labels = %v", got)
		}
		custom, err := p.tpl.GetEventsRuleWithName("CustomActionRule")
		if err != nil {
			t.Fatal(err)
		}
		if got := stringList(dig(custom.EventPattern, "detail-type")); !slices.Equal(got, []string{"Security Hub Findings - Custom Action", "Security Hub Insight Results"}) {
			t.Errorf("custom action rule detail-type = %v", got)
		}
		if got := stringList(dig(custom.EventPattern, "resources")); !slices.Equal(got, []string{"{GetAtt:SendToTocsinAction.ActionTargetArn}"}) {
			t.Errorf("custom action rule resources = %v, want only this stack's action target", got)
		}
		for _, r := range []string{"FindingsImportedRule", "CustomActionRule"} {
			rule, _ := p.tpl.GetEventsRuleWithName(r)
			if len(rule.Targets) != 1 || rule.Targets[0].Arn != "{Ref:TocsinTopic}" {
				t.Errorf("%s targets = %+v, want the topic", r, rule.Targets)
			}
			if rule.State == nil || *rule.State != "ENABLED" {
				t.Errorf("%s is not enabled", r)
			}
		}
	})

	t.Run("action target", func(t *testing.T) {
		props := asMap(dig(p.doc, "Resources", "SendToTocsinAction", "Properties"))
		if props["Id"] != "SendToTocsin" || props["Name"] != "Send to tocsin" {
			t.Errorf("action target = %v", props)
		}
	})

	t.Run("role", func(t *testing.T) {
		role, err := p.tpl.GetIAMRoleWithName("TocsinRole")
		if err != nil {
			t.Fatal(err)
		}
		trust := role.AssumeRolePolicyDocument
		if n := len(dig(trust, "Statement").([]any)); n != 1 {
			t.Fatalf("trust policy has %d statements, want 1", n)
		}
		st := dig(trust, "Statement", 0)
		if got := dig(st, "Principal", "AWS"); got != "{Ref:TrustedPrincipal}" {
			t.Errorf("trusted principal = %v", got)
		}
		if got := stringList(dig(st, "Action")); !slices.Equal(got, []string{"sts:AssumeRole"}) {
			t.Errorf("trust action = %v", got)
		}
		if got := dig(st, "Condition", "StringEquals", "sts:ExternalId"); got != "{Ref:ExternalId}" {
			t.Errorf("sts:ExternalId condition = %v", got)
		}
		if role.RoleName == nil || *role.RoleName != "{Ref:RoleName}" {
			t.Errorf("RoleName = %v", role.RoleName)
		}
		if got := dig(p.doc, "Parameters", "RoleName", "Default"); got != "tocsinSecurityHubRole" {
			t.Errorf("RoleName default = %v", got)
		}

		// Every permission the role can ever hold, and where it comes from.
		if len(role.Policies) != 1 || len(role.ManagedPolicyArns) != 0 {
			t.Fatalf("role has %d inline and %d managed policies, want exactly the write-back policy", len(role.Policies), len(role.ManagedPolicyArns))
		}
		if got := allowedActions(t, role.Policies[0].PolicyDocument); !slices.Equal(got, []string{"securityhub:BatchUpdateFindings"}) {
			t.Errorf("write-back policy allows %v, want only securityhub:BatchUpdateFindings", got)
		}
		check, err := p.tpl.GetIAMRolePolicyWithName("TocsinSetupCheckPolicy")
		if err != nil {
			t.Fatal(err)
		}
		if got := allowedActions(t, check.PolicyDocument); !slices.Equal(got, []string{"securityhub:GetFindings"}) {
			t.Errorf("setup check policy allows %v, want only securityhub:GetFindings", got)
		}
		if check.RoleName != "{Ref:TocsinRole}" {
			t.Errorf("setup check policy is attached to %q", check.RoleName)
		}
		if check.AWSCloudFormationCondition != "SetupCheckAllowed" {
			t.Errorf("setup check policy condition = %q, want SetupCheckAllowed", check.AWSCloudFormationCondition)
		}
		if got := dig(p.doc, "Conditions", "SetupCheckAllowed", "Fn::Equals"); !slices.Equal(stringList(got), []string{"{Ref:AllowSetupCheck}", "true"}) {
			t.Errorf("SetupCheckAllowed = %v", got)
		}
		if got := dig(p.doc, "Parameters", "AllowSetupCheck", "Default"); got != "true" {
			t.Errorf("AllowSetupCheck default = %v", got)
		}
		for _, s := range []string{*role.Description, p.doc["Description"].(string)} {
			if !strings.Contains(s, "securityhub:GetFindings") || !strings.Contains(s, "tocsin aws check") {
				t.Errorf("description does not say GetFindings is for tocsin aws check: %q", s)
			}
		}
		// IAM accepts only tab, newline and Latin-1 in role descriptions, up to 1000 characters.
		for _, r := range *role.Description {
			if r != '\t' && r != '\n' && r != '\r' && (r < 0x20 || r > 0x7e && r < 0xa1 || r > 0xff) {
				t.Errorf("role description has %q, which IAM refuses", r)
			}
		}
		if len(*role.Description) > 1000 {
			t.Errorf("role description is %d characters, IAM allows 1000", len(*role.Description))
		}
	})

	t.Run("outputs", func(t *testing.T) {
		outs := sortedKeys(asMap(p.doc["Outputs"]))
		if want := []string{"ActionTargetArn", "RoleArn", "TocsinCommand", "TopicArn"}; !slices.Equal(outs, want) {
			t.Errorf("outputs = %v, want %v", outs, want)
		}
		cmd := dig(p.doc, "Outputs", "TocsinCommand", "Value")
		want := "{Sub:tocsin integration update securityhub-prod --role-arn ${TocsinRole.Arn} --external-id ${ExternalId} --region ${AWS::Region}}"
		if cmd != want {
			t.Errorf("TocsinCommand = %v\nwant %v", cmd, want)
		}
		desc, _ := dig(p.doc, "Outputs", "TocsinCommand", "Description").(string)
		for _, w := range []string{"tocsin integration update", "--role-arn", "--external-id"} {
			if !strings.Contains(desc, w) {
				t.Errorf("TocsinCommand description lacks %q: %s", w, desc)
			}
		}
		if got := dig(p.doc, "Outputs", "RoleArn", "Value"); got != "{GetAtt:TocsinRole.Arn}" {
			t.Errorf("RoleArn = %v", got)
		}
	})
}

// allowedActions lists the actions of a policy document's Allow statements, refusing wildcards.
func allowedActions(t *testing.T, doc any) []string {
	t.Helper()
	var out []string
	for _, st := range dig(doc, "Statement").([]any) {
		if dig(st, "Effect") != "Allow" {
			continue
		}
		if dig(st, "NotAction") != nil {
			t.Errorf("statement uses NotAction: %v", st)
		}
		for _, a := range stringList(dig(st, "Action")) {
			if strings.Contains(a, "*") {
				t.Errorf("wildcard action %q", a)
			}
			out = append(out, a)
		}
	}
	return out
}

func TestTemplateWithoutRole(t *testing.T) {
	p := testParams()
	p.SkipRole = true
	p.ExternalID = "" // not needed without a role
	out := mustTemplate(t, p)
	tp := parse(t, out)
	for id, typ := range resourceTypes(tp) {
		if strings.HasPrefix(typ, "AWS::IAM::") {
			t.Errorf("SkipRole template still declares %s (%s)", id, typ)
		}
	}
	for _, k := range []string{"TrustedPrincipal", "ExternalId", "RoleName", "AllowSetupCheck"} {
		if dig(tp.doc, "Parameters", k) != nil {
			t.Errorf("SkipRole template still has parameter %s", k)
		}
	}
	if tp.doc["Conditions"] != nil || dig(tp.doc, "Outputs", "RoleArn") != nil {
		t.Error("SkipRole template still has role conditions or outputs")
	}
	if bytes.Contains(out, []byte("CAPABILITY_NAMED_IAM")) {
		t.Error("deploy hint asks for IAM capabilities the template does not need")
	}
}

// The key must reach the template only when asked for, and then only as the NoEcho default.
func TestTemplateEndpointKey(t *testing.T) {
	for _, includeKey := range []bool{false, true} {
		p := testParams()
		p.IncludeKey = includeKey
		out := mustTemplate(t, p)
		tp := parse(t, out)
		param := asMap(dig(tp.doc, "Parameters", "TocsinEndpoint"))
		if param["NoEcho"] != true {
			t.Errorf("includeKey=%v: TocsinEndpoint is not NoEcho", includeKey)
		}
		if got := bytes.Count(out, []byte(testKey)); includeKey && got != 1 || !includeKey && got != 0 {
			t.Errorf("includeKey=%v: the key appears %d times in the template", includeKey, got)
		}
		def, hasDefault := param["Default"]
		if includeKey != hasDefault || includeKey && def != testEndpoint {
			t.Errorf("includeKey=%v: TocsinEndpoint default = %v", includeKey, def)
		}
		if warned := bytes.Contains(out, []byte("contains the integration's API key")); warned != includeKey {
			t.Errorf("includeKey=%v: header warning present = %v", includeKey, warned)
		}
		if !strings.Contains(param["Description"].(string), "apiKey=KEY") {
			t.Errorf("includeKey=%v: description does not show the URL's shape: %v", includeKey, param["Description"])
		}
	}

	// A key given as the URL's password works with SNS too, and is redacted the same way.
	p := testParams()
	p.EndpointURL = "https://tocsin:" + testKey + "@tocsin.example.com/v1/json/amazonsecurityhub"
	if out := mustTemplate(t, p); bytes.Contains(out, []byte(testKey)) {
		t.Error("the key given as URL password leaked into the template")
	}
}

func TestSeverityFilter(t *testing.T) {
	for _, tc := range []struct {
		min  string
		want []string
	}{
		{"", nil},
		{"INFORMATIONAL", nil}, // every label: no filter at all
		{"LOW", []string{"LOW", "MEDIUM", "HIGH", "CRITICAL"}},
		{"MEDIUM", []string{"MEDIUM", "HIGH", "CRITICAL"}},
		{"medium", []string{"MEDIUM", "HIGH", "CRITICAL"}},
		{"HIGH", []string{"HIGH", "CRITICAL"}},
		{"CRITICAL", []string{"CRITICAL"}},
	} {
		t.Run(tc.min, func(t *testing.T) {
			p := testParams()
			p.MinSeverity = tc.min
			tp := parse(t, mustTemplate(t, p))
			rule, err := tp.tpl.GetEventsRuleWithName("FindingsImportedRule")
			if err != nil {
				t.Fatal(err)
			}
			if got := severityLabels(rule.EventPattern); !slices.Equal(got, tc.want) {
				t.Errorf("labels = %v, want %v", got, tc.want)
			}
			if tc.want == nil && containsKey(rule.EventPattern, "Severity") {
				t.Errorf("pattern has a Severity key: %v", rule.EventPattern)
			}
			if tc.want == nil && dig(rule.EventPattern, "detail") != nil {
				t.Errorf("an unfiltered pattern should not look into detail: %v", rule.EventPattern)
			}
		})
	}
}

// severityLabels finds the labels under detail.findings...Severity.Label, wherever the $or put them.
func severityLabels(pattern any) []string {
	var found []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if l := dig(v, "Severity", "Label"); l != nil && found == nil {
				found = stringList(l)
			}
			for _, k := range sortedKeys(v) {
				walk(v[k])
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(pattern)
	return found
}

func containsKey(v any, key string) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == key || containsKey(x, key) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if containsKey(x, key) {
				return true
			}
		}
	}
	return false
}

func TestBadParams(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Params)
		want string
	}{
		{"no name", func(p *Params) { p.IntegrationName = "" }, "integration name"},
		{"no endpoint", func(p *Params) { p.EndpointURL = "" }, "endpoint URL is required"},
		{"http endpoint", func(p *Params) { p.EndpointURL = "http://tocsin.example.com/v1/json/amazonsecurityhub?apiKey=x" }, "must use https"},
		{"no host", func(p *Params) { p.EndpointURL = "https:///v1/json/amazonsecurityhub" }, "no host"},
		{"fragment", func(p *Params) { p.EndpointURL = testEndpoint + "#x" }, "fragment"},
		{"key asked for but absent", func(p *Params) {
			p.IncludeKey = true
			p.EndpointURL = "https://tocsin.example.com/v1/json/amazonsecurityhub"
		}, "carries no API key"},
		{"no external id", func(p *Params) { p.ExternalID = "" }, "external id is required"},
		{"bad external id", func(p *Params) { p.ExternalID = "has space" }, "external id"},
		{"bad principal", func(p *Params) { p.TrustedPrincipal = "12345" }, "trusted principal"},
		{"bad role name", func(p *Params) { p.RoleName = "no/slash" }, "role name"},
		{"action id with space", func(p *Params) { p.CustomActionID = "Send To Tocsin" }, "custom action id"},
		{"action id too long", func(p *Params) { p.CustomActionID = "SendToTocsinRightNowPlease" }, "custom action id"},
		{"action id punctuation", func(p *Params) { p.CustomActionID = "Send-To-Tocsin" }, "custom action id"},
		{"action name too long", func(p *Params) { p.CustomActionName = "Send this finding to tocsin" }, "custom action name"},
		{"multi-line version", func(p *Params) { p.ToolVersion = "v1\nResources: {}" }, "tool version"},
		{"bad severity", func(p *Params) { p.MinSeverity = "SEVERE" }, "minSeverity"},
		{"bad record state", func(p *Params) { p.RecordStates = []string{"DELETED"} }, "recordStates"},
		{"empty product", func(p *Params) { p.ProductNames = []string{" "} }, "productNames"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testParams()
			tc.edit(&p)
			out, err := Template(p)
			if err == nil {
				t.Fatalf("no error; template:\n%s", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error leaks the key: %v", err)
			}
			if _, err := OrgTemplate(p, testOrg()); err == nil {
				t.Error("OrgTemplate accepted what Template refused")
			}
		})
	}

	t.Run("several at once", func(t *testing.T) {
		p := testParams()
		p.EndpointURL = "http://x"
		p.ExternalID = ""
		_, err := Template(p)
		if err == nil || !strings.Contains(err.Error(), "https") || !strings.Contains(err.Error(), "external id") {
			t.Errorf("want both problems reported, got %v", err)
		}
	})
}

func TestBadOrg(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Org)
		want string
	}{
		{"no regions", func(o *Org) { o.Regions = nil }, "at least one Region"},
		{"bad region", func(o *Org) { o.Regions = []string{"Frankfurt"} }, "not an AWS Region"},
		{"duplicate region", func(o *Org) { o.Regions = []string{"us-east-1", "us-east-1"} }, "listed twice"},
		{"bad ou", func(o *Org) { o.OrganizationalUnitIDs = []string{"marketing"} }, "organizational unit"},
		{"bad stackset name", func(o *Org) { o.StackSetName = "1-tocsin" }, "StackSet name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOrg()
			tc.edit(&o)
			_, err := OrgTemplate(testParams(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestOrgTemplate(t *testing.T) {
	p := testParams()
	p.IncludeKey = true
	o := testOrg()
	o.DelegatedAdmin = true
	out, err := OrgTemplate(p, o)
	if err != nil {
		t.Fatal(err)
	}
	outer := parse(t, out)

	want := map[string]string{
		"FindingsStackSet":       "AWS::CloudFormation::StackSet",
		"TocsinRole":             "AWS::IAM::Role",
		"TocsinSetupCheckPolicy": "AWS::IAM::RolePolicy",
	}
	if got := resourceTypes(outer); !maps.Equal(got, want) {
		t.Fatalf("resources = %v, want %v", got, want)
	}
	ss, err := outer.tpl.GetCloudFormationStackSetWithName("FindingsStackSet")
	if err != nil {
		t.Fatal(err)
	}
	if ss.PermissionModel != "SERVICE_MANAGED" {
		t.Errorf("PermissionModel = %q", ss.PermissionModel)
	}
	if ss.CallAs == nil || *ss.CallAs != "DELEGATED_ADMIN" {
		t.Errorf("CallAs = %v, want DELEGATED_ADMIN", ss.CallAs)
	}
	if ss.AutoDeployment == nil || ss.AutoDeployment.Enabled == nil || !*ss.AutoDeployment.Enabled {
		t.Errorf("AutoDeployment = %+v, want enabled", ss.AutoDeployment)
	}
	if ss.StackSetName != "tocsin-securityhub-prod" {
		t.Errorf("StackSetName = %q", ss.StackSetName)
	}
	if len(ss.Capabilities) != 0 {
		t.Errorf("the per-account template needs no capabilities, got %v", ss.Capabilities)
	}
	if len(ss.StackInstancesGroup) != 1 {
		t.Fatalf("StackInstancesGroup = %+v", ss.StackInstancesGroup)
	}
	g := ss.StackInstancesGroup[0]
	if !slices.Equal(g.Regions, []string{"{Ref:Regions}"}) || g.DeploymentTargets == nil || !slices.Equal(g.DeploymentTargets.OrganizationalUnitIds, []string{"{Ref:OrganizationalUnitIds}"}) {
		t.Errorf("StackInstancesGroup = %+v", g)
	}
	if got := dig(outer.doc, "Parameters", "Regions"); dig(got, "Type") != "CommaDelimitedList" || dig(got, "Default") != "eu-central-1,eu-west-1,us-east-1" {
		t.Errorf("Regions parameter = %v", got)
	}
	if got := dig(outer.doc, "Parameters", "OrganizationalUnitIds"); dig(got, "Type") != "CommaDelimitedList" || dig(got, "Default") != "ou-ab12-34cd56ef" {
		t.Errorf("OrganizationalUnitIds parameter = %v", got)
	}
	if len(ss.Parameters) != 1 || ss.Parameters[0].ParameterKey != "TocsinEndpoint" || ss.Parameters[0].ParameterValue != "{Ref:TocsinEndpoint}" {
		t.Errorf("StackSet parameters = %+v, want the endpoint passed on", ss.Parameters)
	}
	if got := dig(outer.doc, "Parameters", "TocsinEndpoint", "NoEcho"); got != true {
		t.Error("outer TocsinEndpoint is not NoEcho")
	}

	if ss.TemplateBody == nil {
		t.Fatal("no TemplateBody")
	}
	body := []byte(*ss.TemplateBody)
	if len(body) > 51200 {
		t.Errorf("TemplateBody is %d bytes; CloudFormation takes 51,200", len(body))
	}
	if bytes.Contains(body, []byte(testKey)) {
		t.Error("the key is written into the StackSet's template body, where every stack instance shows it")
	}
	inner := parse(t, body)
	wantInner := map[string]string{
		"TocsinTopic":          "AWS::SNS::Topic",
		"TocsinTopicPolicy":    "AWS::SNS::TopicPolicy",
		"TocsinSubscription":   "AWS::SNS::Subscription",
		"FindingsImportedRule": "AWS::Events::Rule",
		"CustomActionRule":     "AWS::Events::Rule",
		"SendToTocsinAction":   "AWS::SecurityHub::ActionTarget",
	}
	if got := resourceTypes(inner); !maps.Equal(got, wantInner) {
		t.Errorf("per-account resources = %v, want %v (the role lives only in the deploying account)", got, wantInner)
	}
	if got := sortedKeys(asMap(inner.doc["Parameters"])); !slices.Equal(got, []string{"TocsinEndpoint"}) {
		t.Errorf("per-account parameters = %v; each must be passed by the StackSet", got)
	}
	if got := dig(inner.doc, "Parameters", "TocsinEndpoint"); dig(got, "NoEcho") != true || dig(got, "Default") != nil {
		t.Errorf("per-account TocsinEndpoint = %v, want NoEcho without default", got)
	}
	rule, err := inner.tpl.GetEventsRuleWithName("FindingsImportedRule")
	if err != nil {
		t.Fatal(err)
	}
	if got := severityLabels(rule.EventPattern); !slices.Equal(got, []string{"MEDIUM", "HIGH", "CRITICAL"}) {
		t.Errorf("per-account severity labels = %v", got)
	}
	if got := sortedKeys(asMap(outer.doc["Outputs"])); !slices.Equal(got, []string{"RoleArn", "StackSetId", "TocsinCommand"}) {
		t.Errorf("outputs = %v", got)
	}
}

func TestOrgTemplateDefaults(t *testing.T) {
	p := testParams()
	p.SkipRole = true
	out, err := OrgTemplate(p, Org{Regions: []string{"ap-northeast-1"}})
	if err != nil {
		t.Fatal(err)
	}
	tp := parse(t, out)
	if got := resourceTypes(tp); !maps.Equal(got, map[string]string{"FindingsStackSet": "AWS::CloudFormation::StackSet"}) {
		t.Errorf("resources = %v", got)
	}
	if got := dig(tp.doc, "Parameters", "OrganizationalUnitIds", "Default"); got != nil {
		t.Errorf("OU default = %v, want none (must be given at deploy time)", got)
	}
	if got := dig(tp.doc, "Resources", "FindingsStackSet", "Properties", "CallAs"); got != "SELF" {
		t.Errorf("CallAs = %v, want SELF", got)
	}
	if dig(tp.doc, "Parameters", "TocsinEndpoint", "Default") != nil {
		t.Error("the endpoint default is set although IncludeKey is off")
	}
}

func TestDeterministic(t *testing.T) {
	p := testParams()
	p.ProductNames = []string{"Inspector", "GuardDuty", "arn:aws:securityhub:eu-central-1::product/prowler/prowler"}
	p.AccountIDs = []string{"222233334444", "111122223333"}
	p.RecordStates = []string{"archived", "active"}
	products := slices.Clone(p.ProductNames)
	first, err := Template(p)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := Template(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("two runs with the same parameters differ")
		}
	}
	if !slices.Equal(p.ProductNames, products) {
		t.Error("Template changed the caller's ProductNames")
	}
	orgA, _ := OrgTemplate(p, testOrg())
	orgB, _ := OrgTemplate(p, testOrg())
	if !bytes.Equal(orgA, orgB) {
		t.Error("two org runs differ")
	}
	for _, b := range [][]byte{first, orgA} {
		if !bytes.HasPrefix(b, []byte("# tocsin: ")) || !bytes.Contains(b, []byte("Generated by `tocsin aws template --integration securityhub-prod")) {
			t.Errorf("header missing:\n%s", b[:200])
		}
		if bytes.Contains(b, []byte("2026-")) || bytes.Contains(b, []byte("2025-")) {
			t.Error("output carries a date")
		}
	}
}

func TestHeaderVersion(t *testing.T) {
	p := testParams()
	p.ToolVersion = "v1.4.2"
	out := mustTemplate(t, p)
	if !bytes.Contains(out, []byte("(tocsin v1.4.2), template version 1.")) {
		t.Errorf("header lacks the versions:\n%s", out[:400])
	}
	p.IntegrationName = "Security Hub prod"
	out = mustTemplate(t, p)
	if !bytes.Contains(out, []byte("--integration 'Security Hub prod'")) {
		t.Errorf("integration name with spaces is not quoted in the header:\n%s", out[:400])
	}
	tp := parse(t, out)
	if got := dig(tp.doc, "Outputs", "TocsinCommand", "Value"); !strings.Contains(got.(string), "integration update 'Security Hub prod' --role-arn") {
		t.Errorf("TocsinCommand = %v", got)
	}
}

// The checks behind parse must bite: a misspelt property, a dangling reference and a wrong
// attribute each fail.
func TestChecksCatchMistakes(t *testing.T) {
	good := mustTemplate(t, testParams())
	if _, errs := parseTemplate(good); len(errs) > 0 {
		t.Fatalf("the good template fails: %v", errs)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"misspelt property", "Protocol: https", "Protocoll: https", "Protocoll"},
		{"misspelt nested property", "PolicyName: tocsin-securityhub-write-back", "PolicyNam: tocsin-securityhub-write-back", "PolicyNam"},
		{"property of the wrong shape", "Topics:\n        - !Ref TocsinTopic", "Topics: !Ref TocsinTopic", "Topics"},
		{"misspelt action target property", "Id: SendToTocsin", "ID: SendToTocsin", "ID"},
		{"missing required property", "      Protocol: https\n", "", "Protocol"},
		{"dangling Ref", "Endpoint: !Ref TocsinEndpoint", "Endpoint: !Ref TocsinEndpiont", "TocsinEndpiont"},
		{"wrong GetAtt attribute", "SendToTocsinAction.ActionTargetArn]", "SendToTocsinAction.Arn]", `attribute "Arn"`},
		{"dangling Sub variable", "${ExternalId}", "${ExternalID}", "ExternalID"},
		{"undeclared condition", "Condition: SetupCheckAllowed", "Condition: SetupCheck", "SetupCheck"},
		{"default breaking its own pattern", "Default: tocsin-7f3a9c", "Default: tocsin 7f3a9c", "AllowedPattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(good, []byte(tc.from)) {
				t.Fatalf("template no longer contains %q", tc.from)
			}
			bad := bytes.Replace(good, []byte(tc.from), []byte(tc.to), 1)
			_, errs := parseTemplate(bad)
			if len(errs) == 0 {
				t.Fatal("no error")
			}
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			if msg := strings.Join(all, "\n"); !strings.Contains(msg, tc.want) {
				t.Errorf("errors do not mention %q:\n%s", tc.want, msg)
			}
		})
	}
}

func TestGolden(t *testing.T) {
	p := testParams()
	p.ProductNames = []string{"GuardDuty", "Inspector"}
	p.ToolVersion = "v0.0.0-test"
	single, err := Template(p)
	if err != nil {
		t.Fatal(err)
	}
	org, err := OrgTemplate(p, testOrg())
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"template.yaml": single, "org-template.yaml": org} {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the output; review the change and run go test -update:\n%s", path, firstDiff(want, got))
		}
		parse(t, want)
	}
}

func firstDiff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n- " + w + "\n+ " + g
		}
	}
	return ""
}
