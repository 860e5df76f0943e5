// Package snstest stands in for Amazon SNS in tests and load generators: it signs messages exactly as
// SNS does, with a throwaway certificate authority, and serves the signing certificate and the
// SubscribeURL over HTTPS on 127.0.0.1, so that the real verification code runs end to end against a
// real peer instead of a mock.
//
// Point an sns.Verifier at a Server with VerifierOptions (its host in the allow list, its CA as an extra
// root). Tests use NewServer; programs use New and Close.
//
// A program that signs for a tocsin started separately (a load generator, a crash test that restarts
// tocsin, a script) sets Config.Dir and Config.Addr: the CA and the signing key are then kept in Dir
// and reused by every later Server on that Dir, and the certificate is served on a fixed address, so
// tocsin can be started once with --sns-cert-hosts ADDR --sns-ca-file DIR/ca.pem and keep trusting
// every Server started after it.
package snstest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/sns"
)

// Config changes how a Server behaves. The zero value is a well-behaved SNS.
type Config struct {
	// CertNotBefore and CertNotAfter bound the signing certificate's validity. Zero means an hour ago
	// and a year from now; set them to test expired or not yet valid certificates.
	CertNotBefore, CertNotAfter time.Time

	// SignatureVersion is what the message helpers sign with: "1" (SNS's default) or "2". Empty means "1".
	SignatureVersion string

	// Region and Account shape the ARNs the helpers make up. Defaults us-east-1 and 123456789012.
	Region, Account string

	// Dir, when set, keeps the CA and the message signing key in files there: CAFileName (the CA
	// certificate, for --sns-ca-file), CAKeyFileName and SigningKeyFileName (private keys, mode 0600).
	// The first Server on a Dir makes them (and the directory, mode 0700); later ones load them, so a
	// verifier that trusts ca.pem trusts every Server on the Dir. The signing and TLS certificates
	// are issued afresh from that CA each time. Empty means a throwaway CA in memory.
	Dir string

	// Addr is the address to serve on, e.g. "127.0.0.1:8443", so that the allow list of a verifier
	// started earlier (--sns-cert-hosts) names it. Empty means a free port on 127.0.0.1.
	Addr string
}

// The files of Config.Dir.
const (
	CAFileName         = "ca.pem"
	CAKeyFileName      = "ca-key.pem"
	SigningKeyFileName = "signing-key.pem"
)

// Server is a fake SNS endpoint: it serves the signing certificate, answers SubscribeURL and
// UnsubscribeURL visits like SNS, and counts every request it gets.
type Server struct {
	cfg     Config
	srv     *httptest.Server
	mux     *http.ServeMux
	caPEM   []byte
	key     *rsa.PrivateKey
	certPEM []byte
	certURL string
	caFile  string

	requests      atomic.Int64
	certFetches   atomic.Int64
	confirmations atomic.Int64

	mu     sync.Mutex
	tokens map[string]string // SubscriptionConfirmation token → topic ARN
}

// New starts a Server. Call Close when done.
func New(cfg Config) (*Server, error) {
	if cfg.SignatureVersion == "" {
		cfg.SignatureVersion = "1"
	}
	if cfg.SignatureVersion != "1" && cfg.SignatureVersion != "2" {
		return nil, fmt.Errorf("snstest: SignatureVersion %q is neither 1 nor 2", cfg.SignatureVersion)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Account == "" {
		cfg.Account = "123456789012"
	}
	now := time.Now()
	if cfg.CertNotBefore.IsZero() {
		cfg.CertNotBefore = now.Add(-time.Hour)
	}
	if cfg.CertNotAfter.IsZero() {
		cfg.CertNotAfter = now.Add(365 * 24 * time.Hour)
	}

	keys, err := loadOrMakeKeys(cfg.Dir, now)
	if err != nil {
		return nil, err
	}
	ca, caKey, caDER, signKey := keys.ca, keys.caKey, keys.ca.Raw, keys.signKey

	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	var ln net.Listener
	if cfg.Addr != "" {
		host, _, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("snstest: Addr %q: %w", cfg.Addr, err)
		}
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
			ips = append(ips, ip) // so that the TLS certificate names the address it is reached at
		}
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, fmt.Errorf("snstest: listen on %s: %w", cfg.Addr, err)
		}
	}
	closeListener := func() {
		if ln != nil {
			_ = ln.Close()
		}
	}

	tlsKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		closeListener()
		return nil, fmt.Errorf("snstest: TLS key: %w", err)
	}
	tlsDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  ips,
		DNSNames:     []string{"localhost"},
	}, ca, &tlsKey.PublicKey, caKey)
	if err != nil {
		closeListener()
		return nil, fmt.Errorf("snstest: TLS certificate: %w", err)
	}

	signDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "sns.amazonaws.com", Organization: []string{"tocsin tests"}},
		NotBefore:    cfg.CertNotBefore,
		NotAfter:     cfg.CertNotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}, ca, &signKey.PublicKey, caKey)
	if err != nil {
		closeListener()
		return nil, fmt.Errorf("snstest: signing certificate: %w", err)
	}

	s := &Server{
		cfg:     cfg,
		mux:     http.NewServeMux(),
		caPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		key:     signKey,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signDER}),
		tokens:  make(map[string]string),
	}
	if cfg.Dir != "" {
		s.caFile = filepath.Join(cfg.Dir, CAFileName)
	}
	certPath := "/SimpleNotificationService-" + randomHex(16) + ".pem"
	s.mux.HandleFunc("GET "+certPath, func(w http.ResponseWriter, _ *http.Request) {
		s.certFetches.Add(1)
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		_, _ = w.Write(s.certPEM)
	})
	s.mux.HandleFunc("GET /{$}", s.serveAction)

	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mux.ServeHTTP(w, r)
	}))
	if ln != nil {
		_ = s.srv.Listener.Close() // httptest's own, on a free port: replaced before Start, as documented
		s.srv.Listener = ln
	}
	s.srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{tlsDER, caDER}, PrivateKey: tlsKey}},
		MinVersion:   tls.VersionTLS12,
	}
	s.srv.StartTLS()
	s.certURL = s.srv.URL + certPath
	return s, nil
}

// NewServer starts a Server that is closed when the test ends.
func NewServer(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the server's base URL, https://127.0.0.1:PORT.
func (s *Server) URL() string { return s.srv.URL }

// Host is the server's host:port, the entry to put in the allow list.
func (s *Server) Host() string { return s.srv.Listener.Addr().String() }

// CAPEM is the test CA certificate that issued both the TLS and the signing certificate.
func (s *Server) CAPEM() []byte { return bytes.Clone(s.caPEM) }

// CAFile is the path of the CA certificate in Config.Dir (what tocsin's --sns-ca-file names), or ""
// when the Server has no Dir.
func (s *Server) CAFile() string { return s.caFile }

// CertURL is where the signing certificate is served, the SigningCertURL of signed messages.
func (s *Server) CertURL() string { return s.certURL }

// CertPEM is the signing certificate.
func (s *Server) CertPEM() []byte { return bytes.Clone(s.certPEM) }

// Client is an HTTP client that trusts the test CA.
func (s *Server) Client() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.caPEM)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// VerifierOptions trusts this server and nothing else.
func (s *Server) VerifierOptions() sns.Options {
	return sns.Options{Hosts: []string{s.Host()}, ExtraRootsPEM: s.CAPEM()}
}

// Handle adds a handler to the server, for tests that need SNS to misbehave (redirect, stall, serve
// junk). Requests to it are counted in Requests.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Requests counts every request the server has received.
func (s *Server) Requests() int64 { return s.requests.Load() }

// CertFetches counts downloads of the signing certificate.
func (s *Server) CertFetches() int64 { return s.certFetches.Load() }

// Confirmations counts visits to a SubscribeURL (Action=ConfirmSubscription), answered or not.
func (s *Server) Confirmations() int64 { return s.confirmations.Load() }

// Sign sets m's SignatureVersion, SigningCertURL and Signature exactly as SNS would, signing
// StringToSign(m) with SHA1withRSA (version "1") or SHA256withRSA (version "2").
func (s *Server) Sign(m *sns.Message, version string) error {
	if m == nil {
		return errors.New("snstest: nil message")
	}
	var hash crypto.Hash
	switch version {
	case "1":
		hash = crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return fmt.Errorf("snstest: SignatureVersion %q is neither 1 nor 2", version)
	}
	m.SignatureVersion = version
	m.SigningCertURL = s.certURL
	signed, err := sns.StringToSign(m)
	if err != nil {
		return fmt.Errorf("snstest: %w", err)
	}
	var digest []byte
	if hash == crypto.SHA1 {
		sum := sha1.Sum(signed)
		digest = sum[:]
	} else {
		sum := sha256.Sum256(signed)
		digest = sum[:]
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, hash, digest)
	if err != nil {
		return fmt.Errorf("snstest: signing: %w", err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	return nil
}

// TopicARN makes up the ARN of a topic called name in the server's region and account.
func (s *Server) TopicARN(name string) string {
	return "arn:aws:sns:" + s.cfg.Region + ":" + s.cfg.Account + ":" + name
}

// Notification returns a signed Notification of message (for tocsin, usually an EventBridge event as
// JSON) published to topicARN. An empty subject is left out, as SNS does.
func (s *Server) Notification(topicARN, subject, message string) *sns.Message {
	m := &sns.Message{
		Type:           sns.TypeNotification,
		MessageID:      newUUID(),
		TopicARN:       topicARN,
		Subject:        subject,
		Message:        message,
		Timestamp:      timestamp(),
		UnsubscribeURL: s.srv.URL + "/?Action=Unsubscribe&SubscriptionArn=" + url.QueryEscape(topicARN+":"+newUUID()),
	}
	s.mustSign(m)
	return m
}

// SubscriptionConfirmation returns a signed SubscriptionConfirmation for topicARN whose SubscribeURL,
// on this server, confirms the subscription.
func (s *Server) SubscriptionConfirmation(topicARN string) *sns.Message {
	return s.confirmation(sns.TypeSubscriptionConfirmation, topicARN, "You have chosen to subscribe to the topic "+topicARN+
		".\nTo confirm the subscription, visit the SubscribeURL included in this message.")
}

// UnsubscribeConfirmation returns a signed UnsubscribeConfirmation for topicARN. Its SubscribeURL would
// subscribe again.
func (s *Server) UnsubscribeConfirmation(topicARN string) *sns.Message {
	return s.confirmation(sns.TypeUnsubscribeConfirmation, topicARN, "You have chosen to deactivate subscription "+topicARN+":"+newUUID()+
		".\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.")
}

// confirmation builds and signs either confirmation type, with a fresh token this server accepts.
func (s *Server) confirmation(typ sns.MessageType, topicARN, message string) *sns.Message {
	token := randomHex(64)
	s.mu.Lock()
	s.tokens[token] = topicARN
	s.mu.Unlock()
	m := &sns.Message{
		Type:         typ,
		MessageID:    newUUID(),
		Token:        token,
		TopicARN:     topicARN,
		Message:      message,
		SubscribeURL: s.subscribeURL(topicARN, token),
		Timestamp:    timestamp(),
	}
	s.mustSign(m)
	return m
}

func (s *Server) subscribeURL(topicARN, token string) string {
	q := url.Values{"Action": {"ConfirmSubscription"}, "TopicArn": {topicARN}, "Token": {token}}
	return s.srv.URL + "/?" + q.Encode()
}

// mustSign signs with the configured version. It cannot fail for a message the helpers built, so a
// failure is a bug in this package.
func (s *Server) mustSign(m *sns.Message) {
	if err := s.Sign(m, s.cfg.SignatureVersion); err != nil {
		panic(err)
	}
}

// serveAction answers GET /?Action=… like the SNS query API does for the URLs it puts in messages.
func (s *Server) serveAction(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch q.Get("Action") {
	case "ConfirmSubscription":
		s.confirmations.Add(1)
		s.mu.Lock()
		topic, ok := s.tokens[q.Get("Token")]
		s.mu.Unlock()
		if !ok || topic != q.Get("TopicArn") {
			writeSNSError(w, http.StatusBadRequest, "InvalidParameter", "Invalid token")
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <ConfirmSubscriptionResult>
    <SubscriptionArn>%s:%s</SubscriptionArn>
  </ConfirmSubscriptionResult>
  <ResponseMetadata>
    <RequestId>%s</RequestId>
  </ResponseMetadata>
</ConfirmSubscriptionResponse>
`, xmlEscape(topic), newUUID(), newUUID())
	case "Unsubscribe":
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<UnsubscribeResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <ResponseMetadata>
    <RequestId>%s</RequestId>
  </ResponseMetadata>
</UnsubscribeResponse>
`, newUUID())
	default:
		writeSNSError(w, http.StatusBadRequest, "InvalidAction", "Unknown action")
	}
}

func writeSNSError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <Error>
    <Type>Sender</Type>
    <Code>%s</Code>
    <Message>%s</Message>
  </Error>
  <RequestId>%s</RequestId>
</ErrorResponse>
`, code, message, newUUID())
}

// Body encodes m as SNS puts it in the request body.
func Body(m *sns.Message) []byte {
	b, err := json.Marshal(m)
	if err != nil { // a Message holds only strings and maps of strings
		panic(err)
	}
	return b
}

// NewRequest builds the POST SNS would make to deliver m to endpoint, headers included.
func NewRequest(ctx context.Context, endpoint string, m *sns.Message) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(Body(m)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
	req.Header.Set("User-Agent", "Amazon Simple Notification Service Agent")
	req.Header.Set(sns.HeaderMessageType, string(m.Type))
	req.Header.Set(sns.HeaderMessageID, m.MessageID)
	req.Header.Set(sns.HeaderTopicARN, m.TopicARN)
	if m.Type == sns.TypeNotification {
		req.Header.Set(sns.HeaderSubscriptionARN, m.TopicARN+":"+newUUID())
	}
	return req, nil
}

// NewRawRequest builds the POST SNS would make for m when the subscription has raw message delivery
// on: the bare Message as the body and no envelope, so no signature.
func NewRawRequest(ctx context.Context, endpoint string, m *sns.Message) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader([]byte(m.Message)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
	req.Header.Set("User-Agent", "Amazon Simple Notification Service Agent")
	req.Header.Set(sns.HeaderMessageType, string(m.Type))
	req.Header.Set(sns.HeaderMessageID, m.MessageID)
	req.Header.Set(sns.HeaderTopicARN, m.TopicARN)
	req.Header.Set(sns.HeaderRawDelivery, "true")
	return req, nil
}

// timestamp formats now as SNS does: UTC with milliseconds.
func timestamp() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// NewUUID is a random UUID (version 4), the form of SNS's MessageIds.
func NewUUID() string { return newUUID() }

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writing to a bytes.Buffer cannot fail
	return b.String()
}
