package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tocsin-dev/tocsin/internal/notify"
	"github.com/tocsin-dev/tocsin/internal/notify/webhook"
)

// A receiver written in Go checks each request with Verify before it believes the body.
func ExampleVerify() {
	secret := []byte("a-secret-shared-with-the-receiver-0123")

	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20)) // the raw bytes, before any decoding
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		err = webhook.Verify(secret, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature),
			body, time.Now(), webhook.DefaultTolerance)
		if err != nil {
			http.Error(w, "forbidden", http.StatusForbidden) // tocsin does not retry a 403
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		fmt.Printf("%s for %s: [%s] %s (step %d)\n", p.Type, p.Recipient.Username, p.Alert.Priority, p.Alert.Message, p.Step)
		w.WriteHeader(http.StatusAccepted)
	})
	srv := httptest.NewServer(receiver)
	defer srv.Close()

	channel, err := webhook.New(webhook.Options{Secret: secret})
	if err != nil {
		panic(err)
	}
	receipt, err := channel.Send(context.Background(), notify.Message{
		Alert:          notify.Alert{ID: "a1", TinyID: 7, Message: "Disk full on db-1", Priority: "P1", Status: "open"},
		Step:           1,
		Round:          1,
		Recipient:      notify.Person{Username: "alice@example.com", FullName: "Alice Doe"},
		Contact:        notify.Contact{Method: notify.MethodWebhook, To: srv.URL + "/tocsin"},
		IdempotencyKey: "a1/1/1/alice@example.com/0",
	})
	fmt.Println(receipt.Detail, err)
	// Output:
	// alert.page for alice@example.com: [P1] Disk full on db-1 (step 1)
	// HTTP 202 Accepted <nil>
}
