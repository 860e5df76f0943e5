package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tocsin-dev/tocsin/internal/integration"
)

// On-call objects (users, teams, schedules, escalation policies) are JSON documents keyed by kind and
// name. Their shapes and rules belong to package oncall; the store only keeps them.

// ErrNoObject is returned when no on-call object has the kind and name.
var ErrNoObject = errors.New("no such object")

// Object is one stored on-call document.
type Object struct {
	Kind      string
	Name      string
	Doc       json.RawMessage
	UpdatedAt time.Time
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Object returns one on-call object.
func (db *DB) Object(ctx context.Context, kind, name string) (*Object, error) {
	return getObject(ctx, db.read, kind, name)
}

func getObject(ctx context.Context, q querier, kind, name string) (*Object, error) {
	o := Object{Kind: kind, Name: name}
	var doc string
	var updated int64
	err := q.QueryRowContext(ctx, getObjectSQL, kind, name).Scan(&doc, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s %q: %w", kind, name, ErrNoObject)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %q: %w", kind, name, err)
	}
	o.Doc, o.UpdatedAt = json.RawMessage(doc), fromMillis(updated)
	return &o, nil
}

// Objects returns every object of a kind (all kinds when kind is ""), ordered by kind and name.
func (db *DB) Objects(ctx context.Context, kind string) ([]Object, error) {
	return listObjects(ctx, db.read, kind)
}

func listObjects(ctx context.Context, q querier, kind string) ([]Object, error) {
	rows, err := q.QueryContext(ctx, `SELECT kind, name, doc, updated_at FROM oncall_objects WHERE $1 = '' OR kind = $1 ORDER BY kind, name`, kind)
	if err != nil {
		return nil, fmt.Errorf("list on-call objects: %w", err)
	}
	defer rows.Close()
	var out []Object
	for rows.Next() {
		var o Object
		var doc string
		var updated int64
		if err := rows.Scan(&o.Kind, &o.Name, &doc, &updated); err != nil {
			return nil, fmt.Errorf("read on-call object: %w", err)
		}
		o.Doc, o.UpdatedAt = json.RawMessage(doc), fromMillis(updated)
		out = append(out, o)
	}
	return out, rows.Err()
}

// ObjectTx changes on-call objects inside one transaction (tocsin apply).
type ObjectTx struct {
	tx *sql.Tx
}

// ObjectsInTx runs fn in one transaction: either every change fn makes commits, or none.
func (db *DB) ObjectsInTx(ctx context.Context, fn func(*ObjectTx) error) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if db.dialect == Postgres {
			// Changes are validated against the whole configuration; one at a time, or two concurrent
			// edits could each pass and together leave a reference to something deleted.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7405227)`); err != nil {
				return fmt.Errorf("lock the on-call configuration: %w", err)
			}
		}
		return fn(&ObjectTx{tx: tx})
	})
}

// Objects lists objects as the transaction sees them.
func (t *ObjectTx) Objects(ctx context.Context, kind string) ([]Object, error) {
	return listObjects(ctx, t.tx, kind)
}

// Put creates or replaces an object.
func (t *ObjectTx) Put(ctx context.Context, kind, name string, doc any, at time.Time) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", kind, name, err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO oncall_objects (kind, name, doc, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, name) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`, kind, name, string(b), millis(at))
	if err != nil {
		return fmt.Errorf("store %s %q: %w", kind, name, err)
	}
	return nil
}

// Delete removes an object.
func (t *ObjectTx) Delete(ctx context.Context, kind, name string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM oncall_objects WHERE kind = $1 AND name = $2`, kind, name); err != nil {
		return fmt.Errorf("delete %s %q: %w", kind, name, err)
	}
	return nil
}

// Integrations lists integrations as the transaction sees them.
func (t *ObjectTx) Integrations(ctx context.Context) ([]*integration.Integration, error) {
	return listIntegrations(ctx, t.tx)
}

// InsertIntegration stores a new integration in the transaction.
func (t *ObjectTx) InsertIntegration(ctx context.Context, in *integration.Integration) error {
	return insertIntegration(ctx, t.tx, in)
}

// UpdateIntegration changes an integration in the transaction.
func (t *ObjectTx) UpdateIntegration(ctx context.Context, in *integration.Integration) error {
	return updateIntegration(ctx, t.tx, in)
}

// DeleteIntegration removes an integration in the transaction.
func (t *ObjectTx) DeleteIntegration(ctx context.Context, id string) error {
	return deleteIntegration(ctx, t.tx, id)
}
