package notify

import (
	"maps"
	"slices"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
)

// The contact methods tocsin knows. A Channel's Method is one of these, or a new name for a new kind
// of channel; it is the same string as a contact's method in the on-call configuration.
const (
	MethodEmail   = "email"
	MethodSMS     = "sms"
	MethodVoice   = "voice"
	MethodWebhook = "webhook"
)

// Message is everything a channel needs to page one person about one alert, as plain data.
type Message struct {
	// Alert is the alert as it was when the notification was decided.
	Alert Alert

	// Step is the 1-based number of the escalation rule that caused this page, and Round the 1-based
	// pass through the policy (2 and up are repeats). Both are 0 for pages outside an escalation,
	// such as a test notification.
	Step  int
	Round int

	// PreviousRecipients are the people paged for this alert before this step, oldest first, so a
	// re-page can say who was paged before.
	PreviousRecipients []Person

	// Recipient is the person being paged, and Contact the address this page goes to.
	Recipient Person
	Contact   Contact

	// Links are URLs a person can follow; any of them may be empty.
	Links Links

	// IdempotencyKey identifies this page (alert, step, round, person, contact). It stays the same
	// across retries; channels pass it to providers that support one.
	IdempotencyKey string

	// Test marks a test notification (`tocsin notify test`), which channels should label as such.
	Test bool
}

// Alert is the part of an alert a notification shows.
type Alert struct {
	ID             string
	TinyID         int64
	Alias          string
	Message        string
	Description    string
	Priority       string // P1 (most urgent) to P5
	Status         string // open or closed
	Acknowledged   bool
	Source         string
	Entity         string
	Tags           []string
	Details        map[string]string
	Count          int
	CreatedAt      time.Time
	LastOccurredAt time.Time
	Integration    Integration
}

// Integration names the integration that created an alert; both fields are empty for alerts made
// another way.
type Integration struct {
	Name string
	Type string // api, amazonsecurityhub, webhook, …
}

// Person names a user: the unique username (often an email address) and the name to show.
type Person struct {
	Username string
	FullName string
}

// Contact is where a page goes: the contact method (email, sms, voice, webhook, …) and the address in
// that method's terms (an email address, an E.164 number, a URL).
type Contact struct {
	Method string
	To     string
}

// Links are the URLs a page offers. Alert opens the alert in tocsin; Ack and Close act on it (signed,
// expiring links, or empty when the channel should offer no action); Finding opens the Security Hub
// finding in the AWS console (empty for alerts from elsewhere).
type Links struct {
	Alert   string
	Ack     string
	Close   string
	Finding string
}

// AlertFrom copies the fields a notification shows out of a, sharing no slice or map with it.
func AlertFrom(a alert.Alert) Alert {
	out := Alert{
		ID:             a.ID,
		TinyID:         a.TinyID,
		Alias:          a.Alias,
		Message:        a.Message,
		Description:    a.Description,
		Priority:       string(a.Priority),
		Status:         string(a.Status),
		Acknowledged:   a.Acknowledged,
		Source:         a.Source,
		Entity:         a.Entity,
		Tags:           slices.Clone(a.Tags),
		Details:        maps.Clone(a.Details),
		Count:          a.Count,
		CreatedAt:      a.CreatedAt,
		LastOccurredAt: a.LastOccurredAt,
		Integration:    Integration{Name: a.Integration.Name, Type: a.Integration.Type},
	}
	return out
}
