package sns_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/sns"
)

// FuzzParse feeds arbitrary bodies to Parse. Besides never panicking, Parse must fail only with its own
// sentinel errors, and whatever it accepts must be a valid message that survives a JSON round trip
// unchanged (so no two readers of a body can disagree about what was signed).
// The seed corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"notification-securityhub.json", "subscription-confirmation.json", "unsubscribe-confirmation.json", "eventbridge-securityhub.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := sns.Parse(body)
		if err != nil {
			if m != nil {
				t.Fatal("Parse returned a message and an error")
			}
			if !errors.Is(err, sns.ErrMalformed) && !errors.Is(err, sns.ErrRawDelivery) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid message: %v", err)
		}
		if _, err := sns.StringToSign(m); err != nil {
			t.Fatalf("Parse accepted a message that cannot be canonicalised: %v", err)
		}
		encoded, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := sns.Parse(encoded)
		if err != nil {
			t.Fatalf("re-encoded message no longer parses: %v\n%s", err, encoded)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, again)
		}
	})
}

// FuzzStringToSign checks the canonicaliser against an independent reading of AWS's rules: which
// fields each type signs, in byte order of their names, Subject only when present, and nothing else.
// The seed corpus is in testdata/fuzz/FuzzStringToSign.
func FuzzStringToSign(f *testing.F) {
	f.Add("Notification", "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", "", "arn:aws:sns:us-west-2:123456789012:MyTopic",
		"My First Message", "Hello world!", "", "2012-05-02T00:54:06.655Z")
	f.Fuzz(func(t *testing.T, typ, id, token, topic, subject, message, subscribeURL, timestamp string) {
		m := &sns.Message{
			Type: sns.MessageType(typ), MessageID: id, Token: token, TopicARN: topic, Subject: subject,
			Message: message, SubscribeURL: subscribeURL, Timestamp: timestamp,
			SignatureVersion: "1", Signature: "c2ln", SigningCertURL: "https://sns.us-east-1.amazonaws.com/a.pem",
		}
		got, err := sns.StringToSign(m)

		var names []string
		switch m.Type {
		case sns.TypeNotification:
			names = []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
			if subject == "" {
				names = slices.Delete(names, 2, 3)
			}
		case sns.TypeSubscriptionConfirmation, sns.TypeUnsubscribeConfirmation:
			names = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
		default:
			if !errors.Is(err, sns.ErrMalformed) || got != nil {
				t.Fatalf("unknown Type %q: got %q, %v", typ, got, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Type %q: %v", typ, err)
		}
		if !slices.IsSorted(names) {
			t.Fatalf("signed names out of byte order: %q", names)
		}
		values := map[string]string{
			"Message": message, "MessageId": id, "Subject": subject, "SubscribeURL": subscribeURL,
			"Timestamp": timestamp, "Token": token, "TopicArn": topic, "Type": typ,
		}
		var want bytes.Buffer
		for _, n := range names {
			want.WriteString(n + "\n" + values[n] + "\n")
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("got\n%q\nwant\n%q", got, want.Bytes())
		}

		// Fields outside the signature must not change it.
		m.Signature, m.SignatureVersion, m.SigningCertURL, m.UnsubscribeURL = "other", "2", "https://x/", "https://y/"
		m.MessageAttributes = map[string]sns.MessageAttribute{"k": {Type: "String", Value: "v"}}
		if m.Type == sns.TypeNotification {
			m.Token, m.SubscribeURL = token+"x", subscribeURL+"x"
		} else {
			m.Subject = subject + "x"
		}
		again, err := sns.StringToSign(m)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("unsigned fields changed the string to sign: %q, %v", again, err)
		}
	})
}
