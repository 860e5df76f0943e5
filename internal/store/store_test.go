package store_test

import (
	"context"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/store"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

func TestOpenAppliesMigrationsAndIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		for range 2 { // the second open finds everything applied
			db, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			if err := db.Migrated(ctx); err != nil {
				t.Fatalf("migrated: %v", err)
			}
			if err := db.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
		}
	})
}

func TestOpenRefusesUnknownDatabaseURLs(t *testing.T) {
	for _, dsn := range []string{"", "mysql://x", "sqlite://", "sqlite://a.db?mode=ro"} {
		if _, err := store.Open(context.Background(), dsn); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", dsn)
		}
	}
}
