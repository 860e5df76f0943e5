package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tocsin-dev/tocsin/internal/escalation"
	"github.com/tocsin-dev/tocsin/internal/oncall"
)

// The kinds of on-call object.
const (
	KindUser       = "user"
	KindTeam       = "team"
	KindSchedule   = "schedule"
	KindEscalation = "escalation"
)

// OnCall reads the stored on-call configuration; it implements escalation.Config.
type OnCall struct {
	q querier
	// cache, when set, keeps decoded objects across transactions while config_revision stays; rev
	// is the revision this reader saw (0 until it looked).
	cache *configCache
	rev   int64
}

// OnCall returns the on-call configuration reader.
func (db *DB) OnCall() *OnCall { return &OnCall{q: db.read} }

// configCache is what the escalation engine decoded of the on-call configuration, good while
// config_revision (bumped by triggers on every change, from any process) stays the same. Paging an
// alert reads a team, a policy, a schedule and users: decoded once, not once per alert. The values
// are shared, so they are only ever read.
type configCache struct {
	mu   sync.Mutex
	rev  int64
	objs map[string]any // kind NUL name → *T, or nil when not configured
}

const configRevisionSQL = `SELECT n FROM config_revision WHERE id = 1`

// look returns the cached object of kind and name; found is false when it must be read.
func (c *OnCall) look(ctx context.Context, kind, name string) (v any, found bool, err error) {
	if c.cache == nil {
		return nil, false, nil
	}
	if c.rev == 0 {
		if err := c.q.QueryRowContext(ctx, configRevisionSQL).Scan(&c.rev); err != nil {
			return nil, false, fmt.Errorf("read configuration revision: %w", err)
		}
	}
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	if c.cache.rev != c.rev {
		if c.rev < c.cache.rev {
			return nil, false, nil // this reader's view is older than the cache's: read, keep nothing
		}
		c.cache.rev, c.cache.objs = c.rev, map[string]any{}
	}
	v, found = c.cache.objs[kind+"\x00"+name]
	return v, found, nil
}

func (c *OnCall) keep(kind, name string, v any) {
	if c.cache == nil {
		return
	}
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	if c.cache.rev == c.rev {
		c.cache.objs[kind+"\x00"+name] = v
	}
}

var _ escalation.Config = (*OnCall)(nil)

const (
	getObjectSQL       = `SELECT doc, updated_at FROM oncall_objects WHERE kind = $1 AND name = $2`
	integrationTeamSQL = `SELECT team FROM integrations WHERE id = $1`
)

func decode[T any](ctx context.Context, c *OnCall, kind, name string) (*T, error) {
	notConfigured := fmt.Errorf("%s %q: %w", kind, name, escalation.ErrNotConfigured)
	cached, found, err := c.look(ctx, kind, name)
	if err != nil {
		return nil, err
	}
	if found {
		if cached == nil {
			return nil, notConfigured
		}
		return cached.(*T), nil
	}
	o, err := getObject(ctx, c.q, kind, name)
	if errors.Is(err, ErrNoObject) {
		c.keep(kind, name, nil)
		return nil, notConfigured
	}
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(o.Doc, v); err != nil {
		return nil, fmt.Errorf("decode %s %q: %w", kind, name, err)
	}
	c.keep(kind, name, v)
	return v, nil
}

// User implements escalation.Config.
func (c *OnCall) User(ctx context.Context, name string) (*oncall.User, error) {
	return decode[oncall.User](ctx, c, KindUser, name)
}

// Team implements escalation.Config.
func (c *OnCall) Team(ctx context.Context, name string) (*oncall.Team, error) {
	return decode[oncall.Team](ctx, c, KindTeam, name)
}

// Schedule implements escalation.Config.
func (c *OnCall) Schedule(ctx context.Context, name string) (*oncall.Schedule, error) {
	return decode[oncall.Schedule](ctx, c, KindSchedule, name)
}

// Policy implements escalation.Config.
func (c *OnCall) Policy(ctx context.Context, name string) (*oncall.EscalationPolicy, error) {
	return decode[oncall.EscalationPolicy](ctx, c, KindEscalation, name)
}

// IntegrationTeam implements escalation.Config.
func (c *OnCall) IntegrationTeam(ctx context.Context, id string) (string, error) {
	notConfigured := fmt.Errorf("integration %s: %w", id, escalation.ErrNotConfigured)
	cached, found, err := c.look(ctx, "integration", id)
	if err != nil {
		return "", err
	}
	if found {
		if cached == nil {
			return "", notConfigured
		}
		return cached.(string), nil
	}
	var team string
	err = c.q.QueryRowContext(ctx, integrationTeamSQL, id).Scan(&team)
	if errors.Is(err, sql.ErrNoRows) {
		c.keep("integration", id, nil)
		return "", notConfigured
	}
	if err != nil {
		return "", fmt.Errorf("read integration %s: %w", id, err)
	}
	c.keep("integration", id, team)
	return team, nil
}

// Config returns the whole stored configuration, as `tocsin apply` compares it.
func (c *OnCall) Config(ctx context.Context) (*oncall.Config, error) {
	objs, err := listObjects(ctx, c.q, "")
	if err != nil {
		return nil, err
	}
	return ConfigOf(objs)
}

// ConfigOf assembles stored objects into a configuration.
func ConfigOf(objs []Object) (*oncall.Config, error) {
	var cfg oncall.Config
	for _, o := range objs {
		var err error
		switch o.Kind {
		case KindUser:
			err = appendDoc(&cfg.Users, o.Doc)
		case KindTeam:
			err = appendDoc(&cfg.Teams, o.Doc)
		case KindSchedule:
			err = appendDoc(&cfg.Schedules, o.Doc)
		case KindEscalation:
			err = appendDoc(&cfg.Escalations, o.Doc)
		}
		if err != nil {
			return nil, fmt.Errorf("decode %s %q: %w", o.Kind, o.Name, err)
		}
	}
	return &cfg, nil
}

func appendDoc[T any](list *[]T, doc json.RawMessage) error {
	var v T
	if err := json.Unmarshal(doc, &v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

// Secret returns the named server secret, making a random one (32 bytes, hex) the first time. Every
// replica gets the same value: the first to insert wins.
func (db *DB) Secret(ctx context.Context, name string) (string, error) {
	fresh, err := randomSecret()
	if err != nil {
		return "", err
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
		name, fresh, time.Now().UnixMilli()); err != nil {
		return "", fmt.Errorf("store secret %s: %w", name, err)
	}
	var v string
	if err := db.write.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v); err != nil {
		return "", fmt.Errorf("read secret %s: %w", name, err)
	}
	return v, nil
}

// RotateSecret replaces the named server secret with a new random one and returns it. Whatever was
// signed with the old one stops verifying once the servers have re-read it (they read secrets when
// they start).
func (db *DB) RotateSecret(ctx context.Context, name string) (string, error) {
	v, err := randomSecret()
	if err != nil {
		return "", err
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET value = excluded.value, created_at = excluded.created_at`,
		name, v, time.Now().UnixMilli()); err != nil {
		return "", fmt.Errorf("rotate secret %s: %w", name, err)
	}
	return v, nil
}

func randomSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make secret: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
