package load

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// findingTemplate is an EventBridge "Security Hub Findings - Imported" event with one GuardDuty
// finding, a copy of internal/securityhub/testdata/events/guardduty.json (embedded so that the
// command runs from any directory). Every request is this event with its own finding Id, title
// marker, UpdatedAt and, for updates and resolves, severity and workflow.
//
//go:embed finding.json
var findingTemplate []byte

// markerRE finds the marker a finding's Title starts with, and so the alert's message and the page's
// Subject: "load#RUN.SEQ#".
var markerRE = regexp.MustCompile(`load#([0-9a-z]{1,16})\.([0-9]{1,9})#`)

// Marker is the text that names finding seq of run in its Title and in the Subject of its pages.
func Marker(run string, seq int) string { return "load#" + run + "." + strconv.Itoa(seq) + "#" }

// ParseMarker finds a Marker in s (a Subject).
func ParseMarker(s string) (run string, seq int, ok bool) {
	m := markerRE.FindStringSubmatch(s)
	if m == nil {
		return "", 0, false
	}
	seq, err := strconv.Atoi(m[2])
	if err != nil {
		return "", 0, false
	}
	return m[1], seq, true
}

// FindingID is the Security Hub finding Id of finding seq of run; securityhub.Alias of it is the
// alert's alias.
func FindingID(run string, seq int) string {
	return "arn:aws:guardduty:us-east-1:123456789012:detector/load/finding/" + run + "-" + strconv.Itoa(seq)
}

// updateSeverities are the severities updates go through in turn (the new finding is HIGH).
var updateSeverities = [...]struct {
	label      string
	normalized int
}{{"MEDIUM", 40}, {"CRITICAL", 90}, {"LOW", 10}, {"HIGH", 70}}

// builder makes the EventBridge event of a plan. Each signer goroutine has its own: it reuses one
// decoded copy of the template and sets the fields that change.
type builder struct {
	run     string
	ev      map[string]any
	finding map[string]any
	fields  map[string]any // the finding's ProductFields
	title   string
}

func newBuilder(run string) (*builder, error) {
	b := &builder{run: run}
	if err := json.Unmarshal(findingTemplate, &b.ev); err != nil {
		return nil, fmt.Errorf("load: the finding template: %w", err)
	}
	detail, _ := b.ev["detail"].(map[string]any)
	findings, _ := detail["findings"].([]any)
	if len(findings) != 1 {
		return nil, errors.New("load: the finding template must hold exactly one finding")
	}
	b.finding, _ = findings[0].(map[string]any)
	b.fields, _ = b.finding["ProductFields"].(map[string]any)
	b.title, _ = b.finding["Title"].(string)
	if b.finding == nil || b.fields == nil || b.title == "" {
		return nil, errors.New("load: the finding template lacks a finding, its ProductFields or its Title")
	}
	return b, nil
}

// event returns the event JSON for p.
func (b *builder) event(p plan) ([]byte, error) {
	id := FindingID(b.run, p.seq)
	f := b.finding
	f["Id"] = id
	f["UpdatedAt"] = p.updatedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	f["Workflow"] = map[string]any{"Status": "NEW"}
	f["WorkflowState"] = "NEW"
	f["RecordState"] = "ACTIVE"
	f["Severity"] = map[string]any{"Product": 8, "Label": "HIGH", "Normalized": 80}
	title := Marker(b.run, p.seq) + " " + b.title
	switch p.kind {
	case KindUpdate:
		s := updateSeverities[(p.version-1)%len(updateSeverities)]
		f["Severity"] = map[string]any{"Label": s.label, "Normalized": s.normalized}
		title = Marker(b.run, p.seq) + " (update " + strconv.Itoa(p.version) + ") " + b.title
	case KindResolve:
		// Both ways Security Hub says nobody needs to act any more (securityhub.Finding.CloseReason).
		if p.seq%2 == 0 {
			f["Workflow"] = map[string]any{"Status": "RESOLVED"}
			f["WorkflowState"] = "RESOLVED"
		} else {
			f["RecordState"] = "ARCHIVED"
		}
	}
	f["Title"] = title
	b.fields["aws/securityhub/FindingId"] = "arn:aws:securityhub:us-east-1::product/aws/guardduty/" + id
	b.ev["id"] = b.run + "-" + strconv.Itoa(p.seq) + "-" + strconv.Itoa(p.version)
	b.ev["time"] = time.Now().UTC().Format(time.RFC3339)
	b.ev["resources"] = []string{"arn:aws:securityhub:us-east-1::product/aws/guardduty/" + id}
	out, err := json.Marshal(b.ev)
	if err != nil {
		return nil, fmt.Errorf("load: encoding finding %d: %w", p.seq, err)
	}
	return out, nil
}
