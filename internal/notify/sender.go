package notify

import (
	"context"
	"slices"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/escalation"
)

// History lists an alert's notifications, so that a re-page can say who was paged before.
type History interface {
	Notifications(ctx context.Context, alertID string) ([]*escalation.Notification, error)
}

// Sender delivers the escalation engine's notifications through a Registry of channels.
type Sender struct {
	Channels *Registry
	// People looks up a user's full name for the message; nil leaves it empty.
	People func(ctx context.Context, username string) (fullName string)
	// Links makes the links a page to username about a offers; nil offers none.
	Links func(a *alert.Alert, username string) Links
	// History, when set, fills PreviousRecipients of pages after the first step.
	History History
}

var _ escalation.Sender = (*Sender)(nil)

// Send implements escalation.Sender.
func (s *Sender) Send(ctx context.Context, n *escalation.Notification, a *alert.Alert) (string, error) {
	m := Message{
		Alert:          AlertFrom(*a),
		Step:           n.Step + 1,
		Round:          n.Round + 1,
		Recipient:      s.person(ctx, n.Username),
		Contact:        Contact{Method: n.Method, To: n.To},
		IdempotencyKey: n.Key,
	}
	if s.Links != nil {
		m.Links = s.Links(a, n.Username)
	}
	if s.History != nil && (n.Step > 0 || n.Round > 0) {
		m.PreviousRecipients = s.paged(ctx, n)
	}
	r, err := s.Channels.Send(ctx, m)
	return r.ProviderID, err
}

func (s *Sender) person(ctx context.Context, username string) Person {
	p := Person{Username: username}
	if s.People != nil {
		p.FullName = s.People(ctx, username)
	}
	return p
}

// paged returns the people sent a page for the same escalation before n's step, oldest first. A
// failure to read them only leaves the list out: the page matters more than its footnote.
func (s *Sender) paged(ctx context.Context, n *escalation.Notification) []Person {
	list, err := s.History.Notifications(ctx, n.AlertID)
	if err != nil {
		return nil
	}
	before := func(o *escalation.Notification) bool {
		return o.Epoch == n.Epoch && o.State == escalation.Sent && (o.Round < n.Round || o.Round == n.Round && o.Step < n.Step)
	}
	var seen []string
	var out []Person
	for _, o := range list {
		if before(o) && o.Username != n.Username && !slices.Contains(seen, o.Username) {
			seen = append(seen, o.Username)
			out = append(out, s.person(ctx, o.Username))
		}
	}
	return out
}

// Permanent implements escalation.Sender.
func (s *Sender) Permanent(err error) bool { return IsPermanent(err) }

// RetryAfter implements escalation.Sender.
func (s *Sender) RetryAfter(err error) (time.Duration, bool) { return RetryAfter(err) }
