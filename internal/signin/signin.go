// Package signin is how people sign in to the web UI: passwords hashed with argon2id, sessions as
// random tokens kept only as hashes, a CSRF token per session, and a limit on sign-in attempts per
// person and per client address. Who a person is and what their role allows comes from the on-call
// configuration (oncall.User); this package only proves that someone is that user.
package signin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/time/rate"

	"github.com/tocsin-dev/tocsin/internal/secret"
)

// Errors of Login and Session.
var (
	// ErrBadCredentials covers an unknown user and a wrong password alike, so that the answer does
	// not tell which usernames exist.
	ErrBadCredentials = errors.New("wrong username or password")
	ErrTooManyTries   = errors.New("too many sign-in attempts; wait a minute and try again")
	ErrNoSession      = errors.New("not signed in, or the session has expired")
	ErrWeakPassword   = errors.New("a password needs at least 12 characters")
	ErrNotFound       = errors.New("not found")
)

// Session is a signed-in browser.
type Session struct {
	Username  string
	CSRF      string // the token every form and htmx request of this session must carry
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CheckCSRF reports, in constant time, whether token is the session's CSRF token.
func (s *Session) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

// Store keeps password hashes and sessions.
type Store interface {
	SetPasswordHash(ctx context.Context, username, hash string, at time.Time) error
	PasswordHash(ctx context.Context, username string) (string, error) // ErrNotFound when none
	CountPasswords(ctx context.Context) (int, error)
	InsertSession(ctx context.Context, tokenHash string, s *Session) error
	SessionByHash(ctx context.Context, tokenHash string) (*Session, error) // ErrNotFound when none
	DeleteSession(ctx context.Context, tokenHash string) error
	DeleteExpiredSessions(ctx context.Context, before time.Time) (int64, error)
}

// Options tune a Service.
type Options struct {
	// SessionTTL is how long a session lasts from sign-in; default 12 h (a shift).
	SessionTTL time.Duration
	// AttemptsPerMinute bounds sign-in attempts per username and per client address; default 5,
	// with a burst of as many.
	AttemptsPerMinute int
	Now               func() time.Time
}

// Service signs people in and out.
type Service struct {
	store Store
	opts  Options

	mu       sync.Mutex
	limiters map[string]*limiterEntry
}

type limiterEntry struct {
	l    *rate.Limiter
	seen time.Time
}

// NewService returns a Service over store.
func NewService(store Store, opts Options) *Service {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.AttemptsPerMinute <= 0 {
		opts.AttemptsPerMinute = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: store, opts: opts, limiters: map[string]*limiterEntry{}}
}

// MinPasswordRunes is the shortest password SetPassword accepts.
const MinPasswordRunes = 12

// SetPassword stores an argon2id hash of password for username.
func (s *Service) SetPassword(ctx context.Context, username, password string) error {
	if len([]rune(password)) < MinPasswordRunes {
		return ErrWeakPassword
	}
	h, err := Hash(password)
	if err != nil {
		return err
	}
	return s.store.SetPasswordHash(ctx, username, h, s.opts.Now())
}

// HasPasswords reports whether anyone can sign in yet.
func (s *Service) HasPasswords(ctx context.Context) (bool, error) {
	n, err := s.store.CountPasswords(ctx)
	return n > 0, err
}

// Login checks username and password and returns a new session and its token (for the cookie).
// client names where the attempt comes from, for the rate limit.
func (s *Service) Login(ctx context.Context, username, password, client string) (token string, _ *Session, _ error) {
	if !s.allow("u:"+strings.ToLower(username)) || !s.allow("c:"+client) {
		return "", nil, ErrTooManyTries
	}
	stored, err := s.store.PasswordHash(ctx, username)
	if errors.Is(err, ErrNotFound) {
		// Spend the same time as a real check, so timing does not tell which usernames exist.
		_ = Verify(dummyHash(), password)
		return "", nil, ErrBadCredentials
	}
	if err != nil {
		return "", nil, err
	}
	if !Verify(stored, password) {
		return "", nil, ErrBadCredentials
	}
	token, err = randomToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	now := s.opts.Now()
	sess := &Session{Username: username, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(s.opts.SessionTTL)}
	if err := s.store.InsertSession(ctx, secret.Hash(token), sess); err != nil {
		return "", nil, fmt.Errorf("store session: %w", err)
	}
	return token, sess, nil
}

// Session returns the live session for a cookie's token.
func (s *Service) Session(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, ErrNoSession
	}
	sess, err := s.store.SessionByHash(ctx, secret.Hash(token))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	if !s.opts.Now().Before(sess.ExpiresAt) {
		return nil, ErrNoSession
	}
	return sess, nil
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.store.DeleteSession(ctx, secret.Hash(token))
}

// Prune deletes expired sessions and forgets idle rate limiters.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	now := s.opts.Now()
	s.mu.Lock()
	for k, e := range s.limiters {
		if now.Sub(e.seen) > 10*time.Minute {
			delete(s.limiters, k)
		}
	}
	s.mu.Unlock()
	return s.store.DeleteExpiredSessions(ctx, now)
}

func (s *Service) allow(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.limiters[key]
	if e == nil {
		per := rate.Every(time.Minute / time.Duration(s.opts.AttemptsPerMinute))
		e = &limiterEntry{l: rate.NewLimiter(per, s.opts.AttemptsPerMinute)}
		s.limiters[key] = e
	}
	e.seen = s.opts.Now()
	return e.l.AllowN(e.seen, 1)
}

func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// argon2id parameters: OWASP's first recommendation (19 MiB, 2 passes, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// Hash returns password's argon2id hash in the PHC string format.
func Hash(password string) (string, error) {
	var salt [16]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt[:], argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt[:]), enc.EncodeToString(key)), nil
}

// dummyHash is checked against when the username is unknown; made on first use, not at start.
var dummyHash = sync.OnceValue(func() string {
	h, _ := Hash(hex.EncodeToString([]byte("no such user")))
	return h
})

// Verify reports whether password matches a hash made by Hash (with whatever parameters it names).
func Verify(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<20 || t == 0 || t > 16 || p == 0 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
