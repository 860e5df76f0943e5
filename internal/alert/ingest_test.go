package alert_test

import (
	"context"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

func TestIngestAppliesAMessageOnceAndAllOfItTogether(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		svc, _ := setup(t, dsn)
		ctx := context.Background()
		msg := []alert.Occurrence{
			{Create: &alert.CreateRequest{Message: "finding 1", Alias: "f1"}},
			{Create: &alert.CreateRequest{Message: "finding 2", Alias: "f2"}},
			{CloseAlias: "f-never-seen", CloseNote: "resolved"},
		}
		res, err := svc.Ingest(ctx, api, "m1", msg)
		if err != nil {
			t.Fatal(err)
		}
		if res != (alert.IngestResult{Created: 2, Ignored: 1}) {
			t.Fatalf("first delivery: %+v", res)
		}
		again, err := svc.Ingest(ctx, api, "m1", msg)
		if err != nil || !again.Duplicate || again.Created+again.Deduped != 0 {
			t.Fatalf("redelivery: %+v %v, want a duplicate that changes nothing", again, err)
		}
		next, err := svc.Ingest(ctx, api, "m2", []alert.Occurrence{
			{Create: &alert.CreateRequest{Message: "finding 1", Alias: "f1"}},
			{CloseAlias: "f2", CloseNote: "Security Hub: workflow status RESOLVED"},
		})
		if err != nil || next != (alert.IngestResult{Deduped: 1, Closed: 1}) {
			t.Fatalf("second message: %+v %v", next, err)
		}
		f1, _ := svc.Get(ctx, alert.Ref{Type: alert.ByAlias, Value: "f1"})
		f2, _ := svc.Get(ctx, alert.Ref{Type: alert.ByAlias, Value: "f2"})
		if f1.Count != 2 || f2.Status != alert.StatusClosed {
			t.Fatalf("f1 count %d, f2 status %s", f1.Count, f2.Status)
		}
		notes, _ := svc.Notes(ctx, alert.Ref{Type: alert.ByID, Value: f2.ID}, alert.Page{})
		if len(notes) != 1 || notes[0].Text != "Security Hub: workflow status RESOLVED" {
			t.Errorf("close note = %+v", notes)
		}
		// A message with one invalid occurrence changes nothing at all.
		if _, err := svc.Ingest(ctx, api, "m3", []alert.Occurrence{
			{Create: &alert.CreateRequest{Message: "ok", Alias: "f3"}},
			{Create: &alert.CreateRequest{Message: ""}},
		}); err == nil {
			t.Fatal("an invalid occurrence was accepted")
		}
		if _, err := svc.Get(ctx, alert.Ref{Type: alert.ByAlias, Value: "f3"}); err == nil {
			t.Error("part of a refused message was stored")
		}
		if res, err := svc.Ingest(ctx, api, "m3", msg[:1]); err != nil || res.Duplicate {
			t.Errorf("the refused message's key was remembered: %+v %v", res, err)
		}
	})
}
