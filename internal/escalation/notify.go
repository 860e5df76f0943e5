package escalation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
)

// Sender delivers one notification through its channel. The server adapts package notify's channels
// to it.
type Sender interface {
	// Send pages n.Username through n.Method at n.To about a, and returns the provider's id for it.
	Send(ctx context.Context, n *Notification, a *alert.Alert) (providerID string, err error)
	// Permanent reports whether a send error will never succeed on retry (a 4xx, a bad address, a
	// channel that is not configured).
	Permanent(err error) bool
	// RetryAfter is how long the receiver asked to wait before a retry, if it said.
	RetryAfter(err error) (time.Duration, bool)
}

// MaxAttempts bounds retries of a temporary failure (see retryBackoff).
const MaxAttempts = 20

// Notify sends one notification from the job queue, as versions before pages were leased made them
// (a contact due later, a retry); it stays for jobs still queued from then. It sends unless the
// alert was acknowledged, closed or restarted since it was made (then it is cancelled). A temporary
// failure is returned so the queue retries it with backoff; a permanent one, or the last attempt,
// marks it failed. Attempts count on the notification, so a page that failed once when it was sent
// at once carries on from there.
func (e *Engine) Notify(ctx context.Context, args NotifyArgs) error {
	n, err := e.store.Notification(ctx, args.NotificationID)
	if err != nil {
		return err
	}
	if n.State != Pending {
		return nil
	}
	a, err := e.store.Alert(ctx, n.AlertID)
	if errors.Is(err, alert.ErrNotFound) {
		return e.finish(ctx, n, Cancelled, "the alert was deleted")
	}
	if err != nil {
		return err
	}
	if !live(a, n.Epoch) {
		return e.finish(ctx, n, Cancelled, "the alert was acknowledged, closed, snoozed or restarted first")
	}
	n.Attempts++
	attempt := n.Attempts
	id, err := e.send.Send(ctx, n, a)
	if err == nil {
		n.ProviderID, n.SentAt = id, e.now()
		return e.finish(ctx, n, Sent, "")
	}
	if e.send.Permanent(err) || attempt >= MaxAttempts {
		e.log.Warn("notification failed", "alert", n.AlertID, "user", n.Username, "method", n.Method, "attempt", attempt, "err", err)
		return e.finish(ctx, n, Failed, err.Error())
	}
	n.Error, n.UpdatedAt = err.Error(), e.now()
	if uerr := e.store.UpdateNotification(ctx, n); uerr != nil {
		return errors.Join(err, uerr)
	}
	return fmt.Errorf("send %s to %s (attempt %d): %w", n.Method, n.Username, attempt, err)
}

func (e *Engine) finish(ctx context.Context, n *Notification, s State, msg string) error {
	n.State, n.Error, n.UpdatedAt = s, msg, e.now()
	return e.store.UpdateNotification(ctx, n)
}
