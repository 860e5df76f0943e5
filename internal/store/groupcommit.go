package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// SQLite has one writer, and a commit costs about as much as the transaction before it (appending
// its pages to the write-ahead log). Under load, transactions that are waiting for the writer are
// therefore run together: one BEGIN, each in a savepoint of its own, one COMMIT. A transaction that
// fails rolls back to its savepoint and returns its error without touching the others; the others
// return only once the shared COMMIT has succeeded, so a nil error still means committed. Nothing
// waits to fill a group: a transaction that finds the writer free runs alone, as before.

// groupLimit bounds how many transactions share one commit.
const groupLimit = 64

type groupTx struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	done chan error
}

type groupCommitter struct {
	db    *DB
	queue chan *groupTx
	once  sync.Once
	// mu keeps close from finishing while a transaction is being queued, so that the loop's last
	// drain sees every queued transaction.
	mu      sync.RWMutex
	closed  bool
	stop    chan struct{}
	stopped chan struct{}
}

func newGroupCommitter(db *DB) *groupCommitter {
	return &groupCommitter{db: db, queue: make(chan *groupTx, groupLimit*4), stop: make(chan struct{}), stopped: make(chan struct{})}
}

// errClosed is what transactions get once the database is closed.
var errClosed = errors.New("store: the database is closed")

// run runs fn in a group's transaction and returns once that transaction committed or fn failed.
func (g *groupCommitter) run(ctx context.Context, fn func(*sql.Tx) error) error {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return errClosed
	}
	g.once.Do(func() { go g.loop() })
	t := &groupTx{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case g.queue <- t:
	case <-ctx.Done():
		g.mu.RUnlock()
		return ctx.Err()
	}
	g.mu.RUnlock()
	// Once queued, the outcome must be waited for: leaving early could report failure for a
	// transaction that then commits.
	return <-t.done
}

func (g *groupCommitter) close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	close(g.stop)
	g.mu.Unlock()
	g.once.Do(func() { close(g.stopped) }) // never started
	<-g.stopped
}

func (g *groupCommitter) loop() {
	defer close(g.stopped)
	batch := make([]*groupTx, 0, groupLimit)
	for {
		select {
		case <-g.stop:
			g.drain(errClosed)
			return
		case t := <-g.queue:
			batch = append(batch[:0], t)
		}
	more:
		for len(batch) < groupLimit {
			select {
			case t := <-g.queue:
				batch = append(batch, t)
			default:
				break more
			}
		}
		g.commit(batch)
	}
}

func (g *groupCommitter) drain(err error) {
	for {
		select {
		case t := <-g.queue:
			t.done <- err
		default:
			return
		}
	}
}

// commit runs a group in one transaction. results[i] is nil for a transaction whose changes are in
// the commit, or the error that rolled it back to its savepoint.
func (g *groupCommitter) commit(batch []*groupTx) {
	finish := func(results []error, commitErr error) {
		for i, t := range batch {
			switch {
			case results != nil && results[i] != nil:
				t.done <- results[i]
			default:
				t.done <- commitErr
			}
		}
	}
	if len(batch) == 1 {
		finish(nil, g.db.inTxAlone(batch[0].ctx, batch[0].fn))
		return
	}
	ctx := context.Background() // the group outlives any one caller's context
	tx, err := g.db.write.BeginTx(ctx, nil)
	if err != nil {
		finish(nil, fmt.Errorf("begin: %w", err))
		return
	}
	results := make([]error, len(batch))
	committed := 0
	for i, t := range batch {
		if err := t.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT grp"); err != nil {
			_ = tx.Rollback()
			finish(nil, fmt.Errorf("savepoint: %w", err))
			return
		}
		if err := t.fn(tx); err != nil {
			results[i] = err
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO grp"); rerr != nil {
				// SQLite rolled the whole transaction back (it does on some errors): nothing of
				// the group is left, so every member fails.
				_ = tx.Rollback()
				finish(nil, errors.Join(err, fmt.Errorf("roll back to savepoint: %w", rerr)))
				return
			}
		} else {
			committed++
		}
		if _, err := tx.ExecContext(ctx, "RELEASE grp"); err != nil {
			_ = tx.Rollback()
			finish(nil, fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if committed == 0 {
		_ = tx.Rollback()
		finish(results, nil)
		return
	}
	if err := tx.Commit(); err != nil {
		// Nobody's changes are in: the members that succeeded get the commit's error.
		finish(results, fmt.Errorf("commit: %w", err))
		return
	}
	finish(results, nil)
}
