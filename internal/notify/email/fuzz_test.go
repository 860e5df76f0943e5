package email

import (
	"strings"
	"testing"
)

// FuzzParseURL checks that ParseURL never panics and that whatever it accepts is safe to use: a host,
// a port in range, credentials only with a TLS policy that protects them, a String that does not
// depend on the password and reads back as the same Config.
func FuzzParseURL(f *testing.F) {
	for _, seed := range []string{
		"smtp://alerts:s3cret@smtp.example.com:587",
		"smtps://alerts:s3cret@smtp.example.com:465",
		"smtp://relay.internal:25",
		"smtp://relay.internal?tls=none",
		"smtp://relay.internal?tls=opportunistic",
		"smtp://relay.internal?max_conns=16&tls=none",
		"smtps://a:b@relay.internal?max_conns=300",
		"smtp://alerts:s3cret@smtp.example.com?tls=required",
		"smtp://alerts:s3cret@smtp.example.com?tls=none",
		"smtp://alerts%40example.com:p%40ss%3Aw%2Frd%25@smtp.example.com",
		"smtp://[::1]:2525",
		"smtp://[fe80::1%25eth0]:25",
		"smtp://:s3cret@host",
		"smtp://host:0",
		"smtp://host:",
		"smtp://host/path?x=1#f",
		"smtp://a:b@c:1?tls=required&tls=none",
		"smtps://host?tls=required",
		"mailto:alerts@example.com",
		"smtp://user:pa%00ss@host",
		"smtp://ex\u00e4mple.com",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cfg, err := ParseURL(raw)
		if err != nil {
			if cfg != (Config{}) {
				t.Fatalf("ParseURL(%q) returned %+v with error %v", raw, fields(cfg), err)
			}
			return
		}
		if cfg.Host == "" || cfg.Port < 1 || cfg.Port > 65535 {
			t.Fatalf("ParseURL(%q) = %+v: no host or a bad port", raw, fields(cfg))
		}
		switch cfg.TLS {
		case TLSImplicit, TLSRequired:
		case TLSOpportunistic, TLSNone:
			if cfg.Username != "" {
				t.Fatalf("ParseURL(%q) = %+v: credentials without TLS", raw, fields(cfg))
			}
		default:
			t.Fatalf("ParseURL(%q) = %+v: TLS policy %q", raw, fields(cfg), cfg.TLS)
		}
		if cfg.MaxConns < 0 || cfg.MaxConns > maxMaxConns {
			t.Fatalf("ParseURL(%q) = %+v: max_conns out of range", raw, fields(cfg))
		}
		if strings.ContainsAny(cfg.Host, "\r\n /@") {
			t.Fatalf("ParseURL(%q) = %+v: a host that is not one", raw, fields(cfg))
		}
		shown := cfg.String()
		other := cfg
		if other.Password != "" {
			other.Password = "something else"
		}
		if other.String() != shown || other.GoString() != cfg.GoString() {
			t.Fatalf("String depends on the password: %q and %q", shown, other.String())
		}
		again, err := ParseURL(shown)
		if err != nil {
			t.Fatalf("ParseURL(%q) reads its own String %q back as an error: %v", raw, shown, err)
		}
		if cfg.Password != "" {
			if again.Password != redacted {
				t.Fatalf("String %q does not read back with the REDACTED password", shown)
			}
			again.Password = cfg.Password
		}
		if again != cfg {
			t.Fatalf("ParseURL(%q) = %+v; its String %q reads back as %+v", raw, fields(cfg), shown, fields(again))
		}
	})
}
