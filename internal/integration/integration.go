// Package integration holds integrations: the named, keyed doors through which alerts come in (the
// Opsgenie-compatible API, Security Hub, webhooks), the team they route to, and their settings.
//
// An integration's API key is shown once, when it is made, and stored only as a SHA-256 hash: keys are
// 256 random bits, so a fast hash is enough to make a stolen database useless for calling the API, and
// lookups stay one indexed read.
package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/tocsin-dev/tocsin/internal/secret"
)

// Type says which door an integration is.
type Type string

// The integration types.
const (
	TypeAPI         Type = "api"
	TypeSecurityHub Type = "amazonsecurityhub"
	TypeWebhook     Type = "webhook"
)

// ParseType accepts the names of the types.
func ParseType(s string) (Type, error) {
	switch t := Type(s); t {
	case TypeAPI, TypeSecurityHub, TypeWebhook:
		return t, nil
	}
	return "", fmt.Errorf("unknown integration type %q (want api, amazonsecurityhub or webhook)", s)
}

// Integration is one configured integration.
type Integration struct {
	ID        string
	Name      string
	Type      Type
	Team      string
	Enabled   bool
	KeyHash   string // hex SHA-256 of the API key
	Settings  Settings
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Settings are the per-type options, stored as JSON. Fields a type does not use stay empty.
type Settings struct {
	// Security Hub write-back: the role to assume and where to write.
	RoleARN     string `json:"roleArn,omitempty"`
	ExternalID  string `json:"externalId,omitempty"`
	Region      string `json:"region,omitempty"`
	SendUpdates bool   `json:"sendUpdates,omitempty"`
	// Filter chooses which Security Hub findings make alerts; see securityhub.Filter, which has the
	// same fields and the rules.
	Filter FindingFilter `json:"filter,omitempty"`
}

// FindingFilter is stored with a Security Hub integration. It is declared here, field for field like
// securityhub.Filter, so that this package stays free of the mapping code; the intake converts it.
type FindingFilter struct {
	MinSeverity  string   `json:"minSeverity,omitempty"`
	ProductNames []string `json:"productNames,omitempty"`
	AccountIDs   []string `json:"accountIds,omitempty"`
	RecordStates []string `json:"recordStates,omitempty"`
}

// Errors of Authenticate, told apart so the API can answer 401 or 403.
var (
	ErrUnknownKey = errors.New("unknown API key")
	ErrDisabled   = errors.New("integration is disabled")
	ErrNotFound   = errors.New("integration not found")
	ErrNameTaken  = errors.New("an integration with this name already exists")
)

// Store is what the Service needs from the database.
type Store interface {
	InsertIntegration(ctx context.Context, in *Integration) error
	IntegrationByName(ctx context.Context, name string) (*Integration, error)
	IntegrationByKeyHash(ctx context.Context, keyHash string) (*Integration, error)
	Integrations(ctx context.Context) ([]*Integration, error)
	UpdateIntegration(ctx context.Context, in *Integration) error
	DeleteIntegration(ctx context.Context, id string) error
}

// Service manages integrations and checks their keys.
type Service struct {
	store Store
	now   func() time.Time

	// keys remembers, for keyTTL, the enabled integrations that keys authenticated, by key hash:
	// every intake request authenticates, and a database read for each cost more than anything else
	// in the request but the SNS signature. This Service's own changes clear it; changes made by
	// another process (a replica, the CLI) take effect here within keyTTL.
	// gen counts forgetKeys, so that a lookup that raced with a change does not remember what it
	// read before the change.
	mu   sync.Mutex
	keys map[string]knownKey
	gen  uint64
}

type knownKey struct {
	in    Integration
	until time.Time
}

// keyTTL bounds how long a key that was disabled, rotated or deleted elsewhere still works here.
const keyTTL = time.Second

// maxKnownKeys bounds the remembered keys; when full, they are all forgotten.
const maxKnownKeys = 1024

// NewService returns a Service over store.
func NewService(store Store) *Service {
	return &Service{store: store, now: time.Now, keys: map[string]knownKey{}}
}

// forgetKeys makes the next Authenticate of every key read the database.
func (s *Service) forgetKeys() {
	s.mu.Lock()
	clear(s.keys)
	s.gen++
	s.mu.Unlock()
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,99}$`)

// Create makes an integration and returns it with its API key, which is not stored and cannot be
// shown again.
func (s *Service) Create(ctx context.Context, in Integration) (*Integration, string, error) {
	out, key, err := New(in, s.now())
	if err != nil {
		return nil, "", err
	}
	if err := s.store.InsertIntegration(ctx, out); err != nil {
		return nil, "", fmt.Errorf("create integration %q: %w", in.Name, err)
	}
	return out, key, nil
}

// New checks a new integration and gives it an id and a fresh API key (returned, stored only as its
// hash), without storing it: `tocsin apply` stores it in its own transaction.
func New(in Integration, now time.Time) (*Integration, string, error) {
	if err := in.Check(); err != nil {
		return nil, "", err
	}
	key, hash, err := secret.New("")
	if err != nil {
		return nil, "", err
	}
	id, err := randomHex(16)
	if err != nil {
		return nil, "", err
	}
	now = now.UTC()
	in.ID, in.KeyHash, in.Enabled, in.CreatedAt, in.UpdatedAt = id, hash, true, now, now
	return &in, key, nil
}

// Check validates the name, the type and the write-back settings.
func (in Integration) Check() error {
	if !validName.MatchString(in.Name) {
		return fmt.Errorf("integration name %q: use 1-100 letters, digits, spaces or . _ @ -", in.Name)
	}
	if _, err := ParseType(string(in.Type)); err != nil {
		return err
	}
	return in.Settings.checkWriteBack()
}

var (
	validRoleARN    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	validRegion     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)
	validExternalID = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

// checkWriteBack refuses write-back settings AWS would refuse later, when nobody is watching.
func (st Settings) checkWriteBack() error {
	switch {
	case st.RoleARN != "" && !validRoleARN.MatchString(st.RoleARN):
		return fmt.Errorf("role ARN %q: want arn:aws:iam::ACCOUNT:role/NAME", st.RoleARN)
	case st.Region != "" && !validRegion.MatchString(st.Region):
		return fmt.Errorf("region %q: want a region name such as eu-central-1", st.Region)
	case st.ExternalID != "" && (len(st.ExternalID) < 2 || len(st.ExternalID) > 1224 || !validExternalID.MatchString(st.ExternalID)):
		return fmt.Errorf("external id: use 2-1224 letters, digits or + = , . @ : / - _")
	case st.SendUpdates && st.RoleARN == "":
		return errors.New("send updates needs a role ARN to write back with")
	}
	return nil
}

// Update lets change edit the named integration (not its id, key or creation time), checks the
// result and stores it; an error from change stores nothing.
func (s *Service) Update(ctx context.Context, name string, change func(*Integration) error) (*Integration, error) {
	in, err := s.store.IntegrationByName(ctx, name)
	if err != nil {
		return nil, err
	}
	id, hash, created := in.ID, in.KeyHash, in.CreatedAt
	if err := change(in); err != nil {
		return nil, err
	}
	in.ID, in.KeyHash, in.CreatedAt, in.UpdatedAt = id, hash, created, s.now().UTC()
	if err := in.Check(); err != nil {
		return nil, err
	}
	if err := s.store.UpdateIntegration(ctx, in); err != nil {
		return nil, fmt.Errorf("update integration %q: %w", name, err)
	}
	s.forgetKeys()
	return in, nil
}

// RotateKey gives the named integration a new API key and returns it; like a new integration's key it
// is shown once and stored only as its hash. The old key stops working at once (within keyTTL on
// other processes): whatever sends with it (an SNS subscription, a script) must be given the new one.
func (s *Service) RotateKey(ctx context.Context, name string) (*Integration, string, error) {
	in, err := s.store.IntegrationByName(ctx, name)
	if err != nil {
		return nil, "", err
	}
	key, hash, err := secret.New("")
	if err != nil {
		return nil, "", err
	}
	in.KeyHash, in.UpdatedAt = hash, s.now().UTC()
	if err := s.store.UpdateIntegration(ctx, in); err != nil {
		return nil, "", fmt.Errorf("rotate the key of integration %q: %w", name, err)
	}
	s.forgetKeys()
	return in, key, nil
}

// Authenticate returns the enabled integration that owns key. A key that worked within the last
// second is not looked up again (see Service).
func (s *Service) Authenticate(ctx context.Context, key string) (*Integration, error) {
	if key == "" {
		return nil, ErrUnknownKey
	}
	hash := secret.Hash(key)
	now := s.now()
	s.mu.Lock()
	known, ok := s.keys[hash]
	gen := s.gen
	s.mu.Unlock()
	if ok && now.Before(known.until) && secret.Matches(known.in.KeyHash, key) {
		in := known.in
		return &in, nil
	}
	in, err := s.store.IntegrationByKeyHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnknownKey
	}
	if err != nil {
		return nil, fmt.Errorf("look up API key: %w", err)
	}
	// The lookup already matched the hash; comparing again in constant time keeps the check itself
	// free of timing differences whatever the database's index does.
	if !secret.Matches(in.KeyHash, key) {
		return nil, ErrUnknownKey
	}
	if !in.Enabled {
		return nil, ErrDisabled
	}
	s.mu.Lock()
	if s.gen == gen {
		if len(s.keys) >= maxKnownKeys {
			clear(s.keys)
		}
		s.keys[hash] = knownKey{in: *in, until: now.Add(keyTTL)}
	}
	s.mu.Unlock()
	return in, nil
}

// List returns every integration, ordered by name.
func (s *Service) List(ctx context.Context) ([]*Integration, error) {
	return s.store.Integrations(ctx)
}

// Get returns the integration with that name.
func (s *Service) Get(ctx context.Context, name string) (*Integration, error) {
	return s.store.IntegrationByName(ctx, name)
}

// SetEnabled enables or disables the named integration; a disabled integration's key is refused.
func (s *Service) SetEnabled(ctx context.Context, name string, enabled bool) (*Integration, error) {
	return s.Update(ctx, name, func(in *Integration) error { in.Enabled = enabled; return nil })
}

// Delete removes the named integration. Alerts it created stay.
func (s *Service) Delete(ctx context.Context, name string) error {
	in, err := s.store.IntegrationByName(ctx, name)
	if err != nil {
		return err
	}
	if err := s.store.DeleteIntegration(ctx, in.ID); err != nil {
		return err
	}
	s.forgetKeys()
	return nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}
