package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/escalation"
)

// Escalations implements escalation.Store.
type Escalations struct {
	db   *DB
	jobs Inserter
}

// Escalations returns the escalation engine's store; the jobs it enqueues go through ins.
func (db *DB) Escalations(ins Inserter) *Escalations { return &Escalations{db: db, jobs: ins} }

var _ escalation.Store = (*Escalations)(nil)

// InTx implements escalation.Store.
func (s *Escalations) InTx(ctx context.Context, fn func(escalation.Tx) error) error {
	return s.db.inTx(ctx, func(tx *sql.Tx) error {
		return s.db.runAlertTx(ctx, tx, s.jobs, func(t *alertTx) error { return fn(t) })
	})
}

// Alert implements escalation.Store.
func (s *Escalations) Alert(ctx context.Context, id string) (*alert.Alert, error) {
	return s.db.Alerts(s.jobs).Get(ctx, alert.Ref{Type: alert.ByID, Value: id})
}

const notificationColumns = `id, dedupe_key, alert_id, epoch, round, step, username, method, target, state, error, attempts,
	provider_id, due_at, created_at, updated_at, sent_at, lease_until`

func scanNotification(row scanner) (*escalation.Notification, error) {
	var (
		n                           escalation.Notification
		state                       string
		due, created, updated, sent int64
		lease                       int64
	)
	err := row.Scan(&n.ID, &n.Key, &n.AlertID, &n.Epoch, &n.Round, &n.Step, &n.Username, &n.Method, &n.To, &state, &n.Error, &n.Attempts,
		&n.ProviderID, &due, &created, &updated, &sent, &lease)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("notification: %w", alert.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read notification: %w", err)
	}
	n.State = escalation.State(state)
	n.DueAt, n.CreatedAt, n.UpdatedAt, n.SentAt = fromMillis(due), fromMillis(created), fromMillis(updated), fromMillis(sent)
	n.LeaseUntil = fromMillis(lease)
	return &n, nil
}

// Notification implements escalation.Store.
func (s *Escalations) Notification(ctx context.Context, id string) (*escalation.Notification, error) {
	return scanNotification(s.db.read.QueryRowContext(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE id = $1`, id))
}

// Notifications returns an alert's notifications, oldest first.
func (s *Escalations) Notifications(ctx context.Context, alertID string) ([]*escalation.Notification, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE alert_id = $1 ORDER BY created_at, round, step, username, method`, alertID)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return scanNotifications(rows)
}

// scanNotifications reads every row of a query of notificationColumns, and closes rows.
func scanNotifications(rows *sql.Rows) ([]*escalation.Notification, error) {
	defer rows.Close()
	var out []*escalation.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// UpdateNotification implements escalation.Store.
func (s *Escalations) UpdateNotification(ctx context.Context, n *escalation.Notification) error {
	return updateNotification(ctx, s.db.write, n)
}

const updateNotificationSQL = `UPDATE notifications SET state = $2, error = $3, attempts = $4, provider_id = $5, updated_at = $6, sent_at = $7, lease_until = $8 WHERE id = $1`

func updateNotification(ctx context.Context, q querier, n *escalation.Notification) error {
	_, err := q.ExecContext(ctx, updateNotificationSQL,
		n.ID, string(n.State), n.Error, n.Attempts, n.ProviderID, millis(n.UpdatedAt), millis(n.SentAt), millis(n.LeaseUntil))
	if err != nil {
		return fmt.Errorf("update notification %s: %w", n.ID, err)
	}
	return nil
}

// FinishNotifications implements escalation.Store: the outcomes of many sends in one transaction,
// so that a burst of pages costs the database one commit, not one each.
func (s *Escalations) FinishNotifications(ctx context.Context, ns []*escalation.Notification) error {
	if s.db.dialect == Postgres {
		return s.finishNotificationsPG(ctx, ns)
	}
	return s.db.inTx(ctx, func(tx *sql.Tx) error {
		q := stmtQuerier{tx: tx, db: s.db}
		for _, n := range ns {
			if err := updateNotification(ctx, q, n); err != nil {
				return err
			}
		}
		return nil
	})
}

// finishNotificationsPG is FinishNotifications in one statement. On PostgreSQL every statement is a
// round trip, and at 1,000 pages a second an UPDATE each kept the recorder behind the senders.
const finishNotificationsPGSQL = `UPDATE notifications AS n SET state = v.state, error = v.error, attempts = v.attempts,
		provider_id = v.provider_id, updated_at = v.updated_at, sent_at = v.sent_at, lease_until = v.lease_until
	FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[])
		AS v(id, state, error, attempts, provider_id, updated_at, sent_at, lease_until)
	WHERE n.id = v.id`

func (s *Escalations) finishNotificationsPG(ctx context.Context, ns []*escalation.Notification) error {
	// A notification named twice keeps its last outcome, as UPDATEs one after another would; an
	// UPDATE … FROM that matches a row twice would pick either.
	last := make(map[string]int, len(ns))
	for i, n := range ns {
		last[n.ID] = i
	}
	var (
		ids, states, errs, providers []string
		attempts                     []int32
		updated, sent, leases        []int64
	)
	for i, n := range ns {
		if last[n.ID] != i {
			continue
		}
		ids, states, errs, providers = append(ids, n.ID), append(states, string(n.State)), append(errs, n.Error), append(providers, n.ProviderID)
		attempts = append(attempts, int32(n.Attempts))
		updated, sent, leases = append(updated, millis(n.UpdatedAt)), append(sent, millis(n.SentAt)), append(leases, millis(n.LeaseUntil))
	}
	if _, err := s.db.write.ExecContext(ctx, finishNotificationsPGSQL, ids, states, errs, attempts, providers, updated, sent, leases); err != nil {
		return fmt.Errorf("record %d sent pages: %w", len(ids), err)
	}
	return nil
}

// ExpiredLeases implements escalation.Store.
func (s *Escalations) ExpiredLeases(ctx context.Context, now time.Time, limit int) ([]*escalation.Notification, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+notificationColumns+` FROM notifications
		WHERE state = 'pending' AND lease_until > 0 AND lease_until < $1 ORDER BY lease_until LIMIT $2`, millis(now), limit)
	if err != nil {
		return nil, fmt.Errorf("list expired page leases: %w", err)
	}
	return scanNotifications(rows)
}

// Claim implements escalation.Store: it moves the lease from what the caller read to until, only if
// nobody else did so first.
func (s *Escalations) Claim(ctx context.Context, n *escalation.Notification, until time.Time) (bool, error) {
	res, err := s.db.write.ExecContext(ctx, `UPDATE notifications SET lease_until = $3 WHERE id = $1 AND state = 'pending' AND lease_until = $2`,
		n.ID, millis(n.LeaseUntil), millis(until))
	if err != nil {
		return false, fmt.Errorf("claim notification %s: %w", n.ID, err)
	}
	k, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim notification %s: %w", n.ID, err)
	}
	if k == 1 {
		n.LeaseUntil = until
	}
	return k == 1, nil
}

const insertNotificationSQL = `INSERT INTO notifications (` + notificationColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
	ON CONFLICT (dedupe_key) DO NOTHING`

// AddNotification implements escalation.Tx.
func (t *alertTx) AddNotification(ctx context.Context, n *escalation.Notification) (bool, error) {
	res, err := t.exec(ctx, insertNotificationSQL, n.ID, n.Key, n.AlertID, n.Epoch, n.Round, n.Step, n.Username, n.Method, n.To, string(n.State), n.Error, n.Attempts,
		n.ProviderID, millis(n.DueAt), millis(n.CreatedAt), millis(n.UpdatedAt), millis(n.SentAt), millis(n.LeaseUntil))
	if err != nil {
		return false, fmt.Errorf("add notification: %w", err)
	}
	k, err := res.RowsAffected()
	return k == 1, err
}

// UpdateNotification implements escalation.Tx.
func (t *alertTx) UpdateNotification(ctx context.Context, n *escalation.Notification) error {
	return updateNotification(ctx, stmtQuerier{tx: t.tx, db: t.db}, n)
}

// Config implements escalation.Tx: the on-call configuration read on this transaction's connection,
// so that a transaction never waits for a second connection of the pool it holds one of.
func (t *alertTx) Config() escalation.Config {
	return &OnCall{q: stmtQuerier{tx: t.tx, db: t.db}, cache: &t.db.config}
}

// stmtQuerier runs statements in a transaction, prepared once when they are hot queries.
type stmtQuerier struct {
	tx *sql.Tx
	db *DB
}

func (q stmtQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.db.stmt(query); st != nil {
		return q.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return q.tx.ExecContext(ctx, query, args...)
}

func (q stmtQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.db.stmt(query); st != nil {
		return q.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return q.tx.QueryRowContext(ctx, query, args...)
}

func (q stmtQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.db.stmt(query); st != nil {
		return q.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return q.tx.QueryContext(ctx, query, args...)
}

const (
	scheduleStepSQL = `INSERT INTO escalation_steps (step_key, alert_id, args, due_at) VALUES ($1, $2, $3, $4) ON CONFLICT (step_key) DO NOTHING`
	doneStepSQL     = `DELETE FROM escalation_steps WHERE step_key = $1`
)

// ScheduleStep implements escalation.Tx.
func (t *alertTx) ScheduleStep(ctx context.Context, args escalation.StepArgs, at time.Time) error {
	b, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("encode escalation step: %w", err)
	}
	if _, err := t.exec(ctx, scheduleStepSQL, args.Key(), args.AlertID, string(b), millis(at)); err != nil {
		return fmt.Errorf("schedule escalation step %s: %w", args.Key(), err)
	}
	return nil
}

// DoneStep implements escalation.Tx.
func (t *alertTx) DoneStep(ctx context.Context, key string) error {
	if _, err := t.exec(ctx, doneStepSQL, key); err != nil {
		return fmt.Errorf("delete escalation step %s: %w", key, err)
	}
	return nil
}

// DueSteps lists up to limit scheduled steps due at now that nobody holds.
func (s *Escalations) DueSteps(ctx context.Context, now time.Time, limit int) ([]escalation.DueStep, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT step_key, args, due_at, lease_until, attempts FROM escalation_steps
		WHERE due_at <= $1 AND lease_until < $1 ORDER BY due_at LIMIT $2`, millis(now), limit)
	if err != nil {
		return nil, fmt.Errorf("list due escalation steps: %w", err)
	}
	return scanSteps(rows)
}

// scanSteps reads every row of step_key, args, due_at, lease_until, attempts, and closes rows.
func scanSteps(rows *sql.Rows) ([]escalation.DueStep, error) {
	defer rows.Close()
	var out []escalation.DueStep
	for rows.Next() {
		var (
			d          escalation.DueStep
			args       string
			due, lease int64
		)
		if err := rows.Scan(&d.Key, &args, &due, &lease, &d.Attempts); err != nil {
			return nil, fmt.Errorf("read escalation step: %w", err)
		}
		if err := json.Unmarshal([]byte(args), &d.Args); err != nil {
			return nil, fmt.Errorf("decode escalation step %s: %w", d.Key, err)
		}
		d.DueAt, d.LeaseUntil = fromMillis(due), fromMillis(lease)
		out = append(out, d)
	}
	return out, rows.Err()
}

// ClaimDueSteps implements escalation.Store: one statement claims a batch, so a storm of due steps
// costs a write per hundred, not one each. The outer lease check makes a replica that waited on
// another's claim of the same rows skip them.
func (s *Escalations) ClaimDueSteps(ctx context.Context, now, until time.Time, limit int) ([]escalation.DueStep, error) {
	skipLocked := ""
	if s.db.dialect == Postgres {
		skipLocked = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := s.db.write.QueryContext(ctx, `UPDATE escalation_steps SET lease_until = $3
		WHERE lease_until < $1 AND step_key IN (
			SELECT step_key FROM escalation_steps WHERE due_at <= $1 AND lease_until < $1 ORDER BY due_at LIMIT $2`+skipLocked+`)
		RETURNING step_key, args, due_at, lease_until, attempts`, millis(now), limit, millis(until))
	if err != nil {
		return nil, fmt.Errorf("claim due escalation steps: %w", err)
	}
	return scanSteps(rows)
}

// ClaimStep leases one due step until until, unless someone changed its lease since it was read.
func (s *Escalations) ClaimStep(ctx context.Context, d escalation.DueStep, until time.Time) (bool, error) {
	res, err := s.db.write.ExecContext(ctx, `UPDATE escalation_steps SET lease_until = $3 WHERE step_key = $1 AND lease_until = $2`,
		d.Key, millis(d.LeaseUntil), millis(until))
	if err != nil {
		return false, fmt.Errorf("claim escalation step %s: %w", d.Key, err)
	}
	k, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim escalation step %s: %w", d.Key, err)
	}
	return k == 1, nil
}

// RetryStep implements escalation.Store.
func (s *Escalations) RetryStep(ctx context.Context, key string, attempts int, notBefore time.Time) error {
	if _, err := s.db.write.ExecContext(ctx, `UPDATE escalation_steps SET attempts = $2, lease_until = $3 WHERE step_key = $1`,
		key, attempts, millis(notBefore)); err != nil {
		return fmt.Errorf("hold back escalation step %s: %w", key, err)
	}
	return nil
}

// DropStep implements escalation.Store.
func (s *Escalations) DropStep(ctx context.Context, key string) error {
	if _, err := s.db.write.ExecContext(ctx, doneStepSQL, key); err != nil {
		return fmt.Errorf("delete escalation step %s: %w", key, err)
	}
	return nil
}
