package securityhub

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tocsin-dev/tocsin/internal/alert"
)

// Options are an integration's settings for the mapping. The zero value maps exactly as DESIGN.md's
// table says.
type Options struct {
	// Responders are put on every alert, typically the integration's team.
	Responders []alert.Responder
	// Tags are put on every alert ahead of the finding's own, so that routing rules keyed on them
	// survive the 20-tag limit.
	Tags []string
}

// Action is what a Decision asks the alert service to do.
type Action string

// The actions.
const (
	// ActionCreate creates an alert, or counts one more occurrence of the open alert with the same
	// alias (alert.Service.Create dedupes); that is also how a finding update tocsin caused itself
	// comes back without paging anyone.
	ActionCreate Action = "create"
	// ActionClose closes the open alert with the alias, if there is one, with Reason as its note.
	// It never creates an alert.
	ActionClose Action = "close"
	// ActionDrop means the integration's filter turned the finding away: answer 2xx, count it, and
	// change nothing.
	ActionDrop Action = "drop"
)

// Decision is what one finding (or one Insight Results event) asks of the alert service.
type Decision struct {
	Action Action
	// Alias names the alert: see Alias.
	Alias string
	// Request is the alert to create; set only for ActionCreate, and already within every limit
	// of package alert.
	Request alert.CreateRequest
	// Reason says why, for ActionClose ("Security Hub: workflow status RESOLVED", to be added as
	// the close note) and ActionDrop (for logs).
	Reason string
	// Finding identifies the finding for writing back to it; zero for an insight.
	Finding FindingRef
	// WorkflowStatus (Finding.WorkflowStatus) and UpdatedAt are the state the finding was in. Every
	// BatchUpdateFindings tocsin makes comes back as an Imported event; these let the intake tell
	// such an echo (say NOTIFIED, arriving after the alert was already closed) from news.
	WorkflowStatus string
	UpdatedAt      string
}

// Occurrence is the decision as alert.Service.Ingest takes it; ok is false for ActionDrop, which
// changes nothing.
func (d Decision) Occurrence() (o alert.Occurrence, ok bool) {
	switch d.Action {
	case ActionCreate:
		req := d.Request
		return alert.Occurrence{Create: &req}, true
	case ActionClose:
		return alert.Occurrence{CloseAlias: d.Alias, CloseNote: d.Reason, CloseVersion: Version(d.UpdatedAt)}, true
	}
	return alert.Occurrence{}, false
}

// FindingRef is what BatchUpdateFindings needs to find a finding again (Id and ProductArn), and
// where to call it (Region) on whose behalf (AwsAccountId).
type FindingRef struct {
	Id           string
	ProductArn   string
	Region       string
	AwsAccountId string
}

// Alias is the alert alias for a finding Id (or an insight ARN): the Id itself, or — when the Id is
// longer than alert.MaxAliasRunes, has white space at either end, holds a NUL byte or is not valid
// UTF-8, any of which package alert would refuse or alter — "sha256:" followed by the lower-case hex
// SHA-256 of the Id's bytes (71 characters). The hashed form depends on nothing but the Id, so it is the same on every
// replica and in every release, and dedupe keeps working. Alias("") is "".
func Alias(id string) string {
	if id == "" {
		return ""
	}
	if utf8.RuneCountInString(id) <= alert.MaxAliasRunes && strings.TrimSpace(id) == id &&
		utf8.ValidString(id) && !strings.ContainsRune(id, 0) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Map turns one finding into a Decision as DESIGN.md's "Security Hub mapping" table says: a finding
// that is resolved, suppressed, archived or passed closes its alert (see Finding.CloseReason); any
// other creates one. Map applies no filter (Decide does) and expects a finding that passed the
// checks of ParseEvent or ParseFinding; given any other, it still returns a request within alert's
// limits.
func Map(f Finding, opts Options) Decision {
	return mapFinding(f, opts, sentBy{})
}

// sentBy is the custom action a person sent the finding with, if any.
type sentBy struct {
	customAction bool
	name         string
}

func mapFinding(f Finding, opts Options, by sentBy) Decision {
	d := Decision{
		Alias: Alias(f.Id),
		Finding: FindingRef{
			Id: f.Id, ProductArn: f.ProductArn, Region: f.HomeRegion(), AwsAccountId: f.AwsAccountId,
		},
		WorkflowStatus: f.WorkflowStatus(),
		UpdatedAt:      f.UpdatedAt,
	}
	if why := f.CloseReason(); why != "" {
		d.Action, d.Reason = ActionClose, why
		return d
	}
	product := f.Product()
	level := f.Severity.Level()

	var tags tagSet
	tags.add(opts.Tags...)
	tags.add(level, product, f.AwsAccountId, f.HomeRegion())
	for _, r := range f.Resources {
		tags.add(r.Type)
	}

	var entity string
	if len(f.Resources) > 0 {
		entity = cutRunes(oneLine(f.Resources[0].Id), alert.MaxEntityRunes)
	}

	d.Action = ActionCreate
	d.Request = alert.CreateRequest{
		Message:     message(f.Title, "Security Hub finding"),
		Alias:       d.Alias,
		Description: describe(f, product, level, by),
		Responders:  cloneResponders(opts.Responders),
		Tags:        tags.list,
		Details:     findingDetails(f, product, level, by),
		Entity:      entity,
		Source:      cutRunes(product, alert.MaxSourceRunes),
		Priority:    f.Severity.Priority(),
	}
	if !by.customAction {
		// BatchUpdateFindings leaves UpdatedAt as it was (only the provider moves it), so an
		// Imported event with an UpdatedAt the alert has seen is an edit, not news. A Custom
		// Action is a person sending the finding on purpose: always news.
		d.Request.SourceVersion = Version(f.UpdatedAt)
	}
	return d
}

// Version is a finding's UpdatedAt as Unix milliseconds, the order in which providers update it; 0
// when it is missing or not a time.
func Version(updatedAt string) int64 {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(updatedAt))
	if err != nil || t.UnixMilli() <= 0 {
		return 0
	}
	return t.UnixMilli()
}

// message is title on one line, cut to the alert's limit; fallback when nothing printable is left.
func message(title, fallback string) string {
	if m := cutRunes(oneLine(title), alert.MaxMessageRunes); strings.TrimSpace(m) != "" {
		return strings.TrimSpace(m)
	}
	return fallback
}

// tagSet collects tags the way package alert accepts them: trimmed, at most alert.MaxTagRunes each,
// no duplicates, at most alert.MaxTags; later tags are dropped first, so order is priority.
type tagSet struct{ list []string }

func (t *tagSet) add(tags ...string) {
	for _, tag := range tags {
		tag = strings.TrimSpace(cutRunes(oneLine(tag), alert.MaxTagRunes))
		if tag == "" || len(t.list) >= alert.MaxTags || slices.Contains(t.list, tag) {
			continue
		}
		t.list = append(t.list, tag)
	}
}

// Budget for details: alert refuses more than alert.MaxDetailsTotal runes of keys and values
// together. No one value may take more than maxDetailValue, and a value is left out rather than
// cut below minDetailValue, where it would mislead more than help.
const (
	maxDetailValue = 1024
	minDetailValue = 16
)

// detailSet collects details within alert.MaxDetailsTotal; earlier keys win the budget.
type detailSet struct {
	m    map[string]string
	used int
}

func (d *detailSet) add(key, value string) {
	value = clip(oneLine(value), maxDetailValue)
	if value == "" {
		return
	}
	room := alert.MaxDetailsTotal - d.used - utf8.RuneCountInString(key)
	if room < minDetailValue {
		return
	}
	value = clip(value, room)
	if d.m == nil {
		d.m = make(map[string]string)
	}
	d.m[key] = value
	d.used += utf8.RuneCountInString(key) + utf8.RuneCountInString(value)
}

// findingDetails are the alert's details, keyed by ASFF path so that people and API queries find
// them by the name AWS documents. Id and ProductArn come first: they identify the finding.
func findingDetails(f Finding, product, level string, by sentBy) map[string]string {
	var d detailSet
	d.add("Id", f.Id)
	d.add("ProductArn", f.ProductArn)
	d.add("GeneratorId", f.GeneratorId)
	d.add("Types", strings.Join(f.Types, ", "))
	d.add("Compliance.Status", upper(f.Compliance.Status))
	d.add("Workflow.Status", f.WorkflowStatus())
	d.add("Compliance.SecurityControlId", f.Compliance.SecurityControlId)
	d.add("RecordState", upper(f.RecordState))
	d.add("Severity.Label", level)
	d.add("AwsAccountId", f.AwsAccountId)
	d.add("AwsAccountName", f.AwsAccountName)
	d.add("Region", f.HomeRegion())
	d.add("ProductName", product)
	d.add("CompanyName", f.CompanyName)
	if by.customAction {
		d.add("CustomAction", by.name)
	}
	var standards []string
	for _, s := range f.Compliance.AssociatedStandards {
		standards = append(standards, s.StandardsId)
	}
	d.add("Compliance.AssociatedStandards", strings.Join(standards, ", "))
	return d.m
}

// Decide maps every finding of a parsed event and applies the integration's filter to the creates
// of Imported events (see Filter for exactly what it may drop). An Insight Results event makes one
// Decision (see MapInsight); an unknown event none. Decisions come in the order of the findings.
func Decide(ev *Event, filter Filter, opts Options) []Decision {
	if ev == nil {
		return nil
	}
	switch ev.Kind {
	case KindInsightResults:
		return []Decision{MapInsight(ev, opts)}
	case KindFindingsImported, KindCustomAction:
	default:
		return nil
	}
	by := sentBy{customAction: ev.Kind == KindCustomAction, name: ev.Detail.ActionName}
	out := make([]Decision, 0, len(ev.Detail.Findings))
	for _, f := range ev.Detail.Findings {
		if f.HomeRegion() == "" && validRegion(ev.Region) {
			f.Region = ev.Region // an event is delivered in the finding's region or its aggregation region
		}
		d := mapFinding(f, opts, by)
		if d.Action == ActionCreate && ev.Kind == KindFindingsImported {
			if ok, why := filter.Allows(f); !ok {
				d.Action, d.Reason, d.Request = ActionDrop, why, alert.CreateRequest{}
			}
		}
		out = append(out, d)
	}
	return out
}
