package httpapi_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/opsgenie/opsgenie-go-sdk-v2/alert"
	"github.com/opsgenie/opsgenie-go-sdk-v2/client"
	"github.com/sirupsen/logrus"

	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// sdk returns the official Opsgenie Go SDK pointed at env: only the base URL differs from Opsgenie.
func sdk(t *testing.T, env *servertest.Env) *alert.Client {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	c, err := alert.NewClient(&client.Config{
		ApiKey:         env.Key,
		OpsGenieAPIURL: client.ApiUrl(env.Addr), // a host without "api" in it makes the SDK use http://
		RetryCount:     1,
		Logger:         log,
	})
	if err != nil {
		t.Fatalf("sdk client: %v", err)
	}
	return c
}

func TestTheOpsgenieSDKDrivesAWholeAlertLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		env := servertest.Start(t, dsn)
		c := sdk(t, env)
		ctx := context.Background()

		created, err := c.Create(ctx, &alert.CreateAlertRequest{
			Message: "Disk full on db-1", Alias: "disk-db-1", Description: "/var is at 99%",
			Tags: []string{"disk", "db"}, Details: map[string]string{"host": "db-1"}, Entity: "db-1",
			Source: "nagios", Priority: alert.P2, User: "alice", Note: "first note",
			Responders: []alert.Responder{{Type: alert.TeamResponder, Name: "secops"}},
		})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if created.Result != "Request will be processed" || created.RequestId == "" {
			t.Fatalf("create answered %+v", created)
		}
		status, err := c.GetRequestStatus(ctx, &alert.GetRequestStatusRequest{RequestId: created.RequestId})
		if err != nil {
			t.Fatalf("request status: %v", err)
		}
		if !status.IsSuccess || status.Action != "Create" || status.AlertID == "" || status.Alias != "disk-db-1" {
			t.Fatalf("request status = %+v", status)
		}
		id := status.AlertID

		byID, err := c.Get(ctx, &alert.GetAlertRequest{IdentifierType: alert.ALERTID, IdentifierValue: id})
		if err != nil {
			t.Fatalf("get by id: %v", err)
		}
		if byID.Message != "Disk full on db-1" || byID.Priority != alert.P2 || byID.Status != "open" || byID.Count != 1 ||
			byID.Details["host"] != "db-1" || byID.Entity != "db-1" || byID.Source != "nagios" || len(byID.Responders) != 1 ||
			byID.CreatedAt.IsZero() || byID.TinyId == "" {
			t.Fatalf("get by id = %+v", byID)
		}
		byTiny, err := c.Get(ctx, &alert.GetAlertRequest{IdentifierType: alert.TINYID, IdentifierValue: byID.TinyId})
		if err != nil || byTiny.Id != id {
			t.Fatalf("get by tiny id: %v %+v", err, byTiny)
		}
		byAlias, err := c.Get(ctx, &alert.GetAlertRequest{IdentifierType: alert.ALIAS, IdentifierValue: "disk-db-1"})
		if err != nil || byAlias.Id != id {
			t.Fatalf("get by alias: %v %+v", err, byAlias)
		}

		// A second create with the same alias dedupes onto the open alert.
		if _, err := c.Create(ctx, &alert.CreateAlertRequest{Message: "Disk full on db-1", Alias: "disk-db-1"}); err != nil {
			t.Fatalf("second create: %v", err)
		}
		again, err := c.Get(ctx, &alert.GetAlertRequest{IdentifierType: alert.ALERTID, IdentifierValue: id})
		if err != nil || again.Count != 2 {
			t.Fatalf("after dedupe: count = %d, err %v; want 2", again.Count, err)
		}

		list, err := c.List(ctx, &alert.ListAlertRequest{Query: "status:open AND tag:disk AND priority:P2", Limit: 10})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if len(list.Alerts) != 1 || list.Alerts[0].Id != id {
			t.Fatalf("list = %+v", list.Alerts)
		}
		count, err := c.CountAlerts(ctx, &alert.CountAlertsRequest{Query: "status:open"})
		if err != nil || count.Count != 1 {
			t.Fatalf("count = %+v, %v; want 1", count, err)
		}

		if _, err := c.Acknowledge(ctx, &alert.AcknowledgeAlertRequest{IdentifierType: alert.ALIAS, IdentifierValue: "disk-db-1", User: "bob"}); err != nil {
			t.Fatalf("ack: %v", err)
		}
		acked, _ := c.Get(ctx, &alert.GetAlertRequest{IdentifierType: alert.ALERTID, IdentifierValue: id})
		if !acked.Acknowledged || acked.Report.AcknowledgedBy != "bob" || acked.Report.AckTime <= 0 {
			t.Fatalf("after ack: %+v", acked)
		}
		if _, err := c.Unacknowledge(ctx, &alert.UnacknowledgeAlertRequest{IdentifierType: alert.ALERTID, IdentifierValue: id}); err != nil {
			t.Fatalf("unack: %v", err)
		}
		if a, _ := c.Get(ctx, &alert.GetAlertRequest{IdentifierType: alert.ALERTID, IdentifierValue: id}); a.Acknowledged {
			t.Fatal("still acknowledged after unack")
		}

		if _, err := c.AddNote(ctx, &alert.AddNoteRequest{IdentifierType: alert.ALERTID, IdentifierValue: id, Note: "looking into it", User: "bob"}); err != nil {
			t.Fatalf("add note: %v", err)
		}
		notes, err := c.ListAlertNotes(ctx, &alert.ListAlertNotesRequest{IdentifierType: alert.ALERTID, IdentifierValue: id})
		if err != nil {
			t.Fatalf("list notes: %v", err)
		}
		if len(notes.AlertLog) != 2 || notes.AlertLog[0].Note != "first note" || notes.AlertLog[1].Note != "looking into it" || notes.AlertLog[1].Owner != "bob" {
			t.Fatalf("notes = %+v", notes.AlertLog)
		}

		if _, err := c.UpdatePriority(ctx, &alert.UpdatePriorityRequest{IdentifierType: alert.ALERTID, IdentifierValue: id, Priority: alert.P1}); err != nil {
			t.Fatalf("update priority: %v", err)
		}
		if _, err := c.AddTags(ctx, &alert.AddTagsRequest{IdentifierType: alert.ALERTID, IdentifierValue: id, Tags: []string{"urgent"}}); err != nil {
			t.Fatalf("add tags: %v", err)
		}
		a, _ := c.Get(ctx, &alert.GetAlertRequest{IdentifierType: alert.ALERTID, IdentifierValue: id})
		if a.Priority != alert.P1 || strings.Join(a.Tags, ",") != "disk,db,urgent" {
			t.Fatalf("after priority and tags: priority %s tags %v", a.Priority, a.Tags)
		}

		until := time.Now().Add(time.Hour)
		if _, err := c.Snooze(ctx, &alert.SnoozeAlertRequest{IdentifierType: alert.ALERTID, IdentifierValue: id, EndTime: until}); err != nil {
			t.Fatalf("snooze: %v", err)
		}
		a, _ = c.Get(ctx, &alert.GetAlertRequest{IdentifierType: alert.ALERTID, IdentifierValue: id})
		if !a.Snoozed || a.SnoozedUntil.Sub(until).Abs() > time.Millisecond {
			t.Fatalf("after snooze: snoozed %t until %v, want until %v", a.Snoozed, a.SnoozedUntil, until)
		}

		if _, err := c.Close(ctx, &alert.CloseAlertRequest{IdentifierType: alert.ALIAS, IdentifierValue: "disk-db-1", User: "carol"}); err != nil {
			t.Fatalf("close: %v", err)
		}
		a, _ = c.Get(ctx, &alert.GetAlertRequest{IdentifierType: alert.ALERTID, IdentifierValue: id})
		if a.Status != "closed" || a.Snoozed || a.Report.ClosedBy != "carol" {
			t.Fatalf("after close: %+v", a)
		}

		logs, err := c.ListAlertLogs(ctx, &alert.ListAlertLogsRequest{IdentifierType: alert.ALERTID, IdentifierValue: id})
		if err != nil {
			t.Fatalf("logs: %v", err)
		}
		var lines []string
		for _, l := range logs.AlertLog {
			lines = append(lines, l.Owner+": "+l.Log)
		}
		for _, want := range []string{"alice: Alert created via test", "test: Alert occurred again (count 2)", "bob: Alert acknowledged", "carol: Alert closed"} {
			if !contains(lines, want) {
				t.Errorf("activity log lacks %q; it has %q", want, lines)
			}
		}

		// After close, the same alias makes a new alert.
		if _, err := c.Create(ctx, &alert.CreateAlertRequest{Message: "Disk full on db-1 again", Alias: "disk-db-1"}); err != nil {
			t.Fatalf("create after close: %v", err)
		}
		fresh, err := c.Get(ctx, &alert.GetAlertRequest{IdentifierType: alert.ALIAS, IdentifierValue: "disk-db-1"})
		if err != nil || fresh.Id == id || fresh.Status != "open" || fresh.Count != 1 {
			t.Fatalf("after close, alias names %+v (err %v); want a new open alert", fresh, err)
		}

		if _, err := c.Delete(ctx, &alert.DeleteAlertRequest{IdentifierType: alert.ALERTID, IdentifierValue: id}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if _, err := c.Get(ctx, &alert.GetAlertRequest{IdentifierType: alert.ALERTID, IdentifierValue: id}); err == nil {
			t.Fatal("get after delete succeeded")
		} else if apiErr, ok := err.(*client.ApiError); !ok || apiErr.StatusCode != 404 {
			t.Fatalf("get after delete: %v, want a 404", err)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
