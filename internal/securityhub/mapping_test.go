package securityhub_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/securityhub"
)

// One test per row of DESIGN.md's "Security Hub mapping" table, on a real GuardDuty finding.
func TestMapDesignTable(t *testing.T) {
	gd := finding(t, "guardduty.json")
	d := securityhub.Map(gd, securityhub.Options{})
	checkDecision(t, d)
	req := d.Request

	t.Run("Id is the alias", func(t *testing.T) {
		if d.Action != securityhub.ActionCreate || d.Alias != gd.Id || req.Alias != gd.Id {
			t.Errorf("action %q alias %q, want create %q", d.Action, d.Alias, gd.Id)
		}
	})
	t.Run("Title is the message", func(t *testing.T) {
		if req.Message != gd.Title {
			t.Errorf("message %q", req.Message)
		}
	})
	t.Run("description: what, where, severity, when, remediation, links", func(t *testing.T) {
		in := securityhub.Map(finding(t, "cspm-control.json"), securityhub.Options{}).Request.Description
		for _, want := range []string{
			"This control checks whether an Amazon S3 general purpose bucket blocks public access", // Description
			"Severity: HIGH (normalized 70)",
			"Account: 123456789012",
			"Region: eu-central-1",
			"  - AwsS3Bucket arn:aws:s3:::marketing-site-assets",
			"Compliance: FAILED (control S3.8)",
			"First observed: 2026-02-11T09:32:18.444Z",
			"Last observed: 2026-03-02T09:30:07.112Z",
			"Remediation:\nFor information on how to correct this issue, consult the AWS Security Hub controls documentation.\nhttps://docs.aws.amazon.com/console/securityhub/S3.8/remediation",
			"Open in Security Hub: https://console.aws.amazon.com/securityhub/home?region=eu-central-1#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253Aarn%253Aaws%253Asecurityhub%253Aeu-central-1%253A123456789012%253Asecurity-control%252FS3.8%252Ffinding%252F9b1e3f4a-8c7d-4e6f-a5b4-3c2d1e0f9a8b",
			"Finding ID: arn:aws:securityhub:eu-central-1:123456789012:security-control/S3.8/finding/9b1e3f4a-8c7d-4e6f-a5b4-3c2d1e0f9a8b",
		} {
			if !strings.Contains(in, want) {
				t.Errorf("description lacks %q:\n%s", want, in)
			}
		}
		for _, want := range []string{
			"Account: 123456789012 (prod-payments)",
			"  - AwsIamAccessKey AWS::IAM::AccessKey:ASIAIOSFODNN7EXAMPLE\n  - AwsEc2Instance arn:aws:ec2:us-east-1:123456789012:instance/i-0a1b2c3d4e5f67890",
			"Source: https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?macros=current&fId=7ec6a9f1e1a30c2e8c8b0ef1a3c6b2d4",
		} {
			if !strings.Contains(req.Description, want) {
				t.Errorf("description lacks %q:\n%s", want, req.Description)
			}
		}
	})
	t.Run("Severity.Label is the priority", func(t *testing.T) {
		if req.Priority != alert.P2 {
			t.Errorf("priority %q, want P2 for HIGH", req.Priority)
		}
	})
	t.Run("tags: account, region, product, resource types, severity", func(t *testing.T) {
		want := []string{"HIGH", "GuardDuty", "123456789012", "us-east-1", "AwsIamAccessKey", "AwsEc2Instance"}
		if !slices.Equal(req.Tags, want) {
			t.Errorf("tags %q, want %q", req.Tags, want)
		}
	})
	t.Run("details: Id, ProductArn, GeneratorId, Types, compliance and workflow status", func(t *testing.T) {
		c := securityhub.Map(finding(t, "cspm-control.json"), securityhub.Options{}).Request.Details
		want := map[string]string{
			"Id":                           "arn:aws:securityhub:eu-central-1:123456789012:security-control/S3.8/finding/9b1e3f4a-8c7d-4e6f-a5b4-3c2d1e0f9a8b",
			"ProductArn":                   "arn:aws:securityhub:eu-central-1::product/aws/securityhub",
			"GeneratorId":                  "security-control/S3.8",
			"Types":                        "Software and Configuration Checks/Industry and Regulatory Standards",
			"Compliance.Status":            "FAILED",
			"Workflow.Status":              "NEW",
			"Compliance.SecurityControlId": "S3.8",
			"RecordState":                  "ACTIVE",
		}
		for k, v := range want {
			if c[k] != v {
				t.Errorf("details[%q] = %q, want %q", k, c[k], v)
			}
		}
	})
	t.Run("first resource Id is the entity", func(t *testing.T) {
		if req.Entity != "AWS::IAM::AccessKey:ASIAIOSFODNN7EXAMPLE" {
			t.Errorf("entity %q", req.Entity)
		}
	})
	t.Run("product name is the source", func(t *testing.T) {
		if req.Source != "GuardDuty" {
			t.Errorf("source %q", req.Source)
		}
	})
	t.Run("identity for write-back", func(t *testing.T) {
		want := securityhub.FindingRef{Id: gd.Id, ProductArn: gd.ProductArn, Region: "us-east-1", AwsAccountId: "123456789012"}
		if d.Finding != want {
			t.Errorf("finding ref %+v, want %+v", d.Finding, want)
		}
		if d.WorkflowStatus != "NEW" || d.UpdatedAt != "2026-03-02T08:09:07.402Z" {
			t.Errorf("state %q %q", d.WorkflowStatus, d.UpdatedAt)
		}
	})
}

// The last row of the table: these findings close the open alert and never create one.
func TestMapCloseRules(t *testing.T) {
	base := finding(t, "guardduty.json")
	tests := []struct {
		name   string
		change func(*securityhub.Finding)
		reason string // "" means the finding creates
	}{
		{"new", func(*securityhub.Finding) {}, ""},
		{"notified", func(f *securityhub.Finding) { f.Workflow.Status = "NOTIFIED" }, ""},
		{"resolved", func(f *securityhub.Finding) { f.Workflow.Status = "RESOLVED" }, "Security Hub: workflow status RESOLVED"},
		{"suppressed", func(f *securityhub.Finding) { f.Workflow.Status = "SUPPRESSED" }, "Security Hub: workflow status SUPPRESSED"},
		{"lower case", func(f *securityhub.Finding) { f.Workflow.Status = "resolved" }, "Security Hub: workflow status RESOLVED"},
		{"archived", func(f *securityhub.Finding) { f.RecordState = "ARCHIVED" }, "Security Hub: record state ARCHIVED"},
		{"passed", func(f *securityhub.Finding) { f.Compliance.Status = "PASSED" }, "Security Hub: compliance status PASSED"},
		{"failed", func(f *securityhub.Finding) { f.Compliance.Status = "FAILED" }, ""},
		{"warning", func(f *securityhub.Finding) { f.Compliance.Status = "WARNING" }, ""},
		{"not available", func(f *securityhub.Finding) { f.Compliance.Status = "NOT_AVAILABLE" }, ""},
		{"deprecated WorkflowState RESOLVED", func(f *securityhub.Finding) { f.Workflow.Status, f.WorkflowState = "", "RESOLVED" }, "Security Hub: workflow status RESOLVED"},
		{"deprecated WorkflowState DEFERRED", func(f *securityhub.Finding) { f.Workflow.Status, f.WorkflowState = "", "DEFERRED" }, "Security Hub: workflow status SUPPRESSED"},
		{"Workflow.Status wins over WorkflowState", func(f *securityhub.Finding) { f.Workflow.Status, f.WorkflowState = "NEW", "RESOLVED" }, ""},
		{"several reasons", func(f *securityhub.Finding) {
			f.Workflow.Status, f.RecordState, f.Compliance.Status = "RESOLVED", "ARCHIVED", "PASSED"
		}, "Security Hub: workflow status RESOLVED, record state ARCHIVED, compliance status PASSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base
			tt.change(&f)
			d := securityhub.Map(f, securityhub.Options{})
			checkDecision(t, d)
			if tt.reason == "" {
				if d.Action != securityhub.ActionCreate {
					t.Errorf("action %q reason %q, want create", d.Action, d.Reason)
				}
				return
			}
			if d.Action != securityhub.ActionClose || d.Reason != tt.reason {
				t.Errorf("action %q reason %q, want close %q", d.Action, d.Reason, tt.reason)
			}
			if d.Alias != base.Id || d.Finding.Id != base.Id {
				t.Errorf("close names %q / %q", d.Alias, d.Finding.Id)
			}
		})
	}
	for _, file := range []string{"guardduty-resolved.json", "guardduty-archived.json", "cspm-control-passed.json"} {
		ev := parseEvent(t, file)
		ds := securityhub.Decide(ev, securityhub.Filter{MinSeverity: "CRITICAL", AccountIDs: []string{"000000000000"}}, securityhub.Options{})
		if len(ds) != 1 || ds[0].Action != securityhub.ActionClose {
			t.Errorf("%s: %+v, want one close whatever the filter", file, ds)
		}
	}
}

func TestSeverityPriority(t *testing.T) {
	tests := []struct {
		sev  securityhub.Severity
		want alert.Priority
	}{
		{securityhub.Severity{Label: "CRITICAL"}, alert.P1},
		{securityhub.Severity{Label: "HIGH"}, alert.P2},
		{securityhub.Severity{Label: "MEDIUM"}, alert.P3},
		{securityhub.Severity{Label: "LOW"}, alert.P4},
		{securityhub.Severity{Label: "INFORMATIONAL"}, alert.P5},
		{securityhub.Severity{Label: " critical "}, alert.P1},
		{securityhub.Severity{Label: "LOW", Normalized: intp(95)}, alert.P4}, // the label wins
		{securityhub.Severity{Normalized: intp(100)}, alert.P1},
		{securityhub.Severity{Normalized: intp(90)}, alert.P1},
		{securityhub.Severity{Normalized: intp(89)}, alert.P2},
		{securityhub.Severity{Normalized: intp(70)}, alert.P2},
		{securityhub.Severity{Normalized: intp(69)}, alert.P3},
		{securityhub.Severity{Normalized: intp(40)}, alert.P3},
		{securityhub.Severity{Normalized: intp(39)}, alert.P4},
		{securityhub.Severity{Normalized: intp(1)}, alert.P4},
		{securityhub.Severity{Normalized: intp(0)}, alert.P5},
		{securityhub.Severity{Normalized: intp(250)}, alert.P1},
		{securityhub.Severity{Normalized: intp(-3)}, alert.P5},
		{securityhub.Severity{Label: "SEVERE", Normalized: intp(75)}, alert.P2}, // unknown label: fall back
		{securityhub.Severity{Original: "8.3"}, alert.DefaultPriority},          // nothing to go by
		{securityhub.Severity{}, alert.DefaultPriority},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("label %q normalized %v", tt.sev.Label, tt.sev.Normalized)
		if tt.sev.Normalized != nil {
			name = fmt.Sprintf("label %q normalized %d", tt.sev.Label, *tt.sev.Normalized)
		}
		t.Run(name, func(t *testing.T) {
			if got := tt.sev.Priority(); got != tt.want {
				t.Errorf("priority %q, want %q", got, tt.want)
			}
			f := finding(t, "guardduty.json")
			f.Severity = tt.sev
			if got := securityhub.Map(f, securityhub.Options{}).Request.Priority; got != tt.want {
				t.Errorf("Map priority %q, want %q", got, tt.want)
			}
		})
	}
	// The third-party fixture has no label, only Normalized 92.
	if p := securityhub.Map(finding(t, "third-party-prowler.json"), securityhub.Options{}).Request.Priority; p != alert.P1 {
		t.Errorf("third party: %q", p)
	}
}

func TestLabelForPriorityIsTheReverse(t *testing.T) {
	for _, p := range []alert.Priority{alert.P1, alert.P2, alert.P3, alert.P4, alert.P5} {
		label := securityhub.LabelForPriority(p)
		if got := (securityhub.Severity{Label: label}).Priority(); got != p {
			t.Errorf("%s → %s → %s", p, label, got)
		}
	}
	if securityhub.LabelForPriority("P9") != "" {
		t.Error("invalid priority has a label")
	}
}

func TestAlias(t *testing.T) {
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	exact := strings.Repeat("a", alert.MaxAliasRunes)
	kanji := strings.Repeat("検", alert.MaxAliasRunes) // 512 runes, 1536 bytes
	tests := []struct {
		id, want string
	}{
		{"", ""},
		{"arn:aws:guardduty:us-east-1:1:detector/d/finding/f", "arn:aws:guardduty:us-east-1:1:detector/d/finding/f"},
		{exact, exact},
		{exact + "b", hash(exact + "b")},
		{kanji, kanji},
		{kanji + "検", hash(kanji + "検")},
		{" padded", hash(" padded")},
		{"padded\n", hash("padded\n")},
		{"bad \xff utf8", hash("bad \xff utf8")},
		{"nul\x00byte", hash("nul\x00byte")},
	}
	for _, tt := range tests {
		got := securityhub.Alias(tt.id)
		if got != tt.want {
			t.Errorf("Alias(%.20q…) = %.30q…, want %.30q…", tt.id, got, tt.want)
		}
		if utf8.RuneCountInString(got) > alert.MaxAliasRunes {
			t.Errorf("alias of %d runes", utf8.RuneCountInString(got))
		}
	}
	// A long Id hashes the same way in every event, so dedupe and close still find the alert.
	f := finding(t, "guardduty.json")
	f.Id = strings.Repeat("x", 600)
	create := securityhub.Map(f, securityhub.Options{})
	f.Workflow.Status = "RESOLVED"
	closing := securityhub.Map(f, securityhub.Options{})
	if create.Alias != hash(f.Id) || closing.Alias != create.Alias || create.Request.Alias != create.Alias {
		t.Errorf("create %q close %q", create.Alias, closing.Alias)
	}
	if create.Finding.Id != f.Id || create.Request.Details["Id"] == "" {
		t.Error("the full Id must stay available for write-back")
	}
}

// Titles are cut by rune, never in the middle of a multi-byte character.
func TestMessageCutByRune(t *testing.T) {
	f := finding(t, "third-party-prowler.json")
	if utf8.RuneCountInString(f.Title) <= alert.MaxMessageRunes || len(f.Title) == utf8.RuneCountInString(f.Title) {
		t.Fatal("fixture title must be long and multi-byte")
	}
	msg := securityhub.Map(f, securityhub.Options{}).Request.Message
	if !utf8.ValidString(msg) || utf8.RuneCountInString(msg) != alert.MaxMessageRunes || !strings.HasPrefix(f.Title, msg) {
		t.Errorf("message %q (%d runes)", msg, utf8.RuneCountInString(msg))
	}
	f.Title = "Line one\nline\ttwo  \x00 end"
	if msg := securityhub.Map(f, securityhub.Options{}).Request.Message; msg != "Line one line two end" {
		t.Errorf("message %q", msg)
	}
	f.Title = strings.Repeat("🔥", 200)
	if msg := securityhub.Map(f, securityhub.Options{}).Request.Message; msg != strings.Repeat("🔥", 130) {
		t.Errorf("emoji message has %d runes", utf8.RuneCountInString(msg))
	}
}

func TestTagLimits(t *testing.T) {
	f := finding(t, "guardduty.json")
	f.Resources = nil
	for i := range 30 {
		f.Resources = append(f.Resources,
			securityhub.Resource{Type: fmt.Sprintf("AwsCustomType%02d", i), Id: fmt.Sprint(i)},
			securityhub.Resource{Type: "AwsEc2Instance", Id: "dup"}, // repeated type
		)
	}
	f.Resources[0].Type = strings.Repeat("Ä", 80) // longer than a tag may be
	opts := securityhub.Options{Tags: []string{"securityhub", "  securityhub ", "team:secops", ""}}
	req := securityhub.Map(f, opts).Request
	checkRequest(t, req)
	if len(req.Tags) != alert.MaxTags {
		t.Errorf("%d tags, want %d", len(req.Tags), alert.MaxTags)
	}
	want := []string{"securityhub", "team:secops", "HIGH", "GuardDuty", "123456789012", "us-east-1", strings.Repeat("Ä", 50), "AwsEc2Instance"}
	if !slices.Equal(req.Tags[:len(want)], want) {
		t.Errorf("tags start %q, want %q", req.Tags[:len(want)], want)
	}
}

func TestDetailLimits(t *testing.T) {
	f := finding(t, "cspm-control.json")
	for i := range 50 {
		f.Types = append(f.Types, fmt.Sprintf("Software and Configuration Checks/%s/%d", strings.Repeat("ü", 100), i))
	}
	f.GeneratorId = strings.Repeat("g", 5000)
	f.AwsAccountName = strings.Repeat("n", 5000)
	f.CompanyName = strings.Repeat("c", 5000)
	f.Compliance.SecurityControlId = strings.Repeat("s", 5000)
	f.Compliance.AssociatedStandards = nil
	for range 100 {
		f.Compliance.AssociatedStandards = append(f.Compliance.AssociatedStandards, securityhub.AssociatedStandard{StandardsId: strings.Repeat("z", 100)})
	}
	req := securityhub.Map(f, securityhub.Options{}).Request
	checkRequest(t, req)
	if req.Details["Id"] != f.Id || req.Details["ProductArn"] != f.ProductArn {
		t.Error("the identifying details must survive trimming")
	}
	if v := req.Details["Types"]; utf8.RuneCountInString(v) > 1024 || !strings.HasSuffix(v, "…") {
		t.Errorf("long Types not trimmed with a mark: %d runes", utf8.RuneCountInString(v))
	}
}

func TestDescriptionLimits(t *testing.T) {
	f := finding(t, "guardduty.json")
	f.Description = strings.Repeat("描述", 20000)
	f.Remediation.Recommendation.Text = strings.Repeat("fix ", 5000)
	f.Note.Text = strings.Repeat("note ", 10000)
	for i := range 1000 {
		f.Resources = append(f.Resources, securityhub.Resource{Type: "AwsS3Bucket", Id: fmt.Sprintf("arn:aws:s3:::bucket-%d-%s", i, strings.Repeat("x", 400))})
	}
	req := securityhub.Map(f, securityhub.Options{}).Request
	checkRequest(t, req)
	desc := req.Description
	if !strings.Contains(desc, "Open in Security Hub: https://console.aws.amazon.com/") || !strings.HasSuffix(desc, "Finding ID: "+f.Id) {
		t.Errorf("links lost when cutting:\n…%s", desc[max(0, len(desc)-600):])
	}
	if !strings.Contains(desc, "… and 992 more") {
		t.Error("resource list not capped")
	}
	// Values from the finding cannot forge lines of their own.
	f = finding(t, "guardduty.json")
	f.Resources[0].Id = "i-1\nOpen in Security Hub: https://evil.example"
	f.SourceUrl = "javascript:alert(1)"
	f.Remediation.Recommendation.Url = "https://ok.example/fix me"
	desc = securityhub.Map(f, securityhub.Options{}).Request.Description
	if strings.Contains(desc, "\nOpen in Security Hub: https://evil") || strings.Contains(desc, "javascript:") || strings.Contains(desc, "ok.example") {
		t.Errorf("unsafe description:\n%s", desc)
	}
}

func TestConsoleURL(t *testing.T) {
	const prefix = "#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253A"
	base := finding(t, "guardduty.json")
	tests := []struct {
		name   string
		change func(*securityhub.Finding)
		want   string // "" for no link; else the URL up to the fragment
	}{
		{"aws", func(*securityhub.Finding) {}, "https://console.aws.amazon.com/securityhub/home?region=us-east-1"},
		{"aws-cn", func(f *securityhub.Finding) {
			f.ProductArn, f.Region = "arn:aws-cn:securityhub:cn-northwest-1::product/aws/guardduty", "cn-northwest-1"
		}, "https://console.amazonaws.cn/securityhub/home?region=cn-northwest-1"},
		{"aws-us-gov", func(f *securityhub.Finding) {
			f.ProductArn, f.Region = "arn:aws-us-gov:securityhub:us-gov-west-1::product/aws/guardduty", "us-gov-west-1"
		}, "https://console.amazonaws-us-gov.com/securityhub/home?region=us-gov-west-1"},
		{"ISO partition has no public console", func(f *securityhub.Finding) {
			f.ProductArn, f.Region = "arn:aws-iso:securityhub:us-iso-east-1::product/aws/guardduty", "us-iso-east-1"
		}, ""},
		{"region from the product ARN", func(f *securityhub.Finding) { f.Region = "" },
			"https://console.aws.amazon.com/securityhub/home?region=us-east-1"},
		{"hostile region ignored", func(f *securityhub.Finding) {
			f.Region, f.ProductArn = "us-east-1&x=#/evil", "arn:aws:securityhub:eu-west-1::product/aws/guardduty"
		}, "https://console.aws.amazon.com/securityhub/home?region=eu-west-1"},
		{"no region anywhere", func(f *securityhub.Finding) {
			f.Region, f.ProductArn, f.Resources = "", "product/aws/guardduty", nil
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base
			tt.change(&f)
			got := securityhub.ConsoleURL(f)
			if tt.want == "" {
				if got != "" {
					t.Errorf("got %q, want no link", got)
				}
				return
			}
			if !strings.HasPrefix(got, tt.want+prefix) {
				t.Fatalf("got %q\nwant prefix %q", got, tt.want+prefix)
			}
			// The console decodes the search twice: it must give back "Id=\operator\:EQUALS\:" and the Id.
			frag := strings.TrimPrefix(got[strings.Index(got, "#"):], "#/findings?search=")
			once, err := url.QueryUnescape(frag)
			if err != nil {
				t.Fatal(err)
			}
			twice, err := url.PathUnescape(once)
			if err != nil {
				t.Fatal(err)
			}
			if twice != `Id=\operator\:EQUALS\:`+f.Id {
				t.Errorf("search decodes to %q", twice)
			}
		})
	}
}

func TestProductName(t *testing.T) {
	tests := []struct {
		f    securityhub.Finding
		want string
	}{
		{securityhub.Finding{ProductName: "GuardDuty", ProductFields: map[string]string{"aws/securityhub/ProductName": "Other"}}, "GuardDuty"},
		{securityhub.Finding{ProductFields: map[string]string{"aws/securityhub/ProductName": "Prowler"}}, "Prowler"},
		{securityhub.Finding{ProductArn: "arn:aws:securityhub:us-east-1::product/aws/access-analyzer"}, "IAM Access Analyzer"},
		{securityhub.Finding{ProductArn: "arn:aws:securityhub:us-east-1::product/aws/securityhub"}, "Security Hub"},
		{securityhub.Finding{ProductArn: "arn:aws:securityhub:us-east-1::product/crowdstrike/crowdstrike-falcon"}, "crowdstrike-falcon"},
		{securityhub.Finding{ProductArn: "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default"}, "default"},
		{securityhub.Finding{ProductArn: "garbage"}, "Security Hub"},
	}
	for _, tt := range tests {
		if got := tt.f.Product(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.f, got, tt.want)
		}
	}
}

// Each realistic event maps to what a responder should get.
func TestMapRealisticEvents(t *testing.T) {
	tests := []struct {
		file     string
		action   securityhub.Action
		priority alert.Priority
		source   string
		entity   string
		tags     []string
	}{
		{"guardduty.json", securityhub.ActionCreate, alert.P2, "GuardDuty", "AWS::IAM::AccessKey:ASIAIOSFODNN7EXAMPLE",
			[]string{"HIGH", "GuardDuty", "123456789012", "us-east-1", "AwsIamAccessKey", "AwsEc2Instance"}},
		{"inspector.json", securityhub.ActionCreate, alert.P1, "Inspector", "arn:aws:ec2:eu-central-1:123456789012:instance/i-0f1e2d3c4b5a69788",
			[]string{"CRITICAL", "Inspector", "123456789012", "eu-central-1", "AwsEc2Instance"}},
		{"macie.json", securityhub.ActionCreate, alert.P2, "Macie", "arn:aws:s3:::customer-exports",
			[]string{"HIGH", "Macie", "210987654321", "us-west-2", "AwsS3Bucket", "AwsS3Object"}},
		{"cspm-control.json", securityhub.ActionCreate, alert.P2, "Security Hub", "arn:aws:s3:::marketing-site-assets",
			[]string{"HIGH", "Security Hub", "123456789012", "eu-central-1", "AwsS3Bucket"}},
		{"seed-cis-benchmark.json", securityhub.ActionCreate, alert.P3, "Security Hub", "AWS::::Account:111122223333",
			[]string{"MEDIUM", "Security Hub", "111122223333", "ap-southeast-2", "AwsAccount"}},
		{"access-analyzer.json", securityhub.ActionCreate, alert.P4, "IAM Access Analyzer", "arn:aws:s3:::doc-example-bucket",
			[]string{"LOW", "IAM Access Analyzer", "111122223333", "us-west-2", "AwsS3Bucket"}},
		{"third-party-prowler.json", securityhub.ActionCreate, alert.P1, "Prowler", "arn:aws:iam::999988887777:root",
			[]string{"CRITICAL", "Prowler", "999988887777", "ap-northeast-1", "AwsAccount"}},
		{"guardduty-resolved.json", securityhub.ActionClose, "", "", "", nil},
		{"guardduty-archived.json", securityhub.ActionClose, "", "", "", nil},
		{"cspm-control-passed.json", securityhub.ActionClose, "", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev := parseEvent(t, tt.file)
			ds := securityhub.Decide(ev, securityhub.Filter{}, securityhub.Options{})
			if len(ds) != 1 {
				t.Fatalf("%d decisions", len(ds))
			}
			d := ds[0]
			checkDecision(t, d)
			if d.Action != tt.action || d.Alias != ev.Detail.Findings[0].Id {
				t.Fatalf("action %q alias %q", d.Action, d.Alias)
			}
			if d.Action != securityhub.ActionCreate {
				return
			}
			r := d.Request
			if r.Priority != tt.priority || r.Source != tt.source || r.Entity != tt.entity || !slices.Equal(r.Tags, tt.tags) {
				t.Errorf("got priority %q source %q entity %q tags %q", r.Priority, r.Source, r.Entity, r.Tags)
			}
		})
	}
}

func TestDecideCustomActionWithSeveralFindings(t *testing.T) {
	ev := parseEvent(t, "custom-action.json")
	// A filter that would drop every one of them from an Imported event: a person chose these.
	strict := securityhub.Filter{MinSeverity: "CRITICAL", ProductNames: []string{"Nothing"}, AccountIDs: []string{"000000000000"}}
	ds := securityhub.Decide(ev, strict, securityhub.Options{})
	if len(ds) != 4 {
		t.Fatalf("%d decisions, want 4", len(ds))
	}
	wantActions := []securityhub.Action{securityhub.ActionCreate, securityhub.ActionCreate, securityhub.ActionCreate, securityhub.ActionClose}
	for i, d := range ds {
		checkDecision(t, d)
		if d.Action != wantActions[i] || d.Alias != ev.Detail.Findings[i].Id {
			t.Errorf("decision %d: %q %q", i, d.Action, d.Alias)
		}
		if d.Action == securityhub.ActionCreate {
			if !strings.HasPrefix(d.Request.Description, "Sent from Security Hub with the custom action SendToTocsin.") ||
				d.Request.Details["CustomAction"] != "SendToTocsin" {
				t.Errorf("decision %d does not say who sent it", i)
			}
		}
	}
	if ds[3].Reason != "Security Hub: workflow status SUPPRESSED" {
		t.Errorf("close reason %q", ds[3].Reason)
	}
	if ds[1].Request.Priority != alert.P4 || ds[1].Request.Details["Workflow.Status"] != "NOTIFIED" {
		t.Errorf("second finding: %+v", ds[1].Request)
	}
}

func TestDecideInsightResults(t *testing.T) {
	ev := parseEvent(t, "insight-results.json")
	ds := securityhub.Decide(ev, securityhub.Filter{MinSeverity: "CRITICAL"}, securityhub.Options{Tags: []string{"secops"}})
	if len(ds) != 1 {
		t.Fatalf("%d decisions, want 1", len(ds))
	}
	d := ds[0]
	checkDecision(t, d)
	r := d.Request
	if d.Action != securityhub.ActionCreate || d.Alias != ev.Detail.InsightArn || d.Finding != (securityhub.FindingRef{}) {
		t.Errorf("decision %+v", d)
	}
	if r.Message != "Security Hub insight: S3 buckets with public write or read permissions" || r.Priority != alert.P3 || r.Source != "Security Hub" {
		t.Errorf("message %q priority %q source %q", r.Message, r.Priority, r.Source)
	}
	for _, want := range []string{
		"custom action SendToTocsin (Page the security on-call through tocsin)",
		"Grouped by: ResourceId",
		"Results (3):\n  - arn:aws:s3:::marketing-site-assets: 4\n  - arn:aws:s3:::doc-example-bucket: 2\n  - arn:aws:s3:::customer-exports: 1\n",
		"Open in Security Hub: https://console.aws.amazon.com/securityhub/home?region=eu-central-1#/insights/arn%3Aaws%3Asecurityhub%3Aeu-central-1%3A123456789012%3Ainsight%2F123456789012%2Fcustom%2Fa1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
	} {
		if !strings.Contains(r.Description, want) {
			t.Errorf("description lacks %q:\n%s", want, r.Description)
		}
	}
	if !slices.Equal(r.Tags, []string{"secops", "insight", "123456789012", "eu-central-1"}) || r.Details["Results"] != "3" || r.Details["ResultType"] != "ResourceId" {
		t.Errorf("tags %q details %v", r.Tags, r.Details)
	}
	// Many results are listed up to a limit, within alert's limits.
	ev.Detail.InsightName = strings.Repeat("長い名前", 100)
	ev.Detail.InsightResults = nil
	for i := range 5000 {
		ev.Detail.InsightResults = append(ev.Detail.InsightResults, securityhub.InsightResult{Value: strings.Repeat("v", 300) + fmt.Sprint(i), Count: int64(i)})
	}
	d = securityhub.MapInsight(ev, securityhub.Options{})
	checkDecision(t, d)
	if !strings.Contains(d.Request.Description, "… and 4900 more") {
		t.Error("results not capped")
	}
}

func TestDecideAppliesFilterToImportedCreatesOnly(t *testing.T) {
	body := eventWith(
		minimalFinding("low", `"Severity":{"Label":"LOW"}`),
		minimalFinding("high", `"Severity":{"Label":"HIGH"}`),
		minimalFinding("low-resolved", `"Severity":{"Label":"LOW"}`, `"Workflow":{"Status":"RESOLVED"}`),
	)
	ev, err := securityhub.ParseEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	ds := securityhub.Decide(ev, securityhub.Filter{MinSeverity: "MEDIUM"}, securityhub.Options{})
	got := make([]string, len(ds))
	for i, d := range ds {
		checkDecision(t, d)
		got[i] = d.Alias + ":" + string(d.Action)
	}
	want := []string{"low:drop", "high:create", "low-resolved:close"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if ds[0].Reason != "severity LOW is below the minimum MEDIUM" || ds[0].Finding.Id != "low" {
		t.Errorf("drop: %+v", ds[0])
	}
	// A finding without a region of its own gets the event's.
	if ds[1].Finding.Region != "us-east-1" {
		t.Errorf("region %q", ds[1].Finding.Region)
	}
}

func TestOptions(t *testing.T) {
	team := []alert.Responder{{Type: "team", Name: "secops"}}
	opts := securityhub.Options{Responders: team, Tags: []string{"prod"}}
	d := securityhub.Map(finding(t, "guardduty.json"), opts)
	if !slices.Equal(d.Request.Responders, team) || d.Request.Tags[0] != "prod" {
		t.Errorf("responders %v tags %v", d.Request.Responders, d.Request.Tags)
	}
	d.Request.Responders[0].Name = "changed"
	if team[0].Name != "secops" {
		t.Error("the decision shares the options' responders")
	}
}

// Map copes with findings that never passed ParseEvent's checks.
func TestMapUnvalidatedFinding(t *testing.T) {
	for _, f := range []securityhub.Finding{
		{},
		{Id: "x", Title: "\x00\x01", Resources: []securityhub.Resource{{}}},
		{Id: "x", Title: "ok \xff\xfe bad", Description: "\xff", ProductName: "\x00"},
	} {
		d := securityhub.Map(f, securityhub.Options{})
		if d.Request.Message == "" || !d.Request.Priority.Valid() || !utf8.ValidString(d.Request.Message) || !utf8.ValidString(d.Request.Description) {
			t.Errorf("%+v → %+v", f, d.Request)
		}
	}
}

func TestDecisionOccurrence(t *testing.T) {
	ds := securityhub.Decide(parseEvent(t, "custom-action.json"), securityhub.Filter{}, securityhub.Options{})
	create, ok := ds[0].Occurrence()
	if !ok || create.Create == nil || create.Create.Alias != ds[0].Alias || create.CloseAlias != "" {
		t.Errorf("create: %+v", create)
	}
	create.Create.Message = "changed"
	if ds[0].Request.Message == "changed" {
		t.Error("the occurrence shares the decision's request")
	}
	closing, ok := ds[3].Occurrence()
	if !ok || closing.Create != nil || closing.CloseAlias != ds[3].Alias || closing.CloseNote != "Security Hub: workflow status SUPPRESSED" {
		t.Errorf("close: %+v", closing)
	}
	if _, ok := (securityhub.Decision{Action: securityhub.ActionDrop, Alias: "x", Reason: "filtered"}).Occurrence(); ok {
		t.Error("a drop became an occurrence")
	}
}
