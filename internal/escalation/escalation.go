// Package escalation walks an alert through its escalation policy: step by step, each step paging the
// people its target names (a schedule's on-call users, a user, a team's members) through their
// notification rules, until someone acknowledges or closes the alert, and again from the first step
// when the policy repeats.
//
// Every step is a durable job scheduled for the moment it is due, enqueued in the same transaction as
// the step before it. Each job re-reads the alert and does nothing when the alert was acknowledged,
// closed, snoozed, or restarted since the job was made (its epoch is stale). Each page is a
// notification row with a unique key (alert, epoch, round, step, user, contact), so a retried job, a
// restarted process or a second replica never pages the same person twice for the same step.
package escalation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/oncall"
)

// Target is who one rule pages: a schedule's on-call users, a user, or a team's members.
type Target = oncall.Target

// Rule is one step of a policy: page Target Delay after the escalation (re)started.
type Rule struct {
	Delay  time.Duration `json:"delay"`
	Target Target        `json:"target"`
}

// Policy is what pages one alert. An alert routed to users or schedules directly (Opsgenie
// responders) gets a policy made up on the spot, with Name "".
type Policy struct {
	Name   string `json:"name"`
	Rules  []Rule `json:"rules"`
	Repeat struct {
		After time.Duration `json:"after"` // the next round starts this long after the previous one started
		Times int           `json:"times"` // rounds after the first
	} `json:"repeat"`
}

// Contact is one way to reach a user, and how long after the step pages the user it is used.
type Contact struct {
	Method string
	To     string
	Delay  time.Duration
}

// Directory answers the questions of who: which policy pages an alert, who a target is at a time, and
// how to reach a user. The store implements it over the on-call configuration.
type Directory interface {
	// Route returns the policy that pages the alert, or ErrNoRoute.
	Route(ctx context.Context, a *alert.Alert) (*Policy, error)
	// Resolve returns the usernames a target names at time at.
	Resolve(ctx context.Context, t Target, at time.Time) ([]string, error)
	// Contacts returns how to reach a user, in the order of the user's notification rules.
	Contacts(ctx context.Context, username string) ([]Contact, error)
}

// ErrNoRoute says that no escalation policy, user or schedule is responsible for an alert.
var ErrNoRoute = errors.New("no escalation route")

// State is where a notification is.
type State string

// The states of a notification.
const (
	Pending   State = "pending"
	Sent      State = "sent"
	Failed    State = "failed"
	Cancelled State = "cancelled" // the alert was acknowledged or closed before it was due
)

// Notification is one page: user U through contact C for step S of alert A.
type Notification struct {
	ID         string
	Key        string
	AlertID    string
	Epoch      int
	Round      int
	Step       int
	Username   string
	Method     string
	To         string
	State      State
	Error      string
	Attempts   int
	ProviderID string
	DueAt      time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	SentAt     time.Time
}

// Tx is what a step writes in its transaction.
type Tx interface {
	Lock(ctx context.Context, ref alert.Ref) (*alert.Alert, error)
	AddLog(ctx context.Context, e *alert.LogEntry) error
	Enqueue(ctx context.Context, job alert.Job, at time.Time) error
	// AddNotification stores n unless a notification with its Key exists; it reports whether it did.
	AddNotification(ctx context.Context, n *Notification) (bool, error)
}

// Store is the engine's database.
type Store interface {
	InTx(ctx context.Context, fn func(Tx) error) error
	Alert(ctx context.Context, id string) (*alert.Alert, error)
	Notification(ctx context.Context, id string) (*Notification, error)
	UpdateNotification(ctx context.Context, n *Notification) error
}

// StepArgs fires one step of an alert's escalation.
type StepArgs struct {
	AlertID string `json:"alertId"`
	Epoch   int    `json:"epoch"`
	Round   int    `json:"round"`
	Step    int    `json:"step"`
	// Base is when this round started, Unix milliseconds; a rule's delay counts from it.
	Base int64 `json:"base"`
	// Policy is the route as it was when the escalation started: an escalation in flight keeps its
	// steps when a policy is edited or the alert gets another responder, so no step is skipped or
	// repeated. Who a step's target names is still worked out when the step fires.
	Policy *Policy `json:"policy,omitempty"`
}

// Kind names the job for the queue.
func (StepArgs) Kind() string { return "escalation.step" }

// Unique asks the queue to refuse a second job with the same arguments.
func (StepArgs) Unique() bool { return true }

// NotifyArgs sends one notification.
type NotifyArgs struct {
	NotificationID string `json:"notificationId"`
}

// Kind names the job for the queue.
func (NotifyArgs) Kind() string { return "escalation.notify" }

// Unique asks the queue to refuse a second job with the same arguments.
func (NotifyArgs) Unique() bool { return true }

// Engine runs escalations.
type Engine struct {
	store Store
	dir   Directory
	send  Sender
	log   *slog.Logger
	now   func() time.Time
}

// NewEngine returns an engine; send delivers notifications.
func NewEngine(store Store, dir Directory, send Sender, log *slog.Logger) *Engine {
	return &Engine{store: store, dir: dir, send: send, log: log, now: time.Now}
}

// live reports whether escalation should go on for a at epoch.
func live(a *alert.Alert, epoch int) bool {
	return a.Status == alert.StatusOpen && !a.Acknowledged && !a.Snoozed && a.EscalationEpoch == epoch
}

// loadLive reads the alert and reports whether escalation should go on for it at epoch; ok is false
// (with a nil error) when it should not, or the alert is gone.
func (e *Engine) loadLive(ctx context.Context, id string, epoch int) (a *alert.Alert, ok bool, err error) {
	a, err = e.store.Alert(ctx, id)
	return checkLive(a, err, epoch)
}

// lockLive is loadLive inside the transaction, keeping other writers off the alert.
func lockLive(ctx context.Context, tx Tx, id string, epoch int) (*alert.Alert, bool, error) {
	a, err := tx.Lock(ctx, alert.Ref{Type: alert.ByID, Value: id})
	return checkLive(a, err, epoch)
}

func checkLive(a *alert.Alert, err error, epoch int) (*alert.Alert, bool, error) {
	switch {
	case errors.Is(err, alert.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return a, live(a, epoch), nil
}

// Start begins (or restarts) an alert's escalation: it schedules the first step of its policy.
//
// Who to page is worked out before the transaction opens: the directory reads the database too, and
// a transaction that waited for a second connection could starve the pool under load.
func (e *Engine) Start(ctx context.Context, args alert.EscalateArgs) error {
	a, ok, err := e.loadLive(ctx, args.AlertID, args.Epoch)
	if !ok {
		return err
	}
	p, err := e.dir.Route(ctx, a)
	noRoute := errors.Is(err, ErrNoRoute) || (err == nil && len(p.Rules) == 0)
	if err != nil && !noRoute {
		return fmt.Errorf("route alert %s: %w", a.ID, err)
	}
	return e.store.InTx(ctx, func(tx Tx) error {
		a, ok, err := lockLive(ctx, tx, args.AlertID, args.Epoch)
		if !ok {
			return err
		}
		now := e.now()
		if noRoute {
			return tx.AddLog(ctx, &alert.LogEntry{AlertID: a.ID, Type: "escalation", Owner: "System", CreatedAt: now,
				Text: "No escalation: the alert names no team with an escalation policy, no user and no schedule"})
		}
		name := p.Name
		if name == "" {
			name = "its responders"
		}
		if err := tx.AddLog(ctx, &alert.LogEntry{AlertID: a.ID, Type: "escalation", Owner: "System", CreatedAt: now,
			Text: "Escalation started with " + name}); err != nil {
			return err
		}
		// Delays count from the alert's creation (DESIGN.md), and from the restart when an unacknowledge
		// or the end of a snooze started escalation again.
		base := a.CreatedAt
		if args.Epoch > 0 {
			base = now
		}
		return tx.Enqueue(ctx, StepArgs{AlertID: a.ID, Epoch: args.Epoch, Step: 0, Base: base.UnixMilli(), Policy: p}, base.Add(p.Rules[0].Delay))
	})
}

// Step fires one step: it records a notification for every contact of every user the step's target
// names, enqueues their delivery, and schedules the next step (or the next round). As in Start, the
// reads come first and the transaction only re-checks the alert and writes.
func (e *Engine) Step(ctx context.Context, args StepArgs) error {
	a, ok, err := e.loadLive(ctx, args.AlertID, args.Epoch)
	if !ok {
		return err
	}
	p := args.Policy
	if p == nil {
		return nil // made without a route: nothing to do
	}
	if args.Step >= len(p.Rules) {
		return nil
	}
	now := e.now()
	rule := p.Rules[args.Step]
	users, err := e.dir.Resolve(ctx, rule.Target, now)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", rule.Target, err)
	}
	contacts := make(map[string][]Contact, len(users))
	for _, u := range users {
		if contacts[u], err = e.dir.Contacts(ctx, u); err != nil {
			e.log.Warn("a user on call cannot be notified", "alert", a.ID, "user", u, "err", err)
		}
	}
	return e.store.InTx(ctx, func(tx Tx) error {
		a, ok, err := lockLive(ctx, tx, args.AlertID, args.Epoch)
		if !ok {
			return err
		}
		var paged []string
		for _, u := range users {
			var methods []string
			for _, c := range contacts[u] {
				n := &Notification{
					ID:      alert.NewID(),
					Key:     fmt.Sprintf("%s/%d/%d/%d/%s/%s/%s/%s", a.ID, args.Epoch, args.Round, args.Step, u, c.Method, c.To, c.Delay),
					AlertID: a.ID, Epoch: args.Epoch, Round: args.Round, Step: args.Step, Username: u, Method: c.Method, To: c.To,
					State: Pending, DueAt: now.Add(c.Delay), CreatedAt: now, UpdatedAt: now,
				}
				created, err := tx.AddNotification(ctx, n)
				if err != nil {
					return err
				}
				if !created {
					continue
				}
				if err := tx.Enqueue(ctx, NotifyArgs{NotificationID: n.ID}, n.DueAt); err != nil {
					return err
				}
				methods = append(methods, c.Method)
			}
			if len(methods) > 0 {
				paged = append(paged, u+" ("+strings.Join(methods, ", ")+")")
			}
		}
		text := fmt.Sprintf("Escalation step %d", args.Step+1)
		if args.Round > 0 {
			text += fmt.Sprintf(", round %d", args.Round+1)
		}
		if len(paged) == 0 {
			text += fmt.Sprintf(": %s has nobody to page now", rule.Target)
		} else {
			text += fmt.Sprintf(": paging %s via %s", strings.Join(paged, ", "), rule.Target)
		}
		if err := tx.AddLog(ctx, &alert.LogEntry{AlertID: a.ID, Type: "escalation", Owner: "System", CreatedAt: now, Text: text}); err != nil {
			return err
		}
		return e.scheduleNext(ctx, tx, p, args)
	})
}

func (e *Engine) scheduleNext(ctx context.Context, tx Tx, p *Policy, args StepArgs) error {
	base := time.UnixMilli(args.Base)
	next := args
	switch {
	case args.Step+1 < len(p.Rules):
		next.Step++
	case args.Round < p.Repeat.Times && p.Repeat.After > 0:
		next.Round++
		next.Step = 0
		base = base.Add(p.Repeat.After)
		next.Base = base.UnixMilli()
	default:
		return nil
	}
	return tx.Enqueue(ctx, next, base.Add(p.Rules[next.Step].Delay))
}
