package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

// conn is one SMTP connection, past EHLO, TLS and AUTH, ready for a mail transaction.
type conn struct {
	raw    net.Conn     // the TCP connection: closing it unblocks any read or write above it
	sc     *smtp.Client // go-mail's SMTP client on it
	secure bool         // TLS is on (implicit or STARTTLS)
	used   time.Time    // when it last sent a message; zero for a new one
	// What the server offers: 8bit bodies (8BITMIME), SMTPUTF8, and both PIPELINING and CHUNKING,
	// which deliver needs to send a message in one round trip.
	eightBit, smtputf8, chunking bool

	// Set while idle, under Channel.mu: gen tells a timer from an earlier idle spell that it is
	// too late.
	timer *time.Timer
	gen   uint64
}

// errNoStartTLS is a server that does not offer STARTTLS when the policy requires it.
var errNoStartTLS = errors.New("the server does not offer STARTTLS, which tls=required needs (the default with a user: credentials are only sent over TLS); enable STARTTLS on the server, use smtps://, or, for a relay without a user, tls=opportunistic")

// errClosed is a Send after Close.
var errClosed = errors.New("the email channel is closed")

// get returns an idle connection (the most recently used, the likeliest to be alive) or dials one.
// The caller holds a slot, so the number of connections stays within MaxConns.
func (c *Channel) get(ctx context.Context) (cn *conn, reused bool, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, false, errClosed
	}
	if n := len(c.idle); n > 0 {
		cn = c.idle[n-1]
		c.idle = c.idle[:n-1]
		cn.timer.Stop()
		cn.gen++
		c.mu.Unlock()
		return cn, true, nil
	}
	c.mu.Unlock()
	cn, err = c.dial(ctx)
	return cn, false, err
}

// put keeps cn for the next Send and closes it when it stays idle for IdleTimeout.
func (c *Channel) put(cn *conn) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cn.close(c.timeout)
		return
	}
	cn.gen++
	gen := cn.gen
	cn.timer = time.AfterFunc(c.idleTimeout, func() { c.expire(cn, gen) })
	c.idle = append(c.idle, cn)
	c.mu.Unlock()
}

// expire closes cn if it is still idle in the spell that started the timer.
func (c *Channel) expire(cn *conn, gen uint64) {
	c.mu.Lock()
	i := slices.Index(c.idle, cn)
	if i < 0 || cn.gen != gen {
		c.mu.Unlock()
		return
	}
	c.idle = slices.Delete(c.idle, i, i+1)
	c.mu.Unlock()
	c.logger.Debug("email: closing an idle connection", "server", c.cfg.Addr(), "idle", c.idleTimeout)
	cn.close(c.timeout)
}

// close says QUIT, briefly, and closes the connection.
func (cn *conn) close(timeout time.Duration) {
	_ = cn.raw.SetDeadline(time.Now().Add(min(timeout, 2*time.Second)))
	_ = cn.sc.Quit()
	_ = cn.raw.Close()
}

// dial connects and prepares a connection as the TLS policy says: TCP, TLS for smtps://, the
// greeting, EHLO, STARTTLS, AUTH. Cancelling ctx or passing Timeout closes the connection, which
// ends whatever step is waiting.
func (c *Channel) dial(ctx context.Context) (_ *conn, err error) {
	dctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	raw, err := c.dialer.DialContext(dctx, "tcp", c.cfg.Addr())
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	stop := context.AfterFunc(dctx, func() { _ = raw.Close() })
	defer func() {
		if !stop() && err == nil {
			err = fmt.Errorf("connecting: %w", context.Cause(dctx))
		}
		if err != nil {
			_ = raw.Close()
		}
	}()
	if d, ok := dctx.Deadline(); ok {
		_ = raw.SetDeadline(d)
	}

	var nc net.Conn = raw
	secure := false
	if c.cfg.TLS == TLSImplicit {
		tc := tls.Client(raw, c.tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		nc, secure = tc, true // smtp.NewClient sees a *tls.Conn and reports TLS to the auth below
	}
	sc, err := smtp.NewClient(nc, c.cfg.Host)
	if err != nil {
		return nil, fmt.Errorf("reading the greeting: %w", err)
	}
	if err := sc.Hello(c.helo); err != nil {
		return nil, fmt.Errorf("EHLO: %w", err)
	}
	if c.cfg.TLS == TLSRequired || c.cfg.TLS == TLSOpportunistic {
		offered, _ := sc.Extension("STARTTLS")
		switch {
		case offered:
			cfg := c.tlsConfig
			if c.cfg.TLS == TLSOpportunistic {
				// See TLSOpportunistic: a check here would add no protection, only failures.
				cfg = cfg.Clone()
				cfg.InsecureSkipVerify = true
			}
			if err := sc.StartTLS(cfg); err != nil {
				return nil, fmt.Errorf("STARTTLS: %w", err)
			}
			secure = true
		case c.cfg.TLS == TLSRequired:
			return nil, errNoStartTLS
		}
	}
	if c.cfg.Username != "" {
		if !secure {
			// normalize allows credentials with TLSRequired and TLSImplicit only; this keeps a
			// future change from ever sending them in the clear.
			return nil, errors.New("refusing to send credentials without TLS")
		}
		if err := sc.Auth(&auth{user: c.cfg.Username, pass: c.cfg.Password}); err != nil {
			return nil, fmt.Errorf("AUTH: %w", err)
		}
	}
	c.logger.Debug("email: connected", "server", c.cfg.Addr(), "tls", secure, "auth", c.cfg.Username != "")
	cn := &conn{raw: raw, sc: sc, secure: secure}
	cn.eightBit, _ = sc.Extension("8BITMIME")
	cn.smtputf8, _ = sc.Extension("SMTPUTF8")
	pipelining, _ := sc.Extension("PIPELINING")
	chunking, _ := sc.Extension("CHUNKING")
	cn.chunking = pipelining && chunking
	return cn, nil
}

// auth is SMTP AUTH with PLAIN or LOGIN, which every submission server offers, and only over TLS:
// it checks for TLS itself rather than trusting the caller, and unlike go-mail's PlainAuth makes no
// exception for localhost.
type auth struct {
	user, pass string
	mech       string
	step       int
}

func (a *auth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	if !s.TLS {
		return "", nil, errors.New("refusing to send credentials without TLS")
	}
	switch {
	case slices.Contains(s.Auth, "PLAIN"):
		a.mech = "PLAIN"
		return a.mech, []byte("\x00" + a.user + "\x00" + a.pass), nil
	case slices.Contains(s.Auth, "LOGIN"):
		a.mech = "LOGIN"
		return a.mech, nil, nil
	}
	offered := "none"
	if len(s.Auth) > 0 {
		offered = clip(oneLine(strings.Join(s.Auth, " ")), 100)
	}
	return "", nil, fmt.Errorf("the server offers no AUTH mechanism tocsin supports (PLAIN, LOGIN); it offers %s", offered)
}

func (a *auth) Next(_ []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	if a.mech != "LOGIN" {
		return nil, errors.New("unexpected AUTH challenge")
	}
	// LOGIN asks for the user, then the password; the prompts' wording varies between servers.
	a.step++
	switch a.step {
	case 1:
		return []byte(a.user), nil
	case 2:
		return []byte(a.pass), nil
	}
	return nil, errors.New("unexpected AUTH LOGIN challenge")
}
