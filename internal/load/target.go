package load

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrNotLoopback is returned for a target that is not on this machine. The generator sends
// thousands of signed requests a second: it must never be pointed at a server someone else runs.
var ErrNotLoopback = errors.New("not a loopback address: tocsin-load only drives a tocsin on this machine (127.0.0.0/8, ::1 or localhost)")

// CheckTarget parses a target, the base URL of a tocsin (http://127.0.0.1:8080), and refuses it
// unless its host is a loopback IP address or "localhost". Its path, query and fragment must be empty:
// the generator adds the intake path and the key.
func CheckTarget(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		return nil, fmt.Errorf("target %q: the scheme must be http or https, as in http://127.0.0.1:8080", raw)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("target %q: the scheme must be http or https", raw)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("target %q: give the base URL only, like http://127.0.0.1:8080", raw)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("target %q: no host", raw)
	}
	if !isLoopbackHost(host) {
		return nil, fmt.Errorf("target %q: host %s is %w", raw, host, ErrNotLoopback)
	}
	u.Path = ""
	return u, nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackOnly is a net.Dialer Control that refuses any address but a loopback one, whatever
// "localhost" resolves to.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("connecting to %s: %w", address, ErrNotLoopback)
	}
	return nil
}

// newClient is an HTTP client for the targets: keep-alive connections for up to conns senders, only
// to loopback, and no redirects followed.
func newClient(conns int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: loopbackOnly}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:         dialer.DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
