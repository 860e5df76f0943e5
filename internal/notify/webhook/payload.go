package webhook

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/tocsin-dev/tocsin/internal/notify"
)

// SchemaVersion is the "version" of the payload this package sends. Fields may be added to version 1;
// none is removed or changes meaning without a new version.
const SchemaVersion = 1

// The values of Payload.Type.
const (
	TypePage = "alert.page" // a person is paged about an alert
	TypeTest = "alert.test" // a test notification (`tocsin notify test`); the alert is made up
)

// Payload is the JSON body of a webhook request, documented in the package comment. Receivers written
// in Go can decode into it. Every field is always present: strings may be empty, arrays and objects
// are never null.
type Payload struct {
	Version            int      `json:"version"`
	Type               string   `json:"type"`
	Alert              Alert    `json:"alert"`
	Recipient          Person   `json:"recipient"`
	Step               int      `json:"step"`
	Round              int      `json:"round"`
	PreviousRecipients []Person `json:"previousRecipients"`
	Links              Links    `json:"links"`
	IdempotencyKey     string   `json:"idempotencyKey"`
}

// Alert is the alert in a Payload. TinyID is a decimal string, as in the Opsgenie-compatible API.
type Alert struct {
	ID             string            `json:"id"`
	TinyID         string            `json:"tinyId"`
	Alias          string            `json:"alias"`
	Message        string            `json:"message"`
	Description    string            `json:"description"`
	Priority       string            `json:"priority"`
	Status         string            `json:"status"`
	Acknowledged   bool              `json:"acknowledged"`
	Source         string            `json:"source"`
	Entity         string            `json:"entity"`
	Tags           []string          `json:"tags"`
	Details        map[string]string `json:"details"`
	Count          int               `json:"count"`
	CreatedAt      time.Time         `json:"createdAt"`
	LastOccurredAt time.Time         `json:"lastOccurredAt"`
	Integration    Integration       `json:"integration"`
}

// Integration names the integration that created the alert.
type Integration struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Person is a user: the unique username and the name to show.
type Person struct {
	Username string `json:"username"`
	FullName string `json:"fullName"`
}

// Links are URLs about the alert; each may be empty.
type Links struct {
	Alert       string `json:"alert"`
	Acknowledge string `json:"acknowledge"`
	Close       string `json:"close"`
}

// NewPayload returns the payload for m.
func NewPayload(m notify.Message) Payload {
	a := m.Alert
	p := Payload{
		Version: SchemaVersion,
		Type:    TypePage,
		Alert: Alert{
			ID:             a.ID,
			TinyID:         strconv.FormatInt(a.TinyID, 10),
			Alias:          a.Alias,
			Message:        a.Message,
			Description:    a.Description,
			Priority:       a.Priority,
			Status:         a.Status,
			Acknowledged:   a.Acknowledged,
			Source:         a.Source,
			Entity:         a.Entity,
			Tags:           make([]string, 0, len(a.Tags)),
			Details:        make(map[string]string, len(a.Details)),
			Count:          a.Count,
			CreatedAt:      a.CreatedAt.UTC(),
			LastOccurredAt: a.LastOccurredAt.UTC(),
			Integration:    Integration{Name: a.Integration.Name, Type: a.Integration.Type},
		},
		Recipient:          person(m.Recipient),
		Step:               m.Step,
		Round:              m.Round,
		PreviousRecipients: make([]Person, 0, len(m.PreviousRecipients)),
		Links:              Links{Alert: m.Links.Alert, Acknowledge: m.Links.Ack, Close: m.Links.Close},
		IdempotencyKey:     m.IdempotencyKey,
	}
	if m.Test {
		p.Type = TypeTest
	}
	p.Alert.Tags = append(p.Alert.Tags, a.Tags...)
	for k, v := range a.Details {
		p.Alert.Details[k] = v
	}
	for _, r := range m.PreviousRecipients {
		p.PreviousRecipients = append(p.PreviousRecipients, person(r))
	}
	return p
}

func person(p notify.Person) Person { return Person{Username: p.Username, FullName: p.FullName} }

// Body returns the exact bytes POSTed for m: the compact JSON of NewPayload(m), without HTML escaping
// and without a trailing newline. Object keys appear in the order of the schema; details are sorted by
// key.
func Body(m notify.Message) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(NewPayload(m)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
