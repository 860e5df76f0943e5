// Package web is tocsin's browser UI: server-rendered pages (html/template) enhanced with htmx, one
// hand-written CSS file, everything embedded in the binary so the UI works offline. Every action is a
// plain HTML form that works without JavaScript; htmx only makes it faster and keeps the alert list
// live (server-sent events).
//
// People sign in with a password (package signin); what they may do follows their role in the on-call
// configuration: admin everything, user the alerts of their teams and their own profile, readonly
// nothing but reading.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/escalation"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/notify"
	"github.com/tocsin-dev/tocsin/internal/oncall"
	"github.com/tocsin-dev/tocsin/internal/signin"
	"github.com/tocsin-dev/tocsin/internal/store"
)

//go:embed templates static
var files embed.FS

// Config holds what the UI needs.
type Config struct {
	Alerts       *alert.Service
	Integrations *integration.Service
	SignIn       *signin.Service
	DB           *store.DB
	// BaseURL is the public URL: endpoint URLs shown to copy, and whether cookies are Secure.
	BaseURL string
	// TestNotification sends a test page to every contact of a user (the profile's button).
	TestNotification func(ctx context.Context, username string) ([]notify.TestResult, error)
	// IntakeStats gives the findings counts of a Security Hub integration since this process started.
	IntakeStats func(integrationID string) IntakeStats
	Log         *slog.Logger
	Now         func() time.Time
}

// IntakeStats counts what an integration received.
type IntakeStats struct {
	Received, Filtered, Failed int64
	LastError                  string
	LastErrorAt                time.Time
}

// Server serves the UI.
type Server struct {
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	pages map[string]*template.Template
	live  *liveFeed
}

// New parses the templates and builds the routes.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Log, mux: http.NewServeMux()}
	if err := s.parse(); err != nil {
		return nil, err
	}
	s.live = newLiveFeed(cfg.Alerts, cfg.Log)
	s.routes()
	return s, nil
}

// Handler serves the UI; the API server mounts it at "/".
func (s *Server) Handler() http.Handler { return s.secure(s.mux) }

// Close stops the live feed.
func (s *Server) Close() { s.live.close() }

func (s *Server) routes() {
	m := s.mux
	static, _ := fs.Sub(files, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.Handle("POST /logout", s.signedIn(s.logout))
	m.Handle("GET /{$}", s.signedIn(func(w http.ResponseWriter, r *http.Request, v *viewer) {
		http.Redirect(w, r, "/alerts", http.StatusSeeOther)
	}))
	m.Handle("GET /events", s.signedIn(s.events))
	s.alertRoutes()
	s.integrationRoutes()
	s.oncallRoutes()
	s.profileRoutes()
}

// viewer is the signed-in person a request acts for.
type viewer struct {
	User    oncall.User // with defaults: Role is set
	Session *signin.Session
	Teams   []string // the teams the user is a member of
}

func (v *viewer) Admin() bool { return v.User.Role == oncall.RoleAdmin }
func (v *viewer) CanWrite() bool {
	return v.User.Role == oncall.RoleAdmin || v.User.Role == oncall.RoleUser
}

const sessionCookie = "tocsin_session"

// signedIn wraps a page that needs a session: without one, GETs go to the sign-in page and other
// methods get 401; a POST must carry the session's CSRF token.
func (s *Server) signedIn(h func(http.ResponseWriter, *http.Request, *viewer)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.viewer(r)
		if err != nil {
			if !errors.Is(err, signin.ErrNoSession) {
				s.log.Error("web: read session", "err", err)
			}
			login := "/login?next=" + url.QueryEscape(r.URL.RequestURI())
			if r.Header.Get("HX-Request") == "true" {
				// A background htmx reload must not put the sign-in page inside the list: the
				// whole window goes there instead.
				w.Header().Set("HX-Redirect", "/login")
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, login, http.StatusSeeOther)
				return
			}
			s.fail(w, r, nil, http.StatusUnauthorized, "You are not signed in, or your session has ended. Sign in again.")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			token := r.Header.Get("X-CSRF-Token")
			if token == "" {
				token = r.PostFormValue("csrf")
			}
			if !v.Session.CheckCSRF(token) {
				s.log.Info("web: refused a form without a valid CSRF token", "path", r.URL.Path, "user", v.User.Username)
				s.fail(w, r, v, http.StatusForbidden, "This form has expired or did not come from tocsin. Reload the page and try again.")
				return
			}
		}
		h(w, r, v)
	})
}

func (s *Server) viewer(r *http.Request) (*viewer, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, signin.ErrNoSession
	}
	sess, err := s.cfg.SignIn.Session(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	cfg, err := s.cfg.DB.OnCall().Config(r.Context())
	if err != nil {
		return nil, err
	}
	v := &viewer{Session: sess, User: oncall.User{Username: sess.Username, Role: oncall.RoleReadonly}}
	for _, u := range cfg.Users {
		if u.Username == sess.Username {
			v.User = u.WithDefaults()
		}
	}
	for _, t := range cfg.Teams {
		for _, m := range t.Members {
			if m == sess.Username {
				v.Teams = append(v.Teams, t.Name)
			}
		}
	}
	return v, nil
}

// secure sets the headers every page gets.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		next.ServeHTTP(w, r)
	})
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// page is what every template gets.
type page struct {
	Title  string
	Nav    string // which top-level section is current
	Viewer *viewer
	Flash  string // a one-line result of the last action
	Error  string
	Data   any
}

func (p page) CSRF() string {
	if p.Viewer == nil {
		return ""
	}
	return p.Viewer.Session.CSRF
}

// parse reads every page template together with the layout.
func (s *Server) parse() error {
	s.pages = map[string]*template.Template{}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", n)
		if err != nil {
			return fmt.Errorf("web: template %s: %w", n, err)
		}
		s.pages[base] = t
	}
	return nil
}

// render writes a page; with fragment set (htmx asked for part of a page) only that template.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t := s.pages[name]
	if t == nil {
		s.log.Error("web: no such template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if p.Flash == "" {
		p.Flash = r.URL.Query().Get("flash")
	}
	exec := "layout.html"
	if frag := r.Header.Get("HX-Target"); frag != "" && t.Lookup(frag) != nil {
		exec = frag
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, exec, p); err != nil {
		s.log.Error("web: render", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// fail shows an error page (or, for htmx, a message in place).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *viewer, status int, msg string) {
	s.render(w, r, status, "error", page{Title: http.StatusText(status), Viewer: v, Error: msg})
}

// failErr answers err: a 404 for what does not exist, a 422 for what the domain refused, a 500 (with
// the details only in the log) for the rest.
func (s *Server) failErr(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	var ve *alert.ValidationError
	var ps oncall.Problems
	switch {
	case errors.Is(err, alert.ErrNotFound), errors.Is(err, integration.ErrNotFound), errors.Is(err, escalation.ErrNotConfigured):
		s.fail(w, r, v, http.StatusNotFound, "Not found: it may have been deleted.")
	case errors.As(err, &ve):
		s.fail(w, r, v, http.StatusUnprocessableEntity, ve.Error())
	case errors.As(err, &ps):
		s.fail(w, r, v, http.StatusUnprocessableEntity, ps.Error())
	case errors.Is(err, errForbidden):
		s.fail(w, r, v, http.StatusForbidden, "Your role does not allow this.")
	default:
		s.log.Error("web: request failed", "path", r.URL.Path, "err", err)
		s.fail(w, r, v, http.StatusInternalServerError, "Something went wrong; tocsin's log has the details.")
	}
}

var errForbidden = errors.New("forbidden")

// back redirects after a form (post/redirect/get), to the page the form came from, with a message.
func back(w http.ResponseWriter, r *http.Request, fallback, flash string) {
	to := r.PostFormValue("back")
	if to == "" || !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") {
		to = fallback
	}
	u, err := url.Parse(to)
	if err != nil {
		u, _ = url.Parse(fallback)
	}
	q := u.Query()
	q.Set("flash", flash)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
