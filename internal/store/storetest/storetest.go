// Package storetest gives tests a fresh database of each kind tocsin supports: SQLite always, and
// PostgreSQL when TOCSIN_TEST_POSTGRES_URL is set (each test gets its own schema in that database).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to create and drop schemas
)

// EnvPostgres names the variable that points tests at a PostgreSQL database.
const EnvPostgres = "TOCSIN_TEST_POSTGRES_URL"

// Each runs fn as a subtest once per database, with a database URL for a fresh, empty database.
func Each(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns the URL of a new SQLite database file in the test's temporary directory.
func SQLite(t testing.TB) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "tocsin.db")
}

// Postgres returns the URL of a new, empty schema in the test PostgreSQL database, dropped when the test
// ends, or skips the test when TOCSIN_TEST_POSTGRES_URL is unset.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skipf("PostgreSQL tests skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/test) to run them", EnvPostgres)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvPostgres, err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
