package alert_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/jobs"
	"github.com/tocsin-dev/tocsin/internal/server"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// setup returns a Service over a real, fresh database, with the real job queue (not yet working).
func setup(t *testing.T, dsn string) (*alert.Service, *server.App) {
	t.Helper()
	app, err := server.Open(context.Background(), server.Config{Database: dsn, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { app.Close() })
	return app.Alerts, app
}

var (
	api   = alert.Origin{Actor: alert.Actor{Kind: alert.ActorIntegration, ID: "i1", Name: "prod", Type: "api"}}
	alice = alert.Origin{Actor: api.Actor, User: "alice"}
)

func byID(id string) alert.Ref { return alert.Ref{Type: alert.ByID, Value: id} }

func TestCreateDedupesOnlyOntoTheOpenAlertWithTheSameAlias(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		svc, _ := setup(t, dsn)
		ctx := context.Background()
		first, err := svc.Create(ctx, api, alert.CreateRequest{Message: "m", Alias: "x"})
		if err != nil || first.Deduped {
			t.Fatalf("first create: %+v %v", first, err)
		}
		second, err := svc.Create(ctx, api, alert.CreateRequest{Message: "m", Alias: "x"})
		if err != nil || !second.Deduped || second.Alert.ID != first.Alert.ID || second.Alert.Count != 2 {
			t.Fatalf("second create: %+v %v", second, err)
		}
		if _, err := svc.Close(ctx, alice, byID(first.Alert.ID)); err != nil {
			t.Fatal(err)
		}
		third, err := svc.Create(ctx, api, alert.CreateRequest{Message: "m", Alias: "x"})
		if err != nil || third.Deduped || third.Alert.ID == first.Alert.ID || third.Alert.TinyID <= first.Alert.TinyID {
			t.Fatalf("create after close: %+v %v", third, err)
		}
		noAlias, _ := svc.Create(ctx, api, alert.CreateRequest{Message: "m"})
		if noAlias.Alert.Alias != noAlias.Alert.ID {
			t.Errorf("an alert without alias has alias %q, want its id", noAlias.Alert.Alias)
		}
	})
}

func TestConcurrentCreatesOfOneAliasMakeExactlyOneAlert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		svc, _ := setup(t, dsn)
		ctx := context.Background()
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := svc.Create(ctx, api, alert.CreateRequest{Message: "m", Alias: "race"})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("create: %v", err)
			}
		}
		list, err := svc.List(ctx, alert.ListOptions{Query: alert.Query{Alias: "race"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Count != n {
			t.Fatalf("got %d alerts (first count %d), want one with count %d", len(list), list[0].Count, n)
		}
	})
}

func TestActionsChangeTheAlertAndWriteWhoDidIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		svc, _ := setup(t, dsn)
		ctx := context.Background()
		res, _ := svc.Create(ctx, api, alert.CreateRequest{Message: "m", Alias: "a", Tags: []string{"t1"}})
		ref := byID(res.Alert.ID)
		steps := []struct {
			name string
			do   func() (*alert.Alert, error)
			ok   func(*alert.Alert) bool
		}{
			{"ack", func() (*alert.Alert, error) { return svc.Acknowledge(ctx, alice, ref) },
				func(a *alert.Alert) bool {
					return a.Acknowledged && a.Report.AcknowledgedBy == "alice" && a.Report.AckTime > 0
				}},
			{"ack again changes nothing", func() (*alert.Alert, error) { return svc.Acknowledge(ctx, alice, ref) },
				func(a *alert.Alert) bool { return a.Acknowledged }},
			{"unack", func() (*alert.Alert, error) { return svc.Unacknowledge(ctx, alice, ref) },
				func(a *alert.Alert) bool { return !a.Acknowledged }},
			{"add tags", func() (*alert.Alert, error) { return svc.AddTags(ctx, alice, ref, []string{"t2", "t1"}) },
				func(a *alert.Alert) bool { return len(a.Tags) == 2 }},
			{"remove tags", func() (*alert.Alert, error) { return svc.RemoveTags(ctx, alice, ref, []string{"t1"}) },
				func(a *alert.Alert) bool { return len(a.Tags) == 1 && a.Tags[0] == "t2" }},
			{"add details", func() (*alert.Alert, error) {
				return svc.AddDetails(ctx, alice, ref, map[string]string{"k": "v", "k2": "v2"})
			}, func(a *alert.Alert) bool { return a.Details["k"] == "v" && a.Details["k2"] == "v2" }},
			{"remove details", func() (*alert.Alert, error) { return svc.RemoveDetails(ctx, alice, ref, []string{"k"}) },
				func(a *alert.Alert) bool { _, has := a.Details["k"]; return !has && a.Details["k2"] == "v2" }},
			{"priority", func() (*alert.Alert, error) { return svc.UpdatePriority(ctx, alice, ref, alert.P1) },
				func(a *alert.Alert) bool { return a.Priority == alert.P1 }},
			{"message", func() (*alert.Alert, error) { return svc.UpdateMessage(ctx, alice, ref, "new") },
				func(a *alert.Alert) bool { return a.Message == "new" }},
			{"description", func() (*alert.Alert, error) { return svc.UpdateDescription(ctx, alice, ref, "d") },
				func(a *alert.Alert) bool { return a.Description == "d" }},
			{"escalate", func() (*alert.Alert, error) {
				return svc.Escalate(ctx, alice, ref, alert.Responder{Name: "secops-escalation"})
			}, func(a *alert.Alert) bool { return len(a.Responders) == 1 && a.Responders[0].Type == "escalation" }},
			{"assign", func() (*alert.Alert, error) { return svc.Assign(ctx, alice, ref, "bob@example.com") },
				func(a *alert.Alert) bool { return a.Owner == "bob@example.com" }},
			{"close", func() (*alert.Alert, error) { return svc.Close(ctx, alice, ref) },
				func(a *alert.Alert) bool { return a.Status == alert.StatusClosed && a.Report.ClosedBy == "alice" }},
			{"ack after close changes nothing", func() (*alert.Alert, error) { return svc.Acknowledge(ctx, alice, ref) },
				func(a *alert.Alert) bool { return !a.Acknowledged }},
		}
		for _, s := range steps {
			if _, err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			a, err := svc.Get(ctx, ref)
			if err != nil {
				t.Fatalf("%s: get: %v", s.name, err)
			}
			if !s.ok(a) {
				t.Errorf("%s: alert is %+v", s.name, a)
			}
		}
		all, err := svc.Logs(ctx, ref, alert.Page{})
		if err != nil {
			t.Fatal(err)
		}
		// The escalation engine's own lines (here: that nothing routes the alert) are not actions.
		logs := slices.DeleteFunc(all, func(l alert.LogEntry) bool { return l.Type == "escalation" })
		// create + ack + unack + 2×tags + 2×details + priority + message + description + escalate + assign + close;
		// the repeated ack and the ack after close write nothing.
		if len(logs) != 13 {
			for _, l := range logs {
				t.Logf("%s %s: %s", l.Type, l.Owner, l.Text)
			}
			t.Fatalf("got %d log entries, want 13", len(logs))
		}
		for _, l := range logs[1:] {
			if l.Owner != "alice" {
				t.Errorf("log %q by %q, want alice", l.Text, l.Owner)
			}
		}
	})
}

func TestInvalidRequestsAreRefusedWithTheFieldNamed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		svc, _ := setup(t, dsn)
		ctx := context.Background()
		tooMany := make([]string, alert.MaxTags+1)
		for i := range tooMany {
			tooMany[i] = string(rune('a' + i))
		}
		for _, tc := range []struct {
			field string
			req   alert.CreateRequest
		}{
			{"message", alert.CreateRequest{Message: "  "}},
			{"priority", alert.CreateRequest{Message: "m", Priority: "P9"}},
			{"tags", alert.CreateRequest{Message: "m", Tags: tooMany}},
			{"alias", alert.CreateRequest{Message: "m", Alias: strings.Repeat("é", alert.MaxAliasRunes+1)}},
			{"responders", alert.CreateRequest{Message: "m", Responders: []alert.Responder{{Type: "robot", Name: "x"}}}},
		} {
			_, err := svc.Create(ctx, api, tc.req)
			var ve *alert.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Errorf("create with bad %s: %v, want a validation error on %s", tc.field, err, tc.field)
			}
		}
		long, err := svc.Create(ctx, api, alert.CreateRequest{Message: strings.Repeat("é", 200) + "\x00"})
		if err != nil || long.Alert.Message != strings.Repeat("é", alert.MaxMessageRunes) {
			t.Errorf("a long message was not cut to %d runes: %v", alert.MaxMessageRunes, err)
		}
		if _, err := svc.Acknowledge(ctx, api, byID("no-such-alert")); !errors.Is(err, alert.ErrNotFound) {
			t.Errorf("ack of an unknown alert: %v, want ErrNotFound", err)
		}
		if _, err := svc.Snooze(ctx, api, byID(long.Alert.ID), time.Now().Add(-time.Minute)); err == nil {
			t.Error("snooze into the past succeeded")
		}
	})
}

func TestASnoozedAlertWakesWhenItsSnoozeEnds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		svc, app := setup(t, dsn)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		res, _ := svc.Create(ctx, api, alert.CreateRequest{Message: "m"})
		ref := byID(res.Alert.ID)
		if _, err := svc.Snooze(ctx, alice, ref, time.Now().Add(500*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if err := app.Queue.Start(ctx, jobs.Handlers{Alerts: svc, Escalation: app.Escalation}); err != nil {
			t.Fatal(err)
		}
		defer app.Queue.Stop(context.Background())
		deadline := time.Now().Add(20 * time.Second)
		for {
			a, err := svc.Get(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if !a.Snoozed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the alert is still snoozed long after its snooze ended")
			}
			time.Sleep(100 * time.Millisecond)
		}
		logs, _ := svc.Logs(ctx, ref, alert.Page{})
		woke := false
		for _, l := range logs {
			woke = woke || (l.Text == "Snooze ended" && l.Owner == "System")
		}
		if !woke {
			t.Errorf("the log has no \"Snooze ended\" by System: %+v", logs)
		}
	})
}

func TestAWakeJobFromAnEarlierSnoozeDoesNotEndALaterOne(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		svc, _ := setup(t, dsn)
		ctx := context.Background()
		res, _ := svc.Create(ctx, api, alert.CreateRequest{Message: "m"})
		ref := byID(res.Alert.ID)
		first := time.Now().Add(time.Minute).Truncate(time.Millisecond)
		svc.Snooze(ctx, alice, ref, first)
		svc.Snooze(ctx, alice, ref, first.Add(time.Hour))
		if err := svc.Wake(ctx, res.Alert.ID, first.UnixMilli()); err != nil {
			t.Fatal(err)
		}
		if a, _ := svc.Get(ctx, ref); !a.Snoozed {
			t.Error("the first snooze's job ended the second snooze")
		}
		if err := svc.Wake(ctx, "deleted-alert", 1); err != nil {
			t.Errorf("waking a deleted alert: %v, want nothing to happen", err)
		}
	})
}
