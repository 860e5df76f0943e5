package netguard

import (
	"net/netip"
	"testing"
)

func TestLoopbackPrivateAndReservedRangesArePrivate(t *testing.T) {
	tests := map[string]string{
		"127.0.0.1":                "loopback",
		"127.255.255.254":          "loopback",
		"::1":                      "loopback",
		"::ffff:127.0.0.1":         "loopback",
		"10.1.2.3":                 "private",
		"172.16.0.1":               "private",
		"172.31.255.255":           "private",
		"192.168.0.1":              "private",
		"fd12:3456::1":             "private",
		"fc00::1":                  "private",
		"0.1.2.3":                  "this-network",
		"100.64.0.1":               "shared (carrier-grade NAT)",
		"100.127.255.255":          "shared (carrier-grade NAT)",
		"192.0.0.8":                "IETF protocol assignment",
		"198.18.0.1":               "benchmarking",
		"240.0.0.1":                "reserved",
		"255.255.255.255":          "reserved",
		"fec0::1":                  "site-local",
		"64:ff9b:1::1":             "local-use NAT64",
		"64:ff9b::10.0.0.1":        "NAT64 private",
		"64:ff9b::127.0.0.1":       "NAT64 loopback",
		"64:ff9b::169.254.169.254": "NAT64 instance metadata",
	}
	for s, want := range tests {
		t.Run(s, func(t *testing.T) {
			reason, private := Private(netip.MustParseAddr(s))
			if !private || reason != want {
				t.Fatalf("Private(%s) = %q, %v; want %q, true", s, reason, private, want)
			}
		})
	}
}

func TestPublicAddressesAreNotPrivate(t *testing.T) {
	for _, s := range []string{
		"8.8.8.8", "52.94.236.248", "172.32.0.1", "172.15.255.255", "192.169.0.1", "100.128.0.1",
		"11.0.0.1", "2600:1f18::1", "2a00:1450:4001::1", "64:ff9b::8.8.8.8", "198.20.0.1",
	} {
		if reason, private := Private(netip.MustParseAddr(s)); private {
			t.Errorf("Private(%s) = %q, true; want public", s, reason)
		}
	}
}
