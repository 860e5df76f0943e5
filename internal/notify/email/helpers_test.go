package email

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/tocsin-dev/tocsin/internal/notify"
)

// Fixtures.

var (
	testCreated = time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	testNow     = time.Date(2026, 3, 1, 11, 3, 0, 0, time.UTC)
)

// securityHubDescription is what securityhub.Map writes for the GuardDuty finding below.
const securityHubDescription = "EC2 instance i-0abc is querying a domain name (guarddutyc2activityb.com) that is associated with a known Command & Control server. This can indicate that the instance is compromised.\n\n" +
	"Severity: HIGH (normalized 80, original 8)\nProduct: GuardDuty (Amazon)\nAccount: 123456789012 (prod-payments)\nRegion: eu-central-1\n" +
	"Resources:\n  - AwsEc2Instance i-0abc\n  - AwsEc2NetworkInterface eni-0f1e2d3c4b5a69788\n" +
	"Workflow status: NEW\nRecord state: ACTIVE\nFirst observed: 2026-03-01T11:00:00.000Z\nLast observed: 2026-03-01T11:01:30.000Z\nUpdated: 2026-03-01T11:02:40.000Z\n\n" +
	"Remediation:\nIsolate the instance, capture its memory and disk for analysis, and rotate any credentials it had access to. If the activity is expected, archive the finding and add a suppression rule.\n" +
	"https://docs.aws.amazon.com/guardduty/latest/ug/compromised-ec2.html\n\n" +
	"Source: https://eu-central-1.console.aws.amazon.com/guardduty/home?region=eu-central-1#/findings?macros=current&fId=d2c4f5a8b7e94c1f8a3b2c1d0e9f8a7b\n" +
	"Open in Security Hub: " + testConsoleURL + "\n" +
	"Finding ID: " + testFindingID

const (
	testFindingID  = "arn:aws:guardduty:eu-central-1:123456789012:detector/6ab6e6ee780ed494f3b7ca56acdc74df/finding/d2c4f5a8b7e94c1f8a3b2c1d0e9f8a7b"
	testConsoleURL = "https://console.aws.amazon.com/securityhub/home?region=eu-central-1#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253Aarn%253Aaws%253Aguardduty%253Aeu-central-1%253A123456789012%253Adetector%252F6ab6e6ee780ed494f3b7ca56acdc74df%252Ffinding%252Fd2c4f5a8b7e94c1f8a3b2c1d0e9f8a7b"
	testAlertID    = "8f1c2b9e-0d4f-4a53-9b6e-2f1f3c5d7a10"
)

// securityHubMessage is a page about a GuardDuty finding at step 2 of round 1, after Alice and Bob.
func securityHubMessage(to string) notify.Message {
	return notify.Message{
		Alert: notify.Alert{
			ID:          testAlertID,
			TinyID:      42,
			Alias:       testFindingID,
			Message:     "EC2 instance i-0abc is communicating with a known C&C server",
			Description: securityHubDescription,
			Priority:    "P2",
			Status:      "open",
			Source:      "GuardDuty",
			Entity:      "i-0abc",
			Tags:        []string{"HIGH", "GuardDuty", "123456789012", "eu-central-1", "AwsEc2Instance", "AwsEc2NetworkInterface"},
			Details: map[string]string{
				"AwsAccountId": "123456789012", "AwsAccountName": "prod-payments", "CompanyName": "Amazon",
				"GeneratorId":     "arn:aws:guardduty:eu-central-1:123456789012:detector/6ab6e6ee780ed494f3b7ca56acdc74df",
				"Id":              testFindingID,
				"ProductArn":      "arn:aws:securityhub:eu-central-1::product/aws/guardduty",
				"ProductName":     "GuardDuty",
				"RecordState":     "ACTIVE",
				"Region":          "eu-central-1",
				"Severity.Label":  "HIGH",
				"Types":           "TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS",
				"Workflow.Status": "NEW",
			},
			Count:          3,
			CreatedAt:      testCreated,
			LastOccurredAt: testCreated.Add(90 * time.Second),
			Integration:    notify.Integration{Name: "securityhub-prod", Type: "amazonsecurityhub"},
		},
		Step:  2,
		Round: 1,
		PreviousRecipients: []notify.Person{
			{Username: "alice@example.com", FullName: "Alice Doe"},
			{Username: "bob@example.com"},
		},
		Recipient: notify.Person{Username: "carol@example.com", FullName: "Carol Poe"},
		Contact:   notify.Contact{Method: notify.MethodEmail, To: to},
		Links: notify.Links{
			Alert:   "https://tocsin.example.com/alerts/" + testAlertID,
			Ack:     "https://tocsin.example.com/a/ack-6f1d2c3b4a59",
			Close:   "https://tocsin.example.com/a/close-0e9d8c7b6a54",
			Finding: testConsoleURL,
		},
		IdempotencyKey: testAlertID + "/2/1/carol@example.com/email-0",
	}
}

// opsgenieMessage is the first page about an alert made through the Opsgenie-compatible API.
func opsgenieMessage(to string) notify.Message {
	created := time.Date(2026, 3, 2, 7, 41, 12, 0, time.FixedZone("CET", 3600))
	return notify.Message{
		Alert: notify.Alert{
			ID:      "3c9a7e52-1b6d-4f08-a2e4-9d5c8b7a6f01",
			TinyID:  57,
			Alias:   "db-1/disk/var",
			Message: "Disk /var is 95% full on db-1",
			Description: "The filesystem /var on db-1 has been above 90% for 10 minutes and reached 95%.\n" +
				"Postgres stops accepting writes at 100%.\n\n" +
				"Runbook: https://runbooks.example.com/disk-full#postgres\n" +
				"Dashboard: https://grafana.example.com/d/node/node-exporter?var-host=db-1&from=now-6h",
			Priority:       "P3",
			Status:         "open",
			Source:         "prometheus",
			Entity:         "db-1",
			Tags:           []string{"prod", "database", "disk"},
			Details:        map[string]string{"mountpoint": "/var", "used": "95%", "team": "storage", "alertname": "NodeFilesystemAlmostFull"},
			Count:          1,
			CreatedAt:      created,
			LastOccurredAt: created,
			Integration:    notify.Integration{Name: "api-default", Type: "api"},
		},
		Step:           1,
		Round:          1,
		Recipient:      notify.Person{Username: "dave@example.com", FullName: "Dave Roe"},
		Contact:        notify.Contact{Method: notify.MethodEmail, To: to},
		Links:          notify.Links{Alert: "https://tocsin.example.com/alerts/3c9a7e52-1b6d-4f08-a2e4-9d5c8b7a6f01", Ack: "https://tocsin.example.com/a/ack-11aa22bb", Close: "https://tocsin.example.com/a/close-33cc44dd"},
		IdempotencyKey: "3c9a7e52-1b6d-4f08-a2e4-9d5c8b7a6f01/1/1/dave@example.com/email-0",
	}
}

// fixedRand is a Message-ID randomness source that repeats one byte.
type fixedRand byte

func (f fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(f)
	}
	return len(p), nil
}

// A test SMTP server, built with go-smtp.

// serverOptions says what a test server offers and demands.
type serverOptions struct {
	StartTLS    bool   // offer STARTTLS
	Implicit    bool   // TLS from the first byte (smtps)
	User, Pass  string // require AUTH with these (PLAIN, or LOGIN when LoginOnly)
	LoginOnly   bool
	RcptReply   *smtp.SMTPError // answer to every RCPT, when set
	DataReply   *smtp.SMTPError // answer to every DATA, when set; a 250 one says what is queued
	ReadTimeout time.Duration
}

// envelope is one message the server accepted.
type envelope struct {
	From     string
	To       []string
	Data     []byte
	TLS      bool
	AuthUser string
}

// testServer is a real SMTP server on a loopback port. It records what it accepted, counts the
// connections it accepted and the AUTH attempts it saw, and can be stopped and started again on
// the same port.
type testServer struct {
	t    *testing.T
	opts serverOptions
	cert *testCert
	addr string

	mu         sync.Mutex
	srv        *smtp.Server
	msgs       []envelope
	conns      int
	auths      int
	transcript bytes.Buffer
	arrived    chan struct{}
}

func newTestServer(t *testing.T, opts serverOptions) *testServer {
	t.Helper()
	s := &testServer{t: t, opts: opts, cert: newTestCert(t), arrived: make(chan struct{}, 1000)}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// start listens on the server's port (a new one the first time) and serves.
func (s *testServer) start() {
	s.t.Helper()
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may take a moment to be free again after stop
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("listen on %s: %v", addr, err)
	}
	s.addr = ln.Addr().String()
	ln = &countingListener{Listener: ln, s: s}
	if s.opts.Implicit {
		ln = tls.NewListener(ln, s.cert.server)
	}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // so that a client that would send AUTH in the clear is seen doing it
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.Debug = lockedWriter{s}
	srv.ReadTimeout = s.opts.ReadTimeout
	if srv.ReadTimeout == 0 {
		srv.ReadTimeout = 30 * time.Second
	}
	srv.WriteTimeout = 30 * time.Second
	if s.opts.StartTLS {
		srv.TLSConfig = s.cert.server
	}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// stop closes the listener and every connection.
func (s *testServer) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (s *testServer) host() string { h, _, _ := net.SplitHostPort(s.addr); return h }
func (s *testServer) port() string { _, p, _ := net.SplitHostPort(s.addr); return p }

// url is smtp://[user:pass@]addr[?query], or smtps:// for an implicit-TLS server.
func (s *testServer) url(userinfo, query string) string {
	scheme := "smtp://"
	if s.opts.Implicit {
		scheme = "smtps://"
	}
	u := scheme
	if userinfo != "" {
		u += userinfo + "@"
	}
	u += s.addr
	if query != "" {
		u += "?" + query
	}
	return u
}

func (s *testServer) messages() []envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]envelope(nil), s.msgs...)
}

func (s *testServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// authSeen reports whether any client sent AUTH, whether or not it was offered or accepted.
func (s *testServer) authSeen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auths > 0 {
		return true
	}
	for _, line := range strings.Split(s.transcript.String(), "\n") {
		if strings.HasPrefix(strings.ToUpper(line), "AUTH") {
			return true
		}
	}
	return false
}

func (s *testServer) setReplies(rcpt, data *smtp.SMTPError) {
	s.mu.Lock()
	s.opts.RcptReply, s.opts.DataReply = rcpt, data
	s.mu.Unlock()
}

type countingListener struct {
	net.Listener
	s *testServer
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.mu.Unlock()
	}
	return c, err
}

// lockedWriter collects the server's transcript of all connections.
type lockedWriter struct{ s *testServer }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.s.transcript.Len() < 1<<20 {
		w.s.transcript.Write(p)
	}
	return len(p), nil
}

type backend struct{ s *testServer }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

type session struct {
	s        *testServer
	conn     *smtp.Conn
	authUser string
	env      envelope
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.User == "" {
		return nil
	}
	if ss.s.opts.LoginOnly {
		return []string{"LOGIN"}
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	ss.s.mu.Lock()
	ss.s.auths++
	ss.s.mu.Unlock()
	check := func(user, pass string) error {
		if user != ss.s.opts.User || pass != ss.s.opts.Pass {
			return smtp.ErrAuthFailed
		}
		ss.authUser = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case "LOGIN":
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.User != "" && ss.authUser == "" {
		return smtp.ErrAuthRequired
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.env = envelope{From: from, TLS: isTLS, AuthUser: ss.authUser}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	reply := ss.s.opts.RcptReply
	ss.s.mu.Unlock()
	if reply != nil {
		return reply
	}
	ss.env.To = append(ss.env.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	reply := ss.s.opts.DataReply
	if reply == nil || reply.Code < 400 {
		ss.env.Data = data
		ss.s.msgs = append(ss.s.msgs, ss.env)
	}
	ss.s.mu.Unlock()
	if reply == nil || reply.Code < 400 {
		select {
		case ss.s.arrived <- struct{}{}:
		default:
		}
	}
	if reply != nil {
		return reply
	}
	return nil
}

func (ss *session) Reset()        { ss.env = envelope{} }
func (ss *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl has no server for.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if response != nil {
			l.user = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(response)
		return []byte("Password:"), false, nil
	case 3:
		return nil, true, l.check(l.user, string(response))
	}
	return nil, true, errors.New("unexpected LOGIN step")
}

// testCert is a self-signed certificate for 127.0.0.1 and localhost.
type testCert struct {
	server *tls.Config
	roots  *x509.CertPool
}

func newTestCert(t *testing.T) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tocsin test SMTP server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &testCert{
		server: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}, MinVersion: tls.VersionTLS12},
		roots:  roots,
	}
}

// newChannel makes a channel for s that trusts s's certificate, with a fixed clock and randomness.
func newChannel(t *testing.T, s *testServer, url string, opts Options) *Channel {
	t.Helper()
	opts.URL = url
	if opts.From == "" {
		opts.From = "tocsin <tocsin@example.com>"
	}
	if opts.TLSConfig == nil && s != nil {
		opts.TLSConfig = &tls.Config{RootCAs: s.cert.roots}
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func send(t *testing.T, c *Channel, m notify.Message) (notify.Receipt, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Send(ctx, m)
}

// outcome names how an error is classified.
func outcome(err error) string {
	switch {
	case err == nil:
		return "sent"
	case notify.IsPermanent(err):
		return "permanent"
	}
	return "temporary"
}
