package email

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// TLSPolicy says how a connection to the SMTP server is secured.
type TLSPolicy string

// The TLS policies. The zero value "" stands for the default: TLSRequired when the server has a user,
// TLSOpportunistic otherwise.
const (
	// TLSImplicit speaks TLS from the first byte (smtps://, usually port 465). The certificate must
	// verify.
	TLSImplicit TLSPolicy = "implicit"

	// TLSRequired upgrades with STARTTLS and fails when the server does not offer it or the
	// certificate does not verify. The only STARTTLS policy that may carry credentials.
	TLSRequired TLSPolicy = "required"

	// TLSOpportunistic upgrades with STARTTLS when the server offers it and sends in plain text
	// otherwise. Like an MTA's "may" level it does not check the certificate: it defeats passive
	// eavesdropping only, since an active attacker could strip the STARTTLS offer anyway; a local
	// relay's self-signed certificate therefore works. Never used with credentials.
	TLSOpportunistic TLSPolicy = "opportunistic"

	// TLSNone never upgrades. Never used with credentials.
	TLSNone TLSPolicy = "none"
)

// Default ports.
const (
	PortSubmission = 587 // smtp:// with a user: message submission with STARTTLS
	PortSMTP       = 25  // smtp:// without a user: a relay
	PortSMTPS      = 465 // smtps://: submission over implicit TLS
)

// redacted stands in for a password wherever a Config is shown.
const redacted = "REDACTED"

// Config is where and how to reach the SMTP server. It is usually made by ParseURL. String, GoString
// and LogValue never show the password, so a Config may be printed and logged.
type Config struct {
	Host     string // a DNS name or an IP address, without brackets
	Port     int    // 0 means the default for the policy and user: 465, 587 or 25
	Username string // empty for a relay that needs no authentication
	Password string
	TLS      TLSPolicy // "" means TLSRequired with a Username, TLSOpportunistic without
	// MaxConns is how many connections to the server may be open at once; 0 means DefaultMaxConns.
	// Each carries one message at a time, so a server a round trip of r away takes at most
	// MaxConns/r emails a second: 4 connections to a relay 20 ms away send 200 a second.
	MaxConns int
}

// maxMaxConns bounds max_conns: more would be a mistake, not a mail server's limit.
const maxMaxConns = 256

// ParseURL parses an SMTP server URL:
//
//	smtp://user:pass@host:587      STARTTLS required, then AUTH (port 587 by default)
//	smtps://user:pass@host:465     implicit TLS, then AUTH (port 465 by default)
//	smtp://host:25                 no AUTH; STARTTLS when offered (port 25 by default)
//	smtp://host?tls=required       no AUTH; STARTTLS required
//	smtp://host?tls=none           no AUTH; never STARTTLS
//	smtp://host?max_conns=16       up to 16 connections at once (default 4)
//
// The user and password are URL-decoded, so a password with '@', ':' or '/' must be percent-encoded.
// The query parameters are tls (required, opportunistic or none), for smtp:// only, and max_conns (1
// to 256); with a user, only tls=required is allowed, since credentials are never sent without TLS.
// Errors never quote the password.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote the whole URL, password included: say only what is wrong.
		return Config{}, errors.New("email: the SMTP URL does not parse; percent-encode special characters in the user and password")
	}
	var cfg Config
	switch u.Scheme {
	case "smtp":
	case "smtps":
		cfg.TLS = TLSImplicit
	case "":
		return Config{}, errors.New("email: the SMTP URL has no scheme (use smtp:// or smtps://)")
	default:
		return Config{}, fmt.Errorf("email: unsupported SMTP URL scheme %q (use smtp:// or smtps://)", clip(u.Scheme, 20))
	}
	if u.Opaque != "" {
		return Config{}, errors.New("email: the SMTP URL must be smtp://host or smtps://host")
	}
	if u.Path != "" && u.Path != "/" {
		return Config{}, errors.New("email: the SMTP URL must have no path")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return Config{}, errors.New("email: the SMTP URL must have no fragment")
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
		if cfg.Username == "" {
			return Config{}, errors.New("email: the SMTP URL has a password but no user")
		}
	}
	host := u.Hostname()
	if host == "" {
		return Config{}, errors.New("email: the SMTP URL has no host")
	}
	cfg.Host = host
	if strings.HasSuffix(u.Host, ":") {
		return Config{}, errors.New("email: the SMTP URL has an empty port")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Config{}, fmt.Errorf("email: bad port %q in the SMTP URL", clip(p, 10))
		}
		cfg.Port = n
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Config{}, errors.New("email: the SMTP URL has a malformed query")
	}
	for key, values := range query {
		if key != "tls" && key != "max_conns" {
			return Config{}, fmt.Errorf("email: unknown SMTP URL parameter %q (there are tls and max_conns)", clip(key, 20))
		}
		if len(values) != 1 {
			return Config{}, fmt.Errorf("email: the %s parameter is given more than once", key)
		}
		if key == "max_conns" {
			n, err := strconv.Atoi(values[0])
			if err != nil || n < 1 || n > maxMaxConns {
				return Config{}, fmt.Errorf("email: max_conns=%q must be a number from 1 to %d", clip(values[0], 20), maxMaxConns)
			}
			cfg.MaxConns = n
			continue
		}
		if cfg.TLS == TLSImplicit {
			return Config{}, errors.New("email: smtps:// always uses TLS; the tls parameter is for smtp://")
		}
		switch p := TLSPolicy(values[0]); p {
		case TLSRequired, TLSOpportunistic, TLSNone:
			cfg.TLS = p
		default:
			return Config{}, fmt.Errorf("email: unknown tls=%q (use required, opportunistic or none)", clip(values[0], 20))
		}
	}
	return cfg.normalize()
}

// normalize fills in the defaults and checks the whole: what ParseURL returns and what New uses.
func (c Config) normalize() (Config, error) {
	if c.Host == "" {
		return Config{}, errors.New("email: the SMTP server has no host")
	}
	if err := checkHost(c.Host); err != nil {
		return Config{}, err
	}
	if c.Port < 0 || c.Port > 65535 {
		return Config{}, fmt.Errorf("email: bad SMTP port %d", c.Port)
	}
	if strings.ContainsRune(c.Username, 0) || strings.ContainsRune(c.Password, 0) {
		// AUTH PLAIN separates the user and password with NUL bytes.
		return Config{}, errors.New("email: the SMTP user and password must not contain NUL bytes")
	}
	if c.Username == "" && c.Password != "" {
		return Config{}, errors.New("email: the SMTP server has a password but no user")
	}
	if c.MaxConns < 0 || c.MaxConns > maxMaxConns {
		return Config{}, fmt.Errorf("email: MaxConns %d must be from 1 to %d (0 for the default)", c.MaxConns, maxMaxConns)
	}
	switch c.TLS {
	case "":
		c.TLS = TLSOpportunistic
		if c.Username != "" {
			c.TLS = TLSRequired
		}
	case TLSImplicit, TLSRequired:
	case TLSOpportunistic, TLSNone:
		if c.Username != "" {
			return Config{}, fmt.Errorf("email: tls=%s cannot be used with a user: credentials are only sent over TLS (use tls=required, or smtps://)", c.TLS)
		}
	default:
		return Config{}, fmt.Errorf("email: unknown TLS policy %q", clip(string(c.TLS), 20))
	}
	if c.Port == 0 {
		switch {
		case c.TLS == TLSImplicit:
			c.Port = PortSMTPS
		case c.Username != "":
			c.Port = PortSubmission
		default:
			c.Port = PortSMTP
		}
	}
	return c, nil
}

// checkHost accepts IP addresses and ASCII host names. Anything else (a zone, white space, Unicode
// that was not converted to punycode) would fail later in a less clear way, or end up in a header.
func checkHost(host string) error {
	if addr, err := netip.ParseAddr(host); err == nil {
		if addr.Zone() != "" {
			return errors.New("email: SMTP host addresses with a zone are not supported")
		}
		return nil
	}
	if len(host) > 253 {
		return errors.New("email: the SMTP host name is too long")
	}
	for _, r := range host {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		default:
			return errors.New("email: the SMTP host must be an IP address or an ASCII host name (use punycode for international names)")
		}
	}
	return nil
}

// Addr is host:port, for dialling.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// String is the Config as a URL with the password replaced by REDACTED and the TLS policy spelled
// out, e.g. "smtp://alerts:REDACTED@smtp.example.com:587?tls=required". ParseURL reads it back.
func (c Config) String() string {
	u := url.URL{Scheme: "smtp", Host: c.Addr()}
	q := url.Values{}
	if c.TLS == TLSImplicit {
		u.Scheme = "smtps"
	} else if c.TLS != "" {
		q.Set("tls", string(c.TLS))
	}
	if c.MaxConns != 0 {
		q.Set("max_conns", strconv.Itoa(c.MaxConns))
	}
	u.RawQuery = q.Encode()
	if c.Username != "" {
		u.User = url.User(c.Username)
		if c.Password != "" {
			u.User = url.UserPassword(c.Username, redacted)
		}
	}
	return u.String()
}

// GoString keeps %#v from printing the password.
func (c Config) GoString() string { return "email.Config(" + strconv.Quote(c.String()) + ")" }

// LogValue keeps slog from printing the password.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// clip shortens s to at most n runes, for quoting untrusted input in errors.
func clip(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}
