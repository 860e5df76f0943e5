package netguard

import (
	"net/netip"
	"testing"
)

func TestMetadataLinkLocalMulticastAndUnspecifiedAddressesAreAlwaysForbidden(t *testing.T) {
	tests := map[string]string{
		"169.254.169.254":           "instance metadata",
		"::ffff:169.254.169.254":    "instance metadata",
		"fd00:ec2::254":             "instance metadata",
		"169.254.170.2":             "link-local",
		"169.254.0.1":               "link-local",
		"fe80::1":                   "link-local",
		"fe80::1%eth0":              "link-local",
		"febf:ffff::1":              "link-local",
		"224.0.0.1":                 "multicast",
		"239.255.255.250":           "multicast",
		"ff02::1":                   "multicast",
		"ff01::1":                   "multicast",
		"ff0e::1":                   "multicast",
		"0.0.0.0":                   "unspecified",
		"::":                        "unspecified",
		"::ffff:0.0.0.0":            "unspecified",
		"fd00:ec2::254%eth0":        "instance metadata",
		"::ffff:169.254.1.1":        "link-local",
		"::ffff:224.0.0.251":        "multicast",
		"fe80::a9fe:a9fe":           "link-local",
		"fe80:0:0:0:0:0:0:ffff":     "link-local",
		"169.254.255.255":           "link-local",
		"ff05::1:3":                 "multicast",
		"ff02::fb":                  "multicast",
		"ff02::1:ff00:1":            "multicast",
		"224.0.0.251":               "multicast",
		"::ffff:239.255.255.250":    "multicast",
		"fe80::ffff:ffff:ffff:ffff": "link-local",
	}
	for s, want := range tests {
		t.Run(s, func(t *testing.T) {
			reason, bad := Forbidden(netip.MustParseAddr(s))
			if !bad || reason != want {
				t.Fatalf("Forbidden(%s) = %q, %v; want %q, true", s, reason, bad, want)
			}
		})
	}
}

func TestPublicPrivateAndLoopbackAddressesAreNotForbidden(t *testing.T) {
	for _, s := range []string{
		"127.0.0.1", "::1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "fd12:3456::1",
		"52.94.236.248", "8.8.8.8", "2600:1f18::1", "169.253.255.255", "169.255.0.0",
		"fd00:ec2::253", "fec0::1", "100.64.0.1",
	} {
		if reason, bad := Forbidden(netip.MustParseAddr(s)); bad {
			t.Errorf("Forbidden(%s) = %q, true; want not forbidden", s, reason)
		}
	}
}

func TestTheZeroAddressIsForbiddenBecauseItNamesNothing(t *testing.T) {
	if _, bad := Forbidden(netip.Addr{}); !bad {
		t.Fatal("Forbidden(netip.Addr{}) = false, want true")
	}
}
