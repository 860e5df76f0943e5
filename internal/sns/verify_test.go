package sns_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/sns"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
)

const eventJSON = `{"version":"0","detail-type":"Security Hub Findings - Imported","source":"aws.securityhub","detail":{"findings":[]}}`

// messagesOfEveryType returns one signed message of each type, signed with version.
func messagesOfEveryType(t *testing.T, s *snstest.Server, version string) map[string]*sns.Message {
	t.Helper()
	topic := s.TopicARN(topicName)
	msgs := map[string]*sns.Message{
		"notification":              s.Notification(topic, "", eventJSON),
		"notification with subject": s.Notification(topic, "Security Hub finding", eventJSON),
		"subscription confirmation": s.SubscriptionConfirmation(topic),
		"unsubscribe confirmation":  s.UnsubscribeConfirmation(topic),
	}
	for _, m := range msgs {
		if err := s.Sign(m, version); err != nil {
			t.Fatal(err)
		}
	}
	return msgs
}

func TestVerifyAcceptsMessagesSignedWithEitherSignatureVersion(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	v := trusting(t, sns.Options{}, s)
	for _, version := range []string{"1", "2"} {
		for name, m := range messagesOfEveryType(t, s, version) {
			t.Run("version "+version+" "+name, func(t *testing.T) {
				// Through the wire format, as a real delivery arrives.
				parsed, err := sns.Parse(snstest.Body(m))
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if err := v.Verify(context.Background(), parsed); err != nil {
					t.Fatalf("Verify: %v", err)
				}
			})
		}
	}
}

func TestVerifyRefusesATamperedMessage(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	other := snstest.NewServer(t, snstest.Config{})
	v := trusting(t, sns.Options{}, s, other)

	type tamper struct {
		name   string
		change func(m *sns.Message)
		want   error
	}
	signed := []tamper{
		{"Message changed", func(m *sns.Message) { m.Message += " " }, sns.ErrBadSignature},
		{"Message replaced", func(m *sns.Message) { m.Message = `{"detail":{"findings":[]}}` }, sns.ErrBadSignature},
		{"MessageId changed", func(m *sns.Message) { m.MessageID = "00000000-0000-4000-8000-000000000000" }, sns.ErrBadSignature},
		{"Timestamp changed", func(m *sns.Message) { m.Timestamp = shiftTimestamp(t, m.Timestamp) }, sns.ErrBadSignature},
		{"TopicArn changed", func(m *sns.Message) { m.TopicARN += "-other" }, sns.ErrBadSignature},
	}
	notificationOnly := []tamper{
		{"Subject added", func(m *sns.Message) { m.Subject = "injected" }, sns.ErrBadSignature},
		{"Type changed to a confirmation", func(m *sns.Message) {
			m.Type, m.Token, m.SubscribeURL = sns.TypeSubscriptionConfirmation, "t", s.URL()+"/?Action=ConfirmSubscription"
		}, sns.ErrBadSignature},
	}
	withSubject := []tamper{
		{"Subject changed", func(m *sns.Message) { m.Subject += "!" }, sns.ErrBadSignature},
		{"Subject removed", func(m *sns.Message) { m.Subject = "" }, sns.ErrBadSignature},
	}
	confirmationOnly := []tamper{
		{"Token changed", func(m *sns.Message) { m.Token = strings.Repeat("0", len(m.Token)) }, sns.ErrBadSignature},
		{"SubscribeURL changed on the same host", func(m *sns.Message) { m.SubscribeURL += "&x=1" }, sns.ErrBadSignature},
		{"Type swapped between confirmations", func(m *sns.Message) {
			if m.Type == sns.TypeSubscriptionConfirmation {
				m.Type = sns.TypeUnsubscribeConfirmation
			} else {
				m.Type = sns.TypeSubscriptionConfirmation
			}
		}, sns.ErrBadSignature},
	}
	envelope := []tamper{
		{"Signature bit flipped", func(m *sns.Message) { m.Signature = flipBit(t, m.Signature) }, sns.ErrBadSignature},
		{"Signature truncated", func(m *sns.Message) { m.Signature = m.Signature[:len(m.Signature)-8] }, sns.ErrBadSignature},
		{"Signature not base64", func(m *sns.Message) { m.Signature = "!!" + m.Signature }, sns.ErrBadSignature},
		{"Signature removed", func(m *sns.Message) { m.Signature = "" }, sns.ErrMalformed},
		{"SignatureVersion switched", func(m *sns.Message) {
			m.SignatureVersion = map[string]string{"1": "2", "2": "1"}[m.SignatureVersion]
		}, sns.ErrBadSignature},
		{"SignatureVersion unknown", func(m *sns.Message) { m.SignatureVersion = "3" }, sns.ErrMalformed},
		{"SigningCertURL pointing at another allowed signer", func(m *sns.Message) { m.SigningCertURL = other.CertURL() }, sns.ErrBadSignature},
		{"SigningCertURL pointing at a missing file", func(m *sns.Message) { m.SigningCertURL = s.URL() + "/missing.pem" }, sns.ErrBadCertificate},
	}
	for _, version := range []string{"1", "2"} {
		for name, original := range messagesOfEveryType(t, s, version) {
			cases := append(append([]tamper{}, signed...), envelope...)
			switch {
			case original.Type != sns.TypeNotification:
				cases = append(cases, confirmationOnly...)
			case original.Subject != "":
				cases = append(cases, withSubject...)
				cases = append(cases, notificationOnly[1:]...)
			default:
				cases = append(cases, notificationOnly...)
			}
			for _, tc := range cases {
				t.Run("version "+version+" "+name+" "+tc.name, func(t *testing.T) {
					m := *original
					tc.change(&m)
					err := v.Verify(context.Background(), &m)
					wantErr(t, err, tc.want)
				})
			}
		}
	}
}

// SNS does not sign these fields, so changing them cannot be detected; this documents which ones they
// are, so nobody trusts them by mistake.
func TestVerifyCannotSeeChangesToFieldsSNSDoesNotSign(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	v := trusting(t, sns.Options{}, s)
	changes := map[string]func(m *sns.Message){
		"UnsubscribeURL": func(m *sns.Message) { m.UnsubscribeURL = "https://example.com/" },
		"MessageAttributes": func(m *sns.Message) {
			m.MessageAttributes = map[string]sns.MessageAttribute{"a": {Type: "String", Value: "b"}}
		},
		"Subject of a confirmation": func(m *sns.Message) {
			if m.Type != sns.TypeNotification {
				m.Subject = "x"
			}
		},
	}
	for field, change := range changes {
		for name, original := range messagesOfEveryType(t, s, "2") {
			t.Run(field+" of a "+name, func(t *testing.T) {
				m := *original
				change(&m)
				wantErr(t, v.Verify(context.Background(), &m), nil)
			})
		}
	}
}

func TestVerifyRefusesAMessageSignedByAnUnknownKeyOnAnAllowedHost(t *testing.T) {
	// An attacker who can serve a certificate from an allowed host must still hold SNS's key: here the
	// certificate URL is genuine but the signature was made by another server's key.
	s := snstest.NewServer(t, snstest.Config{})
	forger := snstest.NewServer(t, snstest.Config{})
	v := trusting(t, sns.Options{}, s)
	m := forger.Notification(forger.TopicARN(topicName), "", eventJSON)
	m.SigningCertURL = s.CertURL()
	wantErr(t, v.Verify(context.Background(), m), sns.ErrBadSignature)
}

func TestVerifyValidatesHandBuiltMessages(t *testing.T) {
	v := trusting(t, sns.Options{}, snstest.NewServer(t, snstest.Config{}))
	wantErr(t, v.Verify(context.Background(), nil), sns.ErrMalformed)
	wantErr(t, v.Verify(context.Background(), &sns.Message{Type: sns.TypeNotification}), sns.ErrMalformed)
}

func shiftTimestamp(t *testing.T, ts string) string {
	t.Helper()
	parsed, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Add(time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")
}

func flipBit(t *testing.T, sig string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	return base64.StdEncoding.EncodeToString(b)
}
