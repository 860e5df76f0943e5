package sns

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/tocsin-dev/tocsin/internal/netguard"
)

// Defaults for Options fields left zero.
const (
	DefaultTimeout      = 5 * time.Second
	DefaultMaxCertBytes = 64 << 10
	DefaultCacheSize    = 64
	DefaultCacheTTL     = time.Hour
)

// maxConfirmBytes bounds how much of a SubscribeURL answer is read; SNS's XML is a few hundred bytes.
const maxConfirmBytes = 64 << 10

// Options configures a Verifier. The zero value trusts the AWS SNS hosts of every partition through the
// system's root certificates.
type Options struct {
	// Hosts are the host patterns SigningCertURL and SubscribeURL may point at (--sns-cert-hosts).
	// A pattern is HOST or HOST:PORT; HOST is a DNS name in which a label may be "*" (exactly one
	// label, no dots), an IPv4 address, or an IPv6 address in brackets. Without a port only 443 is
	// allowed. Under AWS domains a "*" matches only a region name. Empty means DefaultHostPatterns.
	Hosts []string

	// ExtraRootsPEM holds PEM certificates trusted, besides the system roots, when fetching those URLs
	// (--sns-ca-file), e.g. LocalStack's or a test CA. Not allowed together with HTTPClient.
	ExtraRootsPEM []byte

	// HTTPClient, if set, makes the outbound requests. The Verifier uses a copy that never follows
	// redirects. When nil, a client is built that also refuses to connect to link-local and metadata
	// addresses whatever DNS says.
	HTTPClient *http.Client

	// Timeout bounds each outbound request. Default DefaultTimeout; keep it well under SNS's 15 s.
	Timeout time.Duration

	// MaxCertBytes bounds a signing certificate download. Default DefaultMaxCertBytes.
	MaxCertBytes int64

	// CacheSize is how many signing certificates are kept, and CacheTTL for how long each is trusted
	// before it is fetched again. Defaults DefaultCacheSize and DefaultCacheTTL.
	CacheSize int
	CacheTTL  time.Duration
}

// Verifier checks SNS message signatures and confirms subscriptions, reaching only allowed hosts. It is
// safe for concurrent use; make one per process so that its certificate cache is shared.
type Verifier struct {
	patterns []hostPattern
	client   *http.Client
	timeout  time.Duration
	maxCert  int64
	cache    *certCache
}

// NewVerifier checks opts and builds a Verifier. It makes no request.
func NewVerifier(opts Options) (*Verifier, error) {
	hosts := opts.Hosts
	if len(hosts) == 0 {
		hosts = DefaultHostPatterns()
	}
	v := &Verifier{
		timeout: orDefault(opts.Timeout, DefaultTimeout),
		maxCert: orDefault(opts.MaxCertBytes, DefaultMaxCertBytes),
		cache: &certCache{
			entries: make(map[string]*certEntry),
			max:     orDefault(opts.CacheSize, DefaultCacheSize),
			ttl:     orDefault(opts.CacheTTL, DefaultCacheTTL),
		},
	}
	if v.timeout < 0 || v.maxCert < 0 || v.cache.max < 0 || v.cache.ttl < 0 {
		return nil, errors.New("sns: Timeout, MaxCertBytes, CacheSize and CacheTTL must not be negative")
	}
	for _, h := range hosts {
		p, err := parseHostPattern(h)
		if err != nil {
			return nil, fmt.Errorf("sns: %w", err)
		}
		v.patterns = append(v.patterns, p)
	}

	noRedirects := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if opts.HTTPClient != nil {
		if len(opts.ExtraRootsPEM) > 0 {
			return nil, errors.New("sns: give either HTTPClient or ExtraRootsPEM, not both (add the roots to the client's TLS config)")
		}
		c := *opts.HTTPClient
		c.CheckRedirect = noRedirects
		v.client = &c
		return v, nil
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		// Containers without a CA bundle still work with ExtraRootsPEM (LocalStack, tests).
		roots = x509.NewCertPool()
	}
	if len(opts.ExtraRootsPEM) > 0 && !roots.AppendCertsFromPEM(opts.ExtraRootsPEM) {
		return nil, errors.New("sns: ExtraRootsPEM holds no PEM certificate")
	}
	dialer := &net.Dialer{Timeout: v.timeout, KeepAlive: 30 * time.Second, Control: refuseForbiddenAddrs}
	v.client = &http.Client{
		CheckRedirect: noRedirects,
		Transport: &http.Transport{
			Proxy:                  http.ProxyFromEnvironment,
			DialContext:            dialer.DialContext,
			TLSClientConfig:        &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:    v.timeout,
			ResponseHeaderTimeout:  v.timeout,
			MaxIdleConns:           16,
			IdleConnTimeout:        90 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
			ForceAttemptHTTP2:      true,
		},
	}
	return v, nil
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// refuseForbiddenAddrs runs after DNS resolution, so a name that resolves to the metadata service is
// refused even though its spelling passed the allow list.
// Private and loopback addresses stay allowed: LocalStack and tests serve from them.
func refuseForbiddenAddrs(network, address string, c syscall.RawConn) error {
	return netguard.Policy{}.Control(network, address, c)
}

// HostPatterns returns the allow list in effect, for logging at startup.
func (v *Verifier) HostPatterns() []string {
	out := make([]string, len(v.patterns))
	for i, p := range v.patterns {
		out[i] = p.text
	}
	return out
}

// CheckURL returns nil when raw is an https URL on an allowed host and port, and an error wrapping
// ErrUntrustedURL otherwise. It makes no request.
func (v *Verifier) CheckURL(raw string) error {
	_, err := checkURL(v.patterns, "URL", raw)
	return err
}

// Verify returns nil when m is a well-formed message signed by SNS. Every URL in the message that
// would be fetched is checked against the allow list before any request is made; the signing
// certificate is then fetched (or taken from the cache) and must be currently valid.
//
// Errors wrap ErrMalformed, ErrUntrustedURL, ErrBadSignature or ErrBadCertificate when the message must
// be refused, and ErrUnavailable when the certificate could not be fetched and SNS should retry.
func (v *Verifier) Verify(ctx context.Context, m *Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	certURL, err := checkURL(v.patterns, "SigningCertURL", m.SigningCertURL)
	if err != nil {
		return err
	}
	if m.Type != TypeNotification {
		if _, err := checkURL(v.patterns, "SubscribeURL", m.SubscribeURL); err != nil {
			return err
		}
	}
	// Decode the signature before any request: a message that cannot verify costs nothing.
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return fmt.Errorf("%w: Signature is not base64", ErrBadSignature)
	}
	cert, err := v.certificate(ctx, certURL)
	if err != nil {
		return err
	}
	now := time.Now()
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return fmt.Errorf("%w: certificate at %s is valid only from %s to %s", ErrBadCertificate,
			truncate(certURL.String()), cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	}
	return checkSignature(m, sig, cert.PublicKey.(*rsa.PublicKey)) // parseSigningCert accepts only RSA
}

// checkSignature verifies the decoded signature sig over StringToSign(m) with pub.
func checkSignature(m *Message, sig []byte, pub *rsa.PublicKey) error {
	signed, err := StringToSign(m)
	if err != nil {
		return err
	}
	var hash crypto.Hash
	var digest []byte
	switch m.SignatureVersion {
	case "1":
		sum := sha1.Sum(signed)
		hash, digest = crypto.SHA1, sum[:]
	case "2":
		sum := sha256.Sum256(signed)
		hash, digest = crypto.SHA256, sum[:]
	default: // Validate already refused it; kept so that a new version cannot slip through.
		return fmt.Errorf("%w: unsupported SignatureVersion %q", ErrBadSignature, truncate(m.SignatureVersion))
	}
	if err := rsa.VerifyPKCS1v15(pub, hash, digest, sig); err != nil {
		return fmt.Errorf("%w: %s %s from topic %s", ErrBadSignature, m.Type, truncate(m.MessageID), truncate(m.TopicARN))
	}
	return nil
}

// certCache holds parsed signing certificates by URL. A miss starts one fetch that every concurrent
// caller for the same URL waits on, so a burst of messages costs one request, not one per message.
type certCache struct {
	mu      sync.Mutex
	entries map[string]*certEntry
	max     int
	ttl     time.Duration
}

type certEntry struct {
	done  chan struct{} // closed when cert or err is set
	cert  *x509.Certificate
	err   error
	added time.Time
}

func (v *Verifier) certificate(ctx context.Context, u *url.URL) (*x509.Certificate, error) {
	key := u.String()
	c := v.cache
	now := time.Now()

	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok || (isDone(e) && now.Sub(e.added) >= c.ttl) {
		e = &certEntry{done: make(chan struct{}), added: now}
		delete(c.entries, key) // an expired entry for this URL must not push out another one
		c.evictLocked(now)
		c.entries[key] = e
		// The fetch outlives this caller's context on purpose: other callers may be waiting on it,
		// and one impatient client should not fail them all. Its own timeout bounds it.
		go v.fill(context.WithoutCancel(ctx), key, u, e)
	}
	c.mu.Unlock()

	select {
	case <-e.done:
		return e.cert, e.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: gave up waiting for the signing certificate: %w", ErrUnavailable, ctx.Err())
	}
}

func isDone(e *certEntry) bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// evictLocked makes room for one more entry: expired ones go first, then the oldest. Failed fetches are
// never cached (fill removes them), so a transient error does not stick.
func (c *certCache) evictLocked(now time.Time) {
	if len(c.entries) < c.max {
		return
	}
	for k, e := range c.entries {
		if isDone(e) && now.Sub(e.added) >= c.ttl {
			delete(c.entries, k)
		}
	}
	for len(c.entries) >= c.max {
		var oldest string
		var at time.Time
		for k, e := range c.entries {
			if oldest == "" || e.added.Before(at) {
				oldest, at = k, e.added
			}
		}
		delete(c.entries, oldest)
	}
}

func (v *Verifier) fill(ctx context.Context, key string, u *url.URL, e *certEntry) {
	e.cert, e.err = v.fetchCert(ctx, u)
	if e.err != nil {
		v.cache.mu.Lock()
		if v.cache.entries[key] == e {
			delete(v.cache.entries, key)
		}
		v.cache.mu.Unlock()
	}
	close(e.done)
}

func (v *Verifier) fetchCert(ctx context.Context, u *url.URL) (*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	body, status, err := v.get(ctx, u, v.maxCert)
	where := truncate(u.String())
	switch {
	case status == 0: // no answer at all
		return nil, fmt.Errorf("%w: fetching signing certificate %s: %w", ErrUnavailable, where, err)
	case retryable(status):
		return nil, fmt.Errorf("%w: fetching signing certificate %s: HTTP %d", ErrUnavailable, where, status)
	case status != http.StatusOK:
		// Includes redirects, which are never followed: SNS serves certificates directly.
		return nil, fmt.Errorf("%w: fetching signing certificate %s: HTTP %d", ErrBadCertificate, where, status)
	case errors.Is(err, errTooLarge):
		return nil, fmt.Errorf("%w: certificate at %s is larger than %d bytes", ErrBadCertificate, where, v.maxCert)
	case err != nil:
		return nil, fmt.Errorf("%w: fetching signing certificate %s: %w", ErrUnavailable, where, err)
	}
	cert, err := parseSigningCert(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadCertificate, where, err)
	}
	return cert, nil
}

func parseSigningCert(body []byte) (*x509.Certificate, error) {
	// SNS serves exactly one PEM certificate; anything around it means the URL is not what it seems.
	block, rest := pem.Decode(body)
	if block == nil || block.Type != "CERTIFICATE" || !bytes.HasPrefix(bytes.TrimSpace(body), []byte("-----BEGIN")) {
		return nil, errors.New("not a PEM certificate")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("unexpected data after the PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing certificate: %w", err)
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return nil, errors.New("certificate key is not RSA (SNS signs with SHA1withRSA or SHA256withRSA)")
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, errors.New("certificate is not for digital signatures")
	}
	return cert, nil
}

// retryable says whether an HTTP status from SNS means "try again later".
func retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

var errTooLarge = errors.New("response too large")

// get fetches u without following redirects and reads at most limit bytes of the answer. The status is
// returned whatever it is; only a failure to get or read an answer is an error.
func (v *Verifier) get(ctx context.Context, u *url.URL, limit int64) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("User-Agent", "tocsin-sns")
	resp, err := v.client.Do(req)
	if err != nil {
		var tlsErr *tls.CertificateVerificationError
		if errors.As(err, &tlsErr) {
			return nil, 0, fmt.Errorf("%w (is the CA in --sns-ca-file?)", err)
		}
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.ContentLength > limit {
		return nil, resp.StatusCode, errTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("reading the answer: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, resp.StatusCode, errTooLarge
	}
	return body, resp.StatusCode, nil
}
