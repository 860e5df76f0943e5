package actionlink_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/actionlink"
)

var key = bytes.Repeat([]byte{7}, 32)

func signer(t *testing.T, now *time.Time) *actionlink.Signer {
	t.Helper()
	s, err := actionlink.NewSigner(key, time.Hour, func() time.Time { return *now })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestASignedLinkVerifiesToItsClaims(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	s := signer(t, &now)
	tok, err := s.Sign("alert-1", actionlink.Ack, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	want := actionlink.Claims{AlertID: "alert-1", Action: actionlink.Ack, User: "alice@example.com", Expires: now.Add(time.Hour)}
	if !c.Expires.Equal(want.Expires) || c.AlertID != want.AlertID || c.Action != want.Action || c.User != want.User {
		t.Errorf("claims %+v, want %+v", c, want)
	}
}

func TestLinksThatWereAlteredExpiredOrSignedWithAnotherKeyAreRefused(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	s := signer(t, &now)
	tok, err := s.Sign("alert-1", actionlink.Close, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	other, err := actionlink.NewSigner(bytes.Repeat([]byte{8}, 32), time.Hour, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := other.Sign("alert-1", actionlink.Close, "alice@example.com")
	body, sig, _ := strings.Cut(tok, ".")
	flip := func(s string) string {
		b := []byte(s)
		if b[3] == 'A' {
			b[3] = 'B'
		} else {
			b[3] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name  string
		token string
		later time.Duration
		want  error
	}{
		{"a changed payload", flip(body) + "." + sig, 0, actionlink.ErrBadSignature},
		{"a changed signature", body + "." + flip(sig), 0, actionlink.ErrBadSignature},
		{"another server's key", forged, 0, actionlink.ErrBadSignature},
		{"no signature", body, 0, actionlink.ErrMalformed},
		{"not base64", body + ".!!!", 0, actionlink.ErrMalformed},
		{"empty", "", 0, actionlink.ErrMalformed},
		{"too long", strings.Repeat("a", actionlink.MaxTokenBytes+1), 0, actionlink.ErrMalformed},
		{"expired by a second", tok, time.Hour, actionlink.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := now
			now = now.Add(tt.later)
			defer func() { now = at }()
			if _, err := s.Verify(tt.token); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSigningRefusesUnknownActionsAndShortKeys(t *testing.T) {
	now := time.Now()
	s := signer(t, &now)
	if _, err := s.Sign("a", "delete", "u"); err == nil {
		t.Error("Sign accepted action delete")
	}
	if _, err := s.Sign("", actionlink.Ack, "u"); err == nil {
		t.Error("Sign accepted an empty alert id")
	}
	if _, err := actionlink.NewSigner(make([]byte, 16), 0, nil); err == nil {
		t.Error("NewSigner accepted a 16-byte key")
	}
}

func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	s, err := actionlink.NewSigner(key, time.Hour, func() time.Time { return now })
	if err != nil {
		f.Fatal(err)
	}
	tok, _ := s.Sign("alert-1", actionlink.Ack, "alice@example.com")
	for _, seed := range []string{tok, "", ".", "a.b", tok + "x", strings.ToUpper(tok)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := s.Verify(token)
		if err == nil && (c.AlertID == "" || c.User == "") {
			t.Fatalf("Verify accepted %q with empty claims", token)
		}
		if err == nil && token != tok {
			// Only a token this signer made can verify; the fuzzer cannot forge HMAC-SHA256.
			t.Fatalf("Verify accepted a token it did not sign: %q", token)
		}
	})
}
