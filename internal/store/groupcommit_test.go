package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/store"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// On SQLite, transactions waiting for the writer share one commit, each in its own savepoint. Many
// concurrent creates, some of which fail, must leave exactly the ones that succeeded.

func TestConcurrentTransactionsThatFailLeaveNoTraceAndTheRestCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		alerts := db.Alerts(nil)
		errPlanned := errors.New("planned failure")
		const n = 400
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				errs[i] = alerts.InTx(ctx, func(tx alert.Tx) error {
					now := time.Now()
					a := &alert.Alert{ID: alert.NewID(), Message: fmt.Sprintf("m%d", i), Alias: fmt.Sprintf("alias-%d", i),
						Status: alert.StatusOpen, Priority: alert.P3, CreatedAt: now, UpdatedAt: now, LastOccurredAt: now, Count: 1}
					if err := tx.Insert(ctx, a); err != nil {
						return err
					}
					if i%3 == 0 {
						return errPlanned // after writing: the write must be undone
					}
					return nil
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			want := error(nil)
			if i%3 == 0 {
				want = errPlanned
			}
			if !errors.Is(err, want) {
				t.Errorf("transaction %d: %v, want %v", i, err, want)
			}
		}
		for i := range n {
			_, err := alerts.Get(ctx, alert.Ref{Type: alert.ByAlias, Value: fmt.Sprintf("alias-%d", i)})
			switch {
			case i%3 == 0 && !errors.Is(err, alert.ErrNotFound):
				t.Errorf("alert %d of a failed transaction: %v, want not found", i, err)
			case i%3 != 0 && err != nil:
				t.Errorf("alert %d of a committed transaction: %v", i, err)
			}
		}
	})
}

func TestATransactionAfterCloseFailsInsteadOfHanging(t *testing.T) {
	db, err := store.Open(context.Background(), storetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- db.Alerts(nil).InTx(context.Background(), func(alert.Tx) error { return nil })
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a transaction on a closed database succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a transaction on a closed database hung")
	}
}
