// Package jobs runs tocsin's durable jobs on River: the queue lives in the same database as the alerts,
// so a job is inserted in the same transaction as the change that causes it and both commit or neither
// does. Every worker re-reads the state it acts on, so a job that runs twice (after a crash, or on two
// replicas) does no harm.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/escalation"
	"github.com/tocsin-dev/tocsin/internal/notify"
	"github.com/tocsin-dev/tocsin/internal/securityhub/writeback"
	"github.com/tocsin-dev/tocsin/internal/store"
)

// Queue is the River client with tocsin's workers.
type Queue struct {
	client *river.Client[*sql.Tx]
	db     *store.DB
	// handlers are set by Start; workers only run after it, so they always see them.
	handlers atomic.Pointer[Handlers]
	log      *slog.Logger
	opts     Options
}

// Options tune the queue.
type Options struct {
	// RequestRetention is how long request statuses are kept before the prune job deletes them.
	RequestRetention time.Duration
	// MessageRetention is how long intake message ids are remembered to drop redeliveries. SNS stops
	// retrying an HTTPS delivery within hours; a week is a wide margin.
	MessageRetention time.Duration
	// PruneEvery is how often the prune job runs.
	PruneEvery time.Duration
	// Workers is how many jobs run at once.
	Workers int
	// WriteBackWorkers is how many Security Hub write-backs wait for their batch at once.
	WriteBackWorkers int
}

// New applies River's migrations to db and makes a queue over it. It does not work jobs until Start.
func New(ctx context.Context, db *store.DB, log *slog.Logger, opts Options) (*Queue, error) {
	if opts.RequestRetention <= 0 {
		opts.RequestRetention = 24 * time.Hour
	}
	if opts.MessageRetention <= 0 {
		opts.MessageRetention = 7 * 24 * time.Hour
	}
	if opts.PruneEvery <= 0 {
		opts.PruneEvery = time.Hour
	}
	if opts.Workers <= 0 {
		opts.Workers = 50
	}
	if opts.WriteBackWorkers <= 0 {
		opts.WriteBackWorkers = 500
	}
	var driver riverdriver.Driver[*sql.Tx]
	switch db.Dialect() {
	case store.SQLite:
		driver = riversqlite.New(db.SQL())
	case store.Postgres:
		// database/sql for everything, so the alert change and its jobs share one *sql.Tx; the native
		// pool only LISTENs, so new jobs are picked up at once instead of at the next poll.
		driver = riverdatabasesql.NewWithPgxListener(db.SQL(), db.PgxPool())
	default:
		return nil, fmt.Errorf("jobs: unsupported database %q", db.Dialect())
	}
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: quiet(log)})
	if err != nil {
		return nil, fmt.Errorf("jobs: migrator: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("jobs: migrate River tables: %w", err)
	}

	q := &Queue{db: db, log: log, opts: opts}
	workers := river.NewWorkers()
	river.AddWorker(workers, &wakeWorker{q: q})
	river.AddWorker(workers, &pruneWorker{q: q})
	river.AddWorker(workers, &escalateWorker{q: q})
	river.AddWorker(workers, &stepWorker{q: q})
	river.AddWorker(workers, &notifyWorker{q: q})
	river.AddWorker(workers, &writebackWorker{q: q})

	client, err := river.NewClient(driver, &river.Config{
		Logger:  quiet(log),
		Workers: workers,
		// Jobs due in the future are inserted "available" with their scheduled_at (see punctual), so
		// the producer's fetch picks them up on its next poll after they are due: this is how often.
		FetchPollInterval: 200 * time.Millisecond,
		// River fetches at most Workers jobs per fetch and waits FetchCooldown between fetches; its
		// default (100 ms) caps a queue at ten fetches a second, far too few for a storm of steps.
		FetchCooldown: 5 * time.Millisecond,
		// A job that was running when its process died (kill -9, a lost machine) is stuck "running"
		// until River rescues it; its default, an hour, would hold up an escalation step that long.
		// Every job here is safe to run twice and finishes well within this.
		RescueStuckJobsAfter: 90 * time.Second,
		JobInsertMiddleware:  []rivertype.JobInsertMiddleware{&punctual{}},
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: opts.Workers},
			// A write-back job mostly waits: for its batch to fill, then for the AWS rate limit. Many
			// of them at once is what lets one call carry 100 findings.
			writeback.QueueName: {MaxWorkers: opts.WriteBackWorkers},
		},
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(opts.PruneEvery), func() (river.JobArgs, *river.InsertOpts) {
				return PruneRequestsArgs{}, nil
			}, &river.PeriodicJobOpts{RunOnStart: true}),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: client: %w", err)
	}
	q.client = client
	return q, nil
}

// quiet keeps River's own info-level chatter out of tocsin's log; warnings and errors still show.
func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{Handler: log.Handler(), min: slog.LevelWarn})
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// punctual inserts jobs scheduled for later as "available" (keeping their scheduled_at). River's
// producer only fetches available jobs whose scheduled_at has passed, so such a job runs within one
// fetch poll (200 ms) of its time; left "scheduled", it would wait for River's scheduler, which moves
// due jobs only every five seconds. An escalation step must fire within a second of being due.
type punctual struct{ river.MiddlewareDefaults }

func (*punctual) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams, next func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	for _, p := range params {
		if p.State == rivertype.JobStateScheduled {
			p.State = rivertype.JobStateAvailable
		}
	}
	return next(ctx)
}

// queuedJob is a job that runs in a queue of its own.
type queuedJob interface{ Queue() string }

// uniqueJob is a job whose identical copies the queue must refuse (escalation steps, notifications).
type uniqueJob interface{ Unique() bool }

// InsertTx enqueues job in tx to run at at (now or later); it implements store.Inserter.
func (q *Queue) InsertTx(ctx context.Context, tx *sql.Tx, job alert.Job, at time.Time) error {
	opts := &river.InsertOpts{ScheduledAt: at}
	if u, ok := job.(uniqueJob); ok && u.Unique() {
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true}
	}
	if qn, ok := job.(queuedJob); ok {
		opts.Queue = qn.Queue()
	}
	if _, err := q.client.InsertTx(ctx, tx, job, opts); err != nil {
		return fmt.Errorf("enqueue %s: %w", job.Kind(), err)
	}
	return nil
}

// Handlers are what the jobs act through.
type Handlers struct {
	Alerts     *alert.Service
	Escalation *escalation.Engine
	// WriteBack writes changes back to Security Hub findings; nil drops them.
	WriteBack *writeback.Writer
}

// Start begins working jobs.
func (q *Queue) Start(ctx context.Context, h Handlers) error {
	if h.Alerts == nil || h.Escalation == nil {
		return errors.New("jobs: Start needs the alert service and the escalation engine")
	}
	q.handlers.Store(&h)
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// Stop waits for running jobs to finish (until ctx ends) and stops fetching new ones.
func (q *Queue) Stop(ctx context.Context) error {
	return q.client.Stop(ctx)
}

// Depth counts jobs by state (available, scheduled, retryable, running, …) for metrics.
func (q *Queue) Depth(ctx context.Context) (map[string]int, error) {
	rows, err := q.db.SQL().QueryContext(ctx, `SELECT state, COUNT(*) FROM river_job WHERE state IN ('available', 'scheduled', 'retryable', 'running') GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{"available": 0, "scheduled": 0, "retryable": 0, "running": 0}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		out[state] = n
	}
	return out, rows.Err()
}

// wakeWorker ends snoozes.
type wakeWorker struct {
	river.WorkerDefaults[alert.WakeArgs]
	q *Queue
}

func (w *wakeWorker) Work(ctx context.Context, job *river.Job[alert.WakeArgs]) error {
	return w.q.handlers.Load().Alerts.Wake(ctx, job.Args.AlertID, job.Args.Until)
}

// escalateWorker starts or restarts an alert's escalation.
type escalateWorker struct {
	river.WorkerDefaults[alert.EscalateArgs]
	q *Queue
}

func (w *escalateWorker) Work(ctx context.Context, job *river.Job[alert.EscalateArgs]) error {
	return w.q.handlers.Load().Escalation.Start(ctx, job.Args)
}

// stepWorker fires one escalation step.
type stepWorker struct {
	river.WorkerDefaults[escalation.StepArgs]
	q *Queue
}

func (w *stepWorker) Work(ctx context.Context, job *river.Job[escalation.StepArgs]) error {
	return w.q.handlers.Load().Escalation.Step(ctx, job.Args)
}

// notifyWorker sends one notification; River retries temporary failures with backoff.
type notifyWorker struct {
	river.WorkerDefaults[escalation.NotifyArgs]
	q *Queue
}

func (w *notifyWorker) Work(ctx context.Context, job *river.Job[escalation.NotifyArgs]) error {
	err := w.q.handlers.Load().Escalation.Notify(ctx, job.Args)
	if d, ok := notify.RetryAfter(err); ok && err != nil {
		// The receiver said when to come back (Retry-After): wait that long instead of the backoff.
		return river.JobSnooze(d)
	}
	return err
}

// NextRetry backs off 1 s, 2 s, 4 s … up to 5 minutes: a down SMTP or webhook receiver gets its
// pages as soon as it is back, without a storm while it is down.
func (w *notifyWorker) NextRetry(job *river.Job[escalation.NotifyArgs]) time.Time {
	d := time.Second << min(job.Attempt-1, 9)
	return time.Now().Add(min(d, 5*time.Minute))
}

func (w *notifyWorker) Timeout(*river.Job[escalation.NotifyArgs]) time.Duration {
	return 30 * time.Second
}

// writebackAttempts bounds retries of a Security Hub write-back: with the backoff below, about an
// hour of throttling or AWS trouble.
const writebackAttempts = 12

// writebackWorker writes one change back to a Security Hub finding.
type writebackWorker struct {
	river.WorkerDefaults[writeback.Args]
	q *Queue
}

func (w *writebackWorker) Work(ctx context.Context, job *river.Job[writeback.Args]) error {
	wb := w.q.handlers.Load().WriteBack
	if wb == nil {
		return nil
	}
	return wb.Write(ctx, job.Args, job.Attempt >= writebackAttempts)
}

// NextRetry backs off 2 s, 4 s … up to 10 minutes.
func (w *writebackWorker) NextRetry(job *river.Job[writeback.Args]) time.Time {
	d := 2 * time.Second << min(job.Attempt-1, 9)
	return time.Now().Add(min(d, 10*time.Minute))
}

// Timeout leaves room for the batch window and a wait for the rate limit behind a burst, and ends
// before River would take the job for stuck (RescueStuckJobsAfter).
func (w *writebackWorker) Timeout(*river.Job[writeback.Args]) time.Duration { return time.Minute }

// PruneRequestsArgs deletes old request statuses and intake message ids; it runs periodically.
type PruneRequestsArgs struct{}

// Kind names the job for the queue.
func (PruneRequestsArgs) Kind() string { return "requests.prune" }

type pruneWorker struct {
	river.WorkerDefaults[PruneRequestsArgs]
	q *Queue
}

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneRequestsArgs]) error {
	now := time.Now()
	requests, err := w.q.db.PruneRequests(ctx, now.Add(-w.q.opts.RequestRetention))
	if err != nil {
		return err
	}
	messages, err := w.q.db.PruneMessages(ctx, now.Add(-w.q.opts.MessageRetention))
	if err != nil {
		return err
	}
	if requests+messages > 0 {
		w.q.log.Info("pruned old records", "requestStatuses", requests, "intakeMessageIds", messages)
	}
	return nil
}
