package integration_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/store"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// Authenticate remembers the keys that worked for a second; these check that it never lets a key
// work longer than that after a change.

func openServices(t *testing.T) (ctx context.Context, here, elsewhere *integration.Service) {
	t.Helper()
	ctx = context.Background()
	dsn := storetest.SQLite(t)
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// Another process on the same database: a replica, or the CLI.
	other, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return ctx, integration.NewService(db.Integrations()), integration.NewService(other.Integrations())
}

func TestAKeyStopsWorkingAtOnceWhenThisServiceChangesIt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(ctx context.Context, svc *integration.Service) error
		want   error
	}{
		{"disabled", func(ctx context.Context, svc *integration.Service) error {
			_, err := svc.SetEnabled(ctx, "api", false)
			return err
		}, integration.ErrDisabled},
		{"rotated", func(ctx context.Context, svc *integration.Service) error {
			_, _, err := svc.RotateKey(ctx, "api")
			return err
		}, integration.ErrUnknownKey},
		{"deleted", func(ctx context.Context, svc *integration.Service) error { return svc.Delete(ctx, "api") }, integration.ErrUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, svc, _ := openServices(t)
			_, key, err := svc.Create(ctx, integration.Integration{Name: "api", Type: integration.TypeAPI})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Authenticate(ctx, key); err != nil {
				t.Fatalf("the new key: %v", err)
			}
			if err := tc.change(ctx, svc); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Authenticate(ctx, key); !errors.Is(err, tc.want) {
				t.Errorf("the key right after it was %s: %v, want %v", tc.name, err, tc.want)
			}
		})
	}
}

func TestAKeyDisabledByAnotherProcessStopsWorkingWhenItsSecondInMemoryIsOver(t *testing.T) {
	ctx, here, elsewhere := openServices(t)
	_, key, err := here.Create(ctx, integration.Integration{Name: "api", Type: integration.TypeAPI})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := here.Authenticate(ctx, key); err != nil {
		t.Fatalf("the new key: %v", err)
	}
	disabled := time.Now()
	if _, err := elsewhere.SetEnabled(ctx, "api", false); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := here.Authenticate(ctx, key)
		if errors.Is(err, integration.ErrDisabled) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		// A second in memory, and slack for a busy machine.
		if time.Since(disabled) > 3*time.Second {
			t.Fatal("the key disabled by another process still works after 3 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
