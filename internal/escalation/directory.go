package escalation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/oncall"
)

// ErrNotConfigured is what a Config returns for a name it does not know.
var ErrNotConfigured = errors.New("not configured")

// Config is the stored on-call configuration, read by name.
type Config interface {
	User(ctx context.Context, username string) (*oncall.User, error)
	Team(ctx context.Context, name string) (*oncall.Team, error)
	Schedule(ctx context.Context, name string) (*oncall.Schedule, error)
	Policy(ctx context.Context, name string) (*oncall.EscalationPolicy, error)
	// IntegrationTeam is the team an integration's alerts route to ("" for none).
	IntegrationTeam(ctx context.Context, integrationID string) (string, error)
}

// NewDirectory answers the engine's questions from the on-call configuration.
func NewDirectory(cfg Config) Directory { return &directory{cfg: cfg} }

type directory struct{ cfg Config }

// Route finds what pages an alert. Its responders decide (Opsgenie's API): a team starts the team's
// escalation policy (or pages every member when the team has none), an escalation starts that policy, a
// user or a schedule is paged at once. An alert without responders routes to its integration's team.
// When several responders route an alert, their rules are merged into one policy ordered by delay,
// repeating as the first named policy does.
func (d *directory) Route(ctx context.Context, a *alert.Alert) (*Policy, error) {
	responders := a.Responders
	if len(responders) == 0 && a.Integration.ID != "" {
		team, err := d.cfg.IntegrationTeam(ctx, a.Integration.ID)
		if err != nil && !errors.Is(err, ErrNotConfigured) {
			return nil, err
		}
		if team != "" {
			responders = []alert.Responder{{Type: "team", Name: team}}
		}
	}
	var (
		out   Policy
		named bool
	)
	for _, r := range responders {
		name := cmp.Or(r.Name, r.Username, r.ID)
		var policy string
		switch r.Type {
		case "user":
			out.Rules = append(out.Rules, Rule{Target: Target{User: name}})
			continue
		case "schedule":
			out.Rules = append(out.Rules, Rule{Target: Target{Schedule: name}})
			continue
		case "escalation":
			policy = name
		case "team":
			t, err := d.cfg.Team(ctx, name)
			if errors.Is(err, ErrNotConfigured) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if t.Escalation == "" {
				out.Rules = append(out.Rules, Rule{Target: Target{Team: t.Name}})
				continue
			}
			policy = t.Escalation
		default:
			continue
		}
		p, err := d.cfg.Policy(ctx, policy)
		if errors.Is(err, ErrNotConfigured) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var last time.Duration
		for _, rule := range p.Rules {
			out.Rules = append(out.Rules, Rule{Delay: rule.Delay.Std(), Target: rule.Notify})
			last = max(last, rule.Delay.Std())
		}
		if !named {
			named, out.Name = true, p.Name
			if p.Repeat != nil && p.Repeat.Times > 0 {
				// oncall.Repeat counts "after" from the last rule; the engine counts from the round's start.
				out.Repeat.After, out.Repeat.Times = last+p.Repeat.After.Std(), p.Repeat.Times
			}
		}
	}
	if len(out.Rules) == 0 {
		return nil, ErrNoRoute
	}
	slices.SortStableFunc(out.Rules, func(a, b Rule) int { return cmp.Compare(a.Delay, b.Delay) })
	return &out, nil
}

// Resolve names the users a target pages at time at.
func (d *directory) Resolve(ctx context.Context, t Target, at time.Time) ([]string, error) {
	switch {
	case t.User != "":
		return []string{t.User}, nil
	case t.Team != "":
		team, err := d.cfg.Team(ctx, t.Team)
		if errors.Is(err, ErrNotConfigured) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return team.Members, nil
	case t.Schedule != "":
		s, err := d.cfg.Schedule(ctx, t.Schedule)
		if errors.Is(err, ErrNotConfigured) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return s.OnCall(at)
	}
	return nil, nil
}

// Contacts lists how to reach a user, from the user's notification rules. A user tocsin does not know
// (named only in an alert's responders) is reached by email when the name is an address.
func (d *directory) Contacts(ctx context.Context, username string) ([]Contact, error) {
	u, err := d.cfg.User(ctx, username)
	if errors.Is(err, ErrNotConfigured) {
		u = &oncall.User{Username: username}
	} else if err != nil {
		return nil, err
	}
	steps, err := u.Plan()
	if len(steps) == 0 && err != nil {
		return nil, fmt.Errorf("user %s has no way to be notified: %w", username, err)
	}
	out := make([]Contact, len(steps))
	for i, s := range steps {
		out[i] = Contact{Method: string(s.Method), To: s.To, Delay: s.Delay.Std()}
	}
	return out, nil
}
