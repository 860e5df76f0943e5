// Package escalation walks an alert through its escalation policy: step by step, each step paging the
// people its target names (a schedule's on-call users, a user, a team's members) through their
// notification rules, until someone acknowledges or closes the alert, and again from the first step
// when the policy repeats.
//
// Steps that are due fire in the transaction that makes them due: the first step of a new alert in
// the alert's create transaction (Begin), each later one with the step before it. A step due later
// is a row scheduled for the moment it is due, in the same transaction; every replica polls the due
// rows (an index range, ten times a second), claims one with a lease and fires it, deleting the row
// in the step's transaction (steps.go). A step re-reads the alert and does nothing when the alert was
// acknowledged, closed, snoozed, or restarted since the step was scheduled (its epoch is stale).
// Each page is a notification row with a unique key (alert, epoch, round, step, user, contact), so a
// retried step, a restarted process or a second replica never pages the same person twice for the
// same step.
//
// A page due at once does not wait for the job queue: it is committed leased to the process that
// made it, which sends it as soon as the transaction commits (pager.go). Should that process die
// first, the lease runs out and any replica's sweeper claims and sends it; a process that dies
// between sending and recording the send makes that one page go out twice, never more.
package escalation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
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
	// LeaseUntil is how long the process that is sending it owns it (zero: the job queue owns it).
	LeaseUntil time.Time
}

// Tx is what a step writes in its transaction.
type Tx interface {
	Lock(ctx context.Context, ref alert.Ref) (*alert.Alert, error)
	AddLog(ctx context.Context, e *alert.LogEntry) error
	Enqueue(ctx context.Context, job alert.Job, at time.Time) error
	// AddNotification stores n unless a notification with its Key exists; it reports whether it did.
	AddNotification(ctx context.Context, n *Notification) (bool, error)
	UpdateNotification(ctx context.Context, n *Notification) error
	// ScheduleStep stores a step to fire at at, unless that step (same alert, epoch, round and step)
	// is scheduled already.
	ScheduleStep(ctx context.Context, args StepArgs, at time.Time) error
	// DoneStep deletes a scheduled step: it commits with what the step did, so a step fires once.
	DoneStep(ctx context.Context, key string) error
	// Config reads the on-call configuration on the transaction's own connection: a transaction that
	// waited for a second connection of the pool it holds one of could starve the pool under load.
	Config() Config
}

// Store is the engine's database.
type Store interface {
	InTx(ctx context.Context, fn func(Tx) error) error
	Alert(ctx context.Context, id string) (*alert.Alert, error)
	Notification(ctx context.Context, id string) (*Notification, error)
	UpdateNotification(ctx context.Context, n *Notification) error
	// FinishNotifications stores the outcomes of several sends in one transaction.
	FinishNotifications(ctx context.Context, ns []*Notification) error
	// ExpiredLeases lists up to limit pending notifications whose lease ran out before now: their
	// process died while it owned them.
	ExpiredLeases(ctx context.Context, now time.Time, limit int) ([]*Notification, error)
	// Claim moves n's lease to until, unless someone else changed it since n was read.
	Claim(ctx context.Context, n *Notification, until time.Time) (bool, error)
	// ClaimDueSteps leases up to limit steps due at now that nobody holds until until, and returns them.
	ClaimDueSteps(ctx context.Context, now, until time.Time, limit int) ([]DueStep, error)
	// RetryStep counts a failed attempt at a step and holds it back until notBefore.
	RetryStep(ctx context.Context, key string, attempts int, notBefore time.Time) error
	// DropStep deletes a step that failed too often.
	DropStep(ctx context.Context, key string) error
}

// DueStep is a scheduled step as the store keeps it.
type DueStep struct {
	Key        string
	Args       StepArgs
	DueAt      time.Time
	LeaseUntil time.Time
	Attempts   int
}

// Key names a step: it is scheduled, and fires, once.
func (a StepArgs) Key() string {
	return fmt.Sprintf("%s/%d/%d/%d", a.AlertID, a.Epoch, a.Round, a.Step)
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
	send  Sender
	log   *slog.Logger
	now   func() time.Time
	opts  Options
	// pager sends pages due at once while Run runs; nil otherwise.
	pager atomic.Pointer[pager]
}

// NewEngine returns an engine; send delivers notifications. Pages due at once go out only while Run
// runs; before that (or without it) they are left to the job queue.
func NewEngine(store Store, send Sender, log *slog.Logger, opts Options) *Engine {
	opts.defaults()
	return &Engine{store: store, send: send, log: log, now: time.Now, opts: opts}
}

// live reports whether escalation should go on for a at epoch.
func live(a *alert.Alert, epoch int) bool {
	return a.Status == alert.StatusOpen && !a.Acknowledged && !a.Snoozed && a.EscalationEpoch == epoch
}

// lockLive reads the alert in the transaction, keeping other writers off it, and reports whether
// escalation should go on for it at epoch; ok is false (with a nil error) when it should not, or the
// alert is gone.
func lockLive(ctx context.Context, tx Tx, id string, epoch int) (*alert.Alert, bool, error) {
	a, err := tx.Lock(ctx, alert.Ref{Type: alert.ByID, Value: id})
	switch {
	case errors.Is(err, alert.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return a, live(a, epoch), nil
}

// Begin starts paging for a new alert inside the transaction that creates it, so that the first
// step costs no trip through the job queue: steps due at once fire in the same transaction, and
// their pages go out as soon as it commits, when the caller calls after. The alert service calls it
// (alert.Options.Escalation); atx must be the store's transaction, which is also an escalation Tx.
func (e *Engine) Begin(ctx context.Context, atx alert.Tx, a *alert.Alert) (after func(), err error) {
	tx, ok := atx.(Tx)
	if !ok {
		return nil, fmt.Errorf("escalation: transaction %T cannot record pages", atx)
	}
	var due []page
	if err := e.begin(ctx, tx, a, a.EscalationEpoch, a.CreatedAt, &due); err != nil {
		return nil, err
	}
	return func() { e.dispatch(due) }, nil
}

// Start begins (or restarts, after an unacknowledge or the end of a snooze) an alert's escalation
// from the job queue.
func (e *Engine) Start(ctx context.Context, args alert.EscalateArgs) error {
	var due []page
	err := e.store.InTx(ctx, func(tx Tx) error {
		due = due[:0]
		a, ok, err := lockLive(ctx, tx, args.AlertID, args.Epoch)
		if !ok {
			return err
		}
		// Delays count from the alert's creation (DESIGN.md), and from the restart when an unacknowledge
		// or the end of a snooze started escalation again.
		base := a.CreatedAt
		if args.Epoch > 0 {
			base = e.now()
		}
		return e.begin(ctx, tx, a, args.Epoch, base, &due)
	})
	if err == nil {
		e.dispatch(due)
	}
	return err
}

// begin routes a to its policy and fires the steps that are due, scheduling the first that is not.
func (e *Engine) begin(ctx context.Context, tx Tx, a *alert.Alert, epoch int, base time.Time, due *[]page) error {
	now := e.now()
	dir := NewDirectory(tx.Config())
	p, err := dir.Route(ctx, a)
	if errors.Is(err, ErrNoRoute) || (err == nil && len(p.Rules) == 0) {
		return tx.AddLog(ctx, &alert.LogEntry{AlertID: a.ID, Type: "escalation", Owner: "System", CreatedAt: now,
			Text: "No escalation: the alert names no team with an escalation policy, no user and no schedule"})
	}
	if err != nil {
		return fmt.Errorf("route alert %s: %w", a.ID, err)
	}
	name := p.Name
	if name == "" {
		name = "its responders"
	}
	if err := tx.AddLog(ctx, &alert.LogEntry{AlertID: a.ID, Type: "escalation", Owner: "System", CreatedAt: now,
		Text: "Escalation started with " + name}); err != nil {
		return err
	}
	return e.fireDue(ctx, tx, dir, a, StepArgs{AlertID: a.ID, Epoch: epoch, Step: 0, Base: base.UnixMilli(), Policy: p}, now, due)
}

// Step fires one scheduled step (see steps.go), and the steps after it that are due by now.
func (e *Engine) Step(ctx context.Context, args StepArgs) error {
	p := args.Policy
	if p == nil || args.Step >= len(p.Rules) {
		return nil // made without a route: nothing to do
	}
	var due []page
	err := e.store.InTx(ctx, func(tx Tx) error {
		due = due[:0]
		if err := tx.DoneStep(ctx, args.Key()); err != nil {
			return err
		}
		a, ok, err := lockLive(ctx, tx, args.AlertID, args.Epoch)
		if !ok {
			return err
		}
		now := e.now()
		dir := NewDirectory(tx.Config())
		if err := e.fire(ctx, tx, dir, a, args, now, &due); err != nil {
			return err
		}
		next, more := nextStep(args)
		if !more {
			return nil
		}
		return e.fireDue(ctx, tx, dir, a, next, now, &due)
	})
	if err == nil {
		e.dispatch(due)
	}
	return err
}

// fireDue fires args' step and the ones after it while they are due at now, and schedules the first
// that is not.
func (e *Engine) fireDue(ctx context.Context, tx Tx, dir Directory, a *alert.Alert, args StepArgs, now time.Time, due *[]page) error {
	for {
		at := time.UnixMilli(args.Base).Add(args.Policy.Rules[args.Step].Delay)
		if at.After(now) {
			return tx.ScheduleStep(ctx, args, at)
		}
		if err := e.fire(ctx, tx, dir, a, args, now, due); err != nil {
			return err
		}
		var more bool
		if args, more = nextStep(args); !more {
			return nil
		}
	}
}

// fire records a notification for every contact of every user the step's target names. Those due
// at once are leased to this process and added to due, to be sent when the transaction commits;
// later ones (a user's second contact after a delay) wait for the sweeper.
func (e *Engine) fire(ctx context.Context, tx Tx, dir Directory, a *alert.Alert, args StepArgs, now time.Time, due *[]page) error {
	rule := args.Policy.Rules[args.Step]
	users, err := dir.Resolve(ctx, rule.Target, now)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", rule.Target, err)
	}
	var paged []string
	for _, u := range users {
		contacts, err := dir.Contacts(ctx, u)
		if err != nil {
			e.log.Warn("a user on call cannot be notified", "alert", a.ID, "user", u, "err", err)
		}
		var methods []string
		for _, c := range contacts {
			n := &Notification{
				ID:      alert.NewID(),
				Key:     fmt.Sprintf("%s/%d/%d/%d/%s/%s/%s/%s", a.ID, args.Epoch, args.Round, args.Step, u, c.Method, c.To, c.Delay),
				AlertID: a.ID, Epoch: args.Epoch, Round: args.Round, Step: args.Step, Username: u, Method: c.Method, To: c.To,
				State: Pending, DueAt: now.Add(c.Delay), CreatedAt: now, UpdatedAt: now,
			}
			// Due at once: leased to this process, which sends it after the commit. Due later (a
			// contact after a delay), or with nobody here to send it: held back until due, when
			// the sweeper of any replica claims it.
			inline := c.Delay <= 0 && e.pager.Load() != nil
			if inline {
				n.LeaseUntil = now.Add(e.opts.Lease)
			} else {
				n.LeaseUntil = n.DueAt
			}
			created, err := tx.AddNotification(ctx, n)
			if err != nil {
				return err
			}
			if !created {
				continue
			}
			if inline {
				*due = append(*due, page{n: n, a: a})
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
	return tx.AddLog(ctx, &alert.LogEntry{AlertID: a.ID, Type: "escalation", Owner: "System", CreatedAt: now, Text: text})
}

// nextStep is the step after args: the policy's next rule, or the first rule of the next round.
func nextStep(args StepArgs) (StepArgs, bool) {
	p := args.Policy
	next := args
	switch {
	case args.Step+1 < len(p.Rules):
		next.Step++
	case args.Round < p.Repeat.Times && p.Repeat.After > 0:
		next.Round++
		next.Step = 0
		next.Base = time.UnixMilli(args.Base).Add(p.Repeat.After).UnixMilli()
	default:
		return StepArgs{}, false
	}
	return next, true
}
