package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tocsin-dev/tocsin/internal/integration"
)

// Integrations implements integration.Store.
type Integrations struct{ db *DB }

// Integrations returns the integration store.
func (db *DB) Integrations() *Integrations { return &Integrations{db: db} }

var _ integration.Store = (*Integrations)(nil)

const integrationColumns = `id, name, type, team, enabled, key_hash, settings, created_at, updated_at`

func scanIntegration(row scanner) (*integration.Integration, error) {
	var (
		in               integration.Integration
		typ, settings    string
		created, updated int64
	)
	err := row.Scan(&in.ID, &in.Name, &typ, &in.Team, &in.Enabled, &in.KeyHash, &settings, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, integration.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read integration: %w", err)
	}
	in.Type = integration.Type(typ)
	in.CreatedAt, in.UpdatedAt = fromMillis(created), fromMillis(updated)
	if err := json.Unmarshal([]byte(settings), &in.Settings); err != nil {
		return nil, fmt.Errorf("decode settings of integration %s: %w", in.Name, err)
	}
	return &in, nil
}

// InsertIntegration implements integration.Store.
func (s *Integrations) InsertIntegration(ctx context.Context, in *integration.Integration) error {
	return insertIntegration(ctx, s.db.write, in)
}

func insertIntegration(ctx context.Context, q querier, in *integration.Integration) error {
	settings, err := json.Marshal(in.Settings)
	if err != nil {
		return fmt.Errorf("encode settings: %w", err)
	}
	_, err = q.ExecContext(ctx, `INSERT INTO integrations (`+integrationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		in.ID, in.Name, string(in.Type), in.Team, in.Enabled, in.KeyHash, string(settings), millis(in.CreatedAt), millis(in.UpdatedAt))
	if isUniqueViolation(err) {
		return integration.ErrNameTaken
	}
	return err
}

// IntegrationByName implements integration.Store.
func (s *Integrations) IntegrationByName(ctx context.Context, name string) (*integration.Integration, error) {
	return scanIntegration(s.db.read.QueryRowContext(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE name = $1`, name))
}

// IntegrationByKeyHash implements integration.Store.
func (s *Integrations) IntegrationByKeyHash(ctx context.Context, hash string) (*integration.Integration, error) {
	if st := s.db.readStmt(integrationByKeyHashSQL); st != nil {
		return scanIntegration(st.QueryRowContext(ctx, hash))
	}
	return scanIntegration(s.db.read.QueryRowContext(ctx, integrationByKeyHashSQL, hash))
}

// integrationByKeyHashSQL authenticates every intake request.
const integrationByKeyHashSQL = `SELECT ` + integrationColumns + ` FROM integrations WHERE key_hash = $1`

// hotReads are the queries outside transactions that every intake request runs, prepared once.
func hotReads() []string { return []string{integrationByKeyHashSQL} }

// Integrations implements integration.Store.
func (s *Integrations) Integrations(ctx context.Context) ([]*integration.Integration, error) {
	return listIntegrations(ctx, s.db.read)
}

func listIntegrations(ctx context.Context, q querier) ([]*integration.Integration, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+integrationColumns+` FROM integrations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	defer rows.Close()
	var out []*integration.Integration
	for rows.Next() {
		in, err := scanIntegration(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// UpdateIntegration implements integration.Store.
func (s *Integrations) UpdateIntegration(ctx context.Context, in *integration.Integration) error {
	return updateIntegration(ctx, s.db.write, in)
}

func updateIntegration(ctx context.Context, q querier, in *integration.Integration) error {
	settings, err := json.Marshal(in.Settings)
	if err != nil {
		return fmt.Errorf("encode settings: %w", err)
	}
	res, err := q.ExecContext(ctx, `UPDATE integrations SET name = $2, type = $3, team = $4, enabled = $5, key_hash = $6, settings = $7, updated_at = $8 WHERE id = $1`,
		in.ID, in.Name, string(in.Type), in.Team, in.Enabled, in.KeyHash, string(settings), millis(in.UpdatedAt))
	if isUniqueViolation(err) {
		return integration.ErrNameTaken
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return integration.ErrNotFound
	}
	return nil
}

// DeleteIntegration implements integration.Store.
func (s *Integrations) DeleteIntegration(ctx context.Context, id string) error {
	return deleteIntegration(ctx, s.db.write, id)
}

func deleteIntegration(ctx context.Context, q querier, id string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM integrations WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete integration: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return integration.ErrNotFound
	}
	return nil
}
