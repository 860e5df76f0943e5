package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
		return fn(&alertTx{tx: tx, db: s.db, jobs: s.jobs})
	})
}

// Alert implements escalation.Store.
func (s *Escalations) Alert(ctx context.Context, id string) (*alert.Alert, error) {
	return s.db.Alerts(s.jobs).Get(ctx, alert.Ref{Type: alert.ByID, Value: id})
}

const notificationColumns = `id, dedupe_key, alert_id, epoch, round, step, username, method, target, state, error, attempts,
	provider_id, due_at, created_at, updated_at, sent_at`

func scanNotification(row scanner) (*escalation.Notification, error) {
	var (
		n                           escalation.Notification
		state                       string
		due, created, updated, sent int64
	)
	err := row.Scan(&n.ID, &n.Key, &n.AlertID, &n.Epoch, &n.Round, &n.Step, &n.Username, &n.Method, &n.To, &state, &n.Error, &n.Attempts,
		&n.ProviderID, &due, &created, &updated, &sent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("notification: %w", alert.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read notification: %w", err)
	}
	n.State = escalation.State(state)
	n.DueAt, n.CreatedAt, n.UpdatedAt, n.SentAt = fromMillis(due), fromMillis(created), fromMillis(updated), fromMillis(sent)
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
	_, err := s.db.write.ExecContext(ctx, `UPDATE notifications SET state = $2, error = $3, attempts = $4, provider_id = $5, updated_at = $6, sent_at = $7 WHERE id = $1`,
		n.ID, string(n.State), n.Error, n.Attempts, n.ProviderID, millis(n.UpdatedAt), millis(n.SentAt))
	if err != nil {
		return fmt.Errorf("update notification %s: %w", n.ID, err)
	}
	return nil
}

const insertNotificationSQL = `INSERT INTO notifications (` + notificationColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
	ON CONFLICT (dedupe_key) DO NOTHING`

// AddNotification implements escalation.Tx.
func (t *alertTx) AddNotification(ctx context.Context, n *escalation.Notification) (bool, error) {
	res, err := t.exec(ctx, insertNotificationSQL, n.ID, n.Key, n.AlertID, n.Epoch, n.Round, n.Step, n.Username, n.Method, n.To, string(n.State), n.Error, n.Attempts,
		n.ProviderID, millis(n.DueAt), millis(n.CreatedAt), millis(n.UpdatedAt), millis(n.SentAt))
	if err != nil {
		return false, fmt.Errorf("add notification: %w", err)
	}
	k, err := res.RowsAffected()
	return k == 1, err
}
