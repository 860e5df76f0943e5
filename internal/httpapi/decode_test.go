package httpapi

import (
	"errors"
	"testing"
)

func TestDecodeJSONTellsBrokenJSONFromWrongTypes(t *testing.T) {
	tests := []struct {
		body   string
		status int // 0: no error
	}{
		{``, 0},
		{`  `, 0},
		{`{"message":"m","tags":["a"],"details":{"k":"v"}}`, 0},
		{`{"message":`, 400},
		{`{"message":1}`, 422},
		{`{"tags":"a"}`, 422},
		{`{"details":{"k":1}}`, 422},
		{`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, 400},
		{`{"message":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}`, 0}, // brackets in strings do not count
	}
	for _, tt := range tests {
		var b createBody
		err := decodeJSON([]byte(tt.body), &b)
		var ae *apiError
		switch {
		case tt.status == 0 && err != nil:
			t.Errorf("decode(%q): %v", tt.body, err)
		case tt.status != 0 && (!errors.As(err, &ae) || ae.status != tt.status):
			t.Errorf("decode(%q) = %v, want status %d", tt.body, err, tt.status)
		}
	}
}

func FuzzDecodeCreateBody(f *testing.F) {
	f.Add([]byte(`{"message":"Disk full","alias":"a","responders":[{"type":"team","name":"ops"}],"tags":["x"],"details":{"k":"v"},"priority":"P1","user":"u","note":"n"}`))
	f.Add([]byte(`{"message":"\u0000","alias":"\ud800"}`))
	f.Add([]byte(`[{"a":[1,2,{"b":"\\\""}]}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var b createBody
		err := decodeJSON(body, &b)
		var ae *apiError
		if err != nil && !errors.As(err, &ae) {
			t.Fatalf("decode returned %T %v, want an apiError", err, err)
		}
	})
}
