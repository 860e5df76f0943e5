package email

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestTheTLSPolicy(t *testing.T) {
	for _, tc := range []struct {
		name      string
		server    serverOptions
		userinfo  string
		query     string
		untrusted bool // the client does not trust the server's certificate

		want     string // "sent", "temporary" or "permanent"
		wantTLS  bool
		wantAuth bool   // the server saw AUTH
		errSays  string // part of the error
	}{
		{name: "a user and a server without STARTTLS: an error, and AUTH is never sent",
			server: serverOptions{User: "alerts", Pass: "s3cret"}, userinfo: "alerts:s3cret",
			want: "temporary", errSays: "does not offer STARTTLS"},
		{name: "a user and a server with STARTTLS: TLS, then AUTH PLAIN",
			server: serverOptions{StartTLS: true, User: "alerts", Pass: "s3cret"}, userinfo: "alerts:s3cret",
			want: "sent", wantTLS: true, wantAuth: true},
		{name: "a user and a server that offers only AUTH LOGIN",
			server: serverOptions{StartTLS: true, User: "alerts", Pass: "s3cret", LoginOnly: true}, userinfo: "alerts:s3cret",
			want: "sent", wantTLS: true, wantAuth: true},
		{name: "a URL-encoded password is decoded",
			server: serverOptions{StartTLS: true, User: "alerts@example.com", Pass: "p@ss:w/rd%"}, userinfo: "alerts%40example.com:p%40ss%3Aw%2Frd%25",
			want: "sent", wantTLS: true, wantAuth: true},
		{name: "a wrong password is refused by the server (535): permanent",
			server: serverOptions{StartTLS: true, User: "alerts", Pass: "s3cret"}, userinfo: "alerts:wrong",
			want: "permanent", wantTLS: true, wantAuth: true, errSays: "535"},
		{name: "a user and a certificate the client does not trust: an error before AUTH",
			server: serverOptions{StartTLS: true, User: "alerts", Pass: "s3cret"}, userinfo: "alerts:s3cret", untrusted: true,
			want: "temporary", errSays: "certificate"},
		{name: "no user and a server with STARTTLS: TLS is used",
			server: serverOptions{StartTLS: true},
			want:   "sent", wantTLS: true},
		{name: "no user, STARTTLS offered with a certificate nobody trusts: opportunistic TLS still encrypts",
			server: serverOptions{StartTLS: true}, untrusted: true,
			want: "sent", wantTLS: true},
		{name: "no user and no STARTTLS: plain SMTP",
			server: serverOptions{},
			want:   "sent"},
		{name: "tls=required without STARTTLS: an error",
			server: serverOptions{}, query: "tls=required",
			want: "temporary", errSays: "does not offer STARTTLS"},
		{name: "tls=required checks the certificate",
			server: serverOptions{StartTLS: true}, query: "tls=required", untrusted: true,
			want: "temporary", errSays: "certificate"},
		{name: "tls=none does not use STARTTLS even when offered",
			server: serverOptions{StartTLS: true}, query: "tls=none",
			want: "sent"},
		{name: "smtps: implicit TLS, then AUTH",
			server: serverOptions{Implicit: true, User: "alerts", Pass: "s3cret"}, userinfo: "alerts:s3cret",
			want: "sent", wantTLS: true, wantAuth: true},
		{name: "smtps without a user",
			server: serverOptions{Implicit: true},
			want:   "sent", wantTLS: true},
		{name: "smtps checks the certificate",
			server: serverOptions{Implicit: true, User: "alerts", Pass: "s3cret"}, userinfo: "alerts:s3cret", untrusted: true,
			want: "temporary", errSays: "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, tc.server)
			opts := Options{}
			if tc.untrusted {
				opts.TLSConfig = &tls.Config{} // the system roots, which do not have the test certificate
			}
			c := newChannel(t, srv, srv.url(tc.userinfo, tc.query), opts)
			_, err := send(t, c, opsgenieMessage("dave@example.com"))
			if got := outcome(err); got != tc.want {
				t.Fatalf("Send = %v (%s), want %s", err, got, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), tc.errSays) {
				t.Errorf("error %q does not say %q", err, tc.errSays)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
			if got := srv.authSeen(); got != tc.wantAuth {
				t.Errorf("server saw AUTH: %v, want %v", got, tc.wantAuth)
			}
			if tc.want != "sent" {
				if n := len(srv.messages()); n != 0 {
					t.Errorf("the server accepted %d messages", n)
				}
				return
			}
			msgs := srv.messages()
			if len(msgs) != 1 {
				t.Fatalf("the server accepted %d messages, want 1", len(msgs))
			}
			if msgs[0].TLS != tc.wantTLS {
				t.Errorf("sent over TLS: %v, want %v", msgs[0].TLS, tc.wantTLS)
			}
			if tc.server.User != "" && msgs[0].AuthUser != tc.server.User {
				t.Errorf("authenticated as %q, want %q", msgs[0].AuthUser, tc.server.User)
			}
		})
	}
}

func TestCredentialsAreNeverSentWithoutTLSEvenIfTheConfigWasBuiltByHand(t *testing.T) {
	srv := newTestServer(t, serverOptions{User: "alerts", Pass: "s3cret"})
	port := 0
	for _, r := range srv.port() {
		port = port*10 + int(r-'0')
	}
	for _, policy := range []TLSPolicy{TLSNone, TLSOpportunistic} {
		_, err := New(Options{Server: Config{Host: srv.host(), Port: port, Username: "alerts", Password: "s3cret", TLS: policy}, From: "tocsin@example.com"})
		if err == nil || !strings.Contains(err.Error(), "credentials are only sent over TLS") {
			t.Errorf("New with a user and TLS %q = %v, want an error", policy, err)
		}
	}
	// Going around New's check, the connection still refuses.
	c := newChannel(t, srv, srv.url("", ""), Options{})
	c.cfg.Username, c.cfg.Password, c.cfg.TLS = "alerts", "s3cret", TLSOpportunistic
	_, err := send(t, c, opsgenieMessage("dave@example.com"))
	if err == nil || !strings.Contains(err.Error(), "without TLS") || srv.authSeen() {
		t.Errorf("Send = %v, AUTH seen %v; want a refusal before AUTH", err, srv.authSeen())
	}
}
