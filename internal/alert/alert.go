// Package alert holds tocsin's central domain: an alert, its notes and activity log, and the rules of
// its lifecycle. Every entry point (the Opsgenie-compatible API, Security Hub intake, email links, the
// UI) changes alerts only through Service, so "where does an acknowledge happen" is Service.Acknowledge.
//
// The lifecycle follows Opsgenie: status is open or closed; acknowledged and snoozed are flags on an open
// alert; creating an alert whose alias matches an OPEN alert deduplicates onto it (count+1) instead of
// making a new one, and once that alert is closed the same alias makes a fresh alert.
package alert

import (
	"time"
)

// Priority is Opsgenie's P1 (highest) to P5.
type Priority string

// The five priorities, P1 the most urgent.
const (
	P1 Priority = "P1"
	P2 Priority = "P2"
	P3 Priority = "P3"
	P4 Priority = "P4"
	P5 Priority = "P5"
)

// DefaultPriority is what an alert gets when its creator names none, as in Opsgenie.
const DefaultPriority = P3

// Valid reports whether p is one of P1..P5.
func (p Priority) Valid() bool {
	switch p {
	case P1, P2, P3, P4, P5:
		return true
	}
	return false
}

// Status is open or closed; acknowledgement and snoozing are separate flags, as in Opsgenie.
type Status string

// The two statuses.
const (
	StatusOpen   Status = "open"
	StatusClosed Status = "closed"
)

// Limits taken from Opsgenie's Alert API documentation. Text beyond a limit is cut (as Opsgenie and
// Alertmanager do for messages); counts beyond a limit are a validation error, because silently dropping
// a tag or an action would change what the alert means.
const (
	MaxMessageRunes     = 130
	MaxAliasRunes       = 512
	MaxDescriptionRunes = 15000
	MaxTags             = 20
	MaxTagRunes         = 50
	MaxActions          = 10
	MaxActionRunes      = 50
	MaxEntityRunes      = 512
	MaxSourceRunes      = 100
	MaxUserRunes        = 100
	MaxNoteRunes        = 25000
	MaxDetailKeyRunes   = 8000
	MaxDetailsTotal     = 8000
	MaxResponders       = 50
)

// Responder is a team, user, escalation or schedule that an alert is routed to, named by id or by name
// (username for users), exactly as Opsgenie's API accepts it.
type Responder struct {
	Type     string `json:"type"`
	ID       string `json:"id,omitempty"`
	Name     string `json:"name,omitempty"`
	Username string `json:"username,omitempty"`
}

// Report holds the timings Opsgenie reports for an alert: milliseconds from creation to the first
// acknowledgement and to the close, and who did them.
type Report struct {
	AckTime        int64  `json:"ackTime,omitempty"`
	CloseTime      int64  `json:"closeTime,omitempty"`
	AcknowledgedBy string `json:"acknowledgedBy,omitempty"`
	ClosedBy       string `json:"closedBy,omitempty"`
}

// Alert is one alert. TinyID is a short, per-installation increasing number people can say aloud.
type Alert struct {
	ID             string
	TinyID         int64
	Alias          string
	Message        string
	Description    string
	Responders     []Responder
	VisibleTo      []Responder
	Actions        []string
	Tags           []string
	Details        map[string]string
	Entity         string
	Source         string
	Priority       Priority
	Owner          string
	Status         Status
	Acknowledged   bool
	Seen           bool
	Snoozed        bool
	SnoozedUntil   time.Time // zero unless snoozed
	Count          int
	CreatedAt      time.Time
	UpdatedAt      time.Time
	LastOccurredAt time.Time
	Integration    IntegrationRef
	Report         Report
	// EscalationEpoch counts the times escalation had to start over or stop: it goes up on
	// unacknowledge, snooze and wake. A step job made for an older epoch does nothing, so a paused or
	// restarted escalation never fires a stale step.
	EscalationEpoch int
	// SourceVersion is the newest version of the source's record that this alert has seen (for
	// Security Hub, the finding's UpdatedAt in Unix milliseconds); 0 when the source has none. See
	// CreateRequest.SourceVersion.
	SourceVersion int64
}

// IntegrationRef names the integration that created an alert.
type IntegrationRef struct {
	ID   string
	Name string
	Type string
}

// Note is a free-text note on an alert.
type Note struct {
	ID        int64
	AlertID   string
	Text      string
	Owner     string
	CreatedAt time.Time
}

// LogEntry is one line of an alert's activity log: what happened, who did it, when.
type LogEntry struct {
	ID        int64
	AlertID   string
	Type      string // Opsgenie's log types: system, alertCreate, alertAck, alertClose, alertNote, …
	Text      string
	Owner     string
	CreatedAt time.Time
}

// ActorKind says what kind of party changed an alert.
type ActorKind string

// The kinds of actor.
const (
	ActorIntegration ActorKind = "integration"
	ActorUser        ActorKind = "user"
	ActorSystem      ActorKind = "system"
)

// Actor is who asked for a change. For an API call it is the integration whose key was used; the
// request's optional "user" field names the person on whose behalf it acted.
type Actor struct {
	Kind ActorKind
	ID   string
	Name string
	Type string // for integrations: api, amazonsecurityhub, …
}

// System is the actor for changes tocsin makes itself (a snooze ending, a job).
var System = Actor{Kind: ActorSystem, Name: "System"}

// Origin carries who asked for a change and the fields Opsgenie lets every action carry.
type Origin struct {
	Actor     Actor
	RequestID string // recorded as the request status when set
	User      string // display name the caller gave ("user" in the API); shown as owner of log lines
	Source    string
	Note      string // an extra note to add along with the action
}

// owner is the name written into the activity log for this origin.
func (o Origin) owner() string {
	if o.User != "" {
		return cut(o.User, MaxUserRunes)
	}
	if o.Actor.Name != "" {
		return o.Actor.Name
	}
	return string(o.Actor.Kind)
}

// IdentifierType says how a Ref names an alert.
type IdentifierType string

// The identifier types of Opsgenie's API.
const (
	ByID    IdentifierType = "id"
	ByTiny  IdentifierType = "tiny"
	ByAlias IdentifierType = "alias"
)

// Ref names one alert by id, tiny id or alias. An alias names the open alert with that alias, or, when
// none is open, the most recently created one.
type Ref struct {
	Type  IdentifierType
	Value string
}

// RequestStatus is the outcome of one API request, kept so that clients of Opsgenie's asynchronous API
// can read it back by request id.
type RequestStatus struct {
	ID            string
	Action        string
	AlertID       string
	Alias         string
	IntegrationID string
	Success       bool
	Status        string
	ProcessedAt   time.Time
}
