package notify

import (
	"context"
	"time"
)

// TestResult is what happened to one test notification.
type TestResult struct {
	Contact Contact
	Receipt Receipt
	Err     error
}

// SendTest sends a test notification to each contact of p through r, one after another, so that an
// operator can check a channel's settings (SMTP, a webhook URL) before the first real page. Each
// attempt is bounded by timeout; a failure is reported, not retried.
func SendTest(ctx context.Context, r *Registry, p Person, contacts []Contact, timeout time.Duration) []TestResult {
	now := time.Now().UTC()
	out := make([]TestResult, 0, len(contacts))
	for _, c := range contacts {
		m := Message{
			Alert: Alert{
				ID: "test", Message: "Test notification from tocsin", Priority: "P5", Status: "open",
				Description: "This is a test sent by `tocsin notify test`. If you can read it, tocsin can reach you through " + c.Method + ".",
				Source:      "tocsin", Count: 1, CreatedAt: now, LastOccurredAt: now,
			},
			Recipient: p, Contact: c, Test: true, IdempotencyKey: "test/" + p.Username + "/" + c.Method + "/" + now.Format(time.RFC3339Nano),
		}
		sctx, cancel := context.WithTimeout(ctx, timeout)
		rc, err := r.Send(sctx, m)
		cancel()
		out = append(out, TestResult{Contact: c, Receipt: rc, Err: err})
	}
	return out
}
