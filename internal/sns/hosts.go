package sns

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/tocsin-dev/tocsin/internal/netguard"
)

// DefaultHostPatterns returns the hosts SNS serves signing certificates and SubscribeURLs from, for
// every partition: commercial and GovCloud (sns.REGION.amazonaws.com, and sns-fips for FIPS
// endpoints), China (sns.REGION.amazonaws.com.cn), and the ISO partitions (sns.REGION.c2s.ic.gov,
// sns.REGION.sc2s.sgov.gov). Other partitions can be added with Options.Hosts.
func DefaultHostPatterns() []string {
	return []string{
		"sns.*.amazonaws.com",
		"sns-fips.*.amazonaws.com",
		"sns.*.amazonaws.com.cn",
		"sns.*.c2s.ic.gov",
		"sns.*.sc2s.sgov.gov",
	}
}

// awsSuffixes are DNS suffixes under which AWS also hosts customer-named names, such as S3 buckets
// (BUCKET.s3.amazonaws.com). Under them a wildcard must only match a region name, or a bucket called
// "sns" would satisfy sns.*.amazonaws.com, serve its own "signing certificate" over valid TLS, and forge
// any message.
func awsSuffixes() []string {
	return []string{"amazonaws.com", "amazonaws.com.cn", "c2s.ic.gov", "sc2s.sgov.gov", "amazonaws.eu"}
}

// hostPattern is one parsed entry of the allow list.
type hostPattern struct {
	text   string
	ip     netip.Addr // set when the pattern is an IP literal; labels is then nil
	labels []string   // lower-case DNS labels, "*" for a wildcard
	port   int        // 443 when the pattern names no port
	// regionOnly makes wildcards match region names only (see awsSuffixes).
	regionOnly bool
}

// parseHostPattern accepts HOST or HOST:PORT, where HOST is a DNS name whose labels may be "*", an IPv4
// address, or an IPv6 address in brackets.
func parseHostPattern(s string) (hostPattern, error) {
	p := hostPattern{text: s, port: 443}
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return p, errors.New("empty host pattern")
	}
	if strings.ContainsAny(s, "/@?#") {
		return p, fmt.Errorf("host pattern %q must be a host with an optional port, not a URL", p.text)
	}
	host, port, err := splitPatternHostPort(s)
	if err != nil {
		return p, fmt.Errorf("host pattern %q: %w", p.text, err)
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return p, fmt.Errorf("host pattern %q: bad port %q", p.text, port)
		}
		p.port = n
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if addr.Zone() != "" {
			return p, fmt.Errorf("host pattern %q: IPv6 zones are not allowed", p.text)
		}
		if forbiddenAddr(addr) {
			return p, fmt.Errorf("host pattern %q: link-local, multicast, unspecified and instance metadata addresses are never allowed", p.text)
		}
		p.ip = addr.Unmap()
		return p, nil
	}
	labels := strings.Split(host, ".")
	literal := 0
	for _, l := range labels {
		if l == "*" {
			continue
		}
		if !validLabel(l) {
			return p, fmt.Errorf("host pattern %q: %q is neither a DNS label nor *", p.text, l)
		}
		literal++
	}
	if literal == 0 {
		return p, fmt.Errorf("host pattern %q needs at least one label that is not a wildcard", p.text)
	}
	if last := labels[len(labels)-1]; last != "*" && !startsWithLetter(last) {
		return p, fmt.Errorf("host pattern %q is neither an IP address nor a DNS name", p.text)
	}
	p.labels = labels
	for _, suffix := range awsSuffixes() {
		if host == suffix || strings.HasSuffix(host, "."+suffix) {
			p.regionOnly = true
		}
	}
	return p, nil
}

func splitPatternHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", errors.New("missing ]")
		}
		host, rest := s[1:end], s[end+1:]
		if addr, err := netip.ParseAddr(host); err != nil || !addr.Is6() {
			return "", "", errors.New("brackets must hold an IPv6 address")
		}
		if rest == "" {
			return host, "", nil
		}
		if !strings.HasPrefix(rest, ":") {
			return "", "", errors.New("unexpected text after ]")
		}
		return host, rest[1:], nil
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", nil
	case 1:
		i := strings.IndexByte(s, ':')
		return s[:i], s[i+1:], nil
	default:
		return "", "", errors.New("write IPv6 addresses in brackets, e.g. [::1]:8443")
	}
}

// match reports whether host (lower case, brackets removed) and port are allowed by p.
func (p hostPattern) match(host string, addr netip.Addr, port int) bool {
	if port != p.port {
		return false
	}
	if p.ip.IsValid() || addr.IsValid() {
		return p.ip.IsValid() && addr.IsValid() && p.ip == addr
	}
	labels := strings.Split(host, ".")
	if len(labels) != len(p.labels) {
		return false
	}
	for i, want := range p.labels {
		switch {
		case want == "*":
			if p.regionOnly && !regionShaped(labels[i]) {
				return false
			}
		case want != labels[i]:
			return false
		}
	}
	return true
}

// checkURL parses raw and refuses it unless it is an https URL whose host and port an allowed pattern
// matches. field names the message field, for the error.
func checkURL(patterns []hostPattern, field, raw string) (*url.URL, error) {
	const maxURL = 4096
	if raw == "" {
		return nil, fmt.Errorf("%w: %s is empty", ErrUntrustedURL, field)
	}
	if len(raw) > maxURL {
		return nil, fmt.Errorf("%w: %s is longer than %d bytes", ErrUntrustedURL, field, maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not a URL", ErrUntrustedURL, field)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("%w: %s %q is not https", ErrUntrustedURL, field, truncate(raw))
	}
	if u.User != nil || u.Opaque != "" {
		return nil, fmt.Errorf("%w: %s %q must be a plain https://host/path URL", ErrUntrustedURL, field, truncate(raw))
	}
	host := strings.ToLower(u.Hostname())
	port := 443
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w: %s %q has a bad port", ErrUntrustedURL, field, truncate(raw))
		}
		port = n
	}
	var addr netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" || forbiddenAddr(a) {
			return nil, fmt.Errorf("%w: %s %q points at an address that is never allowed", ErrUntrustedURL, field, truncate(raw))
		}
		addr = a.Unmap()
	} else if !validHostname(host) {
		// Odd spellings (percent escapes, numeric forms like 0x7f.1, trailing dots) are refused
		// rather than interpreted: a resolver might read them differently from this check.
		return nil, fmt.Errorf("%w: %s %q does not have a valid host name", ErrUntrustedURL, field, truncate(raw))
	}
	for _, p := range patterns {
		if p.match(host, addr, port) {
			return u, nil
		}
	}
	return nil, fmt.Errorf("%w: %s host %q is not in the allowed SNS hosts (--sns-cert-hosts)", ErrUntrustedURL, field, truncate(u.Host))
}

// forbiddenAddr is true for addresses no SNS endpoint can have but an SSRF would love: link-local
// (169.254.169.254, the instance metadata service), the IPv6 metadata address, multicast and
// unspecified (see netguard.Forbidden).
func forbiddenAddr(a netip.Addr) bool {
	_, forbidden := netguard.Forbidden(a)
	return forbidden
}

func validHostname(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if !validLabel(l) {
			return false
		}
	}
	// No top-level domain starts with a digit; a host that ends in one is an IP address in some
	// spelling a resolver may accept (127.1, 0x7f000001) and this check does not.
	return startsWithLetter(labels[len(labels)-1])
}

// validLabel accepts a lower-case letters-digits-hyphen DNS label.
func validLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func startsWithLetter(l string) bool { return l != "" && l[0] >= 'a' && l[0] <= 'z' }

// regionShaped accepts AWS region names: a 2-4 letter prefix, one or more lower-case words, and a
// number (us-east-1, us-gov-west-1, cn-north-1, us-isob-east-1, eusc-de-east-1).
func regionShaped(l string) bool {
	parts := strings.Split(l, "-")
	if len(parts) < 3 {
		return false
	}
	for i, part := range parts {
		switch {
		case i == 0:
			if len(part) < 2 || len(part) > 4 || !allIn(part, 'a', 'z') {
				return false
			}
		case i == len(parts)-1:
			if len(part) < 1 || len(part) > 3 || !allIn(part, '0', '9') {
				return false
			}
		default:
			if part == "" || !allIn(part, 'a', 'z') {
				return false
			}
		}
	}
	return true
}

func allIn(s string, lo, hi byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < lo || s[i] > hi {
			return false
		}
	}
	return true
}
