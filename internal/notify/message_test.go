package notify

import (
	"reflect"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
)

func TestAlertFromCopiesEveryShownFieldAndSharesNothing(t *testing.T) {
	created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := alert.Alert{
		ID: "a1", TinyID: 42, Alias: "finding-1", Message: "EC2 talks to a C&C server",
		Description: "GuardDuty says so", Priority: alert.P2, Status: alert.StatusOpen, Acknowledged: true,
		Source: "GuardDuty", Entity: "i-0abc", Tags: []string{"123456789012", "eu-central-1"},
		Details: map[string]string{"ProductArn": "arn:aws:securityhub:…"}, Count: 3,
		CreatedAt: created, LastOccurredAt: created.Add(time.Hour),
		Integration: alert.IntegrationRef{ID: "i1", Name: "securityhub-prod", Type: "amazonsecurityhub"},
	}
	got := AlertFrom(a)
	want := Alert{
		ID: "a1", TinyID: 42, Alias: "finding-1", Message: "EC2 talks to a C&C server",
		Description: "GuardDuty says so", Priority: "P2", Status: "open", Acknowledged: true,
		Source: "GuardDuty", Entity: "i-0abc", Tags: []string{"123456789012", "eu-central-1"},
		Details: map[string]string{"ProductArn": "arn:aws:securityhub:…"}, Count: 3,
		CreatedAt: created, LastOccurredAt: created.Add(time.Hour),
		Integration: Integration{Name: "securityhub-prod", Type: "amazonsecurityhub"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("AlertFrom =\n%+v\nwant\n%+v", got, want)
	}
	a.Tags[0] = "changed"
	a.Details["ProductArn"] = "changed"
	if got.Tags[0] == "changed" || got.Details["ProductArn"] == "changed" {
		t.Fatal("AlertFrom shares tags or details with the alert")
	}
}
