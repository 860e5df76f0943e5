package alert

import (
	"context"
	"errors"
	"time"
)

// Store is what the Service needs from the database. internal/store implements it for SQLite and
// PostgreSQL; it is defined here so that the rules never depend on a driver.
type Store interface {
	// InTx runs fn in one transaction and commits when fn returns nil. Everything fn writes, including
	// jobs it enqueues, commits together or not at all.
	InTx(ctx context.Context, fn func(Tx) error) error

	Get(ctx context.Context, ref Ref) (*Alert, error)
	List(ctx context.Context, opts ListOptions) ([]*Alert, error)
	Count(ctx context.Context, q Query) (int, error)
	Notes(ctx context.Context, alertID string, p Page) ([]Note, error)
	Logs(ctx context.Context, alertID string, p Page) ([]LogEntry, error)
	RequestStatus(ctx context.Context, id string) (*RequestStatus, error)
}

// Tx is the part of a transaction the Service writes through.
type Tx interface {
	// Lock reads one alert and keeps other writers off it until the transaction ends.
	Lock(ctx context.Context, ref Ref) (*Alert, error)
	// OpenByAlias is Lock for the open alert with that alias; ErrNotFound when there is none.
	OpenByAlias(ctx context.Context, alias string) (*Alert, error)
	// LatestByAlias reads the most recently created alert with that alias, open or closed;
	// ErrNotFound when there is none.
	LatestByAlias(ctx context.Context, alias string) (*Alert, error)
	// Insert stores a new alert and sets its TinyID. It returns ErrAliasTaken when another open alert
	// with the same alias was committed first (a race between two replicas).
	Insert(ctx context.Context, a *Alert) error
	Update(ctx context.Context, a *Alert) error
	Delete(ctx context.Context, id string) error
	AddNote(ctx context.Context, n *Note) error
	AddLog(ctx context.Context, e *LogEntry) error
	SaveRequest(ctx context.Context, r *RequestStatus) error
	// Remember records that the integration delivered the message with this key and reports whether
	// it is the first time; a redelivered message's transaction then changes nothing.
	Remember(ctx context.Context, integrationID, key string, at time.Time) (fresh bool, err error)
	// Enqueue schedules a job to run at (or soon after) at, committed with the transaction.
	Enqueue(ctx context.Context, job Job, at time.Time) error
}

// Job is a River job's arguments: a kind name and a JSON-encodable value.
type Job interface {
	Kind() string
}

// ErrAliasTaken reports that an open alert with the alias was created concurrently; Create retries.
var ErrAliasTaken = errors.New("an open alert with this alias already exists")

// ListOptions selects and orders a page of alerts.
type ListOptions struct {
	Query  Query
	Offset int
	Limit  int
	Sort   SortField
	Order  Order
}

// SortField is a field alerts can be listed by.
type SortField string

// The sortable fields, named as in Opsgenie's API.
const (
	SortCreatedAt      SortField = "createdAt"
	SortUpdatedAt      SortField = "updatedAt"
	SortLastOccurredAt SortField = "lastOccurredAt"
	SortTinyID         SortField = "tinyId"
	SortPriority       SortField = "priority"
	SortCount          SortField = "count"
	SortMessage        SortField = "message"
	SortStatus         SortField = "status"
	SortAlias          SortField = "alias"
)

// Order is asc or desc.
type Order string

// The two orders.
const (
	Asc  Order = "asc"
	Desc Order = "desc"
)

// Page selects entries of a note or log list: those after the entry with ID After (in the list's order),
// at most Limit of them.
type Page struct {
	After int64
	Limit int
	Desc  bool
}
