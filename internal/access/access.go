// Package access holds API keys for tocsin's own /api and the roles they carry. Integration keys
// (package integration) let systems send alerts; these keys let people and their tools manage tocsin.
// Like integration keys, they are 256 random bits shown once and stored as a SHA-256 hash.
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"
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
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, "", fmt.Errorf("random bytes: %w", err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	secret := "tcs_" + hex.EncodeToString(b[:])
	k := &Key{ID: hex.EncodeToString(id[:]), Name: name, Role: role, Hash: hash(secret), CreatedAt: time.Now().UTC()}
	if err := s.store.InsertAPIKey(ctx, k); err != nil {
		return nil, "", fmt.Errorf("create API key %q: %w", name, err)
	}
	return k, secret, nil
}

// Authenticate returns the key a secret belongs to.
func (s *Service) Authenticate(ctx context.Context, secret string) (*Key, error) {
	if secret == "" {
		return nil, ErrUnknownKey
	}
	h := hash(secret)
	k, err := s.store.APIKeyByHash(ctx, h)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(h)) != 1 {
		return nil, ErrUnknownKey
	}
	return k, nil
}

func hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
