package webhook

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/notify"
)

var update = flag.Bool("update", false, "rewrite testdata/payload_v1.json from the current code")

// The golden file is the schema receivers code against: a change to it is a change to a public
// contract, and must keep version 1 compatible (add fields only) or bump the version.
func TestThePayloadMatchesTheVersion1GoldenFile(t *testing.T) {
	body, err := Body(testMessage("https://hooks.example.com/x"))
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden := filepath.Join("testdata", "payload_v1.json")
	if *update {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Fatalf("payload differs from %s (run with -update after checking the change is compatible):\n%s", golden, pretty.Bytes())
	}
}

func keys(t *testing.T, v any) []string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v is not an object", v)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestEveryFieldIsPresentAndNoListOrObjectIsNullForAnEmptyMessage(t *testing.T) {
	body, err := Body(notify.Message{})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if got, want := keys(t, doc), []string{"alert", "idempotencyKey", "links", "previousRecipients", "recipient", "round", "step", "type", "version"}; !slices.Equal(got, want) {
		t.Fatalf("top-level keys = %v, want %v", got, want)
	}
	if got, want := keys(t, doc["alert"]), []string{"acknowledged", "alias", "count", "createdAt", "description", "details", "entity", "id", "integration", "lastOccurredAt", "message", "priority", "source", "status", "tags", "tinyId"}; !slices.Equal(got, want) {
		t.Fatalf("alert keys = %v, want %v", got, want)
	}
	if got, want := keys(t, doc["links"]), []string{"acknowledge", "alert", "close"}; !slices.Equal(got, want) {
		t.Fatalf("links keys = %v, want %v", got, want)
	}
	if got, want := keys(t, doc["recipient"]), []string{"fullName", "username"}; !slices.Equal(got, want) {
		t.Fatalf("recipient keys = %v, want %v", got, want)
	}
	alert := doc["alert"].(map[string]any)
	if _, ok := alert["tags"].([]any); !ok {
		t.Fatalf("alert.tags = %v, want an array", alert["tags"])
	}
	if _, ok := alert["details"].(map[string]any); !ok {
		t.Fatalf("alert.details = %v, want an object", alert["details"])
	}
	if _, ok := doc["previousRecipients"].([]any); !ok {
		t.Fatalf("previousRecipients = %v, want an array", doc["previousRecipients"])
	}
	if doc["version"] != 1.0 || doc["type"] != "alert.page" {
		t.Fatalf("version, type = %v, %v", doc["version"], doc["type"])
	}
}

func TestTimesAreSentInUTC(t *testing.T) {
	p := NewPayload(testMessage(""))
	if p.Alert.CreatedAt.Location().String() != "UTC" || p.Alert.CreatedAt.Hour() != 11 {
		t.Fatalf("createdAt = %v, want 11:00 UTC", p.Alert.CreatedAt)
	}
}

func TestThePayloadSharesNoListOrMapWithTheMessage(t *testing.T) {
	m := testMessage("")
	p := NewPayload(m)
	m.Alert.Tags[0] = "changed"
	m.Alert.Details["AwsAccountId"] = "changed"
	m.PreviousRecipients[0].Username = "changed"
	if p.Alert.Tags[0] == "changed" || p.Alert.Details["AwsAccountId"] == "changed" || p.PreviousRecipients[0].Username == "changed" {
		t.Fatal("NewPayload shares data with the message")
	}
}
