package sns_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/sns"
)

func TestParseReadsEachMessageTypeAsSNSSendsIt(t *testing.T) {
	tests := []struct {
		file string
		want sns.Message
	}{
		{"notification-securityhub.json", sns.Message{
			Type:             sns.TypeNotification,
			MessageID:        "5a2e7c1b-8f3d-5b0e-9c41-2d7a6f0e8b13",
			TopicARN:         "arn:aws:sns:ap-southeast-2:111122223333:securityhub-topic-111122223333",
			Timestamp:        "2020-07-25T07:06:28.114Z",
			SignatureVersion: "1",
			SigningCertURL:   "https://sns.ap-southeast-2.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
			UnsubscribeURL:   "https://sns.ap-southeast-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:ap-southeast-2:111122223333:securityhub-topic-111122223333:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
		}},
		{"subscription-confirmation.json", sns.Message{
			Type:             sns.TypeSubscriptionConfirmation,
			MessageID:        "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
			TopicARN:         "arn:aws:sns:ap-southeast-2:111122223333:securityhub-topic-111122223333",
			Timestamp:        "2020-07-25T06:58:41.324Z",
			SignatureVersion: "1",
		}},
		{"unsubscribe-confirmation.json", sns.Message{
			Type:             sns.TypeUnsubscribeConfirmation,
			MessageID:        "47138184-6831-46b8-8f7c-afc488602d7d",
			TopicARN:         "arn:aws:sns:ap-southeast-2:111122223333:securityhub-topic-111122223333",
			Timestamp:        "2020-08-01T10:12:05.733Z",
			SignatureVersion: "2",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m, err := sns.Parse(readTestdata(t, tt.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.Type != tt.want.Type || m.MessageID != tt.want.MessageID || m.TopicARN != tt.want.TopicARN ||
				m.Timestamp != tt.want.Timestamp || m.SignatureVersion != tt.want.SignatureVersion {
				t.Errorf("got %+v, want %+v", m, tt.want)
			}
			if tt.want.SigningCertURL != "" && m.SigningCertURL != tt.want.SigningCertURL {
				t.Errorf("SigningCertURL = %q", m.SigningCertURL)
			}
			if tt.want.UnsubscribeURL != "" && m.UnsubscribeURL != tt.want.UnsubscribeURL {
				t.Errorf("UnsubscribeURL = %q", m.UnsubscribeURL)
			}
			if m.Type != sns.TypeNotification && (m.Token == "" || !strings.Contains(m.SubscribeURL, "Action=ConfirmSubscription")) {
				t.Errorf("confirmation lost Token or SubscribeURL: %+v", m)
			}
			if _, err := m.Time(); err != nil {
				t.Errorf("Time: %v", err)
			}
		})
	}
}

func TestParseKeepsTheEventBridgeEventInMessageVerbatim(t *testing.T) {
	m, err := sns.Parse(readTestdata(t, "notification-securityhub.json"))
	if err != nil {
		t.Fatal(err)
	}
	var event struct {
		DetailType string `json:"detail-type"`
		Detail     struct {
			Findings []struct{ Id string } `json:"findings"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(m.Message), &event); err != nil {
		t.Fatalf("Message is not the event JSON: %v", err)
	}
	if event.DetailType != "Security Hub Findings - Imported" || len(event.Detail.Findings) != 1 {
		t.Fatalf("event = %+v", event)
	}
}

func TestParseRoundTripsThroughJSON(t *testing.T) {
	for _, file := range []string{"notification-securityhub.json", "subscription-confirmation.json", "unsubscribe-confirmation.json"} {
		m, err := sns.Parse(readTestdata(t, file))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := sns.Parse(b)
		if err != nil {
			t.Fatalf("%s: Parse(Marshal(m)): %v", file, err)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("%s: round trip changed the message:\n%+v\n%+v", file, m, again)
		}
	}
}

func TestParseReadsMessageAttributes(t *testing.T) {
	body := withFields(t, readTestdata(t, "notification-securityhub.json"), map[string]any{
		"MessageAttributes": map[string]any{"severity": map[string]string{"Type": "String", "Value": "HIGH"}},
	})
	m, err := sns.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.MessageAttributes["severity"]; got != (sns.MessageAttribute{Type: "String", Value: "HIGH"}) {
		t.Fatalf("MessageAttributes = %+v", m.MessageAttributes)
	}
}

func TestParseRecognisesRawMessageDelivery(t *testing.T) {
	tests := []struct {
		name, body, mention string
	}{
		{"an EventBridge event says so", string(readTestdata(t, "eventbridge-securityhub.json")), "Security Hub Findings - Imported"},
		{"any JSON object without an envelope", `{"alert":"disk full","Type":"Custom"}`, "raw message delivery"},
		{"an empty object", `{}`, "raw message delivery"},
		{"an object whose Type is not even a string", `{"Type":5,"Message":{"a":1}}`, "raw message delivery"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sns.Parse([]byte(tt.body))
			wantErr(t, err, sns.ErrRawDelivery)
			if errors.Is(err, sns.ErrMalformed) {
				t.Errorf("raw delivery must be distinguishable from malformed input")
			}
			if !strings.Contains(err.Error(), tt.mention) || !strings.Contains(err.Error(), "turn off raw message delivery") {
				t.Errorf("error %q should mention %q and say how to fix it", err, tt.mention)
			}
		})
	}
}

func TestParseRefusesMalformedBodiesWithAClearError(t *testing.T) {
	notification := readTestdata(t, "notification-securityhub.json")
	confirmation := readTestdata(t, "subscription-confirmation.json")
	tests := []struct {
		name    string
		body    []byte
		mention string
	}{
		{"an empty body", nil, "empty body"},
		{"whitespace only", []byte(" \n\t"), "empty body"},
		{"text that is not JSON", []byte("hello"), "not JSON"},
		{"truncated JSON", notification[:len(notification)/2], "not valid JSON"},
		{"a JSON array", []byte(`[{"Type":"Notification"}]`), "not an object"},
		{"a JSON string", []byte(`"Notification"`), "not an object"},
		{"data after the object", append(append([]byte{}, notification...), []byte(`{}`)...), "after the JSON object"},
		{"invalid UTF-8", append(append([]byte{}, notification[:20]...), 0xff, 0xfe), "UTF-8"},
		{"a duplicated key", []byte(`{"Type":"Notification","Type":"Notification","MessageId":"x"}`), "more than once"},
		{"deep nesting", []byte(`{"MessageId":"x","a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`), "nested deeper"},
		{"an unknown Type", withFields(t, notification, map[string]any{"Type": "Telegram"}), `unknown Type "Telegram"`},
		{"a missing Type", withFields(t, notification, map[string]any{"Type": nil}), "missing Type"},
		{"a Type that is not a string", withFields(t, notification, map[string]any{"Type": 1}), "Type must be a string"},
		{"a Message that is an object", withFields(t, notification, map[string]any{"Message": map[string]string{"a": "b"}}), "Message must be a string"},
		{"a notification without Message", withFields(t, notification, map[string]any{"Message": nil}), "missing Message"},
		{"a notification without Signature", withFields(t, notification, map[string]any{"Signature": ""}), "missing Signature"},
		{"a notification without SigningCertURL", withFields(t, notification, map[string]any{"SigningCertURL": nil}), "missing SigningCertURL"},
		{"a Lambda-style SigningCertUrl", withFields(t, notification, map[string]any{"SigningCertURL": nil, "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/x.pem"}), "Lambda"},
		{"a confirmation without Token", withFields(t, confirmation, map[string]any{"Token": nil}), "missing Token"},
		{"a confirmation without SubscribeURL", withFields(t, confirmation, map[string]any{"SubscribeURL": nil}), "missing SubscribeURL"},
		{"a confirmation missing several fields", withFields(t, confirmation, map[string]any{"Token": nil, "MessageId": nil}), "missing MessageId, Token"},
		{"SignatureVersion 3", withFields(t, notification, map[string]any{"SignatureVersion": "3"}), "unsupported SignatureVersion"},
		{"a Timestamp that is not a time", withFields(t, notification, map[string]any{"Timestamp": "yesterday"}), "Timestamp"},
		{"a TopicArn that is not an SNS ARN", withFields(t, notification, map[string]any{"TopicArn": "arn:aws:sqs:us-east-1:123456789012:queue"}), "TopicArn"},
		{"a TopicArn with an empty account", withFields(t, notification, map[string]any{"TopicArn": "arn:aws:sns:us-east-1::topic"}), "TopicArn"},
		{"MessageAttributes that are not an object", withFields(t, notification, map[string]any{"MessageAttributes": "x"}), "MessageAttributes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := sns.Parse(tt.body)
			wantErr(t, err, sns.ErrMalformed)
			if m != nil {
				t.Errorf("Parse returned a message with an error")
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q should mention %q", err, tt.mention)
			}
		})
	}
}

func TestParseMatchesKeysExactly(t *testing.T) {
	// encoding/json folds case; an envelope must not, or "signature" could stand in for "Signature".
	body := withFields(t, readTestdata(t, "notification-securityhub.json"), map[string]any{"Signature": nil, "signature": "abc"})
	_, err := sns.Parse(body)
	wantErr(t, err, sns.ErrMalformed)
	if !strings.Contains(err.Error(), "missing Signature") {
		t.Fatalf("error %q should say Signature is missing", err)
	}
}

func TestParseTreatsAnEmptySubjectAsAbsent(t *testing.T) {
	m, err := sns.Parse(withFields(t, readTestdata(t, "notification-securityhub.json"), map[string]any{"Subject": ""}))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := sns.StringToSign(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(signed), "Subject\n") {
		t.Fatalf("an empty Subject must not be signed:\n%s", signed)
	}
}

func TestFromSNSRecognisesSNSHeaders(t *testing.T) {
	tests := []struct {
		name   string
		header map[string]string
		want   bool
	}{
		{"an SNS delivery", map[string]string{"x-amz-sns-message-type": "Notification"}, true},
		{"a raw delivery", map[string]string{"x-amz-sns-rawdelivery": "true"}, true},
		{"an EventBridge API destination", map[string]string{"Content-Type": "application/json"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if got := sns.FromSNS(h); got != tt.want {
				t.Fatalf("FromSNS = %v, want %v", got, tt.want)
			}
		})
	}
}

// withFields returns body with some top-level fields replaced; a nil value removes the field.
func withFields(t *testing.T, body []byte, set map[string]any) []byte {
	t.Helper()
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(fields, k)
		} else {
			fields[k] = v
		}
	}
	out, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
