package web

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/tocsin-dev/tocsin/internal/signin"
)

type loginData struct {
	Next     string
	Username string
	NoUsers  bool
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	has, err := s.cfg.SignIn.HasPasswords(r.Context())
	if err != nil {
		s.failErr(w, r, nil, err)
		return
	}
	s.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: loginData{Next: safeNext(r.URL.Query().Get("next")), NoUsers: !has}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	username := strings.TrimSpace(r.PostFormValue("username"))
	next := safeNext(r.PostFormValue("next"))
	token, sess, err := s.cfg.SignIn.Login(r.Context(), username, r.PostFormValue("password"), clientAddr(r))
	if err != nil {
		status := http.StatusUnauthorized
		msg := "Wrong username or password."
		switch {
		case errors.Is(err, signin.ErrTooManyTries):
			status, msg = http.StatusTooManyRequests, "Too many attempts. Wait a minute and try again."
		case !errors.Is(err, signin.ErrBadCredentials):
			s.failErr(w, r, nil, err)
			return
		}
		s.log.Info("web: sign-in refused", "user", username, "client", clientAddr(r), "err", err)
		s.render(w, r, status, "login", page{Title: "Sign in", Error: msg, Data: loginData{Next: next, Username: username}})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.cfg.BaseURL, "https://"),
	})
	s.log.Info("web: signed in", "user", username)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, v *viewer) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.cfg.SignIn.Logout(r.Context(), c.Value); err != nil {
			s.log.Error("web: sign out", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect after sign-in on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/alerts"
	}
	return next
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
