package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// A transaction's log lines are written together when its work is done, several to an INSERT.

func TestLogLinesAreWrittenInOrderWithTheirTransactionOrNotAtAll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		alerts := open(t, dsn).Alerts(nil)
		errPlanned := errors.New("planned failure")
		for _, tc := range []struct {
			name  string
			lines int
			fail  error
		}{
			{"one line", 1, nil},
			{"more lines than one INSERT takes", 9, nil},
			{"a failed transaction", 3, errPlanned},
		} {
			t.Run(tc.name, func(t *testing.T) {
				now := time.Now()
				a := &alert.Alert{ID: alert.NewID(), Message: tc.name, Alias: alert.NewID(), Status: alert.StatusOpen,
					Priority: alert.P3, CreatedAt: now, UpdatedAt: now, LastOccurredAt: now, Count: 1}
				err := alerts.InTx(ctx, func(tx alert.Tx) error {
					if err := tx.Insert(ctx, a); err != nil {
						return err
					}
					for i := range tc.lines {
						if err := tx.AddLog(ctx, &alert.LogEntry{AlertID: a.ID, Type: "test", Text: fmt.Sprint("line ", i), Owner: "System", CreatedAt: now}); err != nil {
							return err
						}
					}
					return tc.fail
				})
				if !errors.Is(err, tc.fail) {
					t.Fatalf("InTx = %v, want %v", err, tc.fail)
				}
				logs, err := alerts.Logs(ctx, a.ID, alert.Page{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				want := tc.lines
				if tc.fail != nil {
					want = 0
				}
				if len(logs) != want {
					t.Fatalf("%d log lines, want %d", len(logs), want)
				}
				for i, l := range logs {
					if l.Text != fmt.Sprint("line ", i) || l.ID == 0 {
						t.Errorf("line %d is %+v", i, l)
					}
				}
			})
		}
	})
}
