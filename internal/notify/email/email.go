package email

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/tocsin-dev/tocsin/internal/notify"
)

// Defaults.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxConns    = 4
	DefaultIdleTimeout = 30 * time.Second
)

// Options configures a Channel.
type Options struct {
	// URL is the SMTP server as ParseURL reads it, e.g. "smtp://alerts:secret@smtp.example.com:587".
	// Set URL or Server, not both.
	URL string

	// Server is the SMTP server as a Config, for a caller that has one already (ParseURL's result,
	// or one built from separate settings). Set URL or Server, not both.
	Server Config

	// From is the sender, an address with an optional display name: "tocsin <tocsin@example.com>".
	// Required.
	From string

	// Timeout bounds connecting (TCP, TLS, greeting, EHLO, STARTTLS, AUTH) and, separately, the
	// sending of one message on a connection. Default DefaultTimeout.
	Timeout time.Duration

	// MaxConns is how many connections to the server the channel opens at most, and so how many
	// messages it sends at once; connections are kept for reuse, so a burst of pages does not
	// pay a TLS handshake and AUTH per message. Default the server's MaxConns (the URL's
	// max_conns), else DefaultMaxConns.
	MaxConns int

	// IdleTimeout closes a connection that has not been used for this long, well before servers
	// drop idle clients (RFC 5321 asks them to wait at least 5 minutes). Default
	// DefaultIdleTimeout.
	IdleTimeout time.Duration

	// TLSConfig is the base TLS configuration (RootCAs in tests, client certificates). It is
	// cloned; ServerName defaults to the server's host and MinVersion to TLS 1.2.
	TLSConfig *tls.Config

	// Logger receives debug records about connections; never passwords or message bodies.
	// Default slog.Default().
	Logger *slog.Logger

	// Now is the clock for the Date header and Message-ID. Default time.Now.
	Now func() time.Time

	// Rand is the source of the random part of Message-IDs. Default crypto/rand. Tests set a
	// fixed one for reproducible output; it is read under a lock.
	Rand io.Reader

	// MessageIDDomain is the right-hand side of Message-IDs and thread ids. Default the domain of
	// From.
	MessageIDDomain string
}

// Channel is the email notify.Channel. It is safe for concurrent use; make one per process so that
// connections are shared, and Close it at shutdown.
type Channel struct {
	cfg         Config
	from        *mail.Address
	idDomain    string
	timeout     time.Duration
	idleTimeout time.Duration
	tlsConfig   *tls.Config
	helo        string
	logger      *slog.Logger
	now         func() time.Time
	dialer      net.Dialer

	randMu sync.Mutex
	rand   io.Reader

	// buffers hold messages while they are sent, so that a burst of pages reuses a few.
	buffers sync.Pool

	// slots holds a token per connection in use, which bounds connections to MaxConns.
	slots chan struct{}

	mu     sync.Mutex
	idle   []*conn // most recently used last
	closed bool
}

var _ notify.Channel = (*Channel)(nil)

// New checks opts and returns a Channel. It connects to nothing: the first Send does.
func New(opts Options) (*Channel, error) {
	var cfg Config
	switch {
	case opts.URL != "" && opts.Server != (Config{}):
		return nil, errors.New("email: set Options.URL or Options.Server, not both")
	case opts.URL != "":
		var err error
		if cfg, err = ParseURL(opts.URL); err != nil {
			return nil, err
		}
	case opts.Server != (Config{}):
		var err error
		if cfg, err = opts.Server.normalize(); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("email: no SMTP server: set Options.URL")
	}

	if strings.ContainsAny(opts.From, "\r\n") {
		return nil, errors.New("email: From must be one line")
	}
	from, err := mail.ParseAddress(opts.From)
	if err != nil {
		return nil, fmt.Errorf("email: From %q is not an email address: %w", clip(opts.From, 100), err)
	}
	_, fromDomain, _ := strings.Cut(from.Address, "@")
	idDomain := opts.MessageIDDomain
	if idDomain == "" {
		idDomain = fromDomain
	}
	if !validIDDomain(idDomain) {
		return nil, fmt.Errorf("email: MessageIDDomain %q must be a host name (letters, digits, dots and hyphens)", clip(idDomain, 100))
	}

	c := &Channel{
		cfg:         cfg,
		from:        from,
		idDomain:    idDomain,
		timeout:     opts.Timeout,
		idleTimeout: opts.IdleTimeout,
		logger:      opts.Logger,
		now:         opts.Now,
		rand:        opts.Rand,
	}
	for _, d := range []struct {
		v    *time.Duration
		def  time.Duration
		name string
	}{{&c.timeout, DefaultTimeout, "Timeout"}, {&c.idleTimeout, DefaultIdleTimeout, "IdleTimeout"}} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < 0:
			return nil, fmt.Errorf("email: %s must not be negative", d.name)
		}
	}
	maxConns := opts.MaxConns
	switch {
	case maxConns == 0 && cfg.MaxConns > 0:
		maxConns = cfg.MaxConns
	case maxConns == 0:
		maxConns = DefaultMaxConns
	case maxConns < 0:
		return nil, errors.New("email: MaxConns must not be negative")
	}
	c.slots = make(chan struct{}, maxConns)
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}

	c.tlsConfig = &tls.Config{}
	if opts.TLSConfig != nil {
		c.tlsConfig = opts.TLSConfig.Clone()
	}
	if c.tlsConfig.ServerName == "" {
		c.tlsConfig.ServerName = cfg.Host
	}
	if c.tlsConfig.MinVersion == 0 {
		c.tlsConfig.MinVersion = tls.VersionTLS12
	}

	c.helo = "localhost"
	if h, err := os.Hostname(); err == nil && validIDDomain(h) {
		c.helo = h
	}
	c.dialer = net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}
	return c, nil
}

// Method returns notify.MethodEmail.
func (c *Channel) Method() string { return notify.MethodEmail }

// Server is the SMTP server the channel sends through, with defaults filled in. Its String hides the
// password.
func (c *Channel) Server() Config { return c.cfg }

// Send emails m to m.Contact.To once, on a kept connection if one is idle. See the package comment
// for what is permanent and what is temporary.
func (c *Channel) Send(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	to, err := recipient(m)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(err)
	}
	r, err := c.Render(m)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("email to %s: %w", to.Address, err))
	}
	eightBit := eightBitSafe(r.Text) && eightBitSafe(r.HTML)
	dest := "email to " + to.Address + " via " + c.cfg.Addr()

	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return notify.Receipt{}, fmt.Errorf("%s: waiting for a free connection: %w", dest, context.Cause(ctx))
	}
	defer func() { <-c.slots }()

	// A kept connection may have died while idle (server restart, server-side timeout). deliver
	// finds out before anything of the message is sent, so trying the next one, and finally a new
	// one, cannot send the message twice.
	for attempt := 0; ; attempt++ {
		cn, reused, err := c.get(ctx)
		if err != nil {
			return notify.Receipt{}, classify(ctx, dest, err)
		}
		asIs := eightBit && cn.eightBit
		reply, err := c.deliver(ctx, cn, to, c.message(m, to, r, asIs), asIs)
		if err == nil {
			c.put(cn)
			return receipt(reply, r), nil
		}
		cn.close(c.timeout)
		if reused && errors.Is(err, errStale) && ctx.Err() == nil && attempt <= cap(c.slots) {
			c.logger.Debug("email: a kept connection is gone; trying another", "server", c.cfg.Addr())
			continue
		}
		return notify.Receipt{}, classify(ctx, dest, err)
	}
}

// checkIdleAfter is how long a connection may have been idle before deliver checks it with a NOOP.
// One that has just sent a message is taken as alive: if it is not, the MAIL command fails before
// anything is sent, which deliver reports as stale just the same, and the round trip saved is a
// sixth of each message's under a burst.
const checkIdleAfter = time.Second

// deliver runs one mail transaction on cn and returns the server's reply to the message: pipelined
// with BDAT when the server offers PIPELINING and CHUNKING, else MAIL, RCPT and DATA. The
// connection's deadline bounds each step; closing the connection when ctx ends is what makes
// cancellation reach a blocked read. There is no RSET after a message: the end of the message ends
// the transaction (RFC 5321, 4.1.1.4), and on any error the caller drops the connection.
func (c *Channel) deliver(ctx context.Context, cn *conn, to *mail.Address, msg *gomail.Msg, eightBit bool) (string, error) {
	stop := context.AfterFunc(ctx, func() { _ = cn.raw.Close() })
	defer stop()
	// The deadline of the last use may have passed.
	if err := cn.sc.UpdateDeadline(c.timeout); err != nil {
		return "", fmt.Errorf("%w: %w", errStale, err)
	}
	if !cn.used.IsZero() && time.Since(cn.used) > checkIdleAfter {
		if err := cn.sc.Noop(); err != nil {
			return "", fmt.Errorf("%w: NOOP: %w", errStale, err)
		}
	}
	// The message is written whole and sent in bulk: textproto's DotWriter, which go-mail's Data
	// uses, goes byte by byte, and that was a tenth of a page's CPU.
	buf, _ := c.buffers.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		buf.Reset()
		c.buffers.Put(buf)
	}()
	if _, err := msg.WriteTo(buf); err != nil {
		return "", fmt.Errorf("writing the message: %w", err)
	}
	send := c.sendData
	if cn.chunking {
		send = c.sendChunk
	}
	reply, err := send(cn, to, buf.Bytes(), eightBit)
	if err != nil {
		return "", err
	}
	cn.used = time.Now()
	return reply, nil
}

// sendData is the classic transaction: MAIL and RCPT, each waiting for its reply, then the
// message dot-stuffed after DATA.
func (c *Channel) sendData(cn *conn, to *mail.Address, data []byte, _ bool) (string, error) {
	if err := cn.sc.Mail(c.from.Address); err != nil {
		return "", mailFromError(err)
	}
	if err := cn.sc.Rcpt(to.Address); err != nil {
		return "", fmt.Errorf("RCPT TO: %w", err)
	}
	text := cn.sc.Text
	id, err := text.Cmd("DATA")
	if err != nil {
		return "", fmt.Errorf("DATA: %w", err)
	}
	// textproto's pipeline orders responses by id: go-mail's next command waits for this one's end.
	text.StartResponse(id)
	defer text.EndResponse(id)
	if _, _, err := text.ReadResponse(354); err != nil {
		return "", fmt.Errorf("DATA: %w", err)
	}
	writeLines(text.W, data, true)
	_, _ = text.W.WriteString(".\r\n")
	if err := text.W.Flush(); err != nil {
		return "", fmt.Errorf("writing the message: %w", err)
	}
	_, reply, err := text.ReadResponse(250)
	if err != nil {
		return "", fmt.Errorf("ending the message: %w", err)
	}
	return reply, nil
}

// sendChunk sends MAIL, RCPT and the message as one BDAT chunk (RFC 3030) in a single write,
// pipelined (RFC 2920), and then reads the three replies: one round trip, and no dot-stuffing on
// either side. A server that refuses MAIL or RCPT still reads the chunk, whose size the command
// gives, and refuses it too.
func (c *Channel) sendChunk(cn *conn, to *mail.Address, data []byte, eightBit bool) (string, error) {
	mailCmd := "MAIL FROM:<" + c.from.Address + ">"
	if eightBit {
		mailCmd += " BODY=8BITMIME"
	}
	if cn.smtputf8 && !isASCII(c.from.Address+to.Address) {
		mailCmd += " SMTPUTF8"
	}
	text := cn.sc.Text
	id := text.Next()
	text.StartRequest(id)
	_, _ = text.W.WriteString(mailCmd + "\r\nRCPT TO:<" + to.Address + ">\r\nBDAT " + strconv.Itoa(linesLen(data)) + " LAST\r\n")
	writeLines(text.W, data, false)
	err := text.W.Flush()
	text.EndRequest(id)
	text.StartResponse(id)
	defer text.EndResponse(id)
	if err != nil {
		// The server cannot have taken a chunk that did not reach it whole.
		return "", fmt.Errorf("%w: writing the message: %w", errStale, err)
	}
	var errs [3]error
	var reply string
	for i := range errs {
		_, reply, errs[i] = text.ReadResponse(250)
		if errs[i] != nil && replyCode(errs[i]) == 0 {
			break // the connection failed: no further reply will come
		}
	}
	switch {
	case errs[0] != nil:
		return "", mailFromError(errs[0])
	case errs[1] != nil:
		return "", fmt.Errorf("RCPT TO: %w", errs[1])
	case errs[2] != nil:
		return "", fmt.Errorf("BDAT: %w", errs[2])
	}
	return reply, nil
}

// mailFromError words a failed MAIL command. No reply, or 421 (the server closes the connection),
// means the connection was gone before the transaction began: stale, and nothing was taken.
func mailFromError(err error) error {
	if code := replyCode(err); code == 0 || code == 421 {
		return fmt.Errorf("%w: MAIL FROM: %w", errStale, err)
	}
	return fmt.Errorf("MAIL FROM: %w", err)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// lines yields data's lines without their line ends (LF or CRLF); a last line without one counts.
func lines(data []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for len(data) > 0 {
			line := data
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				line, data = data[:i], data[i+1:]
			} else {
				data = nil
			}
			if !yield(bytes.TrimSuffix(line, []byte("\r"))) {
				return
			}
		}
	}
}

// linesLen is how many bytes writeLines writes for data without dot-stuffing.
func linesLen(data []byte) int {
	n := 0
	for line := range lines(data) {
		n += len(line) + len("\r\n")
	}
	return n
}

// writeLines writes data with every line ending in CRLF, as SMTP wants it; with dotStuff, as the
// body of DATA (RFC 5321, 4.5.2), where a line that starts with a dot gets another. Errors stay in
// w, for its Flush.
func writeLines(w *bufio.Writer, data []byte, dotStuff bool) {
	for line := range lines(data) {
		if dotStuff && len(line) > 0 && line[0] == '.' {
			_ = w.WriteByte('.')
		}
		_, _ = w.Write(line)
		_, _ = w.WriteString("\r\n")
	}
}

// errStale is a kept connection that cannot be used any more.
var errStale = errors.New("the connection is gone")

// Close closes the idle connections and makes the channel refuse new sends; connections in use are
// closed when their send ends. It is safe to call more than once.
func (c *Channel) Close() error {
	c.mu.Lock()
	c.closed = true
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, cn := range idle {
		cn.timer.Stop()
		cn.close(c.timeout)
	}
	return nil
}

// recipient checks that the contact is one email address.
func recipient(m notify.Message) (*mail.Address, error) {
	raw := m.Contact.To
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("email: the contact has no address")
	}
	if strings.ContainsAny(raw, "\r\n") {
		return nil, errors.New("email: the contact address must be one line")
	}
	a, err := mail.ParseAddress(raw)
	if err != nil {
		return nil, fmt.Errorf("email: the contact %q is not an email address", clip(raw, 100))
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || domain == "" || strings.HasPrefix(domain, "[") {
		return nil, fmt.Errorf("email: the contact %q is not an email address", clip(raw, 100))
	}
	if a.Name == "" {
		a.Name = oneLine(m.Recipient.FullName)
	}
	return a, nil
}

// message builds the MIME message: From, To, the thread headers, text and HTML alternatives. The
// parts are quoted-printable unless eightBit says that they may go as they are (8bit), which the
// server and the body (see eightBitSafe) must both allow: it spares encoding every byte of each page.
func (c *Channel) message(m notify.Message, to *mail.Address, r Rendered, eightBit bool) *gomail.Msg {
	enc := gomail.EncodingQP
	if eightBit {
		enc = gomail.NoEncoding
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent(), gomail.WithEncoding(enc))
	msg.SetAddrHeaderFromMailAddress(gomail.HeaderFrom, c.from)
	msg.SetAddrHeaderFromMailAddress(gomail.HeaderTo, to)
	msg.Subject(r.Subject)
	msg.SetDateWithValue(r.Date)
	msg.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(r.MessageID, "<"), ">"))
	if r.InReplyTo != "" {
		msg.SetGenHeaderPreformatted(gomail.HeaderInReplyTo, r.InReplyTo)
		msg.SetGenHeaderPreformatted(gomail.HeaderReferences, r.References)
	}
	// Auto-Submitted (RFC 3834) and X-Auto-Response-Suppress keep vacation responders from
	// answering pages.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetUserAgent("tocsin")
	if id := headerValue(m.Alert.ID); id != "" {
		msg.SetGenHeader("X-Tocsin-Alert-Id", id)
	}
	if p := headerValue(m.Alert.Priority); p != "" {
		msg.SetGenHeader("X-Tocsin-Priority", p)
	}
	msg.SetBodyString(gomail.TypeTextPlain, r.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	return msg
}

// eightBitSafe reports whether a body may be sent as 8bit (RFC 6152): no NUL, no CR (line ends
// are LF, which the DATA writer turns into CRLF) and no line longer than RFC 5322's 998 octets.
func eightBitSafe(body string) bool {
	if strings.ContainsAny(body, "\x00\r") {
		return false
	}
	for len(body) > 0 {
		line, rest, _ := strings.Cut(body, "\n")
		if len(line) > 998 {
			return false
		}
		body = rest
	}
	return true
}

var queuedAs = regexp.MustCompile(`(?i)\bqueued as ([A-Za-z0-9._@<>-]{1,100})`)

// receipt names the message by the server's queue id when the final reply to DATA carries one
// ("250 2.0.0 Ok: queued as 4Q1x2Y3z"), else by the Message-ID, which the server logs as well.
func receipt(reply string, r Rendered) notify.Receipt {
	reply = oneLine(reply)
	rec := notify.Receipt{ProviderID: r.MessageID, Detail: clip("250 "+reply, 200)}
	if reply == "" {
		rec.Detail = "250 OK"
	}
	if sub := queuedAs.FindStringSubmatch(reply); sub != nil {
		rec.ProviderID = strings.Trim(sub[1], "<>.")
	}
	return rec
}

// classify marks an error as Permanent when the server answered with a 5xx reply: a refused
// recipient, sender or message, or refused credentials, none of which a retry within an escalation
// changes. Everything else is temporary: 4xx replies, refused and dropped connections, timeouts, TLS
// failures and a missing STARTTLS (operators fix those on the server side, and the next attempt then
// succeeds).
func classify(ctx context.Context, dest string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w (%w)", dest, context.Cause(ctx), err)
	}
	if code := replyCode(err); code >= 500 && code <= 599 {
		return notify.Permanent(fmt.Errorf("%s: %w", dest, err))
	}
	return fmt.Errorf("%s: %w", dest, err)
}

// replyCode is the SMTP reply code an error carries, or 0.
func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

func validIDDomain(s string) bool {
	if s == "" || len(s) > 253 || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}
