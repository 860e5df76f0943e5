package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/notify"
)

var testSecret = []byte("test-secret-0123456789abcdef-XYZ")

// testMessage is a Security Hub page at step 2 of round 1, after Bob was paged.
func testMessage(to string) notify.Message {
	created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	return notify.Message{
		Alert: notify.Alert{
			ID:             "8f1c2b9e-0d4f-4a53-9b6e-2f1f3c5d7a10",
			TinyID:         42,
			Alias:          "arn:aws:securityhub:eu-central-1:123456789012:finding/abc",
			Message:        "EC2 instance i-0abc is communicating with a known C&C server",
			Description:    "GuardDuty saw <traffic> & more",
			Priority:       "P2",
			Status:         "open",
			Acknowledged:   false,
			Source:         "GuardDuty",
			Entity:         "i-0abc",
			Tags:           []string{"123456789012", "eu-central-1", "HIGH"},
			Details:        map[string]string{"ProductArn": "arn:aws:securityhub:eu-central-1::product/aws/guardduty", "AwsAccountId": "123456789012"},
			Count:          3,
			CreatedAt:      created,
			LastOccurredAt: created.Add(90 * time.Second),
			Integration:    notify.Integration{Name: "securityhub-prod", Type: "amazonsecurityhub"},
		},
		Step:               2,
		Round:              1,
		PreviousRecipients: []notify.Person{{Username: "bob@example.com", FullName: "Bob Roe"}},
		Recipient:          notify.Person{Username: "alice@example.com", FullName: "Alice Doe"},
		Contact:            notify.Contact{Method: notify.MethodWebhook, To: to},
		Links: notify.Links{
			Alert: "https://tocsin.example.com/alerts/8f1c2b9e-0d4f-4a53-9b6e-2f1f3c5d7a10",
			Ack:   "https://tocsin.example.com/a/ack-token",
			Close: "https://tocsin.example.com/a/close-token",
		},
		IdempotencyKey: "8f1c2b9e-0d4f-4a53-9b6e-2f1f3c5d7a10/2/1/alice@example.com/webhook-0",
	}
}

// received is one request as the test receiver saw it.
type received struct {
	header http.Header
	body   []byte
	method string
	path   string
}

// receiver is a real HTTP server standing in for a webhook endpoint. reply writes each answer.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []received
	wake chan struct{}
}

func newReceiver(t *testing.T, reply http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{wake: make(chan struct{}, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: body, method: req.Method, path: req.URL.RequestURI()})
		r.mu.Unlock()
		select {
		case r.wake <- struct{}{}:
		default:
		}
		if reply != nil {
			reply(w, req)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func newChannel(t *testing.T, opts Options) *Channel {
	t.Helper()
	if opts.Secret == nil {
		opts.Secret = testSecret
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func send(t *testing.T, c *Channel, to string) (notify.Receipt, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Send(ctx, testMessage(to))
}
