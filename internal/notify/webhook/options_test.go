package webhook

import (
	"strings"
	"testing"
	"time"
)

func TestNewRefusesAMissingOrShortSecret(t *testing.T) {
	for _, secret := range [][]byte{nil, {}, []byte("too-short")} {
		if _, err := New(Options{Secret: secret}); err == nil {
			t.Errorf("New with a %d-byte secret succeeded", len(secret))
		}
	}
}

func TestNewRefusesANegativeTimeout(t *testing.T) {
	if _, err := New(Options{Secret: testSecret, Timeout: -time.Second}); err == nil {
		t.Fatal("New with a negative timeout succeeded")
	}
}

func TestTheTimeoutDefaultsToTenSeconds(t *testing.T) {
	if c := newChannel(t, Options{}); c.timeout != 10*time.Second {
		t.Fatalf("timeout = %v", c.timeout)
	}
}

func TestTheChannelKeepsItsOwnCopyOfTheSecret(t *testing.T) {
	secret := []byte(strings.Repeat("s", 32))
	c := newChannel(t, Options{Secret: secret})
	secret[0] = 'x'
	if c.secret[0] != 's' {
		t.Fatal("changing the caller's secret changed the channel's")
	}
}
