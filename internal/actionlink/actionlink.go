// Package actionlink makes and checks the one-click links in pages (BASE/a/{token}): a token names an
// alert, an action and the user it was sent to, expires, and is signed with HMAC-SHA256 under a
// server secret, so that a link cannot be forged, altered or used after it expires.
//
// A token is base64url(payload) "." base64url(mac). The payload is small JSON so that a person
// debugging a link can read it; nothing in it is secret (the alert id and the username are already in
// the email that carries it).
package actionlink

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The actions a link can carry.
const (
	Ack   = "ack"
	Close = "close"
	// View shows the alert to the person it was sent to, with buttons that carry fresh Ack and Close
	// links; it changes nothing.
	View = "view"
)

func knownAction(a string) bool { return a == Ack || a == Close || a == View }

// DefaultTTL is how long a link works when the server is not told otherwise.
const DefaultTTL = 24 * time.Hour

// MaxTokenBytes bounds what Verify reads; real tokens are a few hundred bytes.
const MaxTokenBytes = 2048

// Claims are what a token says.
type Claims struct {
	AlertID string
	Action  string // Ack, Close or View
	User    string // the username the page went to; the action is recorded as done by them
	Expires time.Time
}

// Errors of Verify, told apart so the page can say what is wrong.
var (
	ErrMalformed    = errors.New("the link is damaged or incomplete")
	ErrBadSignature = errors.New("the link's signature does not match: it was altered or the server's link secret was rotated")
	ErrExpired      = errors.New("the link has expired")
)

// Signer signs and verifies tokens with one secret. It is safe for concurrent use.
type Signer struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewSigner returns a signer for key (at least 32 bytes). ttl ≤ 0 means DefaultTTL; now nil means
// time.Now.
func NewSigner(key []byte, ttl time.Duration, now func() time.Time) (*Signer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("action link secret: %d bytes, want at least 32", len(key))
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{key: bytes.Clone(key), ttl: ttl, now: now}, nil
}

// TTL is how long the links this signer makes work.
func (s *Signer) TTL() time.Duration { return s.ttl }

type payload struct {
	AlertID string `json:"a"`
	Action  string `json:"x"`
	User    string `json:"u"`
	Expires int64  `json:"e"`
}

// Sign returns a token for alert, action and user, expiring after the signer's TTL.
func (s *Signer) Sign(alertID, action, user string) (string, error) {
	if alertID == "" || user == "" {
		return "", errors.New("action link: alert id and user are required")
	}
	if !knownAction(action) {
		return "", fmt.Errorf("action link: unknown action %q", action)
	}
	p, err := json.Marshal(payload{AlertID: alertID, Action: action, User: user, Expires: s.now().Add(s.ttl).Unix()})
	if err != nil {
		return "", fmt.Errorf("action link: %w", err)
	}
	enc := base64.RawURLEncoding
	body := enc.EncodeToString(p)
	return body + "." + enc.EncodeToString(s.mac(body)), nil
}

func (s *Signer) mac(body string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(body))
	return m.Sum(nil)
}

// Verify checks token's signature and expiry and returns its claims. The signature is checked, in
// constant time, before anything in the payload is trusted.
func (s *Signer) Verify(token string) (Claims, error) {
	if len(token) > MaxTokenBytes || strings.IndexFunc(token, notTokenRune) >= 0 {
		return Claims{}, ErrMalformed
	}
	body, sig, ok := strings.Cut(token, ".")
	if !ok || body == "" || sig == "" {
		return Claims{}, ErrMalformed
	}
	// Strict, and only the URL alphabet (the decoder would skip CR and LF), so one set of claims has
	// exactly one token.
	enc := base64.RawURLEncoding.Strict()
	got, err := enc.DecodeString(sig)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	if !hmac.Equal(got, s.mac(body)) {
		return Claims{}, ErrBadSignature
	}
	raw, err := enc.DecodeString(body)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	var p payload
	if err := json.Unmarshal(raw, &p); err != nil || p.AlertID == "" || p.User == "" || !knownAction(p.Action) {
		return Claims{}, ErrMalformed
	}
	c := Claims{AlertID: p.AlertID, Action: p.Action, User: p.User, Expires: time.Unix(p.Expires, 0)}
	if !s.now().Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

func notTokenRune(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}
