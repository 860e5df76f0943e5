package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tocsin-dev/tocsin/internal/signin"
)

// SignIn implements signin.Store.
type SignIn struct{ db *DB }

// SignIn returns the store of passwords and sessions.
func (db *DB) SignIn() *SignIn { return &SignIn{db: db} }

var _ signin.Store = (*SignIn)(nil)

// SetPasswordHash implements signin.Store.
func (s *SignIn) SetPasswordHash(ctx context.Context, username, hash string, at time.Time) error {
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO user_passwords (username, hash, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (username) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`, username, hash, millis(at))
	if err != nil {
		return fmt.Errorf("set password of %s: %w", username, err)
	}
	return nil
}

// PasswordHash implements signin.Store.
func (s *SignIn) PasswordHash(ctx context.Context, username string) (string, error) {
	var h string
	err := s.db.read.QueryRowContext(ctx, `SELECT hash FROM user_passwords WHERE username = $1`, username).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", signin.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read password of %s: %w", username, err)
	}
	return h, nil
}

// CountPasswords implements signin.Store.
func (s *SignIn) CountPasswords(ctx context.Context) (int, error) {
	var n int
	if err := s.db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_passwords`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count passwords: %w", err)
	}
	return n, nil
}

// InsertSession implements signin.Store.
func (s *SignIn) InsertSession(ctx context.Context, tokenHash string, x *signin.Session) error {
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO sessions (token_hash, username, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		tokenHash, x.Username, x.CSRF, millis(x.CreatedAt), millis(x.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// SessionByHash implements signin.Store.
func (s *SignIn) SessionByHash(ctx context.Context, tokenHash string) (*signin.Session, error) {
	var x signin.Session
	var created, expires int64
	err := s.db.read.QueryRowContext(ctx, `SELECT username, csrf, created_at, expires_at FROM sessions WHERE token_hash = $1`, tokenHash).
		Scan(&x.Username, &x.CSRF, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, signin.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	x.CreatedAt, x.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &x, nil
}

// DeleteSession implements signin.Store.
func (s *SignIn) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := s.db.write.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	return err
}

// DeleteExpiredSessions implements signin.Store.
func (s *SignIn) DeleteExpiredSessions(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.write.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < $1`, millis(before))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}
