package notify

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Channel delivers messages by one contact method. Implementations are safe for concurrent use.
type Channel interface {
	// Method is the contact method this channel serves (MethodEmail, MethodWebhook, …).
	Method() string

	// Send makes one attempt to deliver m to m.Contact.To. It returns a nil error when the provider
	// accepted the message, an error marked Permanent when no retry can succeed, and any other
	// error when a later attempt may (see RetryAfter). It honours ctx's deadline and cancellation.
	Send(ctx context.Context, m Message) (Receipt, error)
}

// Receipt is what a provider said when it accepted a message, kept on the delivery record.
type Receipt struct {
	ProviderID string // the provider's id for the message (SMTP queue id, Twilio SID, X-Request-Id), if any
	Detail     string // a short human-readable account, e.g. "HTTP 202 Accepted"
}

// ErrNoChannel is returned (marked Permanent) by Registry.Send for a contact method no channel serves.
var ErrNoChannel = errors.New("notify: no channel for this contact method")

// Registry maps contact methods to channels. It is built once and never changes, so it is safe for
// concurrent use.
type Registry struct {
	channels map[string]Channel
}

// NewRegistry returns a registry of the given channels. Two channels with the same method, a nil
// channel or an empty method are errors.
func NewRegistry(channels ...Channel) (*Registry, error) {
	r := &Registry{channels: make(map[string]Channel, len(channels))}
	for i, c := range channels {
		if c == nil {
			return nil, fmt.Errorf("notify: channel %d is nil", i)
		}
		m := c.Method()
		if m == "" {
			return nil, fmt.Errorf("notify: channel %d (%T) has an empty method", i, c)
		}
		if _, dup := r.channels[m]; dup {
			return nil, fmt.Errorf("notify: two channels for method %q", m)
		}
		r.channels[m] = c
	}
	return r, nil
}

// Channel returns the channel for method, if there is one.
func (r *Registry) Channel(method string) (Channel, bool) {
	c, ok := r.channels[method]
	return c, ok
}

// Methods returns the methods with a channel, sorted.
func (r *Registry) Methods() []string {
	out := make([]string, 0, len(r.channels))
	for m := range r.channels {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// Send hands m to the channel for m.Contact.Method. A method without a channel is a permanent error
// wrapping ErrNoChannel.
func (r *Registry) Send(ctx context.Context, m Message) (Receipt, error) {
	c, ok := r.channels[m.Contact.Method]
	if !ok {
		return Receipt{}, Permanent(fmt.Errorf("%w: %q", ErrNoChannel, m.Contact.Method))
	}
	return c.Send(ctx, m)
}
