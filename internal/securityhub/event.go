package securityhub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Source is the EventBridge source of every Security Hub event.
const Source = "aws.securityhub"

// The detail-types Security Hub (CSPM) sends to EventBridge.
const (
	DetailTypeFindingsImported = "Security Hub Findings - Imported"
	DetailTypeCustomAction     = "Security Hub Findings - Custom Action"
	DetailTypeInsightResults   = "Security Hub Insight Results"
)

// Limits on input. EventBridge caps an event at 256 KiB and Security Hub puts at most 100 findings in
// one, so none of these ever refuses a real event; they keep a hostile one cheap.
const (
	MaxFindingsPerEvent = 100
	// MaxEventBytes guards callers that forget to cap the request body.
	MaxEventBytes = 1 << 20
	// MaxDepth bounds JSON nesting. ASFF's deepest resource details nest about a dozen levels
	// inside the event; encoding/json alone would recurse ten thousand levels deep before refusing.
	MaxDepth = 64
)

// Kind says which kind of Security Hub event an Event is.
type Kind string

// The kinds of event.
const (
	KindFindingsImported Kind = "findings-imported"
	KindCustomAction     Kind = "custom-action"
	KindInsightResults   Kind = "insight-results"
	// KindUnknown is any other detail-type from aws.securityhub (for example the OCSF "Findings
	// Imported V2" of the new Security Hub). Such an event is accepted, not acted on, so that a
	// broad EventBridge rule does not make SNS retry it forever; the caller logs it and answers 2xx.
	KindUnknown Kind = "unknown"
)

func kindOf(detailType string) Kind {
	switch detailType {
	case DetailTypeFindingsImported:
		return KindFindingsImported
	case DetailTypeCustomAction:
		return KindCustomAction
	case DetailTypeInsightResults:
		return KindInsightResults
	}
	return KindUnknown
}

// Event is an EventBridge event from Security Hub. Detail is decoded only for the known kinds.
type Event struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     Detail   `json:"detail"`
	// Kind is derived from DetailType.
	Kind Kind `json:"-"`
}

// Detail is the detail of the three known detail-types: findings for Imported and Custom Action
// events (which add the action's name and description), the insight fields for Insight Results.
type Detail struct {
	ActionName        string          `json:"actionName,omitempty"`
	ActionDescription string          `json:"actionDescription,omitempty"`
	Findings          []Finding       `json:"findings,omitempty"`
	InsightArn        string          `json:"insightArn,omitempty"`
	InsightName       string          `json:"insightName,omitempty"`
	ResultType        string          `json:"resultType,omitempty"`
	InsightResults    []InsightResult `json:"insightResults,omitempty"`
}

// InsightResult is one group of an insight: the value of the insight's group-by attribute (ResultType)
// and how many findings have it. On the wire each is a one-key object, {"VALUE": COUNT}.
type InsightResult struct {
	Value string
	Count int64
}

// MarshalJSON writes the one-key object Security Hub sends.
func (r InsightResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]int64{r.Value: r.Count})
}

// envelope is Event with the detail left raw, so that it is decoded only for known kinds and each
// finding alone (which lets an error name the finding).
type envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

type rawDetail struct {
	ActionName        string            `json:"actionName"`
	ActionDescription string            `json:"actionDescription"`
	Findings          []json.RawMessage `json:"findings"`
	InsightArn        string            `json:"insightArn"`
	InsightName       string            `json:"insightName"`
	ResultType        string            `json:"resultType"`
	InsightResults    []json.RawMessage `json:"insightResults"`
}

// ParseEvent reads an EventBridge event from Security Hub. It refuses, with an *Error, an event that
// is not JSON, nests deeper than MaxDepth, is larger than MaxEventBytes, does not come from
// aws.securityhub, or — for findings events — carries no finding, more than MaxFindingsPerEvent, or a
// finding without Id, ProductArn, AwsAccountId or Title; an Insight Results event needs insightArn.
// An event with an unknown detail-type is returned with Kind KindUnknown and its detail unread.
func ParseEvent(body []byte) (*Event, error) {
	if err := checkShape(body); err != nil {
		return nil, err
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		if isTopLevelTypeError(err) {
			return nil, fieldError(-1, "", "an EventBridge event must be a JSON object")
		}
		return nil, jsonError(-1, "", err)
	}
	if env.Source != Source {
		if env.Source == "" {
			return nil, fieldError(-1, "source", "is required and must be %q", Source)
		}
		return nil, fieldError(-1, "source", "must be %q, not %s", Source, quote(env.Source))
	}
	if strings.TrimSpace(env.DetailType) == "" {
		return nil, fieldError(-1, "detail-type", "is required")
	}
	ev := &Event{
		Version: env.Version, ID: env.ID, DetailType: env.DetailType, Source: env.Source,
		Account: env.Account, Time: env.Time, Region: env.Region, Resources: env.Resources,
		Kind: kindOf(env.DetailType),
	}
	if ev.Kind == KindUnknown {
		return ev, nil
	}
	if len(bytes.TrimSpace(env.Detail)) == 0 {
		return nil, fieldError(-1, "detail", "is required")
	}
	var raw rawDetail
	if err := json.Unmarshal(env.Detail, &raw); err != nil {
		if isTopLevelTypeError(err) {
			return nil, fieldError(-1, "detail", "must be an object")
		}
		return nil, jsonError(-1, "detail", err)
	}
	ev.Detail = Detail{
		ActionName: raw.ActionName, ActionDescription: raw.ActionDescription,
		InsightArn: raw.InsightArn, InsightName: raw.InsightName, ResultType: raw.ResultType,
	}
	if ev.Kind == KindInsightResults {
		if strings.TrimSpace(raw.InsightArn) == "" {
			return nil, fieldError(-1, "detail.insightArn", "is required")
		}
		results, err := parseInsightResults(raw.InsightResults)
		if err != nil {
			return nil, err
		}
		ev.Detail.InsightResults = results
		return ev, nil
	}
	switch n := len(raw.Findings); {
	case n == 0:
		return nil, fieldError(-1, "detail.findings", "must hold at least one finding")
	case n > MaxFindingsPerEvent:
		return nil, fieldError(-1, "detail.findings", "holds %d findings; at most %d are allowed in one event", n, MaxFindingsPerEvent)
	}
	ev.Detail.Findings = make([]Finding, len(raw.Findings))
	for i, rf := range raw.Findings {
		f, err := decodeFinding(rf, i, fmt.Sprintf("detail.findings[%d]", i))
		if err != nil {
			return nil, err
		}
		ev.Detail.Findings[i] = f
	}
	return ev, nil
}

// ParseFinding reads one ASFF finding (as GetFindings or a test gives it) with the same checks
// ParseEvent applies to each finding of an event.
func ParseFinding(data []byte) (Finding, error) {
	if err := checkShape(data); err != nil {
		return Finding{}, err
	}
	return decodeFinding(data, -1, "")
}

func decodeFinding(data []byte, index int, path string) (Finding, error) {
	var f Finding
	if err := json.Unmarshal(data, &f); err != nil {
		if isTopLevelTypeError(err) {
			return Finding{}, fieldError(index, path, "a finding must be a JSON object")
		}
		return Finding{}, jsonError(index, path, err)
	}
	required := []struct{ name, value string }{
		{"Id", f.Id}, {"ProductArn", f.ProductArn}, {"AwsAccountId", f.AwsAccountId}, {"Title", oneLine(f.Title)},
	}
	for _, r := range required {
		if strings.TrimSpace(r.value) == "" {
			return Finding{}, fieldError(index, joinPath(path, r.name), "is required")
		}
	}
	return f, nil
}

func parseInsightResults(raws []json.RawMessage) ([]InsightResult, error) {
	var out []InsightResult
	for i, raw := range raws {
		path := fmt.Sprintf("detail.insightResults[%d]", i)
		var m map[string]json.Number
		if err := json.Unmarshal(raw, &m); err != nil {
			if isTopLevelTypeError(err) {
				return nil, fieldError(-1, path, `must be an object {"VALUE": COUNT}`)
			}
			return nil, jsonError(-1, path, err)
		}
		// Security Hub sends one pair per object; tolerate more, in a stable order.
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			n, err := m[k].Int64()
			if err != nil {
				return nil, fieldError(-1, path, "the count of %s must be a whole number", quote(k))
			}
			out = append(out, InsightResult{Value: k, Count: n})
		}
	}
	return out, nil
}

// isTopLevelTypeError reports a JSON value of the wrong kind where the whole object was expected
// (an array or a string instead of the event), which json reports with an empty field path.
func isTopLevelTypeError(err error) bool {
	var typ *json.UnmarshalTypeError
	return errors.As(err, &typ) && typ.Field == ""
}

// checkShape refuses input that is too large or nests too deep, before encoding/json recurses into it.
// It tracks only strings and brackets, so it costs one pass and no allocation; whether the JSON is
// otherwise well formed is left to the decoder.
func checkShape(data []byte) error {
	if len(data) > MaxEventBytes {
		return fieldError(-1, "", "the event is %d bytes; at most %d are accepted", len(data), MaxEventBytes)
	}
	depth := 0
	inString, escaped := false, false
	for i, c := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return fieldError(-1, "", "JSON nests deeper than %d levels (at byte %d)", MaxDepth, i)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// quote shows a short, escaped excerpt of client input in an error message.
func quote(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) > max {
		return fmt.Sprintf("%q…", cutRunes(s, max))
	}
	return fmt.Sprintf("%q", s)
}
