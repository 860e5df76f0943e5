package sns_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/sns"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
)

func TestVerifyRefusesACertificateOnAHostNotAllowedWithoutContactingIt(t *testing.T) {
	allowed := snstest.NewServer(t, snstest.Config{})
	stranger := snstest.NewServer(t, snstest.Config{})
	v := trusting(t, sns.Options{}, allowed)

	for _, version := range []string{"1", "2"} {
		for name, m := range messagesOfEveryType(t, stranger, version) {
			t.Run("version "+version+" "+name, func(t *testing.T) {
				err := v.Verify(context.Background(), m)
				wantErr(t, err, sns.ErrUntrustedURL)
				if !strings.Contains(err.Error(), "SigningCertURL") {
					t.Errorf("error %q should name the field", err)
				}
			})
		}
	}
	if n := stranger.Requests(); n != 0 {
		t.Fatalf("the host that is not allowed got %d requests, want 0", n)
	}
	if n := allowed.Requests(); n != 0 {
		t.Fatalf("the allowed host got %d requests, want 0", n)
	}
}

func TestVerifyRefusesAnHTTPCertificateURL(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	v := trusting(t, sns.Options{}, s)
	m := s.Notification(s.TopicARN(topicName), "", eventJSON)
	m.SigningCertURL = strings.Replace(m.SigningCertURL, "https://", "http://", 1)
	wantErr(t, v.Verify(context.Background(), m), sns.ErrUntrustedURL)
	if n := s.Requests(); n != 0 {
		t.Fatalf("server got %d requests, want 0", n)
	}
}

func TestVerifyRefusesAConfirmationWhoseSubscribeURLIsNotAllowedWithoutAnyRequest(t *testing.T) {
	allowed := snstest.NewServer(t, snstest.Config{})
	stranger := snstest.NewServer(t, snstest.Config{})
	v := trusting(t, sns.Options{}, allowed)

	for _, subscribeURL := range []string{
		stranger.URL() + "/?Action=ConfirmSubscription&Token=t",
		"https://169.254.169.254/latest/meta-data/iam/security-credentials/",
		strings.Replace(allowed.URL(), "https://", "http://", 1) + "/?Action=ConfirmSubscription",
	} {
		for _, typ := range []string{"SubscriptionConfirmation", "UnsubscribeConfirmation"} {
			t.Run(typ+" to "+subscribeURL, func(t *testing.T) {
				m := allowed.SubscriptionConfirmation(allowed.TopicARN(topicName))
				if typ == "UnsubscribeConfirmation" {
					m = allowed.UnsubscribeConfirmation(allowed.TopicARN(topicName))
				}
				// Signed by the allowed signer, so only the SubscribeURL is wrong.
				m.SubscribeURL = subscribeURL
				resign(t, allowed, m)

				err := v.Verify(context.Background(), m)
				wantErr(t, err, sns.ErrUntrustedURL)
				if !strings.Contains(err.Error(), "SubscribeURL") {
					t.Errorf("error %q should name the field", err)
				}
				if m.Type == sns.TypeSubscriptionConfirmation {
					_, err = v.Confirm(context.Background(), m)
					wantErr(t, err, sns.ErrUntrustedURL)
				}
			})
		}
	}
	if n := allowed.Requests() + stranger.Requests(); n != 0 {
		t.Fatalf("servers got %d requests, want 0: the certificate must not even be fetched", n)
	}
}

func TestCheckURLRefusesURLsAServerSideRequestForgeryWouldUse(t *testing.T) {
	client, calls := noNetwork(t)
	v, err := sns.NewVerifier(sns.Options{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{
		"",
		"/SimpleNotificationService-1.pem",
		"https:///SimpleNotificationService-1.pem",
		"http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
		"ftp://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
		"https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
		"https://sns.us-east-1.amazonaws.com@evil.example/x.pem",
		"https://user:pass@sns.us-east-1.amazonaws.com/x.pem",
		"https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
		"https://evil.example/?https://sns.us-east-1.amazonaws.com/x.pem",
		"https://evil.example/#sns.us-east-1.amazonaws.com",
		"https://sns.us-east-1.amazonaws.com./x.pem",
		"https://sns.us-east-1.amazonaws.com%2eevil.example/x.pem",
		"https://sns.s3.amazonaws.com/x.pem",
		"https://sns.s3-us-west-2.amazonaws.com/x.pem",
		"https://sns.s3-website-us-east-1.amazonaws.com/x.pem",
		"https://sns.us-east-1.amazonaws.com.cn.evil.example/x.pem",
		"https://sqs.us-east-1.amazonaws.com/x.pem",
		"https://sns.amazonaws.com/x.pem",
		"https://169.254.169.254/latest/meta-data/",
		"https://[fd00:ec2::254]/latest/meta-data/",
		"https://[::ffff:169.254.169.254]/",
		"https://127.0.0.1/",
		"https://10.0.0.1/",
		"https://[::1]/",
		"https://0.0.0.0/",
		"https://2130706433/",
		"https://0x7f.1/",
		"https://127.1/",
		"https://localhost/",
		"https://" + strings.Repeat("a", 5000) + ".amazonaws.com/",
	} {
		t.Run(raw, func(t *testing.T) {
			wantErr(t, v.CheckURL(raw), sns.ErrUntrustedURL)
		})
	}
	if calls.Load() != 0 {
		t.Fatal("CheckURL made a request")
	}
}
