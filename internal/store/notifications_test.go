package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/escalation"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// The pager records the outcomes of many sends at once (one statement on PostgreSQL).

func TestFinishingPagesRecordsEachOutcomeAndTheLastOfAPageNamedTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		esc := db.Escalations(nil)
		now := time.Now().Truncate(time.Millisecond)
		a := &alert.Alert{ID: alert.NewID(), Message: "m", Alias: alert.NewID(), Status: alert.StatusOpen,
			Priority: alert.P3, CreatedAt: now, UpdatedAt: now, LastOccurredAt: now, Count: 1}
		if err := db.Alerts(nil).InTx(ctx, func(tx alert.Tx) error { return tx.Insert(ctx, a) }); err != nil {
			t.Fatal(err)
		}
		var ns []*escalation.Notification
		for i := range 5 {
			ns = append(ns, &escalation.Notification{ID: alert.NewID(), Key: fmt.Sprint(a.ID, i), AlertID: a.ID, Step: i,
				Username: "alice", Method: "email", To: "alice@example.com", State: escalation.Pending,
				DueAt: now, CreatedAt: now, UpdatedAt: now, LeaseUntil: now.Add(time.Minute)})
		}
		if err := esc.InTx(ctx, func(tx escalation.Tx) error {
			for _, n := range ns {
				if _, err := tx.AddNotification(ctx, n); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}

		later := now.Add(time.Second)
		sent := *ns[0]
		sent.State, sent.Attempts, sent.ProviderID, sent.SentAt, sent.UpdatedAt, sent.LeaseUntil = escalation.Sent, 1, "<id@x>", later, later, time.Time{}
		failed := *ns[1]
		failed.State, failed.Attempts, failed.Error, failed.UpdatedAt, failed.LeaseUntil = escalation.Failed, 1, "550 no such user", later, time.Time{}
		heldBack := *ns[2]
		heldBack.Attempts, heldBack.Error, heldBack.UpdatedAt, heldBack.LeaseUntil = 1, "421 try later", later, later.Add(2*time.Second)
		retriedThenSent := heldBack
		retriedThenSent.ID = ns[3].ID
		retriedThenSent.Key = ns[3].Key
		retriedThenSent.Step = 3
		firstTry := retriedThenSent
		retriedThenSent.State, retriedThenSent.Attempts, retriedThenSent.Error, retriedThenSent.SentAt, retriedThenSent.LeaseUntil = escalation.Sent, 2, "", later, time.Time{}

		if err := esc.FinishNotifications(ctx, []*escalation.Notification{&sent, &failed, &firstTry, &heldBack, &retriedThenSent}); err != nil {
			t.Fatal(err)
		}
		got, err := esc.Notifications(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]*escalation.Notification{}
		for _, n := range got {
			byID[n.ID] = n
		}
		for _, want := range []escalation.Notification{sent, failed, heldBack, retriedThenSent, *ns[4]} {
			g := byID[want.ID]
			if g == nil {
				t.Fatalf("notification %s (step %d) is gone", want.ID, want.Step)
			}
			if g.State != want.State || g.Attempts != want.Attempts || g.Error != want.Error || g.ProviderID != want.ProviderID ||
				!g.SentAt.Equal(want.SentAt) || !g.UpdatedAt.Equal(want.UpdatedAt) || !g.LeaseUntil.Equal(want.LeaseUntil) {
				t.Errorf("step %d recorded as %+v, want %+v", want.Step, *g, want)
			}
		}
	})
}
