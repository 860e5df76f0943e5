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

// SNS does not keep order and a sender retries, so a report of a finding can arrive after the report
// that resolved it. Only what is newer than the resolve may open a new alert.
func TestAReportOlderThanTheResolveThatClosedItsAlertOpensNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		svc, _ := setup(t, dsn)
		ctx := context.Background()
		report := func(key string, version int64) alert.IngestResult {
			t.Helper()
			res, err := svc.Ingest(ctx, api, key, []alert.Occurrence{{Create: &alert.CreateRequest{Message: "finding", Alias: "late-f", SourceVersion: version}}})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		resolve := func(key, alias string, version int64) alert.IngestResult {
			t.Helper()
			res, err := svc.Ingest(ctx, api, key, []alert.Occurrence{{CloseAlias: alias, CloseNote: "resolved", CloseVersion: version}})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		steps := []struct {
			name string
			do   func() alert.IngestResult
			want alert.IngestResult
		}{
			{"the finding", func() alert.IngestResult { return report("m1", 100) }, alert.IngestResult{Created: 1}},
			{"an update while its alert is open", func() alert.IngestResult { return report("m1b", 150) }, alert.IngestResult{Deduped: 1}},
			{"its resolve", func() alert.IngestResult { return resolve("m2", "late-f", 300) }, alert.IngestResult{Closed: 1}},
			{"an update made before the resolve, late", func() alert.IngestResult { return report("m3", 200) }, alert.IngestResult{Quiet: 1}},
			{"the finding active again after the resolve", func() alert.IngestResult { return report("m4", 400) }, alert.IngestResult{Created: 1}},
			{"a resolve of a finding already closed by hand", func() alert.IngestResult {
				if _, err := svc.Close(ctx, alice, alert.Ref{Type: alert.ByAlias, Value: "late-f"}); err != nil {
					t.Fatal(err)
				}
				return resolve("m5", "late-f", 600)
			}, alert.IngestResult{Ignored: 1}},
			{"an update older than that resolve, late", func() alert.IngestResult { return report("m6", 500) }, alert.IngestResult{Quiet: 1}},
		}
		for _, s := range steps {
			if got := s.do(); got != s.want {
				t.Errorf("%s: %+v, want %+v", s.name, got, s.want)
			}
		}
	})
}
