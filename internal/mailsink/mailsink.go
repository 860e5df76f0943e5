// Package mailsink is a real SMTP server that keeps what it receives: the peer tocsin's email channel
// talks to in tests, benchmarks and the load generator, where a page has to arrive somewhere that
// speaks SMTP for real. It accepts any sender and recipient, needs no authentication, and can be told
// to refuse mail for a while or be stopped and started again on the same address.
package mailsink

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/mail"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one message as received.
type Message struct {
	From       string
	To         []string
	Data       []byte
	Header     mail.Header // parsed from Data; nil when Data is not a valid message
	ReceivedAt time.Time
}

// Sink is a running SMTP server. It is safe for concurrent use.
type Sink struct {
	addr string

	mu        sync.Mutex
	srv       *smtp.Server
	msgs      []Message
	notify    chan struct{}
	refuse    atomic.Bool
	sessions  atomic.Int64
	onMessage func(Message)
	discard   bool
}

// Options configures a Sink.
type Options struct {
	// Addr to listen on; default "127.0.0.1:0".
	Addr string
	// OnMessage is called for every message accepted, from the session's goroutine.
	OnMessage func(Message)
	// Discard drops messages after OnMessage instead of keeping them for Messages and Wait, for a
	// load test that receives millions. OnMessage then gets the header alone (Data is nil): the
	// body is read and dropped as it comes, so the sink costs the load test less of the machine.
	Discard bool
}

// Start listens and serves until Close.
func Start(opts Options) (*Sink, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	s := &Sink{addr: opts.Addr, notify: make(chan struct{}), onMessage: opts.OnMessage, discard: opts.Discard}
	keep := !opts.Discard
	if keep {
		user := s.onMessage
		s.onMessage = func(m Message) {
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			close(s.notify)
			s.notify = make(chan struct{})
			s.mu.Unlock()
			if user != nil {
				user(m)
			}
		}
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sink) listen() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("mailsink: listen on %s: %w", s.addr, err)
	}
	s.addr = ln.Addr().String()
	srv := smtp.NewServer(&backend{s: s})
	srv.Domain = "mailsink.test"
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	srv.AllowInsecureAuth = true
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// Addr is host:port.
func (s *Sink) Addr() string { return s.addr }

// URL is the --smtp-url that reaches the sink: plain SMTP, no auth, as a local relay.
func (s *Sink) URL() string { return "smtp://" + s.addr + "?tls=none" }

// Refuse makes the sink answer every new message with a temporary failure (451) while on is true,
// as a mail server does when its queue is full.
func (s *Sink) Refuse(on bool) { s.refuse.Store(on) }

// Stop closes the listener and every connection, as a crashed mail server would.
func (s *Sink) Stop() error {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// Restart starts serving again on the same address after Stop.
func (s *Sink) Restart() error {
	var err error
	for range 50 { // the port may take a moment to be free again
		if err = s.listen(); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Close stops the sink for good.
func (s *Sink) Close() error { return s.Stop() }

// Sessions is how many SMTP connections have been opened to the sink.
func (s *Sink) Sessions() int64 { return s.sessions.Load() }

// Messages returns what has been received so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait waits until match has accepted n messages, or timeout passes, and returns the matches.
func (s *Sink) Wait(n int, timeout time.Duration, match func(Message) bool) ([]Message, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		var got []Message
		for _, m := range s.msgs {
			if match == nil || match(m) {
				got = append(got, m)
			}
		}
		ch := s.notify
		s.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return got, fmt.Errorf("mailsink: %d of %d messages arrived within %s", len(got), n, timeout)
		}
	}
}

// To matches messages sent to addr.
func To(addr string) func(Message) bool {
	return func(m Message) bool {
		for _, t := range m.To {
			if t == addr {
				return true
			}
		}
		return false
	}
}

type backend struct{ s *Sink }

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) {
	b.s.sessions.Add(1)
	return &session{s: b.s}, nil
}

type session struct {
	s    *Sink
	from string
	to   []string
}

var errRefused = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "mailsink is refusing mail for now"}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.refuse.Load() {
		return errRefused
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	var m Message
	if x.s.discard {
		if parsed, err := mail.ReadMessage(r); err == nil {
			m.Header, r = parsed.Header, parsed.Body
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
	} else {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		m.Data = data
		if parsed, err := mail.ReadMessage(bytes.NewReader(data)); err == nil {
			m.Header = parsed.Header
		}
	}
	if x.s.refuse.Load() {
		return errRefused
	}
	m.From, m.To, m.ReceivedAt = x.from, x.to, time.Now()
	if x.s.onMessage != nil {
		x.s.onMessage(m)
	}
	return nil
}

func (x *session) Reset() { x.from, x.to = "", nil }

func (x *session) Logout() error { return nil }
