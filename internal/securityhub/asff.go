package securityhub

import (
	"encoding/json"
	"strings"
)

// Finding is one finding in the AWS Security Finding Format (ASFF): the fields the mapping reads and
// those a responder wants to see. Unknown fields are ignored, so a finding from a newer schema or a
// richer product still parses.
//
// Timestamps stay strings: Security Hub sends RFC 3339, but samples in the wild (the Opsgenie
// documentation's among them) carry other forms, and a finding must not be refused only because a
// time it merely displays is odd.
type Finding struct {
	SchemaVersion     string            `json:"SchemaVersion,omitempty"`
	Id                string            `json:"Id"`
	ProductArn        string            `json:"ProductArn"`
	ProductName       string            `json:"ProductName,omitempty"`
	CompanyName       string            `json:"CompanyName,omitempty"`
	GeneratorId       string            `json:"GeneratorId,omitempty"`
	AwsAccountId      string            `json:"AwsAccountId"`
	AwsAccountName    string            `json:"AwsAccountName,omitempty"`
	Region            string            `json:"Region,omitempty"`
	Types             []string          `json:"Types,omitempty"`
	FirstObservedAt   string            `json:"FirstObservedAt,omitempty"`
	LastObservedAt    string            `json:"LastObservedAt,omitempty"`
	CreatedAt         string            `json:"CreatedAt,omitempty"`
	UpdatedAt         string            `json:"UpdatedAt,omitempty"`
	Severity          Severity          `json:"Severity,omitzero"`
	Title             string            `json:"Title"`
	Description       string            `json:"Description,omitempty"`
	Remediation       Remediation       `json:"Remediation,omitzero"`
	SourceUrl         string            `json:"SourceUrl,omitempty"`
	Resources         []Resource        `json:"Resources,omitempty"`
	Compliance        Compliance        `json:"Compliance,omitzero"`
	Workflow          Workflow          `json:"Workflow,omitzero"`
	WorkflowState     string            `json:"WorkflowState,omitempty"` // deprecated by AWS in favour of Workflow.Status
	RecordState       string            `json:"RecordState,omitempty"`
	Note              Note              `json:"Note,omitzero"`
	ProductFields     map[string]string `json:"ProductFields,omitempty"`
	UserDefinedFields map[string]string `json:"UserDefinedFields,omitempty"`
}

// Severity is a finding's severity. Security Hub fills Label for every finding it stores; Normalized
// (0-100) is what older integrations set instead.
type Severity struct {
	Label      string   `json:"Label,omitempty"`
	Normalized *int     `json:"Normalized,omitempty"` // nil when absent: absent is not 0 (INFORMATIONAL)
	Original   string   `json:"Original,omitempty"`
	Product    *float64 `json:"Product,omitempty"` // deprecated; shown, never used to decide
}

// Remediation says how to fix what a finding found.
type Remediation struct {
	Recommendation Recommendation `json:"Recommendation,omitzero"`
}

// Recommendation is remediation text and a link to more.
type Recommendation struct {
	Text string `json:"Text,omitempty"`
	Url  string `json:"Url,omitempty"`
}

// Resource is one resource a finding is about. Details varies by Type and is kept undecoded.
type Resource struct {
	Type      string          `json:"Type"`
	Id        string          `json:"Id"`
	Partition string          `json:"Partition,omitempty"`
	Region    string          `json:"Region,omitempty"`
	Details   json.RawMessage `json:"Details,omitempty"`
}

// Compliance is the result of a control check (Security Hub CSPM standards, Config rules).
type Compliance struct {
	Status              string               `json:"Status,omitempty"`
	SecurityControlId   string               `json:"SecurityControlId,omitempty"`
	AssociatedStandards []AssociatedStandard `json:"AssociatedStandards,omitempty"`
	StatusReasons       []StatusReason       `json:"StatusReasons,omitempty"`
}

// AssociatedStandard names a standard a control belongs to.
type AssociatedStandard struct {
	StandardsId string `json:"StandardsId,omitempty"`
}

// StatusReason says why a control check has its status.
type StatusReason struct {
	ReasonCode  string `json:"ReasonCode,omitempty"`
	Description string `json:"Description,omitempty"`
}

// Workflow is where a finding stands in its investigation: NEW, NOTIFIED, RESOLVED or SUPPRESSED.
type Workflow struct {
	Status string `json:"Status,omitempty"`
}

// Note is the one note a finding can carry (tocsin's write-back puts alert notes here).
type Note struct {
	Text      string `json:"Text,omitempty"`
	UpdatedBy string `json:"UpdatedBy,omitempty"`
	UpdatedAt string `json:"UpdatedAt,omitempty"`
}

// Values of the ASFF enumerations that the mapping acts on.
const (
	WorkflowNew        = "NEW"
	WorkflowNotified   = "NOTIFIED"
	WorkflowResolved   = "RESOLVED"
	WorkflowSuppressed = "SUPPRESSED"

	RecordActive   = "ACTIVE"
	RecordArchived = "ARCHIVED"

	CompliancePassed = "PASSED"
)

// WorkflowStatus is the finding's workflow status in upper case. When Workflow.Status is absent it
// falls back to the deprecated WorkflowState, translated as Security Hub translates it (DEFERRED is
// SUPPRESSED, ASSIGNED and IN_PROGRESS are NOTIFIED), so that old-style findings still close.
func (f Finding) WorkflowStatus() string {
	if s := upper(f.Workflow.Status); s != "" {
		return s
	}
	switch s := upper(f.WorkflowState); s {
	case "DEFERRED":
		return WorkflowSuppressed
	case "ASSIGNED", "IN_PROGRESS":
		return WorkflowNotified
	default:
		return s
	}
}

// CloseReason says why this finding closes its alert ("Security Hub: workflow status RESOLVED"), or
// "" when it does not. A finding closes its alert when it is resolved or suppressed, archived, or
// its control check passed: each means nobody needs to act on it any more.
func (f Finding) CloseReason() string {
	var why []string
	if ws := f.WorkflowStatus(); ws == WorkflowResolved || ws == WorkflowSuppressed {
		why = append(why, "workflow status "+ws)
	}
	if upper(f.RecordState) == RecordArchived {
		why = append(why, "record state "+RecordArchived)
	}
	if upper(f.Compliance.Status) == CompliancePassed {
		why = append(why, "compliance status "+CompliancePassed)
	}
	if len(why) == 0 {
		return ""
	}
	return "Security Hub: " + strings.Join(why, ", ")
}

// Product is the name of the product that made the finding ("GuardDuty", "Security Hub", "Prowler").
// Security Hub sets ProductName; findings from older sources carry it only in ProductFields or in the
// product ARN, so those are tried in turn.
func (f Finding) Product() string {
	if p := oneLine(f.ProductName); p != "" {
		return p
	}
	if p := oneLine(f.ProductFields["aws/securityhub/ProductName"]); p != "" {
		return p
	}
	if p := productFromArn(f.ProductArn); p != "" {
		return p
	}
	return "Security Hub"
}

// productFromArn reads the product out of "arn:PARTITION:securityhub:REGION:ACCOUNT:product/COMPANY/PRODUCT",
// using the console's names for AWS's own products.
func productFromArn(arn string) string {
	_, resource, ok := strings.Cut(arnField(arn, 5), "product/")
	if !ok {
		return ""
	}
	company, product, ok := strings.Cut(resource, "/")
	if !ok {
		return ""
	}
	if company == "aws" {
		switch product {
		case "guardduty":
			return "GuardDuty"
		case "inspector":
			return "Inspector"
		case "macie":
			return "Macie"
		case "securityhub":
			return "Security Hub"
		case "access-analyzer":
			return "IAM Access Analyzer"
		case "config":
			return "Config"
		case "firewall-manager":
			return "Firewall Manager"
		case "health":
			return "Health"
		case "systems-manager-patch-manager":
			return "Systems Manager Patch Manager"
		}
	}
	return oneLine(product)
}

// Partition is the AWS partition the finding lives in ("aws", "aws-cn", "aws-us-gov", …), read from
// the product ARN or, failing that, the first resource; "aws" when neither says.
func (f Finding) Partition() string {
	if p := arnField(f.ProductArn, 1); p != "" {
		return p
	}
	if len(f.Resources) > 0 && f.Resources[0].Partition != "" {
		return f.Resources[0].Partition
	}
	return "aws"
}

// HomeRegion is the region the finding lives in: its Region field, else the region of its product
// ARN, else that of its first resource. "" when none is a plausible region name.
func (f Finding) HomeRegion() string {
	candidates := []string{f.Region, arnField(f.ProductArn, 3)}
	if len(f.Resources) > 0 {
		candidates = append(candidates, f.Resources[0].Region)
	}
	for _, r := range candidates {
		if validRegion(r) {
			return r
		}
	}
	return ""
}

// arnField returns field i (0 "arn", 1 partition, 2 service, 3 region, 4 account, 5 resource) of an
// ARN, or "" when s is not one.
func arnField(s string, i int) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[i]
}

// validRegion accepts region names as AWS spells them ("eu-central-1", "us-gov-west-1",
// "cn-northwest-1"), so that a hostile value can never change the shape of a console URL.
func validRegion(s string) bool {
	if len(s) < 4 || len(s) > 32 || s[0] < 'a' || s[0] > 'z' || !strings.Contains(s, "-") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return !strings.HasSuffix(s, "-") && !strings.Contains(s, "--")
}

func upper(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
