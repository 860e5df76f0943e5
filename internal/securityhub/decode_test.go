package securityhub

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// decodeEvent takes most events by the JSON v2 decoder set to encoding/json's rules; these check it
// against encoding/json, which decoded events alone before: the same event, or an error from both.

func requireDecodedAsEncodingJSON(t *testing.T, body []byte) {
	t.Helper()
	got, errGot := decodeEvent(body)
	want := new(eventWire)
	errWant := json.Unmarshal(body, want)
	if (errGot == nil) != (errWant == nil) {
		t.Fatalf("decodeEvent(%q): error %v, encoding/json's %v", body, errGot, errWant)
	}
	if errGot == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeEvent(%q) =\n%+v\nencoding/json:\n%+v", body, got, want)
	}
}

func TestTheV2DecoderReadsEventsAsEncodingJSONDoes(t *testing.T) {
	paths, err := filepath.Glob("testdata/events/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no events: %v", err)
	}
	for _, p := range paths {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		requireDecodedAsEncodingJSON(t, body)
	}
	for _, body := range []string{
		`{"source":"aws.securityhub","SOURCE":"x","detail":{"findings":[{"id":"lower","Id":"upper","Title":"t"}]}}`,
		`{"source":"aws.securityhub","detail":{"findings":[{"Id":"a","Id":"b"}],"findings":[]}}`,
		`{"detail":{"insightResults":[{"a":1}],"insightResults":null}}`,
		`{"detail":{"findings":[{"Resources":[{"Details":{"x":{"y":[1,"2",null,true]}}}]}]}}`,
		`{"detail":null}`, `{"detail":{}}`, `[]`, `null`, `{"time":1}`, `{"detail":{"findings":{}}}`,
		`{"version":"\ud800","id":"\u00e9\"\\"}`, "{\"id\":\"\xff\"}", `{"detail":{"findings":[{"Severity":{"Normalized":1.5e2,"Label":"HIGH"}}]}}`,
	} {
		requireDecodedAsEncodingJSON(t, []byte(body))
	}
}

func FuzzTheV2DecoderReadsEventsAsEncodingJSONDoes(f *testing.F) {
	for _, name := range []string{"guardduty.json", "insight-results.json", "cspm-control.json"} {
		body, err := os.ReadFile(filepath.Join("testdata", "events", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Add([]byte(`{"source":"aws.securityhub","detail":{"findings":[{"id":"lower","Id":"upper","ID":"x"}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		requireDecodedAsEncodingJSON(t, body)
	})
}
