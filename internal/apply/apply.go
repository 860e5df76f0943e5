// Package apply makes the stored configuration what a YAML file declares (`tocsin apply -f FILE`):
// users, teams, schedules, escalation policies and integrations. It checks the whole file first and
// reports every problem with its location, then applies every change in one transaction, so a file is
// applied completely or not at all. Applying the same file again changes nothing.
package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/oncall"
	"github.com/tocsin-dev/tocsin/internal/securityhub"
	"github.com/tocsin-dev/tocsin/internal/store"
)

// File is the YAML document, with the key names of DESIGN.md.
type File struct {
	oncall.Config
	Integrations []Integration `json:"integrations,omitempty"`
}

// Integration declares an integration. Its API key is made when it is created and printed once.
type Integration struct {
	Name        string                    `json:"name"`
	Type        string                    `json:"type"`
	Team        string                    `json:"team,omitempty"`
	RoleARN     string                    `json:"roleArn,omitempty"`
	ExternalID  string                    `json:"externalId,omitempty"`
	Region      string                    `json:"region,omitempty"`
	SendUpdates *bool                     `json:"sendUpdates,omitempty"` // default: true when roleArn is set
	Filter      integration.FindingFilter `json:"filter,omitempty"`
	Enabled     *bool                     `json:"enabled,omitempty"` // default true
}

// Parse reads a YAML (or JSON) file. Unknown keys are errors: a misspelt key silently ignored is a
// rule that silently does not exist.
func Parse(data []byte) (*File, error) {
	var f File
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	return &f, nil
}

// Validate reports every problem in the file, each with its path, or nil.
func (f *File) Validate() error {
	var ps oncall.Problems
	if err := f.Config.Validate(); err != nil {
		var got oncall.Problems
		if !errors.As(err, &got) {
			return err
		}
		ps = append(ps, got...)
	}
	teams := map[string]bool{}
	for _, t := range f.Teams {
		teams[t.Name] = true
	}
	seen := map[string]int{}
	for i, in := range f.Integrations {
		p := fmt.Sprintf("integrations[%d]", i)
		if err := (integration.Integration{Name: in.Name, Type: integration.Type(in.Type)}).Check(); err != nil {
			ps = append(ps, oncall.Problem{Path: p, Msg: err.Error()})
		}
		if j, ok := seen[in.Name]; ok {
			ps = append(ps, oncall.Problem{Path: p + ".name", Msg: fmt.Sprintf("duplicate integration name %q (first at integrations[%d])", in.Name, j)})
		} else {
			seen[in.Name] = i
		}
		if in.Team != "" && !teams[in.Team] {
			ps = append(ps, oncall.Problem{Path: p + ".team", Msg: fmt.Sprintf("unknown team %q", in.Team)})
		}
		if err := securityhub.Filter(in.Filter).Validate(); err != nil {
			ps = append(ps, oncall.Problem{Path: p, Msg: err.Error()})
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Op is what a change does.
type Op string

// The operations of a plan.
const (
	Create Op = "create"
	Update Op = "update"
	Delete Op = "delete"
)

// Change is one line of a plan.
type Change struct {
	Op   Op
	Kind string // user, team, schedule, escalation, integration
	Name string
}

func (c Change) String() string { return fmt.Sprintf("%s %s %q", c.Op, c.Kind, c.Name) }

// Result says what Apply did (or, for a dry run, would do).
type Result struct {
	Changes   []Change
	Unchanged int
	// Keys holds the API key of each integration created, by name: shown once, never stored.
	Keys map[string]string
}

// Options choose how to apply.
type Options struct {
	// Prune deletes what the file does not declare.
	Prune bool
	// DryRun computes the plan and changes nothing.
	DryRun bool
	Now    time.Time
}

// Apply makes the database match f in one transaction. f must have passed Validate.
func Apply(ctx context.Context, db *store.DB, f *File, opts Options) (*Result, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	res := &Result{Keys: map[string]string{}}
	errDryRun := errors.New("dry run")
	err := db.ObjectsInTx(ctx, func(tx *store.ObjectTx) error {
		if err := applyObjects(ctx, tx, f, opts, res); err != nil {
			return err
		}
		if err := applyIntegrations(ctx, tx, f, opts, res); err != nil {
			return err
		}
		if opts.DryRun {
			return errDryRun // roll back
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return nil, err
	}
	if opts.DryRun {
		res.Keys = map[string]string{}
	}
	return res, nil
}

func applyObjects(ctx context.Context, tx *store.ObjectTx, f *File, opts Options, res *Result) error {
	current, err := tx.Objects(ctx, "")
	if err != nil {
		return err
	}
	have := map[string]json.RawMessage{}
	for _, o := range current {
		have[o.Kind+"\x00"+o.Name] = o.Doc
	}
	want := map[string]bool{}
	put := func(kind, name string, doc any) error {
		want[kind+"\x00"+name] = true
		b, err := json.Marshal(doc)
		if err != nil {
			return fmt.Errorf("encode %s %q: %w", kind, name, err)
		}
		old, exists := have[kind+"\x00"+name]
		if exists && sameJSON(old, b) {
			res.Unchanged++
			return nil
		}
		op := Create
		if exists {
			op = Update
		}
		res.Changes = append(res.Changes, Change{Op: op, Kind: kind, Name: name})
		return tx.Put(ctx, kind, name, doc, opts.Now)
	}
	for _, u := range f.Users {
		if err := put(store.KindUser, u.Username, u); err != nil {
			return err
		}
	}
	for _, t := range f.Teams {
		if err := put(store.KindTeam, t.Name, t); err != nil {
			return err
		}
	}
	for _, s := range f.Schedules {
		if err := put(store.KindSchedule, s.Name, s); err != nil {
			return err
		}
	}
	for _, e := range f.Escalations {
		if err := put(store.KindEscalation, e.Name, e); err != nil {
			return err
		}
	}
	if !opts.Prune {
		return nil
	}
	for _, o := range current {
		if want[o.Kind+"\x00"+o.Name] {
			continue
		}
		res.Changes = append(res.Changes, Change{Op: Delete, Kind: o.Kind, Name: o.Name})
		if err := tx.Delete(ctx, o.Kind, o.Name); err != nil {
			return err
		}
	}
	return nil
}

func applyIntegrations(ctx context.Context, tx *store.ObjectTx, f *File, opts Options, res *Result) error {
	current, err := tx.Integrations(ctx)
	if err != nil {
		return err
	}
	byName := map[string]*integration.Integration{}
	for _, in := range current {
		byName[in.Name] = in
	}
	for _, d := range f.Integrations {
		settings := integration.Settings{RoleARN: d.RoleARN, ExternalID: d.ExternalID, Region: d.Region, SendUpdates: d.RoleARN != "", Filter: d.Filter}
		if d.SendUpdates != nil {
			settings.SendUpdates = *d.SendUpdates
		}
		settings.Filter.MinSeverity = strings.ToUpper(settings.Filter.MinSeverity)
		enabled := d.Enabled == nil || *d.Enabled
		old, exists := byName[d.Name]
		if !exists {
			in, key, err := integration.New(integration.Integration{Name: d.Name, Type: integration.Type(d.Type), Team: d.Team, Settings: settings}, opts.Now)
			if err != nil {
				return err
			}
			in.Enabled = enabled
			res.Changes = append(res.Changes, Change{Op: Create, Kind: "integration", Name: d.Name})
			res.Keys[d.Name] = key
			if err := tx.InsertIntegration(ctx, in); err != nil {
				return err
			}
			continue
		}
		oldSettings, _ := json.Marshal(old.Settings)
		newSettings, _ := json.Marshal(settings)
		if string(old.Type) == d.Type && old.Team == d.Team && old.Enabled == enabled && sameJSON(oldSettings, newSettings) {
			res.Unchanged++
			continue
		}
		old.Type, old.Team, old.Enabled, old.Settings, old.UpdatedAt = integration.Type(d.Type), d.Team, enabled, settings, opts.Now.UTC()
		res.Changes = append(res.Changes, Change{Op: Update, Kind: "integration", Name: d.Name})
		if err := tx.UpdateIntegration(ctx, old); err != nil {
			return err
		}
	}
	if !opts.Prune {
		return nil
	}
	for _, in := range current {
		if slices.ContainsFunc(f.Integrations, func(d Integration) bool { return d.Name == in.Name }) {
			continue
		}
		res.Changes = append(res.Changes, Change{Op: Delete, Kind: "integration", Name: in.Name})
		if err := tx.DeleteIntegration(ctx, in.ID); err != nil {
			return err
		}
	}
	return nil
}

// sameJSON compares two JSON documents ignoring formatting and key order.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// Kinds are the on-call object kinds, by the name used in /api paths.
var Kinds = map[string]string{"users": store.KindUser, "teams": store.KindTeam, "schedules": store.KindSchedule, "escalations": store.KindEscalation}

// Put creates or replaces one on-call object (doc is its JSON) after checking the whole configuration
// with it in place, so that the API can never store what `tocsin apply` would refuse. It reports
// whether the object was new.
func Put(ctx context.Context, db *store.DB, kind, name string, doc []byte, now time.Time) (created bool, err error) {
	err = db.ObjectsInTx(ctx, func(tx *store.ObjectTx) error {
		cfg, err := currentConfig(ctx, tx)
		if err != nil {
			return err
		}
		f := &File{Config: *cfg}
		var value any
		switch kind {
		case store.KindUser:
			value, created, err = replace(&f.Users, doc, name, func(u oncall.User) string { return u.Username })
		case store.KindTeam:
			value, created, err = replace(&f.Teams, doc, name, func(t oncall.Team) string { return t.Name })
		case store.KindSchedule:
			value, created, err = replace(&f.Schedules, doc, name, func(s oncall.Schedule) string { return s.Name })
		case store.KindEscalation:
			value, created, err = replace(&f.Escalations, doc, name, func(e oncall.EscalationPolicy) string { return e.Name })
		default:
			return fmt.Errorf("unknown kind %q", kind)
		}
		if err != nil {
			return err
		}
		if err := f.Config.Validate(); err != nil {
			return err
		}
		return tx.Put(ctx, kind, name, value, now)
	})
	return created, err
}

// Remove deletes one on-call object, unless something else still refers to it.
func Remove(ctx context.Context, db *store.DB, kind, name string) error {
	return db.ObjectsInTx(ctx, func(tx *store.ObjectTx) error {
		cfg, err := currentConfig(ctx, tx)
		if err != nil {
			return err
		}
		found := false
		drop := func(n string) bool {
			if n == name {
				found = true
				return true
			}
			return false
		}
		switch kind {
		case store.KindUser:
			cfg.Users = slices.DeleteFunc(cfg.Users, func(u oncall.User) bool { return drop(u.Username) })
		case store.KindTeam:
			cfg.Teams = slices.DeleteFunc(cfg.Teams, func(t oncall.Team) bool { return drop(t.Name) })
		case store.KindSchedule:
			cfg.Schedules = slices.DeleteFunc(cfg.Schedules, func(s oncall.Schedule) bool { return drop(s.Name) })
		case store.KindEscalation:
			cfg.Escalations = slices.DeleteFunc(cfg.Escalations, func(e oncall.EscalationPolicy) bool { return drop(e.Name) })
		}
		if !found {
			return fmt.Errorf("%s %q: %w", kind, name, store.ErrNoObject)
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		return tx.Delete(ctx, kind, name)
	})
}

func currentConfig(ctx context.Context, tx *store.ObjectTx) (*oncall.Config, error) {
	objs, err := tx.Objects(ctx, "")
	if err != nil {
		return nil, err
	}
	return store.ConfigOf(objs)
}

// replace decodes doc as a T named name (the name in the document must match or be empty) and puts
// it in list in place of the one with that name.
func replace[T any](list *[]T, doc []byte, name string, nameOf func(T) string) (T, bool, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, false, oncall.Problems{{Path: "body", Msg: err.Error()}}
	}
	if n := nameOf(v); n != name {
		return v, false, oncall.Problems{{Path: "body", Msg: fmt.Sprintf("names %q, but the URL names %q", n, name)}}
	}
	i := slices.IndexFunc(*list, func(x T) bool { return nameOf(x) == name })
	if i < 0 {
		*list = append(*list, v)
		return v, true, nil
	}
	(*list)[i] = v
	return v, false, nil
}
