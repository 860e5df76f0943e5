// Package store is tocsin's database: SQLite (the embedded default) and PostgreSQL (for several
// replicas), one schema for both, migrations applied on open, and transactions that the domain
// packages write through.
//
// Both databases are used through database/sql (PostgreSQL through pgx's stdlib adapter), so one
// *sql.Tx type carries both an alert change and the River jobs it enqueues.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations
var migrations embed.FS

// Dialect names the database behind a DB.
type Dialect string

// The two supported databases.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open, migrated database.
type DB struct {
	dialect Dialect
	// write takes every transaction. On SQLite it holds a single connection: SQLite allows one writer,
	// and queueing writers in Go is faster and kinder than letting them spin on SQLITE_BUSY.
	write *sql.DB
	// read serves queries outside transactions; on SQLite several readers run beside the writer (WAL).
	read *sql.DB
	// pool is PostgreSQL's native pool, which River uses to LISTEN for new jobs.
	pool *pgxpool.Pool

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // prepared on write, by query text
	// reads are prepared on read, by query text: the queries outside transactions that every
	// intake request runs. database/sql prepares them again on each pool connection as needed.
	reads map[string]*sql.Stmt

	// group shares one commit among transactions waiting for SQLite's writer; nil on PostgreSQL,
	// whose transactions run side by side.
	group *groupCommitter

	// config is the escalation engine's cache of decoded on-call objects.
	config configCache
}

// stmt returns query prepared on the writer pool, or nil when it is not one of the prepared queries.
// It never prepares: on SQLite the writer pool has one connection, which the calling transaction
// holds, so preparing here would wait for ever.
func (db *DB) stmt(query string) *sql.Stmt {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	return db.stmts[query]
}

// readStmt returns query prepared on the read pool, or nil when it is not one of hotReads.
func (db *DB) readStmt(query string) *sql.Stmt {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	return db.reads[query]
}

// prepare prepares the fixed statements of the hot paths once, while no transaction is open: writes
// on the writer pool, reads on the read pool.
func (db *DB) prepare(ctx context.Context, writes, reads []string) error {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if db.stmts == nil {
		db.stmts, db.reads = map[string]*sql.Stmt{}, map[string]*sql.Stmt{}
	}
	for _, set := range []struct {
		pool    *sql.DB
		queries []string
		into    map[string]*sql.Stmt
	}{{db.write, writes, db.stmts}, {db.read, reads, db.reads}} {
		for _, q := range set.queries {
			if _, ok := set.into[q]; ok {
				continue
			}
			st, err := set.pool.PrepareContext(ctx, q)
			if err != nil {
				return fmt.Errorf("prepare %q: %w", q, err)
			}
			set.into[q] = st
		}
	}
	return nil
}

// Open connects to a database URL, sqlite://PATH or postgres://…, and applies pending migrations.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var (
		db  *DB
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		db, err = openSQLite(strings.TrimPrefix(dsn, "sqlite://"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err = openPostgres(ctx, dsn)
	default:
		return nil, fmt.Errorf("database URL %q: want sqlite://PATH or postgres://…", redact(dsn))
	}
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.prepare(ctx, db.hotQueries(), hotReads()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openSQLite(file string) (*DB, error) {
	if file == "" {
		return nil, errors.New("sqlite:// needs a file path, e.g. sqlite://tocsin.db")
	}
	if strings.ContainsAny(file, "?#") {
		return nil, fmt.Errorf("sqlite path %q: options are set by tocsin, remove ?…", file)
	}
	// WAL lets readers run beside the writer; synchronous=NORMAL in WAL mode keeps every commit across
	// a process crash (kill -9) and loses at most the last commits on a power cut, which is the
	// trade SQLite documents for WAL. busy_timeout covers other processes (tocsin CLI commands) that
	// write while the server runs. _txlock=immediate takes the write lock at BEGIN, so a transaction
	// never fails half-way trying to upgrade a read lock.
	//
	// The writer checkpoints the WAL into the database every 10,000 pages (40 MB) rather than SQLite's
	// 1,000: a checkpoint runs in the commit that crosses the mark, holding the writer while it copies
	// pages and syncs, and at 1,000 findings a second the default mark came every 50 ms. Pages written
	// again and again (index leaves) are copied once per checkpoint instead. journal_size_limit trims
	// the WAL file back to 64 MB when a checkpoint could not restart it (a long read was in the way).
	common := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
	write, err := sql.Open("sqlite", "file:"+file+"?"+common+"&_pragma=wal_autocheckpoint(10000)&_pragma=journal_size_limit(67108864)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", file, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", "file:"+file+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", file, err)
	}
	read.SetMaxOpenConns(4)
	read.SetMaxIdleConns(4)
	db := &DB{dialect: SQLite, write: write, read: read}
	db.group = newGroupCommitter(db)
	return db, nil
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres URL %s: %w", redact(dsn), err)
	}
	if cfg.MaxConns < 40 {
		cfg.MaxConns = 40 // enough for the HTTP handlers and the job workers together
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres %s: %w", redact(dsn), err)
	}
	db := stdlib.OpenDBFromPool(pool)
	// database/sql keeps 2 idle connections unless told: under load it closed the others after each
	// use, and every reopened one prepared its statements again (a Parse, plans made afresh and a
	// Deallocate each), which was a third of PostgreSQL's CPU at 1,000 findings a second.
	db.SetMaxOpenConns(int(cfg.MaxConns))
	db.SetMaxIdleConns(int(cfg.MaxConns))
	return &DB{dialect: Postgres, write: db, read: db, pool: pool}, nil
}

// redact hides a password in a database URL so that it can be logged.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}

// Dialect says which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// SQL returns the pool that takes transactions, for River.
func (db *DB) SQL() *sql.DB { return db.write }

// PgxPool returns PostgreSQL's native pool (nil on SQLite), for River's LISTEN connection.
func (db *DB) PgxPool() *pgxpool.Pool { return db.pool }

// Close closes every connection.
func (db *DB) Close() error {
	if db.group != nil {
		db.group.close()
	}
	db.stmtMu.Lock()
	for _, st := range db.stmts {
		st.Close()
	}
	for _, st := range db.reads {
		st.Close()
	}
	db.stmts, db.reads = nil, nil
	db.stmtMu.Unlock()
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if db.pool != nil {
		db.pool.Close()
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.read.PingContext(ctx)
}

// Migrated reports whether every migration this binary knows has been applied.
func (db *DB) Migrated(ctx context.Context) error {
	want, err := db.migrationFiles()
	if err != nil {
		return err
	}
	var have int
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if last := want[len(want)-1].version; have < last {
		return fmt.Errorf("schema at version %d, want %d", have, last)
	}
	return nil
}

type migration struct {
	version int
	name    string
}

func (db *DB) migrationFiles() ([]migration, error) {
	dir := path.Join("migrations", string(db.dialect))
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and _", e.Name())
		}
		out = append(out, migration{version: v, name: path.Join(dir, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies pending migrations, each in its own transaction. On PostgreSQL an advisory lock
// keeps replicas that start together from applying the same migration twice.
func (db *DB) migrate(ctx context.Context) error {
	files, err := db.migrationFiles()
	if err != nil {
		return err
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range files {
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			if db.dialect == Postgres {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7405226)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			body, err := migrations.ReadFile(m.name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %s: %w", m.name, err)
		}
	}
	return nil
}

// inTx runs fn in a transaction on the writer and commits when it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = db.inTxOnce(ctx, fn); !isRetryable(err) {
			return err
		}
	}
	return err
}

// isRetryable tells a PostgreSQL deadlock or serialization failure, which a retry of the whole
// transaction resolves, from other errors.
func isRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

func (db *DB) inTxOnce(ctx context.Context, fn func(*sql.Tx) error) error {
	if db.group != nil {
		return db.group.run(ctx, fn)
	}
	return db.inTxAlone(ctx, fn)
}

// inTxAlone runs fn in a transaction of its own.
func (db *DB) inTxAlone(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// isUniqueViolation tells a unique-constraint failure apart from other errors on both databases.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// PruneRequests deletes request statuses processed before the cut-off and says how many went.
func (db *DB) PruneRequests(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM requests WHERE processed_at < $1`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune request statuses: %w", err)
	}
	return res.RowsAffected()
}

// PruneMessages forgets intake message ids received before the cut-off.
func (db *DB) PruneMessages(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM intake_messages WHERE received_at < $1`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune intake message ids: %w", err)
	}
	return res.RowsAffected()
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
