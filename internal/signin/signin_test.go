package signin_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/signin"
	"github.com/tocsin-dev/tocsin/internal/store"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

func open(t *testing.T, dsn string, now *time.Time) *signin.Service {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return signin.NewService(db.SignIn(), signin.Options{SessionTTL: time.Hour, Now: func() time.Time { return *now }})
}

func TestAPersonSignsInWithTheirPasswordAndTheSessionEndsOnLogoutOrExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
		s := open(t, dsn, &now)
		if has, _ := s.HasPasswords(ctx); has {
			t.Fatal("a new database has passwords")
		}
		if err := s.SetPassword(ctx, "alice@example.com", "short"); !errors.Is(err, signin.ErrWeakPassword) {
			t.Errorf("a 5-character password: %v", err)
		}
		if err := s.SetPassword(ctx, "alice@example.com", "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Login(ctx, "alice@example.com", "wrong horse battery", "10.0.0.1"); !errors.Is(err, signin.ErrBadCredentials) {
			t.Errorf("wrong password: %v", err)
		}
		if _, _, err := s.Login(ctx, "mallory@example.com", "correct horse battery", "10.0.0.1"); !errors.Is(err, signin.ErrBadCredentials) {
			t.Errorf("unknown user: %v, want the same error as a wrong password", err)
		}
		token, sess, err := s.Login(ctx, "alice@example.com", "correct horse battery", "10.0.0.1")
		if err != nil || sess.CSRF == "" || len(token) < 40 {
			t.Fatalf("login: %v %+v", err, sess)
		}
		got, err := s.Session(ctx, token)
		if err != nil || got.Username != "alice@example.com" || !got.CheckCSRF(sess.CSRF) || got.CheckCSRF("") || got.CheckCSRF(token) {
			t.Fatalf("session: %+v, %v", got, err)
		}
		now = now.Add(time.Hour)
		if _, err := s.Session(ctx, token); !errors.Is(err, signin.ErrNoSession) {
			t.Errorf("an expired session: %v", err)
		}
		token, _, _ = s.Login(ctx, "alice@example.com", "correct horse battery", "10.0.0.2")
		if err := s.Logout(ctx, token); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, token); !errors.Is(err, signin.ErrNoSession) {
			t.Errorf("after logout: %v", err)
		}
	})
}

func TestSignInAttemptsAreLimitedPerPersonAndPerClient(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	s := open(t, storetest.SQLite(t), &now)
	if err := s.SetPassword(ctx, "bob@example.com", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, _, err := s.Login(ctx, "bob@example.com", "guess", "10.0.0.9"); !errors.Is(err, signin.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, _, err := s.Login(ctx, "bob@example.com", "correct horse battery", "10.0.0.10"); !errors.Is(err, signin.ErrTooManyTries) {
		t.Errorf("the 6th attempt within a minute, from elsewhere: %v, want ErrTooManyTries", err)
	}
	now = now.Add(time.Minute)
	if _, _, err := s.Login(ctx, "bob@example.com", "correct horse battery", "10.0.0.10"); err != nil {
		t.Errorf("a minute later: %v", err)
	}
}

func TestHashesAreArgon2idAndVerifyRefusesMalformedOnes(t *testing.T) {
	h, err := signin.Hash("correct horse battery")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("Hash = %q, %v", h, err)
	}
	if !signin.Verify(h, "correct horse battery") || signin.Verify(h, "correct horse batterY") {
		t.Error("Verify does not tell the password")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", strings.Replace(h, "m=19456", "m=99999999", 1), h[:len(h)-5] + "!!!!!"} {
		if signin.Verify(bad, "correct horse battery") {
			t.Errorf("Verify accepted %q", bad)
		}
	}
}
