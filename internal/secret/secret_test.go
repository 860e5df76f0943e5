package secret

import (
	"strings"
	"testing"
)

func TestANewKeyMatchesItsHashAndNoOtherKey(t *testing.T) {
	key, hash, err := New("tcs_")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "tcs_") || len(key) != 4+64 || len(hash) != 64 {
		t.Fatalf("key %q hash %q", key, hash)
	}
	if !Matches(hash, key) {
		t.Error("a key does not match its own hash")
	}
	other, _, _ := New("tcs_")
	if other == key || Matches(hash, other) || Matches(hash, "") {
		t.Error("another key matches")
	}
}
