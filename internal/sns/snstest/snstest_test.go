package snstest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/sns"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
)

func TestAServerWorksOutsideTestsAndStopsOnClose(t *testing.T) {
	s, err := snstest.New(snstest.Config{SignatureVersion: "2"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := sns.NewVerifier(s.VerifierOptions())
	if err != nil {
		t.Fatal(err)
	}
	m := s.Notification(s.TopicARN("t"), "subject", "message")
	if m.SignatureVersion != "2" || m.SigningCertURL != s.CertURL() {
		t.Fatalf("message not signed as configured: %+v", m)
	}
	if err := v.Verify(context.Background(), m); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	s.Close()
	resp, err := s.Client().Get(s.CertURL())
	if err == nil {
		resp.Body.Close()
		t.Fatal("server still answers after Close")
	}
}

func TestNewRefusesAnUnknownSignatureVersion(t *testing.T) {
	if _, err := snstest.New(snstest.Config{SignatureVersion: "3"}); err == nil {
		t.Fatal("accepted SignatureVersion 3")
	}
}

func TestSignRefusesWhatSNSWouldNotSign(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	m := s.Notification(s.TopicARN("t"), "", "x")
	if err := s.Sign(m, "3"); err == nil {
		t.Error("signed with version 3")
	}
	if err := s.Sign(nil, "1"); err == nil {
		t.Error("signed a nil message")
	}
	m.Type = "Telegram"
	if err := s.Sign(m, "1"); !errors.Is(err, sns.ErrMalformed) {
		t.Errorf("signing an unknown type: %v", err)
	}
}

func TestNewRequestLooksLikeAnSNSDelivery(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	m := s.Notification(s.TopicARN("t"), "", `{"detail-type":"Security Hub Findings - Imported"}`)

	req, err := snstest.NewRequest(context.Background(), "https://tocsin.example/v1/json/amazonsecurityhub", m)
	if err != nil {
		t.Fatal(err)
	}
	if !sns.FromSNS(req.Header) || req.Header.Get(sns.HeaderMessageType) != "Notification" || req.Header.Get(sns.HeaderMessageID) != m.MessageID {
		t.Fatalf("headers = %v", req.Header)
	}
	body, _ := io.ReadAll(req.Body)
	if _, err := sns.Parse(body); err != nil {
		t.Fatalf("body does not parse: %v", err)
	}

	raw, err := snstest.NewRawRequest(context.Background(), "https://tocsin.example/", m)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(raw.Body)
	if _, err := sns.Parse(body); !errors.Is(err, sns.ErrRawDelivery) || !sns.FromSNS(raw.Header) {
		t.Fatalf("raw delivery: Parse error %v, FromSNS %v", err, sns.FromSNS(raw.Header))
	}
}

func TestTheServerConfirmsOnlyTokensItIssued(t *testing.T) {
	s := snstest.NewServer(t, snstest.Config{})
	m := s.SubscriptionConfirmation(s.TopicARN("t"))
	client := s.Client()
	for url, want := range map[string]int{
		m.SubscribeURL: http.StatusOK,
		s.URL() + "/?Action=ConfirmSubscription&TopicArn=" + m.TopicARN + "&Token=forged": http.StatusBadRequest,
	} {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", url, resp.StatusCode, want)
		}
	}
	if n := s.Confirmations(); n != 2 {
		t.Fatalf("Confirmations = %d, want 2", n)
	}
}
