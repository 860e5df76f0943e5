package email

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseURLAcceptsTheDocumentedForms(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want Config
	}{
		{"smtp://alerts:s3cret@smtp.example.com", Config{Host: "smtp.example.com", Port: 587, Username: "alerts", Password: "s3cret", TLS: TLSRequired}},
		{"smtp://alerts:s3cret@smtp.example.com:2587", Config{Host: "smtp.example.com", Port: 2587, Username: "alerts", Password: "s3cret", TLS: TLSRequired}},
		{"smtp://alerts:s3cret@smtp.example.com:587?tls=required", Config{Host: "smtp.example.com", Port: 587, Username: "alerts", Password: "s3cret", TLS: TLSRequired}},
		{"smtps://alerts:s3cret@smtp.example.com", Config{Host: "smtp.example.com", Port: 465, Username: "alerts", Password: "s3cret", TLS: TLSImplicit}},
		{"smtps://smtp.example.com:4650", Config{Host: "smtp.example.com", Port: 4650, TLS: TLSImplicit}},
		{"smtp://relay.internal", Config{Host: "relay.internal", Port: 25, TLS: TLSOpportunistic}},
		{"smtp://relay.internal:25/", Config{Host: "relay.internal", Port: 25, TLS: TLSOpportunistic}},
		{"smtp://relay.internal?tls=none", Config{Host: "relay.internal", Port: 25, TLS: TLSNone}},
		{"smtp://relay.internal?tls=opportunistic", Config{Host: "relay.internal", Port: 25, TLS: TLSOpportunistic}},
		{"smtp://relay.internal?tls=required", Config{Host: "relay.internal", Port: 25, TLS: TLSRequired}},
		{"smtp://127.0.0.1:2525", Config{Host: "127.0.0.1", Port: 2525, TLS: TLSOpportunistic}},
		{"smtp://[::1]:2525", Config{Host: "::1", Port: 2525, TLS: TLSOpportunistic}},
		{"smtp://alerts%40example.com:p%40ss%3Aw%2Frd%25@smtp.example.com", Config{Host: "smtp.example.com", Port: 587, Username: "alerts@example.com", Password: "p@ss:w/rd%", TLS: TLSRequired}},
		{"smtp://apikey@smtp.example.com", Config{Host: "smtp.example.com", Port: 587, Username: "apikey", TLS: TLSRequired}},
		{"smtp://relay.internal?max_conns=16", Config{Host: "relay.internal", Port: 25, TLS: TLSOpportunistic, MaxConns: 16}},
		{"smtp://relay.internal?tls=none&max_conns=1", Config{Host: "relay.internal", Port: 25, TLS: TLSNone, MaxConns: 1}},
		{"smtps://alerts:s3cret@smtp.example.com?max_conns=256", Config{Host: "smtp.example.com", Port: 465, Username: "alerts", Password: "s3cret", TLS: TLSImplicit, MaxConns: 256}},
	} {
		t.Run(tc.url, func(t *testing.T) {
			got, err := ParseURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ParseURL = %#v (%+v), want %+v", got, fields(got), fields(tc.want))
			}
			again, err := ParseURL(got.String())
			if err != nil {
				t.Fatalf("ParseURL(%q) = %v", got.String(), err)
			}
			if got.Password != "" {
				again.Password = got.Password
			}
			if again != got {
				t.Errorf("String %q reads back as %+v", got.String(), fields(again))
			}
		})
	}
}

// fields shows a Config's fields, password included, for test failures only.
func fields(c Config) string {
	return fmt.Sprintf("{Host:%q Port:%d Username:%q Password:%q TLS:%q MaxConns:%d}", c.Host, c.Port, c.Username, c.Password, c.TLS, c.MaxConns)
}

func TestParseURLRefusesWhatItCannotUseSafely(t *testing.T) {
	for _, tc := range []struct {
		url, says string
	}{
		{"smtp://alerts:s3cret@smtp.example.com?tls=none", "credentials are only sent over TLS"},
		{"smtp://alerts:s3cret@smtp.example.com?tls=opportunistic", "credentials are only sent over TLS"},
		{"smtps://alerts:s3cret@smtp.example.com?tls=none", "smtps:// always uses TLS"},
		{"smtp://smtp.example.com?tls=maybe", "unknown tls"},
		{"smtp://smtp.example.com?tls=required&tls=none", "more than once"},
		{"smtp://smtp.example.com?timeout=5s", "unknown SMTP URL parameter"},
		{"smtp://smtp.example.com?max_conns=0", "from 1 to 256"},
		{"smtp://smtp.example.com?max_conns=257", "from 1 to 256"},
		{"smtp://smtp.example.com?max_conns=four", "from 1 to 256"},
		{"smtp://smtp.example.com?max_conns=", "from 1 to 256"},
		{"smtp://smtp.example.com?max_conns=2&max_conns=3", "max_conns parameter is given more than once"},
		{"smtp://smtp.example.com?TLS=none", "unknown SMTP URL parameter"},
		{"http://smtp.example.com", "unsupported SMTP URL scheme"},
		{"submission://smtp.example.com", "unsupported SMTP URL scheme"},
		{"smtp.example.com:587", "unsupported SMTP URL scheme"},
		{"smtp.example.com", "no scheme"},
		{"", "no scheme"},
		{"smtp://", "no host"},
		{"smtp://:587", "no host"},
		{"smtp://alerts:s3cret@:587", "no host"},
		{"smtp://smtp.example.com:0", "bad port"},
		{"smtp://smtp.example.com:65536", "bad port"},
		{"smtp://smtp.example.com:", "empty port"},
		{"smtp://smtp.example.com:smtp", "does not parse"},
		{"smtp://smtp.example.com/path", "no path"},
		{"smtp://smtp.example.com#frag", "no fragment"},
		{"smtp::s3cret@smtp.example.com", "smtp://host"},
		{"smtp://:s3cret@smtp.example.com", "password but no user"},
		{"smtp://alerts:s3cret%00@smtp.example.com", "NUL"},
		{"smtp://smtp.exämple.com", "punycode"},
		{"smtp://[fe80::1%25eth0]:25", "zone"},
		{"smtp://alerts:s3c ret@smtp.example.com", "does not parse"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := ParseURL(tc.url)
			if err == nil {
				t.Fatal("ParseURL succeeded")
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "s3c ret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestAConfigNeverShowsItsPassword(t *testing.T) {
	cfg, err := ParseURL("smtp://alerts:hunter2-s3cret@smtp.example.com")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "smtp", cfg)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "smtp", cfg)
	shown := strings.Join([]string{
		cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s %q", cfg, cfg, cfg, cfg, cfg), logs.String(),
	}, "\n")
	if strings.Contains(shown, "hunter2") {
		t.Errorf("the password shows:\n%s", shown)
	}
	if want := "smtp://alerts:REDACTED@smtp.example.com:587?tls=required"; cfg.String() != want {
		t.Errorf("String = %q, want %q", cfg.String(), want)
	}
	c := newChannel(t, nil, "smtp://alerts:hunter2-s3cret@127.0.0.1:1", Options{})
	if s := fmt.Sprintf("%v %+v", c.Server(), c.Server()); strings.Contains(s, "hunter2") {
		t.Errorf("Channel.Server shows the password: %s", s)
	}
}

func TestNewChecksItsOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		says string
	}{
		{"no server", Options{From: "tocsin@example.com"}, "no SMTP server"},
		{"URL and Server both", Options{URL: "smtp://relay", Server: Config{Host: "relay"}, From: "tocsin@example.com"}, "not both"},
		{"a bad URL", Options{URL: "smtp://relay?tls=maybe", From: "tocsin@example.com"}, "unknown tls"},
		{"a bad Server", Options{Server: Config{Host: "relay", TLS: "maybe"}, From: "tocsin@example.com"}, "unknown TLS policy"},
		{"no From", Options{URL: "smtp://relay"}, "not an email address"},
		{"a From that is not an address", Options{URL: "smtp://relay", From: "tocsin"}, "not an email address"},
		{"a From with a line break", Options{URL: "smtp://relay", From: "tocsin@example.com\r\nBcc: x@example.com"}, "one line"},
		{"a negative Timeout", Options{URL: "smtp://relay", From: "tocsin@example.com", Timeout: -1}, "Timeout"},
		{"a negative IdleTimeout", Options{URL: "smtp://relay", From: "tocsin@example.com", IdleTimeout: -1}, "IdleTimeout"},
		{"a negative MaxConns", Options{URL: "smtp://relay", From: "tocsin@example.com", MaxConns: -1}, "MaxConns"},
		{"a MessageIDDomain that is not a host name", Options{URL: "smtp://relay", From: "tocsin@example.com", MessageIDDomain: "exa>mple"}, "MessageIDDomain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("New = %v, want an error saying %q", err, tc.says)
			}
		})
	}
}

func TestTheURLsMaxConnsBoundsConnectionsUnlessTheOptionsSayOtherwise(t *testing.T) {
	for _, tc := range []struct {
		url          string
		option, want int
	}{
		{"smtp://relay.internal", 0, DefaultMaxConns},
		{"smtp://relay.internal?max_conns=16", 0, 16},
		{"smtp://relay.internal?max_conns=16", 2, 2},
	} {
		c, err := New(Options{URL: tc.url, MaxConns: tc.option, From: "tocsin@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if cap(c.slots) != tc.want {
			t.Errorf("%s with MaxConns %d: %d connections at most, want %d", tc.url, tc.option, cap(c.slots), tc.want)
		}
		c.Close()
	}
}

func TestNewFillsInDefaults(t *testing.T) {
	c, err := New(Options{Server: Config{Host: "relay.internal"}, From: "tocsin <tocsin@alerts.example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Method() != "email" {
		t.Errorf("Method = %q", c.Method())
	}
	if c.timeout != DefaultTimeout || c.idleTimeout != DefaultIdleTimeout || cap(c.slots) != DefaultMaxConns {
		t.Errorf("timeout %s, idle %s, max conns %d", c.timeout, c.idleTimeout, cap(c.slots))
	}
	if c.idDomain != "alerts.example.com" {
		t.Errorf("Message-ID domain %q, want From's", c.idDomain)
	}
	if got := c.Server(); got != (Config{Host: "relay.internal", Port: 25, TLS: TLSOpportunistic}) {
		t.Errorf("Server = %+v", fields(got))
	}
	if c.tlsConfig.ServerName != "relay.internal" {
		t.Errorf("TLS ServerName %q", c.tlsConfig.ServerName)
	}
}
