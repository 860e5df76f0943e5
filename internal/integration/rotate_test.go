package integration_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/store"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

func TestRotatingAKeyMakesTheNewKeyWorkAndTheOldOneFail(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := integration.NewService(db.Integrations())
	created, oldKey, err := svc.Create(ctx, integration.Integration{
		Name: "securityhub", Type: integration.TypeSecurityHub, Team: "secops",
		Settings: integration.Settings{ExternalID: "tocsin-0123456789abcdef01234567"},
	})
	if err != nil {
		t.Fatal(err)
	}

	rotated, newKey, err := svc.RotateKey(ctx, "securityhub")
	if err != nil {
		t.Fatal(err)
	}
	if newKey == "" || newKey == oldKey {
		t.Fatalf("new key %q, old key %q: want a different, non-empty key", newKey, oldKey)
	}
	if rotated.ID != created.ID || rotated.Team != "secops" || rotated.Settings.ExternalID != created.Settings.ExternalID {
		t.Errorf("rotating the key changed the integration: %+v, was %+v", rotated, created)
	}
	if _, err := svc.Authenticate(ctx, oldKey); !errors.Is(err, integration.ErrUnknownKey) {
		t.Errorf("the old key after rotation: %v, want ErrUnknownKey", err)
	}
	in, err := svc.Authenticate(ctx, newKey)
	if err != nil || in.ID != created.ID {
		t.Errorf("the new key: %v, %v", in, err)
	}
}

func TestRotatingTheKeyOfAnIntegrationThatDoesNotExistIsNotFound(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, err := integration.NewService(db.Integrations()).RotateKey(ctx, "nope"); !errors.Is(err, integration.ErrNotFound) {
		t.Errorf("RotateKey of an unknown integration: %v, want ErrNotFound", err)
	}
}
