// Package access holds API keys for tocsin's own /api and the roles they carry. Integration keys
// (package integration) let systems send alerts; these keys let people and their tools manage tocsin.
// Like integration keys, they come from package secret: shown once, stored as a hash.
package access

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/tocsin-dev/tocsin/internal/secret"
)

// Role is what a key may do.
type Role string

// The roles, as in DESIGN.md and the UI issue: admin does everything, user manages alerts and reads
// the configuration, readonly only reads.
const (
	Admin    Role = "admin"
	User     Role = "user"
	ReadOnly Role = "readonly"
)

// ParseRole accepts the role names.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case Admin, User, ReadOnly:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want admin, user or readonly)", s)
}

// CanWriteConfig reports whether the role may change users, teams, schedules and policies.
func (r Role) CanWriteConfig() bool { return r == Admin }

// Key is a stored API key.
type Key struct {
	ID        string
	Name      string
	Role      Role
	Hash      string
	CreatedAt time.Time
}

// Errors of Authenticate and Create.
var (
	ErrUnknownKey = errors.New("unknown API key")
	ErrNameTaken  = errors.New("an API key with this name already exists")
)

// Store keeps keys.
type Store interface {
	InsertAPIKey(ctx context.Context, k *Key) error
	APIKeyByHash(ctx context.Context, hash string) (*Key, error)
}

// Service makes and checks keys.
type Service struct{ store Store }

// NewService returns a Service over store.
func NewService(store Store) *Service { return &Service{store: store} }

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,99}$`)

// Create makes a key and returns its secret, which is not stored.
func (s *Service) Create(ctx context.Context, name string, role Role) (*Key, string, error) {
	if !validName.MatchString(name) {
		return nil, "", fmt.Errorf("API key name %q: use 1-100 letters, digits, spaces or . _ @ -", name)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, "", err
	}
	key, hash, err := secret.New("tcs_")
	if err != nil {
		return nil, "", err
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	k := &Key{ID: hex.EncodeToString(id[:]), Name: name, Role: role, Hash: hash, CreatedAt: time.Now().UTC()}
	if err := s.store.InsertAPIKey(ctx, k); err != nil {
		return nil, "", fmt.Errorf("create API key %q: %w", name, err)
	}
	return k, key, nil
}

// Authenticate returns the key a secret belongs to.
func (s *Service) Authenticate(ctx context.Context, key string) (*Key, error) {
	if key == "" {
		return nil, ErrUnknownKey
	}
	k, err := s.store.APIKeyByHash(ctx, secret.Hash(key))
	if err != nil {
		return nil, err
	}
	if !secret.Matches(k.Hash, key) {
		return nil, ErrUnknownKey
	}
	return k, nil
}
