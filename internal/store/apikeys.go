package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tocsin-dev/tocsin/internal/access"
)

// APIKeys implements access.Store.
type APIKeys struct{ db *DB }

// APIKeys returns the API key store.
func (db *DB) APIKeys() *APIKeys { return &APIKeys{db: db} }

var _ access.Store = (*APIKeys)(nil)

// InsertAPIKey implements access.Store.
func (s *APIKeys) InsertAPIKey(ctx context.Context, k *access.Key) error {
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO api_keys (id, name, role, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.Name, string(k.Role), k.Hash, millis(k.CreatedAt))
	if isUniqueViolation(err) {
		return access.ErrNameTaken
	}
	return err
}

// APIKeyByHash implements access.Store.
func (s *APIKeys) APIKeyByHash(ctx context.Context, hash string) (*access.Key, error) {
	var k access.Key
	var role string
	var created int64
	err := s.db.read.QueryRowContext(ctx, `SELECT id, name, role, key_hash, created_at FROM api_keys WHERE key_hash = $1`, hash).
		Scan(&k.ID, &k.Name, &role, &k.Hash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, access.ErrUnknownKey
	}
	if err != nil {
		return nil, fmt.Errorf("look up API key: %w", err)
	}
	k.Role, k.CreatedAt = access.Role(role), fromMillis(created)
	return &k, nil
}
