package securityhub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
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
	// MaxDepth bounds JSON nesting. Real events, resource details included, nest far less deep;
	// encoding/json alone would recurse ten thousand levels before refusing.
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

// UnmarshalJSON reads a one-key object {"VALUE": COUNT}; COUNT must be a whole number.
func (r *InsightResult) UnmarshalJSON(data []byte) error {
	var m map[string]json.Number
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	if len(m) != 1 {
		return errors.New(`must be an object with one "VALUE": COUNT pair`)
	}
	for k, v := range m {
		n, err := v.Int64()
		if err != nil {
			return fmt.Errorf("the count of %s must be a whole number", quote(k))
		}
		*r = InsightResult{Value: k, Count: n}
	}
	return nil
}

// ParseEvent reads an EventBridge event from Security Hub. It refuses, with an *Error, an event that
// is not JSON, nests deeper than MaxDepth, is larger than MaxEventBytes, does not come from
// aws.securityhub, or — for findings events — carries no finding, more than MaxFindingsPerEvent, or a
// finding without Id, ProductArn, AwsAccountId or Title; an Insight Results event needs insightArn.
// An event whose top level repeats the key "detail" is refused as ambiguous.
// An event with an unknown detail-type is returned with Kind KindUnknown and its detail unread.
func ParseEvent(body []byte) (*Event, error) {
	if err := checkShape(body, "detail"); err != nil {
		return nil, err
	}
	// Good events, nearly all of them, are decoded in one pass. When that fails, parseCarefully
	// decodes part by part: it alone says which field of which finding is wrong, and it alone
	// tolerates an unknown detail-type whose detail has some other shape.
	w, err := decodeEvent(body)
	if err != nil {
		return parseCarefully(body)
	}
	ev := &w.Event
	ev.Kind = kindOf(ev.DetailType)
	if err := checkEnvelope(ev); err != nil || ev.Kind == KindUnknown {
		return nilIfErr(ev, err)
	}
	if w.Detail == nil {
		return nil, fieldError(-1, "detail", "is required")
	}
	ev.Detail = *w.Detail
	if ev.Kind == KindInsightResults {
		ev.Detail.Findings = nil // not part of an insight event; parseCarefully does not read them either
		return nilIfErr(ev, checkInsight(ev.Detail))
	}
	ev.Detail.InsightResults = nil
	if err := checkCount(len(ev.Detail.Findings)); err != nil {
		return nil, err
	}
	for i, f := range ev.Detail.Findings {
		if err := checkFinding(f, i, findingPath(i)); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// eventWire is an event as ParseEvent decodes it in one pass.
type eventWire struct {
	Event
	Detail *Detail `json:"detail"` // shadows Event.Detail, to tell a missing detail from an empty one
}

// decodeEvent decodes body in one pass with the JSON v2 decoder set to encoding/json's rules (case-
// insensitive names, the last of repeated keys), twice as fast, and with encoding/json itself when
// v2 refuses the body; where both take a body they agree (decode_test.go).
func decodeEvent(body []byte) (*eventWire, error) {
	w := new(eventWire)
	if jsonv2.Unmarshal(body, w, jsonv1.DefaultOptionsV1()) == nil {
		return w, nil
	}
	w = new(eventWire)
	if err := json.Unmarshal(body, w); err != nil {
		return nil, err
	}
	return w, nil
}

func nilIfErr(ev *Event, err error) (*Event, error) {
	if err != nil {
		return nil, err
	}
	return ev, nil
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

// parseCarefully is ParseEvent one part at a time: the envelope, then (for known kinds) the detail,
// then each finding or insight result, so that an error can name the exact field.
func parseCarefully(body []byte) (*Event, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		if isTopLevelTypeError(err) {
			return nil, fieldError(-1, "", "an EventBridge event must be a JSON object")
		}
		return nil, jsonError(-1, "", err)
	}
	ev := &Event{
		Version: env.Version, ID: env.ID, DetailType: env.DetailType, Source: env.Source,
		Account: env.Account, Time: env.Time, Region: env.Region, Resources: env.Resources,
		Kind: kindOf(env.DetailType),
	}
	if err := checkEnvelope(ev); err != nil || ev.Kind == KindUnknown {
		return nilIfErr(ev, err)
	}
	if d := bytes.TrimSpace(env.Detail); len(d) == 0 || string(d) == "null" {
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
		if err := checkInsight(ev.Detail); err != nil {
			return nil, err
		}
		for i, rr := range raw.InsightResults {
			var r InsightResult
			if err := json.Unmarshal(rr, &r); err != nil {
				return nil, insightError(i, err)
			}
			ev.Detail.InsightResults = append(ev.Detail.InsightResults, r)
		}
		return ev, nil
	}
	if err := checkCount(len(raw.Findings)); err != nil {
		return nil, err
	}
	ev.Detail.Findings = make([]Finding, len(raw.Findings))
	for i, rf := range raw.Findings {
		f, err := decodeFinding(rf, i, findingPath(i))
		if err != nil {
			return nil, err
		}
		ev.Detail.Findings[i] = f
	}
	return ev, nil
}

func findingPath(i int) string { return fmt.Sprintf("detail.findings[%d]", i) }

func checkEnvelope(ev *Event) error {
	if ev.Source != Source {
		if ev.Source == "" {
			return fieldError(-1, "source", "is required and must be %q", Source)
		}
		return fieldError(-1, "source", "must be %q, not %s", Source, quote(ev.Source))
	}
	if strings.TrimSpace(ev.DetailType) == "" {
		return fieldError(-1, "detail-type", "is required")
	}
	return nil
}

func checkInsight(d Detail) error {
	if strings.TrimSpace(d.InsightArn) == "" {
		return fieldError(-1, "detail.insightArn", "is required")
	}
	return nil
}

func checkCount(n int) error {
	switch {
	case n == 0:
		return fieldError(-1, "detail.findings", "must hold at least one finding")
	case n > MaxFindingsPerEvent:
		return fieldError(-1, "detail.findings", "holds %d findings; at most %d are allowed in one event", n, MaxFindingsPerEvent)
	}
	return nil
}

// insightError words an error from InsightResult.UnmarshalJSON (ours, already safe to show) or
// from the JSON decoder beneath it.
func insightError(i int, err error) *Error {
	path := fmt.Sprintf("detail.insightResults[%d]", i)
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case isTopLevelTypeError(err):
		return fieldError(-1, path, `must be an object {"VALUE": COUNT}`)
	case errors.As(err, &syntax), errors.As(err, &typ):
		return jsonError(-1, path, err)
	}
	return &Error{Finding: -1, Field: path, Reason: err.Error(), Err: err}
}

// ParseFinding reads one ASFF finding (as GetFindings or a test gives it) with the same checks
// ParseEvent applies to each finding of an event.
func ParseFinding(data []byte) (Finding, error) {
	if err := checkShape(data, ""); err != nil {
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
	if err := checkFinding(f, index, path); err != nil {
		return Finding{}, err
	}
	return f, nil
}

// checkFinding insists on what Map needs to make an alert that can be found again: the finding's
// identity (Id, ProductArn), whose it is (AwsAccountId) and something to call it (Title).
func checkFinding(f Finding, index int, path string) error {
	required := []struct{ name, value string }{
		{"Id", f.Id}, {"ProductArn", f.ProductArn}, {"AwsAccountId", f.AwsAccountId}, {"Title", oneLine(f.Title)},
	}
	for _, r := range required {
		if strings.TrimSpace(r.value) == "" {
			return fieldError(index, joinPath(path, r.name), "is required")
		}
	}
	return nil
}

// isTopLevelTypeError reports a JSON value of the wrong kind where the whole object was expected
// (an array or a string instead of the event), which json reports with an empty field path.
func isTopLevelTypeError(err error) bool {
	var typ *json.UnmarshalTypeError
	return errors.As(err, &typ) && typ.Field == ""
}

// checkShape refuses input that is too large or nests too deep, before encoding/json recurses into
// it, and — when once is not "" — an object whose top level holds the key once more than once (as
// encoding/json matches keys: ignoring case). It tracks only strings, brackets and top-level keys,
// so it costs one pass; whether the JSON is otherwise well formed is left to the decoder.
//
// The duplicate check exists because encoding/json merges two objects under the same key into one
// struct but keeps only the last as raw JSON, so ParseEvent's two ways of decoding would read
// {"detail":{…},"detail":{…}} differently. EventBridge never repeats a key.
func checkShape(data []byte, once string) error {
	if len(data) > MaxEventBytes {
		return fieldError(-1, "", "the event is %d bytes; at most %d are accepted", len(data), MaxEventBytes)
	}
	depth, seen := 0, 0
	inString, escaped := false, false
	topObject, expectKey, keyStart := false, false, -1
	for i, c := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
				if keyStart >= 0 {
					if once != "" && sameKey(data[keyStart:i+1], once) {
						if seen++; seen > 1 {
							return fieldError(-1, once, "appears more than once")
						}
					}
					keyStart = -1
				}
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			if depth == 1 && topObject && expectKey {
				keyStart, expectKey = i, false
			}
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return fieldError(-1, "", "JSON nests deeper than %d levels (at byte %d)", MaxDepth, i)
			}
			if depth == 1 && c == '{' {
				topObject, expectKey = true, true
			}
		case '}', ']':
			depth--
		case ',':
			if depth == 1 {
				expectKey = true
			}
		}
	}
	return nil
}

// sameKey reports whether the quoted JSON string quoted names key as encoding/json matches names:
// escapes decoded, case folded.
func sameKey(quoted []byte, key string) bool {
	var s string
	if bytes.IndexByte(quoted, '\\') < 0 {
		s = string(quoted[1 : len(quoted)-1])
	} else if err := json.Unmarshal(quoted, &s); err != nil {
		return false
	}
	return foldKey(s) == foldKey(key)
}

// foldKey folds s the way encoding/json folds names: each rune to the smallest of its fold set.
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				return r2
			}
			r = r2
		}
	}, s)
}

// quote shows a short, escaped excerpt of client input in an error message.
func quote(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) > max {
		return fmt.Sprintf("%q…", cutRunes(s, max))
	}
	return fmt.Sprintf("%q", s)
}
