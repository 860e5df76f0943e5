package load

import (
	"fmt"
	"mime"
	"strings"
	"sync"
	"time"

	"github.com/tocsin-dev/tocsin/internal/mailsink"
)

// DefaultSMTPAddr is where a Sink listens unless told otherwise.
const DefaultSMTPAddr = "127.0.0.1:2525"

// Email is what the Sink keeps of one email: enough to tell which finding it pages about and to
// match it with tocsin's records, not the body.
type Email struct {
	At        time.Time `json:"at"`
	To        []string  `json:"to"`
	Subject   string    `json:"subject"`
	MessageID string    `json:"messageId"`
	AlertID   string    `json:"alertId"` // the X-Tocsin-Alert-Id header
	Run       string    `json:"run,omitempty"`
	Seq       int       `json:"seq"` // from the Subject's Marker; -1 when it has none
}

// Sink is the SMTP server tocsin's email pages go to. Like the Signer it outlives Runs and tocsin
// restarts; it keeps every email's Email (a few hundred bytes each) and is safe for concurrent use.
type Sink struct {
	smtp *mailsink.Sink

	mu      sync.Mutex
	emails  []Email
	arrived chan struct{} // closed and replaced on every email
}

// StartSink starts an SMTP server on addr (host:port; port 0 picks one).
func StartSink(addr string) (*Sink, error) {
	s := &Sink{arrived: make(chan struct{})}
	smtp, err := mailsink.Start(mailsink.Options{Addr: addr, Discard: true, OnMessage: s.receive})
	if err != nil {
		return nil, fmt.Errorf("load: starting the SMTP sink: %w", err)
	}
	s.smtp = smtp
	return s, nil
}

func (s *Sink) receive(m mailsink.Message) {
	e := Email{At: m.ReceivedAt, To: m.To, Seq: -1}
	if m.Header != nil {
		subject := m.Header.Get("Subject")
		if decoded, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
			subject = decoded
		}
		e.Subject = subject
		e.MessageID = strings.TrimSpace(m.Header.Get("Message-ID"))
		e.AlertID = strings.TrimSpace(m.Header.Get("X-Tocsin-Alert-Id"))
		if run, seq, ok := ParseMarker(subject); ok {
			e.Run, e.Seq = run, seq
		}
	}
	s.mu.Lock()
	s.emails = append(s.emails, e)
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
}

// Addr is the host:port the sink listens on.
func (s *Sink) Addr() string { return s.smtp.Addr() }

// URL is tocsin's --smtp-url for the sink.
func (s *Sink) URL() string { return s.smtp.URL() }

// SMTPURL is the --smtp-url of a Sink listening on addr: plain SMTP, no authentication.
func SMTPURL(addr string) string { return "smtp://" + addr + "?tls=none" }

// SMTP is the SMTP server itself, to make it refuse mail or stop and restart it in a fault test.
func (s *Sink) SMTP() *mailsink.Sink { return s.smtp }

// Close stops the sink.
func (s *Sink) Close() error { return s.smtp.Close() }

// Len is how many emails have arrived.
func (s *Sink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.emails)
}

// Emails returns the emails that arrived, oldest first, from the i-th on (0 for all), and a channel
// closed when the next one arrives.
func (s *Sink) Emails(i int) ([]Email, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i = min(max(i, 0), len(s.emails))
	return append([]Email(nil), s.emails[i:]...), s.arrived
}
