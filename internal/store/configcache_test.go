package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/escalation"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/oncall"
	"github.com/tocsin-dev/tocsin/internal/store"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// The escalation engine reads the on-call configuration in its transactions through a cache. These
// tests change the configuration from a second connection (as `tocsin apply` in another process or
// another replica does) and check that the next transaction sees the change.

func TestTheEnginesConfigurationSeesChangesMadeByAnotherProcess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		engineDB := open(t, dsn)
		otherDB := open(t, dsn) // another process
		esc := engineDB.Escalations(nil)

		put := func(u oncall.User) {
			t.Helper()
			err := otherDB.ObjectsInTx(ctx, func(tx *store.ObjectTx) error {
				return tx.Put(ctx, store.KindUser, u.Username, u, time.Now())
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		contactOf := func(name string) (string, error) {
			t.Helper()
			var to string
			err := esc.InTx(ctx, func(tx escalation.Tx) error {
				u, err := tx.Config().User(ctx, name)
				if err != nil {
					return err
				}
				to = u.Contacts[0].To
				return nil
			})
			return to, err
		}

		if _, err := contactOf("alice@example.com"); !errors.Is(err, escalation.ErrNotConfigured) {
			t.Fatalf("an unknown user: %v, want ErrNotConfigured", err)
		}
		put(oncall.User{Username: "alice@example.com", Contacts: []oncall.Contact{{Method: oncall.MethodEmail, To: "old@example.com"}}})
		for range 2 { // the second read is served from the cache
			if to, err := contactOf("alice@example.com"); err != nil || to != "old@example.com" {
				t.Fatalf("after the user was added: %q, %v", to, err)
			}
		}
		put(oncall.User{Username: "alice@example.com", Contacts: []oncall.Contact{{Method: oncall.MethodEmail, To: "new@example.com"}}})
		if to, err := contactOf("alice@example.com"); err != nil || to != "new@example.com" {
			t.Fatalf("after the user changed: %q, %v, want new@example.com", to, err)
		}
		err := otherDB.ObjectsInTx(ctx, func(tx *store.ObjectTx) error { return tx.Delete(ctx, store.KindUser, "alice@example.com") })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := contactOf("alice@example.com"); !errors.Is(err, escalation.ErrNotConfigured) {
			t.Fatalf("after the user was deleted: %v, want ErrNotConfigured", err)
		}
	})
}

func TestTheEnginesConfigurationSeesAnIntegrationMovedToAnotherTeam(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		engineDB := open(t, dsn)
		otherDB := open(t, dsn)
		in := &integration.Integration{ID: "int-1", Name: "prod", Type: integration.TypeAPI, Team: "secops", Enabled: true, KeyHash: "h1", CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := otherDB.Integrations().InsertIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
		teamOf := func() string {
			t.Helper()
			var team string
			err := engineDB.Escalations(nil).InTx(ctx, func(tx escalation.Tx) error {
				var err error
				team, err = tx.Config().IntegrationTeam(ctx, in.ID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return team
		}
		if got := teamOf(); got != "secops" {
			t.Fatalf("team %q, want secops", got)
		}
		in.Team = "platform"
		if err := otherDB.Integrations().UpdateIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
		if got := teamOf(); got != "platform" {
			t.Fatalf("after the move: team %q, want platform", got)
		}
	})
}

func open(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
