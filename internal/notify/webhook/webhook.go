package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tocsin-dev/tocsin/internal/netguard"
	"github.com/tocsin-dev/tocsin/internal/notify"
)

// Defaults and limits.
const (
	DefaultTimeout = 10 * time.Second

	// MaxResponseBytes is how much of a response body is read; the rest is discarded unread.
	MaxResponseBytes = 64 << 10

	// MinSecretBytes is the shortest signing secret New accepts. Use 32 random bytes.
	MinSecretBytes = 16

	// UserAgent is sent with every request.
	UserAgent = "tocsin"

	// maxErrorBody is how much of a response body an error message quotes.
	maxErrorBody = 512
)

// Options configures a Channel.
type Options struct {
	// Secret signs every request (see the package comment). Required, at least MinSecretBytes long.
	// It is never logged and never appears in an error.
	Secret []byte

	// Timeout bounds each attempt: connecting, sending, and reading the answer. Default
	// DefaultTimeout.
	Timeout time.Duration

	// AllowHTTP lets contact URLs use plain http:// to any host. Without it http:// is accepted only
	// for the loopback host (localhost, 127.0.0.0/8, [::1]), where nothing crosses a network, and
	// every other URL must be https://. With it, the signature still proves who sent a request and
	// that it was not changed, but anyone on the path can read the alert; New logs a warning.
	AllowHTTP bool

	// RefusePrivate also refuses loopback and private addresses (netguard.Private) for contact URLs
	// that are all expected to be on the internet. By default they are allowed, so that on-premises
	// receivers work; link-local and instance metadata addresses are refused either way.
	RefusePrivate bool

	// Allow lists address prefixes that are always reachable, whatever the rules above say (tests).
	Allow []netip.Prefix

	// RootCAs verifies receivers' certificates; nil means the system roots.
	RootCAs *x509.CertPool

	// Logger receives the warning about AllowHTTP. Default slog.Default().
	Logger *slog.Logger
}

// Channel is the webhook notify.Channel: it POSTs a signed JSON payload to the contact's URL. It is
// safe for concurrent use; make one per process so that connections are reused.
type Channel struct {
	secret    []byte
	timeout   time.Duration
	allowHTTP bool
	policy    netguard.Policy
	client    *http.Client
}

var _ notify.Channel = (*Channel)(nil)

// New checks opts and returns a Channel. It makes no request.
func New(opts Options) (*Channel, error) {
	if len(opts.Secret) < MinSecretBytes {
		return nil, fmt.Errorf("webhook: the signing secret must be at least %d bytes", MinSecretBytes)
	}
	timeout := opts.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0:
		return nil, errors.New("webhook: Timeout must not be negative")
	}
	c := &Channel{
		secret:    bytes.Clone(opts.Secret),
		timeout:   timeout,
		allowHTTP: opts.AllowHTTP,
		policy:    netguard.Policy{RefusePrivate: opts.RefusePrivate, Allow: opts.Allow},
	}
	dialer := c.policy.Dialer(&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second})
	c.client = &http.Client{
		// A redirect is answered as an error: the signature would not cover a request a receiver
		// steered elsewhere, and a redirect is how an SSRF escapes a checked URL.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			// No proxy: the guard must see the address it connects to, not a proxy's.
			Proxy:                  nil,
			DialContext:            dialer.DialContext,
			TLSClientConfig:        &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:    timeout,
			MaxIdleConns:           64,
			MaxIdleConnsPerHost:    4,
			IdleConnTimeout:        90 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
			ForceAttemptHTTP2:      true,
		},
	}
	if opts.AllowHTTP {
		logger := opts.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.Warn("webhook: plain http:// contact URLs are allowed; alerts sent to them can be read on the network (signatures still protect them from changes)")
	}
	return c, nil
}

// Method returns notify.MethodWebhook.
func (c *Channel) Method() string { return notify.MethodWebhook }

// CloseIdleConnections closes connections kept for reuse, e.g. at shutdown.
func (c *Channel) CloseIdleConnections() { c.client.CloseIdleConnections() }

// Send POSTs m to m.Contact.To once. See the package comment for what counts as sent, temporary and
// permanent. Errors name the receiver's host, never its path, query or credentials, nor the secret.
func (c *Channel) Send(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	u, err := c.checkURL(m.Contact.To)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(err)
	}
	dest := "webhook to " + u.Host

	body, err := Body(m)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("%s: encoding the payload: %w", dest, err))
	}
	attempt, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(attempt, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("%s: %w", dest, err))
	}
	timestamp := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderTimestamp, timestamp)
	req.Header.Set(HeaderSignature, Sign(c.secret, timestamp, body))
	if m.IdempotencyKey != "" {
		req.Header.Set(HeaderIdempotencyKey, m.IdempotencyKey)
	}

	resp, err := c.client.Do(req)
	if err != nil {
		return notify.Receipt{}, c.transportError(ctx, attempt, dest, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	return classify(resp, answer, dest, time.Now())
}

// checkURL accepts http(s)://host[:port]/… URLs allowed by the scheme rule and, for IP literals, by
// the address policy, so that those fail before anything is dialled.
func (c *Channel) checkURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("webhook: the contact has no URL")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		// url.Parse errors quote the URL, which may hold a token: say only what is wrong.
		return nil, errors.New("webhook: the contact is not an absolute http(s) URL")
	}
	u.Fragment, u.RawFragment = "", ""
	host := u.Hostname()
	addr, literal := netip.ParseAddr(host)
	if literal == nil {
		if err := c.policy.Check(addr); err != nil {
			return nil, fmt.Errorf("webhook to %s: %w", u.Host, err)
		}
	}
	switch u.Scheme {
	case "https":
	case "http":
		loopback := strings.EqualFold(host, "localhost") || (literal == nil && addr.Unmap().IsLoopback())
		if !c.allowHTTP && !loopback {
			return nil, fmt.Errorf("webhook to %s: the URL must be https:// (plain http:// is allowed only to localhost unless the channel allows http)", u.Host)
		}
	default:
		return nil, fmt.Errorf("webhook to %s: unsupported URL scheme %q (use https://)", u.Host, cut(u.Scheme, 20))
	}
	return u, nil
}

// transportError classifies a failure to get any answer. The error text of net/http quotes the full
// URL, so only the underlying cause is kept.
func (c *Channel) transportError(parent, attempt context.Context, dest string, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var (
		certErr      *tls.CertificateVerificationError
		unknownCA    x509.UnknownAuthorityError
		hostnameErr  x509.HostnameError
		invalidCert  x509.CertificateInvalidError
		netErr       net.Error
		timedOutHere = attempt.Err() != nil && parent.Err() == nil
	)
	switch {
	case errors.Is(err, netguard.ErrRefused):
		return notify.Permanent(fmt.Errorf("%s: %w", dest, err))
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostnameErr), errors.As(err, &invalidCert):
		// A certificate that does not verify is a configuration problem on one side or the
		// other; retrying within the escalation's minutes will not fix it.
		return notify.Permanent(fmt.Errorf("%s: TLS: %w", dest, err))
	case parent.Err() != nil:
		return fmt.Errorf("%s: %w", dest, context.Cause(parent))
	case timedOutHere || (errors.As(err, &netErr) && netErr.Timeout()):
		return fmt.Errorf("%s: no answer within %s: %w", dest, c.timeout, err)
	}
	return fmt.Errorf("%s: %w", dest, err)
}

// classify turns an HTTP answer into a receipt or an error. 2xx is sent; 408, 425, 429 and 5xx are
// temporary (with the Retry-After hint, if any); redirects and every other status are permanent.
func classify(resp *http.Response, body []byte, dest string, now time.Time) (notify.Receipt, error) {
	code := resp.StatusCode
	status := "HTTP " + strconv.Itoa(code)
	if text := http.StatusText(code); text != "" {
		status += " " + text
	}
	switch {
	case code >= 200 && code <= 299:
		return notify.Receipt{ProviderID: cut(clean(resp.Header.Get("X-Request-Id")), 200), Detail: status}, nil
	case code >= 300 && code <= 399:
		msg := fmt.Sprintf("%s: %s: redirects are not followed; point the contact at the final URL", dest, status)
		if loc := resp.Header.Get("Location"); loc != "" {
			msg += " (Location: " + cut(clean(loc), 200) + ")"
		}
		return notify.Receipt{}, notify.Permanent(errors.New(msg))
	}
	err := errors.New(dest + ": " + status + answerText(body))
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests,
		code >= 500 && code <= 599:
		if d, ok := notify.ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return notify.Receipt{}, notify.Temporary(err, d)
		}
		return notify.Receipt{}, err
	}
	return notify.Receipt{}, notify.Permanent(err)
}

// answerText quotes the start of a response body for an error message, on one line.
func answerText(body []byte) string {
	s := clean(string(body))
	if s == "" {
		return ""
	}
	return ": " + cut(s, maxErrorBody)
}

// clean makes text safe for one log line: valid UTF-8, control characters and runs of space folded
// into single spaces.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
}

// cut shortens s to at most n bytes on a rune boundary, marking the cut with "…".
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
