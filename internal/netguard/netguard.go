// Package netguard decides which IP addresses tocsin's outbound connections may reach, so that a URL
// someone else controls (an SNS SubscribeURL, a webhook contact) cannot aim tocsin at the cloud
// instance metadata service or at other addresses no legitimate peer has.
//
// The check runs in [net.Dialer.Control], that is after DNS resolution and before connect(2), on the
// address the socket is about to connect to. A host name that resolves (or is rebound) to a refused
// address is therefore refused too, and no packet is sent to it.
//
// Every [Policy] refuses the addresses in [Forbidden]: link-local (169.254.0.0/16, fe80::/10, which
// includes the metadata services at 169.254.169.254 and 169.254.170.2), the IPv6 metadata address
// fd00:ec2::254, multicast and the unspecified addresses. With RefusePrivate it also refuses loopback,
// private and other non-public ranges ([Private]). Allow lists prefixes that are reached whatever the
// rules above say, for tests and for an operator who knows better.
//
// A guard only sees the address it dials. An HTTP client that goes through a proxy dials the proxy,
// so the proxy is what gets checked; use the guard on clients without a proxy.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// ErrRefused is wrapped by every error that refuses an address; test with errors.Is.
var ErrRefused = errors.New("netguard: address refused")

// RefusedError says which address was refused and why. It matches ErrRefused under errors.Is.
type RefusedError struct {
	Addr   netip.Addr
	Reason string // e.g. "link-local", "instance metadata", "loopback"
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("netguard: refusing to connect to %s (%s address)", e.Addr, e.Reason)
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

var ec2MetadataV6 = netip.MustParseAddr("fd00:ec2::254")

// Forbidden reports whether a is an address no outbound peer of tocsin can legitimately have but an
// SSRF would love, and says why: link-local unicast (169.254.0.0/16, fe80::/10: the instance metadata
// services live there), the IPv6 metadata address fd00:ec2::254, multicast, and the unspecified
// addresses 0.0.0.0 and :: (which connect to the local host). IPv4-mapped IPv6 addresses are judged
// by the IPv4 address they carry. Every Policy refuses these unless its Allow list names them.
func Forbidden(a netip.Addr) (reason string, forbidden bool) {
	a = a.Unmap().WithZone("")
	switch {
	case a == ec2MetadataV6, a == netip.AddrFrom4([4]byte{169, 254, 169, 254}):
		return "instance metadata", true
	case a.IsLinkLocalUnicast():
		return "link-local", true
	case a.IsMulticast(): // includes link-local and interface-local multicast
		return "multicast", true
	case a.IsUnspecified():
		return "unspecified", true
	case !a.IsValid():
		return "invalid", true
	}
	return "", false
}

// privateRanges are refused with RefusePrivate besides loopback and net/netip's IsPrivate ranges
// (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7).
var privateRanges = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // includes the broadcast address
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
}

// nat64 is the well-known NAT64 prefix; an address in it reaches the IPv4 address in its last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Private reports whether a is loopback (127.0.0.0/8, ::1), private (10.0.0.0/8, 172.16.0.0/12,
// 192.168.0.0/16, fc00::/7) or in another range that is not on the public internet (0.0.0.0/8,
// 100.64.0.0/10, 192.0.0.0/24, 198.18.0.0/15, 240.0.0.0/4, fec0::/10, 64:ff9b:1::/48), and says which.
// An address in the NAT64 prefix 64:ff9b::/96 is judged by the IPv4 address it embeds. Policies
// refuse these only with RefusePrivate.
func Private(a netip.Addr) (reason string, private bool) {
	a = a.Unmap().WithZone("")
	if nat64.Contains(a) {
		b := a.As16()
		v4 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		if r, ok := Forbidden(v4); ok {
			return "NAT64 " + r, true
		}
		if r, ok := Private(v4); ok {
			return "NAT64 " + r, true
		}
		return "", false
	}
	switch {
	case a.IsLoopback():
		return "loopback", true
	case a.IsPrivate():
		return "private", true
	}
	for _, r := range privateRanges {
		if r.prefix.Contains(a) {
			return r.reason, true
		}
	}
	return "", false
}

// Policy decides which addresses may be dialled. The zero value refuses the [Forbidden] addresses and
// allows everything else, loopback and private networks included, which is what on-premises peers
// need. A Policy is a value; it is safe to use from many goroutines.
type Policy struct {
	// RefusePrivate also refuses the [Private] ranges: loopback, RFC 1918, unique-local IPv6 and
	// other non-public addresses. Use it when the destination is expected to be on the internet.
	RefusePrivate bool

	// Allow lists prefixes that are always allowed, checked before any rule, even Forbidden ones.
	// Meant for tests (127.0.0.1/32 under RefusePrivate) and for an operator's explicit exception.
	Allow []netip.Prefix
}

// Check returns nil when p allows a, and a *RefusedError (matching ErrRefused) when it does not.
func (p Policy) Check(a netip.Addr) error {
	a = a.Unmap()
	bare := a.WithZone("")
	for _, allowed := range p.Allow {
		if allowed.Contains(bare) {
			return nil
		}
	}
	if reason, bad := Forbidden(bare); bad {
		return &RefusedError{Addr: a, Reason: reason}
	}
	if p.RefusePrivate {
		if reason, bad := Private(bare); bad {
			return &RefusedError{Addr: a, Reason: reason}
		}
	}
	return nil
}

// Control is a [net.Dialer] Control function enforcing p. It is called with the resolved "ip:port"
// just before the socket connects; anything that is not an IP address and port is refused.
func (p Policy) Control(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("netguard: %s address %q: %w", network, address, err)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s address %q is not an IP address", ErrRefused, network, address)
	}
	return p.Check(a)
}

// Dialer returns a copy of d (a zero Dialer when d is nil) that enforces p before every connection,
// then runs d's own ControlContext or Control function, if it had one.
func (p Policy) Dialer(d *net.Dialer) *net.Dialer {
	var out net.Dialer
	if d != nil {
		out = *d
	}
	prev, prevCtx := out.Control, out.ControlContext
	out.Control = nil // net.Dialer ignores Control when ControlContext is set
	out.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
		if err := p.Control(network, address, c); err != nil {
			return err
		}
		switch {
		case prevCtx != nil:
			return prevCtx(ctx, network, address, c)
		case prev != nil:
			return prev(network, address, c)
		}
		return nil
	}
	return &out
}
