package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/tocsin-dev/tocsin/internal/sns"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
)

// SignerConfig configures a Signer.
type SignerConfig struct {
	// Dir keeps the CA and the signing key (snstest.Config.Dir); made on first use, reused after, so
	// that a tocsin started once with --sns-ca-file Dir/ca.pem trusts every later Signer. Required.
	Dir string
	// Addr is where the signing certificate is served (tocsin's --sns-cert-hosts); default
	// 127.0.0.1:8443.
	Addr string
	// SignatureVersion is "1" (SHA1withRSA, SNS's default) or "2" (SHA256withRSA); default "1".
	SignatureVersion string
}

// DefaultCertAddr is where a Signer serves its certificate unless told otherwise.
const DefaultCertAddr = "127.0.0.1:8443"

// Signer signs SNS notifications as SNS does and serves the signing certificate for tocsin to fetch.
// It outlives Runs and tocsin restarts: an orchestrator makes one, starts tocsin with ServeFlags,
// and keeps it until the end. It is safe for concurrent use.
type Signer struct {
	srv     *snstest.Server
	version string
	topic   string
	subARN  string
}

// NewSigner loads or makes the keys in cfg.Dir and starts serving the certificate.
func NewSigner(cfg SignerConfig) (*Signer, error) {
	if cfg.Dir == "" {
		return nil, errors.New("load: the signer needs a directory for its CA (tocsin reads ca.pem from it)")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultCertAddr
	}
	if cfg.SignatureVersion == "" {
		cfg.SignatureVersion = "1"
	}
	srv, err := snstest.New(snstest.Config{Dir: cfg.Dir, Addr: cfg.Addr, SignatureVersion: cfg.SignatureVersion})
	if err != nil {
		return nil, fmt.Errorf("load: starting the signer: %w", err)
	}
	topic := srv.TopicARN("tocsin-load")
	return &Signer{srv: srv, version: cfg.SignatureVersion, topic: topic, subARN: topic + ":" + snstest.NewUUID()}, nil
}

// Close stops serving the certificate.
func (s *Signer) Close() { s.srv.Close() }

// Host is host:port of the certificate server, the value of tocsin's --sns-cert-hosts.
func (s *Signer) Host() string { return s.srv.Host() }

// CAFile is the CA certificate's path, the value of tocsin's --sns-ca-file.
func (s *Signer) CAFile() string { return s.srv.CAFile() }

// VerifierOptions trusts this signer, as tocsin does with ServeFlags; for tests.
func (s *Signer) VerifierOptions() sns.Options { return s.srv.VerifierOptions() }

// Message is a signed SNS notification, ready to be posted any number of times.
type Message struct {
	ID     string // the MessageId
	Body   []byte
	Header http.Header
}

// Request returns the POST of m to endpoint, as SNS makes it.
func (m *Message) Request(ctx context.Context, endpoint string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(m.Body))
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	req.Header = m.Header.Clone()
	return req, nil
}

// Notification signs message (an EventBridge event as JSON) as an SNS Notification from the
// signer's topic.
func (s *Signer) Notification(message []byte) (*Message, error) {
	m := &sns.Message{
		Type:           sns.TypeNotification,
		MessageID:      snstest.NewUUID(),
		TopicARN:       s.topic,
		Message:        string(message),
		Timestamp:      time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		UnsubscribeURL: s.srv.URL() + "/?Action=Unsubscribe&SubscriptionArn=" + url.QueryEscape(s.subARN),
	}
	if err := s.srv.Sign(m, s.version); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	req, err := snstest.NewRequest(context.Background(), s.srv.URL(), m)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	req.Header.Set(sns.HeaderSubscriptionARN, s.subARN) // one subscription, as with a real topic
	return &Message{ID: m.MessageID, Body: body, Header: req.Header}, nil
}

// ServeFlags are the flags of `tocsin serve` that make it trust a Signer serving on certHost with
// the CA in caFile (Signer.Host, Signer.CAFile), and send email pages to smtpURL (Sink.URL or
// SMTPURL; "" leaves the SMTP flags out) from the address from.
func ServeFlags(certHost, caFile, smtpURL, from string) []string {
	flags := []string{"--sns-cert-hosts", certHost, "--sns-ca-file", caFile}
	if smtpURL != "" {
		flags = append(flags, "--smtp-url", smtpURL, "--smtp-from", from)
	}
	return flags
}

// MakeCA makes the Signer's keys in dir, or checks the ones there, without serving anything, and
// returns the CA file's path: so that a script can start tocsin before the generator.
func MakeCA(dir string) (caFile string, err error) {
	s, err := NewSigner(SignerConfig{Dir: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		return "", err
	}
	s.Close()
	return s.CAFile(), nil
}
