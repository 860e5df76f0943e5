package store_test

import (
	"context"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/store"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

func TestASecretIsMadeOnceAndRotationReplacesIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		first, err := db.Secret(ctx, "links")
		if err != nil || len(first) != 64 {
			t.Fatalf("Secret = %q, %v; want 64 hex digits", first, err)
		}
		if again, _ := db.Secret(ctx, "links"); again != first {
			t.Errorf("second Secret = %q, want the first %q", again, first)
		}
		rotated, err := db.RotateSecret(ctx, "links")
		if err != nil || rotated == first || len(rotated) != 64 {
			t.Fatalf("RotateSecret = %q, %v; want a new 64-digit secret", rotated, err)
		}
		if now, _ := db.Secret(ctx, "links"); now != rotated {
			t.Errorf("Secret after rotation = %q, want %q", now, rotated)
		}
		if other, _ := db.Secret(ctx, "webhook"); other == rotated || other == first {
			t.Error("two names share a secret")
		}
	})
}
