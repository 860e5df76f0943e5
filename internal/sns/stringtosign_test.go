package sns_test

import (
	"bytes"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/sns"
)

// The expected strings are AWS's own examples from "Verifying the signatures of Amazon SNS messages".
func TestStringToSignFollowsAWSDocumentation(t *testing.T) {
	tests := []struct {
		name string
		msg  sns.Message
		want string
	}{
		{
			name: "a notification with a subject",
			msg: sns.Message{
				Type: sns.TypeNotification, Message: "My Test Message", MessageID: "4d4dc071-ddbf-465d-bba8-08f81c89da64",
				Subject: "My subject", Timestamp: "2019-01-31T04:37:04.321Z",
				TopicARN: "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
			},
			want: "Message\nMy Test Message\nMessageId\n4d4dc071-ddbf-465d-bba8-08f81c89da64\nSubject\nMy subject\n" +
				"Timestamp\n2019-01-31T04:37:04.321Z\nTopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n" +
				"Type\nNotification\n",
		},
		{
			name: "a notification without a subject leaves Subject out",
			msg: sns.Message{
				Type: sns.TypeNotification, Message: "My Test Message", MessageID: "4d4dc071-ddbf-465d-bba8-08f81c89da64",
				Timestamp: "2019-01-31T04:37:04.321Z", TopicARN: "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
			},
			want: "Message\nMy Test Message\nMessageId\n4d4dc071-ddbf-465d-bba8-08f81c89da64\n" +
				"Timestamp\n2019-01-31T04:37:04.321Z\nTopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n" +
				"Type\nNotification\n",
		},
		{
			name: "a subscription confirmation signs SubscribeURL and Token",
			msg: sns.Message{
				Type: sns.TypeSubscriptionConfirmation, Message: "My Test Message", MessageID: "3d891288-136d-417f-bc05-901c108273ee",
				SubscribeURL: "https://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P&Token=233...",
				Timestamp:    "2019-01-31T19:25:13.719Z", Token: "233...",
				TopicARN: "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
			},
			want: "Message\nMy Test Message\nMessageId\n3d891288-136d-417f-bc05-901c108273ee\n" +
				"SubscribeURL\nhttps://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P&Token=233...\n" +
				"Timestamp\n2019-01-31T19:25:13.719Z\nToken\n233...\nTopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n" +
				"Type\nSubscriptionConfirmation\n",
		},
		{
			name: "an unsubscribe confirmation is signed like a subscription confirmation and never signs Subject",
			msg: sns.Message{
				Type: sns.TypeUnsubscribeConfirmation, Message: "m", MessageID: "id", Subject: "ignored",
				SubscribeURL: "https://sns.us-east-2.amazonaws.com/?x", Timestamp: "2019-01-31T19:25:13.719Z", Token: "t",
				TopicARN: "arn:aws:sns:us-east-2:123456789012:t",
			},
			want: "Message\nm\nMessageId\nid\nSubscribeURL\nhttps://sns.us-east-2.amazonaws.com/?x\n" +
				"Timestamp\n2019-01-31T19:25:13.719Z\nToken\nt\nTopicArn\narn:aws:sns:us-east-2:123456789012:t\nType\nUnsubscribeConfirmation\n",
		},
		{
			name: "escaped newlines in Message are signed as real newlines",
			msg: sns.Message{
				Type: sns.TypeNotification, Message: "line one\nline two", MessageID: "id",
				Timestamp: "2019-01-31T04:37:04.321Z", TopicARN: "arn:aws:sns:us-east-2:123456789012:t",
			},
			want: "Message\nline one\nline two\nMessageId\nid\nTimestamp\n2019-01-31T04:37:04.321Z\n" +
				"TopicArn\narn:aws:sns:us-east-2:123456789012:t\nType\nNotification\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sns.StringToSign(&tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestStringToSignIgnoresUnsignedFields(t *testing.T) {
	m, err := sns.Parse(readTestdata(t, "notification-securityhub.json"))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := sns.StringToSign(m)
	m.Signature, m.SignatureVersion, m.SigningCertURL, m.UnsubscribeURL = "x", "2", "https://elsewhere/", "https://elsewhere/"
	m.MessageAttributes = map[string]sns.MessageAttribute{"a": {Type: "String", Value: "b"}}
	m.Token, m.SubscribeURL = "not signed in a notification", "https://elsewhere/"
	after, _ := sns.StringToSign(m)
	if !bytes.Equal(before, after) {
		t.Fatalf("unsigned fields changed the string to sign:\n%s\n%s", before, after)
	}
}

func TestStringToSignRefusesUnknownTypes(t *testing.T) {
	for _, m := range []*sns.Message{nil, {}, {Type: "notification"}, {Type: "Telegram"}} {
		_, err := sns.StringToSign(m)
		wantErr(t, err, sns.ErrMalformed)
	}
}
