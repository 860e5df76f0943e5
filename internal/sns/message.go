package sns

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/tocsin-dev/tocsin/internal/jsondepth"
)

// MessageType is the value of an SNS message's Type field.
type MessageType string

// The message types SNS sends to HTTP(S) subscribers.
const (
	TypeNotification             MessageType = "Notification"
	TypeSubscriptionConfirmation MessageType = "SubscriptionConfirmation"
	TypeUnsubscribeConfirmation  MessageType = "UnsubscribeConfirmation"
)

// Headers SNS sets on every HTTP(S) delivery. They are not signed, so they only help to route a request
// (for example to tell an SNS delivery from an EventBridge API destination); never trust them over the
// body.
const (
	HeaderMessageType     = "X-Amz-Sns-Message-Type"
	HeaderMessageID       = "X-Amz-Sns-Message-Id"
	HeaderTopicARN        = "X-Amz-Sns-Topic-Arn"
	HeaderSubscriptionARN = "X-Amz-Sns-Subscription-Arn"
	// HeaderRawDelivery is "true" when the subscription has raw message delivery turned on.
	HeaderRawDelivery = "X-Amz-Sns-Rawdelivery"
)

// FromSNS reports whether request headers claim the request was sent by SNS. Useful to decide what a
// body without an SNS envelope means: from SNS it is raw message delivery (a misconfiguration), otherwise
// it may be an EventBridge API destination posting an event directly.
func FromSNS(h http.Header) bool {
	return h.Get(HeaderMessageType) != "" || strings.EqualFold(h.Get(HeaderRawDelivery), "true")
}

// Message is an SNS HTTP(S) message: a Notification, SubscriptionConfirmation or
// UnsubscribeConfirmation. The JSON names are the ones SNS uses in HTTP deliveries.
//
// Only Message, MessageID, Subject, SubscribeURL, Timestamp, Token, TopicARN and Type are covered by the
// signature. SigningCertURL is trusted only through the host allow list, and UnsubscribeURL and
// MessageAttributes are not signed at all: treat them as untrusted input even after Verify succeeds.
type Message struct {
	Type      MessageType `json:"Type"`
	MessageID string      `json:"MessageId"`
	Token     string      `json:"Token,omitempty"`
	TopicARN  string      `json:"TopicArn"`
	// Subject is empty when the publisher gave none. SNS refuses an empty subject on Publish, so an
	// empty value and an absent one mean the same thing, and both leave Subject out of the signature.
	Subject           string                      `json:"Subject,omitempty"`
	Message           string                      `json:"Message"`
	Timestamp         string                      `json:"Timestamp"`
	SignatureVersion  string                      `json:"SignatureVersion"`
	Signature         string                      `json:"Signature"`
	SigningCertURL    string                      `json:"SigningCertURL"`
	SubscribeURL      string                      `json:"SubscribeURL,omitempty"`
	UnsubscribeURL    string                      `json:"UnsubscribeURL,omitempty"`
	MessageAttributes map[string]MessageAttribute `json:"MessageAttributes,omitempty"`
}

// MessageAttribute is one entry of a notification's MessageAttributes (not signed).
type MessageAttribute struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// Time returns the Timestamp as a time.
func (m *Message) Time() (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, m.Timestamp)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: Timestamp %q is not an RFC 3339 time", ErrMalformed, truncate(m.Timestamp))
	}
	return t, nil
}

// maxDepth bounds JSON nesting in an envelope. A real one is at most three deep (MessageAttributes);
// the payload inside Message is a string and does not count.
const maxDepth = 16

type field struct {
	name string
	ptr  *string
}

// stringFields lists, in a fixed order, every JSON key Parse reads as a string and where it goes.
func (m *Message) stringFields() []field {
	return []field{
		{"Type", (*string)(&m.Type)},
		{"MessageId", &m.MessageID},
		{"Token", &m.Token},
		{"TopicArn", &m.TopicARN},
		{"Subject", &m.Subject},
		{"Message", &m.Message},
		{"Timestamp", &m.Timestamp},
		{"SignatureVersion", &m.SignatureVersion},
		{"Signature", &m.Signature},
		{"SigningCertURL", &m.SigningCertURL},
		{"SubscribeURL", &m.SubscribeURL},
		{"UnsubscribeURL", &m.UnsubscribeURL},
	}
}

// Parse decodes and strictly validates an SNS HTTP(S) message body. It does not verify the signature;
// call Verifier.Verify before acting on the message.
//
// Errors wrap ErrMalformed for anything that is not a well-formed SNS envelope, and ErrRawDelivery for
// a JSON object that has no SNS envelope at all (the subscription has raw message delivery on, or the
// body came from somewhere other than SNS).
func Parse(body []byte) (*Message, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	if !utf8.Valid(body) {
		// SNS always sends UTF-8. The JSON decoder would silently replace bad bytes, and the signed
		// string would then no longer be what was sent.
		return nil, fmt.Errorf("%w: body is not valid UTF-8", ErrMalformed)
	}
	if err := checkDepth(body, maxDepth); err != nil {
		return nil, err
	}
	fields, err := topLevelObject(body)
	if err != nil {
		return nil, err
	}

	// Decide whether this is an envelope at all before judging its fields: a raw EventBridge event
	// must be reported as raw delivery, not as an envelope with odd fields.
	var typ string
	_ = json.Unmarshal(fields["Type"], &typ) // anything but a string leaves typ empty
	if !isEnvelope(fields, MessageType(typ)) {
		return nil, rawDeliveryError(fields)
	}
	var m Message
	for _, f := range m.stringFields() {
		if raw, ok := fields[f.name]; ok {
			if err := decodeString(f.name, raw, f.ptr); err != nil {
				return nil, err
			}
		}
	}
	if raw, ok := fields["MessageAttributes"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &m.MessageAttributes); err != nil {
			return nil, fmt.Errorf("%w: MessageAttributes must be an object of {Type, Value} strings: %v", ErrMalformed, err)
		}
		if len(m.MessageAttributes) == 0 {
			m.MessageAttributes = nil // {} and no attributes are the same thing
		}
	}
	if m.SigningCertURL == "" {
		if _, ok := fields["SigningCertUrl"]; ok {
			return nil, fmt.Errorf("%w: missing SigningCertURL (found SigningCertUrl, the spelling of SNS records given to Lambda, not of HTTP deliveries)", ErrMalformed)
		}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks that m has every field its Type requires and that the fields have the shape SNS gives
// them. Parse calls it; call it yourself on a Message built by hand.
func (m *Message) Validate() error {
	if m == nil {
		return fmt.Errorf("%w: no message", ErrMalformed)
	}
	var required []string
	switch m.Type {
	case TypeNotification:
		required = []string{"MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL"}
	case TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation:
		required = []string{"MessageId", "Token", "TopicArn", "Message", "SubscribeURL", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL"}
	case "":
		return fmt.Errorf("%w: missing Type", ErrMalformed)
	default:
		return fmt.Errorf("%w: unknown Type %q (want %s, %s or %s)", ErrMalformed, truncate(string(m.Type)),
			TypeNotification, TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation)
	}
	var missing []string
	for _, f := range m.stringFields() {
		if *f.ptr == "" && slices.Contains(required, f.name) {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s message is missing %s", ErrMalformed, m.Type, strings.Join(missing, ", "))
	}
	if m.SignatureVersion != "1" && m.SignatureVersion != "2" {
		return fmt.Errorf("%w: unsupported SignatureVersion %q (want 1 or 2)", ErrMalformed, truncate(m.SignatureVersion))
	}
	if _, err := m.Time(); err != nil {
		return err
	}
	if err := checkTopicARN(m.TopicARN); err != nil {
		return err
	}
	return nil
}

// checkTopicARN accepts arn:PARTITION:sns:REGION:ACCOUNT:NAME, the only shape SNS gives a topic.
func checkTopicARN(arn string) error {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sns" {
		return fmt.Errorf("%w: TopicArn %q is not an SNS topic ARN (arn:PARTITION:sns:REGION:ACCOUNT:TOPIC)", ErrMalformed, truncate(arn))
	}
	for i, p := range parts {
		if p == "" || strings.ContainsAny(p, " \t\r\n") {
			return fmt.Errorf("%w: TopicArn %q has an empty or blank part %d", ErrMalformed, truncate(arn), i)
		}
	}
	return nil
}

// topLevelObject splits a JSON object into its members. Unlike json.Unmarshal it matches keys exactly
// (encoding/json folds case) and refuses duplicate keys, so no two readers of the same body can
// disagree about which value was signed.
//
// The JSON v2 decoder (github.com/go-json-experiment/json, what encoding/json/v2 grew from) does that
// in one pass, three times as fast as encoding/json's tokens, and takes every body SNS sends. Any body
// it refuses goes through topLevelObjectStrict, which says what is wrong in the words this package has
// always used; where both accept a body they give the same members (toplevel_test.go).
func topLevelObject(body []byte) (map[string]json.RawMessage, error) {
	var members map[string]jsontext.Value
	if jsonv2.Unmarshal(body, &members) == nil && members != nil {
		fields := make(map[string]json.RawMessage, len(members))
		for k, v := range members {
			fields[k] = json.RawMessage(v)
		}
		return fields, nil
	}
	return topLevelObjectStrict(body)
}

// topLevelObjectStrict is topLevelObject with encoding/json's tokens, for the bodies the fast way
// refuses.
func topLevelObjectStrict(body []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: body is not JSON: %v", ErrMalformed, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%w: body is JSON but not an object", ErrMalformed)
	}
	fields := make(map[string]json.RawMessage, 16)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: body is not valid JSON: %v", ErrMalformed, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: body is not valid JSON", ErrMalformed)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%w: body is not valid JSON: %v", ErrMalformed, err)
		}
		if _, dup := fields[key]; dup {
			return nil, fmt.Errorf("%w: key %q appears more than once", ErrMalformed, truncate(key))
		}
		fields[key] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("%w: body is not valid JSON: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: unexpected data after the JSON object", ErrMalformed)
	}
	return fields, nil
}

func decodeString(key string, raw json.RawMessage, dst *string) error {
	if isNull(raw) {
		return nil
	}
	if len(raw) == 0 || raw[0] != '"' {
		return fmt.Errorf("%w: %s must be a string", ErrMalformed, key)
	}
	// The v2 decoder unquotes in one pass; encoding/json first checks the whole value and then
	// unquotes it. What v2 refuses (a lone surrogate escape, which encoding/json turns into U+FFFD)
	// takes encoding/json's way.
	if jsonv2.Unmarshal(raw, dst) == nil {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, key, err)
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// isEnvelope reports whether a JSON object is meant to be an SNS envelope: it has a key only an
// envelope has. Type alone does not count, because plenty of application JSON has a "Type" key; it
// counts only when its value is an SNS message type.
func isEnvelope(fields map[string]json.RawMessage, typ MessageType) bool {
	switch typ {
	case TypeNotification, TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation:
		return true
	}
	for _, k := range []string{"MessageId", "TopicArn", "SignatureVersion", "Signature", "SigningCertURL"} {
		if _, ok := fields[k]; ok {
			return true
		}
	}
	return false
}

// rawDeliveryError says what the body looks like, so that whoever reads the error can fix the
// subscription without guessing.
func rawDeliveryError(fields map[string]json.RawMessage) error {
	var detailType string
	if raw, ok := fields["detail-type"]; ok {
		_ = json.Unmarshal(raw, &detailType) // only decoration for the message
	}
	if detailType != "" {
		return fmt.Errorf("%w (the body is an EventBridge event, detail-type %q)", ErrRawDelivery, truncate(detailType))
	}
	return ErrRawDelivery
}

// checkDepth refuses JSON nested deeper than limit, counting only brackets outside strings.
func checkDepth(body []byte, limit int) error {
	if jsondepth.Exceeds(body, limit) {
		return fmt.Errorf("%w: JSON nested deeper than %d levels", ErrMalformed, limit)
	}
	return nil
}

// truncate keeps attacker-chosen values short in error messages, which end up in logs and responses.
func truncate(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
