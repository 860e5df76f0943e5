package netguard

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestTheZeroPolicyRefusesForbiddenAddressesAndAllowsPrivateOnes(t *testing.T) {
	var p Policy
	for _, s := range []string{"169.254.169.254", "fd00:ec2::254", "fe80::1", "224.0.0.1", "0.0.0.0", "::"} {
		err := p.Check(netip.MustParseAddr(s))
		if !errors.Is(err, ErrRefused) {
			t.Errorf("Check(%s) = %v, want ErrRefused", s, err)
		}
	}
	for _, s := range []string{"127.0.0.1", "::1", "10.0.0.1", "192.168.1.10", "fd12::1", "8.8.8.8"} {
		if err := p.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("Check(%s) = %v, want allowed", s, err)
		}
	}
}

func TestRefusePrivateAlsoRefusesLoopbackAndPrivateRanges(t *testing.T) {
	p := Policy{RefusePrivate: true}
	for _, s := range []string{"127.0.0.1", "::1", "10.0.0.1", "192.168.1.10", "fd12::1", "100.64.0.1", "169.254.169.254"} {
		if err := p.Check(netip.MustParseAddr(s)); !errors.Is(err, ErrRefused) {
			t.Errorf("Check(%s) = %v, want ErrRefused", s, err)
		}
	}
	for _, s := range []string{"8.8.8.8", "2600:1f18::1"} {
		if err := p.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("Check(%s) = %v, want allowed", s, err)
		}
	}
}

func TestTheAllowListOverridesEveryRule(t *testing.T) {
	p := Policy{
		RefusePrivate: true,
		Allow:         []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("169.254.170.0/24")},
	}
	for _, s := range []string{"127.0.0.1", "::ffff:127.0.0.1", "169.254.170.2"} {
		if err := p.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("Check(%s) = %v, want allowed by the allow list", s, err)
		}
	}
	for _, s := range []string{"127.0.0.2", "169.254.169.254"} {
		if err := p.Check(netip.MustParseAddr(s)); !errors.Is(err, ErrRefused) {
			t.Errorf("Check(%s) = %v, want ErrRefused (outside the allow list)", s, err)
		}
	}
}

func TestARefusalNamesTheAddressAndTheReason(t *testing.T) {
	err := Policy{}.Check(netip.MustParseAddr("::ffff:169.254.169.254"))
	var refused *RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("Check = %v, want a *RefusedError", err)
	}
	if refused.Addr != netip.MustParseAddr("169.254.169.254") || refused.Reason != "instance metadata" {
		t.Fatalf("RefusedError = %+v", refused)
	}
	if want := "refusing to connect to 169.254.169.254 (instance metadata address)"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

func TestControlChecksTheResolvedAddressAndRefusesAnythingElse(t *testing.T) {
	tests := map[string]bool{
		"169.254.169.254:80":           false,
		"[fd00:ec2::254]:443":          false,
		"[fe80::1%eth0]:443":           false,
		"[::ffff:169.254.169.254]:443": false,
		"0.0.0.0:443":                  false,
		"127.0.0.1:8080":               true,
		"[::1]:8080":                   true,
		"52.94.236.248:443":            true,
		"example.com:443":              false, // not resolved: never happens in a Dialer, refused anyway
		"/var/run/socket":              false,
	}
	for address, allowed := range tests {
		t.Run(address, func(t *testing.T) {
			err := Policy{}.Control("tcp", address, nil)
			if (err == nil) != allowed {
				t.Fatalf("Control(%s) = %v, want allowed = %v", address, err, allowed)
			}
		})
	}
}
