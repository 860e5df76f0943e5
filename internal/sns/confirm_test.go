package sns_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/sns"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
)

func TestConfirmVisitsTheSubscribeURLOnceAndReturnsTheSubscriptionARN(t *testing.T) {
	for _, version := range []string{"1", "2"} {
		t.Run("version "+version, func(t *testing.T) {
			s := snstest.NewServer(t, snstest.Config{SignatureVersion: version})
			v := trusting(t, sns.Options{}, s)
			topic := s.TopicARN(topicName)
			m, err := sns.Parse(snstest.Body(s.SubscriptionConfirmation(topic)))
			if err != nil {
				t.Fatal(err)
			}
			arn, err := v.Confirm(context.Background(), m)
			wantErr(t, err, nil)
			if !strings.HasPrefix(arn, topic+":") {
				t.Errorf("subscription ARN = %q, want %s:<id>", arn, topic)
			}
			if n := s.Confirmations(); n != 1 {
				t.Fatalf("SubscribeURL visited %d times, want 1", n)
			}
		})
	}
}

func TestConfirmAcceptsAnAnswerWithoutASubscriptionARN(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	s.Handle("GET /plain", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	v := trusting(t, sns.Options{}, s)
	m := s.SubscriptionConfirmation(s.TopicARN(topicName))
	m.SubscribeURL = s.URL() + "/plain"
	resign(t, s, m)
	arn, err := v.Confirm(context.Background(), m)
	wantErr(t, err, nil)
	if arn != "" {
		t.Fatalf("arn = %q, want empty", arn)
	}
}

func TestConfirmOnlyConfirmsSubscriptionConfirmations(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	v := trusting(t, sns.Options{}, s)
	topic := s.TopicARN(topicName)
	for name, m := range map[string]*sns.Message{
		"a notification":              s.Notification(topic, "", eventJSON),
		"an unsubscribe confirmation": s.UnsubscribeConfirmation(topic), // visiting it would subscribe again
		"no message":                  nil,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := v.Confirm(context.Background(), m)
			wantErr(t, err, sns.ErrMalformed)
		})
	}
	if n := s.Requests(); n != 0 {
		t.Fatalf("server got %d requests, want 0", n)
	}
}

func TestConfirmRefusesAForgedConfirmationWithoutVisitingIt(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	v := trusting(t, sns.Options{}, s)
	m := s.SubscriptionConfirmation(s.TopicARN(topicName))
	m.SubscribeURL += "&injected=1"
	_, err := v.Confirm(context.Background(), m)
	wantErr(t, err, sns.ErrBadSignature)
	if n := s.Confirmations(); n != 0 {
		t.Fatalf("SubscribeURL visited %d times, want 0", n)
	}
}

func TestConfirmReportsWhatSNSAnswered(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	elsewhere := snstest.NewServer(t, snstest.Config{})
	s.Handle("GET /down", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "", http.StatusServiceUnavailable)
	}))
	s.Handle("GET /moved", http.RedirectHandler(elsewhere.URL()+"/?Action=ConfirmSubscription", http.StatusFound))
	v := trusting(t, sns.Options{}, s, elsewhere)
	topic := s.TopicARN(topicName)

	tests := []struct {
		name, subscribeURL string
		want               error
		mention            string
	}{
		{"an unknown token is refused by SNS", s.URL() + "/?" + url.Values{"Action": {"ConfirmSubscription"}, "TopicArn": {topic}, "Token": {"expired"}}.Encode(), sns.ErrConfirmRefused, "InvalidParameter"},
		{"SNS being down is worth a retry", s.URL() + "/down", sns.ErrUnavailable, "503"},
		{"a redirect is not followed", s.URL() + "/moved", sns.ErrConfirmRefused, "302"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := s.SubscriptionConfirmation(topic)
			m.SubscribeURL = tt.subscribeURL
			resign(t, s, m)
			_, err := v.Confirm(context.Background(), m)
			wantErr(t, err, tt.want)
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q should mention %q", err, tt.mention)
			}
		})
	}
	if n := elsewhere.Requests(); n != 0 {
		t.Fatalf("the redirect target got %d requests, want 0", n)
	}
}

func TestConfirmReportsAnUnreachableSNSAsTransient(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	v := trusting(t, sns.Options{}, s)
	m := s.SubscriptionConfirmation(s.TopicARN(topicName))
	// Warm the certificate cache, then take SNS away before the SubscribeURL visit.
	wantErr(t, v.Verify(context.Background(), m), nil)
	s.Close()
	_, err := v.Confirm(context.Background(), m)
	wantErr(t, err, sns.ErrUnavailable)
}
