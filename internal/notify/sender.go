package notify

import (
	"context"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/escalation"
)

// Sender delivers the escalation engine's notifications through a Registry of channels.
type Sender struct {
	Channels *Registry
	// People looks up a user's full name for the message; nil leaves it empty.
	People func(ctx context.Context, username string) (fullName string)
}

var _ escalation.Sender = (*Sender)(nil)

// Send implements escalation.Sender.
func (s *Sender) Send(ctx context.Context, n *escalation.Notification, a *alert.Alert) (string, error) {
	m := Message{
		Alert:          AlertFrom(*a),
		Step:           n.Step + 1,
		Round:          n.Round + 1,
		Recipient:      Person{Username: n.Username},
		Contact:        Contact{Method: n.Method, To: n.To},
		IdempotencyKey: n.Key,
	}
	if s.People != nil {
		m.Recipient.FullName = s.People(ctx, n.Username)
	}
	r, err := s.Channels.Send(ctx, m)
	return r.ProviderID, err
}

// Permanent implements escalation.Sender.
func (s *Sender) Permanent(err error) bool { return IsPermanent(err) }
