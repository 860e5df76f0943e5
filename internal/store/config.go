package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
type OnCall struct{ q querier }

// OnCall returns the on-call configuration reader.
func (db *DB) OnCall() *OnCall { return &OnCall{q: db.read} }

var _ escalation.Config = (*OnCall)(nil)

const (
	getObjectSQL       = `SELECT doc, updated_at FROM oncall_objects WHERE kind = $1 AND name = $2`
	integrationTeamSQL = `SELECT team FROM integrations WHERE id = $1`
)

func decode[T any](ctx context.Context, q querier, kind, name string) (*T, error) {
	o, err := getObject(ctx, q, kind, name)
	if errors.Is(err, ErrNoObject) {
		return nil, fmt.Errorf("%s %q: %w", kind, name, escalation.ErrNotConfigured)
	}
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(o.Doc, v); err != nil {
		return nil, fmt.Errorf("decode %s %q: %w", kind, name, err)
	}
	return v, nil
}

// User implements escalation.Config.
func (c *OnCall) User(ctx context.Context, name string) (*oncall.User, error) {
	return decode[oncall.User](ctx, c.q, KindUser, name)
}

// Team implements escalation.Config.
func (c *OnCall) Team(ctx context.Context, name string) (*oncall.Team, error) {
	return decode[oncall.Team](ctx, c.q, KindTeam, name)
}

// Schedule implements escalation.Config.
func (c *OnCall) Schedule(ctx context.Context, name string) (*oncall.Schedule, error) {
	return decode[oncall.Schedule](ctx, c.q, KindSchedule, name)
}

// Policy implements escalation.Config.
func (c *OnCall) Policy(ctx context.Context, name string) (*oncall.EscalationPolicy, error) {
	return decode[oncall.EscalationPolicy](ctx, c.q, KindEscalation, name)
}

// IntegrationTeam implements escalation.Config.
func (c *OnCall) IntegrationTeam(ctx context.Context, id string) (string, error) {
	var team string
	err := c.q.QueryRowContext(ctx, integrationTeamSQL, id).Scan(&team)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("integration %s: %w", id, escalation.ErrNotConfigured)
	}
	if err != nil {
		return "", fmt.Errorf("read integration %s: %w", id, err)
	}
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
