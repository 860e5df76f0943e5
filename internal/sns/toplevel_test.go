package sns

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// topLevelObject and decodeString take most bodies by the JSON v2 decoder; these check them against
// encoding/json, which they used alone before: the same members and strings, or errors from both.

func requireSameAsEncodingJSON(t *testing.T, body []byte) {
	t.Helper()
	fast, errFast := topLevelObject(body)
	strict, errStrict := topLevelObjectStrict(body)
	if (errFast == nil) != (errStrict == nil) || errFast != nil && errFast.Error() != errStrict.Error() {
		t.Fatalf("topLevelObject(%q): error %v, encoding/json's %v", body, errFast, errStrict)
	}
	if errFast == nil && !reflect.DeepEqual(fast, strict) {
		t.Fatalf("topLevelObject(%q) = %q, encoding/json's %q", body, fast, strict)
	}
	for k, raw := range fast {
		var got, want string
		errGot := decodeString(k, raw, &got)
		errWant := error(nil)
		if isNull(raw) {
			// decodeString leaves the string alone.
		} else if len(raw) == 0 || raw[0] != '"' {
			errWant = errGot // "must be a string": not a decoding question
		} else {
			errWant = json.Unmarshal(raw, &want)
		}
		if (errGot == nil) != (errWant == nil) || got != want {
			t.Fatalf("decodeString(%q) = %q, %v; encoding/json: %q, %v", raw, got, errGot, want, errWant)
		}
	}
}

func TestTheV2DecoderReadsBodiesAsEncodingJSONDoes(t *testing.T) {
	for _, body := range []string{
		`{}`, ` {"a":"b"} `, `{"a":"b","a":"c"}`, `{"a":"b","\u0061":"c"}`, `{"a":{"a":1,"a":2}}`,
		`{"a":["x",{"b":1}],"b":"},{\"c\":"}`, `{"A":1,"a":2}`, `{"a":1}{}`, `{"a":1} x`, `[]`, `null`,
		`"x"`, `{"a":}`, `{"a":1,}`, `{"a\"b":1,"c":"\\"}`, "\n\t{\"k\" : \"v\" ,\n \"l\":[]}\n",
		`{"m":"\ud800 lone","n":"\ud83d\ude00 pair","o":"tab\there \/ slash"}`, "{\"a\":\"\xff\"}",
		`{"a":"\u0000"}`, `{"a":null,"b":true,"c":1.5e3}`, `{"a":"C\u0026C \u003cb\u003e caf\u00e9 \u00E9"}`,
		`{"a":"\udc00 low","b":"\ud800\u0041 high then A","c":"\ud83d\ud83d twice","d":"end \ud83d"}`,
	} {
		requireSameAsEncodingJSON(t, []byte(body))
	}
	for _, name := range []string{"notification-securityhub.json", "subscription-confirmation.json", "eventbridge-securityhub.json"} {
		body, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		requireSameAsEncodingJSON(t, body)
	}
}

func FuzzTheV2DecoderReadsBodiesAsEncodingJSONDoes(f *testing.F) {
	for _, s := range []string{`{"a":"b","a":"c"}`, `{"a":"b","\u0061":"c"}`, `{"a":{"a":1,"a":2},"b":[1,{"c":"]"}]}`,
		`{"Type":"Notification","Message":"{\"x\":\"\\u00e9\"}"}`, `{"m":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		requireSameAsEncodingJSON(t, body)
	})
}
