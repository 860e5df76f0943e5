package webhook

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestAPageArrivesAsASignedJSONPostThatVerifies(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Request-Id", "req-123")
		w.WriteHeader(http.StatusAccepted)
	})
	c := newChannel(t, Options{})

	receipt, err := send(t, c, rcv.URL+"/hooks/tocsin?team=secops")
	if err != nil {
		t.Fatalf("Send = %v", err)
	}
	if receipt.ProviderID != "req-123" || receipt.Detail != "HTTP 202 Accepted" {
		t.Fatalf("receipt = %+v", receipt)
	}

	got := rcv.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	r := got[0]
	if r.method != http.MethodPost || r.path != "/hooks/tocsin?team=secops" {
		t.Fatalf("request = %s %s", r.method, r.path)
	}
	for name, want := range map[string]string{
		"Content-Type":       "application/json",
		"User-Agent":         "tocsin",
		"Idempotency-Key":    "8f1c2b9e-0d4f-4a53-9b6e-2f1f3c5d7a10/2/1/alice@example.com/webhook-0",
		"Content-Length":     strconv.Itoa(len(r.body)),
		"X-Tocsin-Signature": Sign(testSecret, r.header.Get(HeaderTimestamp), r.body),
	} {
		if g := r.header.Get(name); g != want {
			t.Errorf("header %s = %q, want %q", name, g, want)
		}
	}
	ts, err := strconv.ParseInt(r.header.Get(HeaderTimestamp), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
		t.Fatalf("X-Tocsin-Timestamp = %q, want unix seconds of about now", r.header.Get(HeaderTimestamp))
	}
	if err := Verify(testSecret, r.header.Get(HeaderTimestamp), r.header.Get(HeaderSignature), r.body, time.Now(), 0); err != nil {
		t.Fatalf("the receiver cannot verify the request: %v", err)
	}

	var p Payload
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Version != 1 || p.Type != "alert.page" || p.Alert.TinyID != "42" || p.Step != 2 || p.Round != 1 ||
		p.Recipient.Username != "alice@example.com" || len(p.PreviousRecipients) != 1 ||
		p.Links.Acknowledge != "https://tocsin.example.com/a/ack-token" ||
		p.IdempotencyKey != r.header.Get("Idempotency-Key") {
		t.Fatalf("payload = %+v", p)
	}
}

func TestTheBodyIsExactlyTheDocumentedPayload(t *testing.T) {
	rcv := newReceiver(t, nil)
	c := newChannel(t, Options{})
	if _, err := send(t, c, rcv.URL); err != nil {
		t.Fatal(err)
	}
	want, err := Body(testMessage(rcv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if got := rcv.requests()[0].body; string(got) != string(want) {
		t.Fatalf("body =\n%s\nwant\n%s", got, want)
	}
}

func TestARetryCarriesTheSameBodyAndIdempotencyKeyWithAFreshSignature(t *testing.T) {
	rcv := newReceiver(t, nil)
	c := newChannel(t, Options{})
	for range 2 {
		if _, err := send(t, c, rcv.URL); err != nil {
			t.Fatal(err)
		}
	}
	got := rcv.requests()
	if string(got[0].body) != string(got[1].body) ||
		got[0].header.Get("Idempotency-Key") != got[1].header.Get("Idempotency-Key") {
		t.Fatal("two attempts of one page differ in body or Idempotency-Key")
	}
	for _, r := range got {
		if err := Verify(testSecret, r.header.Get(HeaderTimestamp), r.header.Get(HeaderSignature), r.body, time.Now(), 0); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAPageWithoutAnIdempotencyKeyHasNoHeader(t *testing.T) {
	rcv := newReceiver(t, nil)
	c := newChannel(t, Options{})
	m := testMessage(rcv.URL)
	m.IdempotencyKey = ""
	if _, err := c.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if _, ok := rcv.requests()[0].header["Idempotency-Key"]; ok {
		t.Fatal("an empty Idempotency-Key header was sent")
	}
}

func TestATestNotificationIsTypedAlertTest(t *testing.T) {
	rcv := newReceiver(t, nil)
	c := newChannel(t, Options{})
	m := testMessage(rcv.URL)
	m.Test = true
	if _, err := c.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	var p Payload
	if err := json.Unmarshal(rcv.requests()[0].body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != TypeTest {
		t.Fatalf("type = %q, want %q", p.Type, TypeTest)
	}
}

func TestTheChannelServesTheWebhookMethod(t *testing.T) {
	if m := newChannel(t, Options{}).Method(); m != "webhook" {
		t.Fatalf("Method = %q", m)
	}
}
