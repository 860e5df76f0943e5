// Package httpapi is tocsin's HTTP surface: the Opsgenie-compatible /v2 Alert API, health and metrics
// endpoints, and the middleware they share (request ids, auth, body limits, logging, metrics).
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tocsin-dev/tocsin/internal/access"
	"github.com/tocsin-dev/tocsin/internal/actionlink"
	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/intake"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/oncall"
	"github.com/tocsin-dev/tocsin/internal/store"
)

// Readiness is what /readyz checks: the database answers and its schema is current.
type Readiness interface {
	Ping(ctx context.Context) error
	Migrated(ctx context.Context) error
}

// Config holds the Server's dependencies.
type Config struct {
	Alerts       *alert.Service
	Integrations *integration.Service
	// SecurityHub receives findings on POST /v1/json/amazonsecurityhub.
	SecurityHub *intake.SecurityHub
	// Access checks the keys of /api; DB holds the on-call configuration it serves.
	Access *access.Service
	DB     *store.DB
	Ready  Readiness
	Log    *slog.Logger
	// Registry collects the HTTP metrics and is served on /metrics (with whatever else is registered).
	Registry *prometheus.Registry
	// UI, when set, serves every path the API does not (the web UI).
	UI http.Handler
	// Links verifies the one-click links in notifications (BASE/a/{token}); nil serves none.
	Links *actionlink.Signer
	// MaxBodyBytes caps request bodies; 0 means 1 MiB.
	MaxBodyBytes int64
}

// Server serves tocsin's HTTP API.
type Server struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	metrics  *httpMetrics
	draining atomic.Bool
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, log: cfg.Log, mux: http.NewServeMux(), metrics: newHTTPMetrics(cfg.Registry)}
	s.routes()
	return s
}

// Handler returns the root handler with the shared middleware around every route.
func (s *Server) Handler() http.Handler {
	return s.observe(s.mux)
}

// Drain makes /readyz fail so that load balancers stop sending traffic before shutdown.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET /readyz", s.readyz)
	m.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))

	v2 := func(pattern string, h func(*call) error) { m.Handle(pattern, s.v2(h)) }
	v2("POST /v2/alerts", s.createAlert)
	v2("GET /v2/alerts", s.listAlerts)
	v2("GET /v2/alerts/count", s.countAlerts)
	v2("GET /v2/alerts/requests/{requestID}", s.requestStatus)
	v2("GET /v2/alerts/{identifier}", s.getAlert)
	v2("DELETE /v2/alerts/{identifier}", s.deleteAlert)
	// notes and logs share a pattern because "GET /v2/alerts/requests/{id}" would otherwise overlap
	// with "GET /v2/alerts/{identifier}/notes" and net/http refuses overlapping patterns.
	v2("GET /v2/alerts/{identifier}/{list}", s.listSub)
	v2("POST /v2/alerts/{identifier}/acknowledge", s.acknowledge)
	v2("POST /v2/alerts/{identifier}/unacknowledge", s.unacknowledge)
	v2("POST /v2/alerts/{identifier}/close", s.closeAlert)
	v2("POST /v2/alerts/{identifier}/snooze", s.snooze)
	v2("POST /v2/alerts/{identifier}/escalate", s.escalate)
	v2("POST /v2/alerts/{identifier}/assign", s.assign)
	v2("POST /v2/alerts/{identifier}/notes", s.addNote)
	v2("POST /v2/alerts/{identifier}/tags", s.addTags)
	v2("DELETE /v2/alerts/{identifier}/tags", s.removeTags)
	v2("POST /v2/alerts/{identifier}/details", s.addDetails)
	v2("DELETE /v2/alerts/{identifier}/details", s.removeDetails)
	v2("PUT /v2/alerts/{identifier}/priority", s.updatePriority)
	v2("PUT /v2/alerts/{identifier}/message", s.updateMessage)
	v2("PUT /v2/alerts/{identifier}/description", s.updateDescription)
	m.Handle("POST /v1/json/{type}", s.keyed(integration.TypeSecurityHub, s.receive))
	s.nativeRoutes()
	if s.cfg.UI != nil {
		m.Handle("/", s.cfg.UI)
	}
	if s.cfg.Links != nil {
		m.HandleFunc("GET /a/{token}", s.actionLink)
		m.HandleFunc("POST /a/{token}", s.actionLink)
	}
	v2("/v2/", func(*call) error {
		return apiErr(http.StatusNotFound, "no such API endpoint (tocsin implements Opsgenie's v2 Alert API)")
	})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if s.cfg.Ready != nil {
		if err := errors.Join(s.cfg.Ready.Ping(ctx), s.cfg.Ready.Migrated(ctx)); err != nil {
			s.log.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": "the database is not reachable or not migrated; see the log"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// call is one /v2 request in flight.
type call struct {
	w     http.ResponseWriter
	r     *http.Request
	id    string
	start time.Time
	in    *integration.Integration
}

// took is Opsgenie's "took": seconds spent on the request.
func (c *call) took() float64 {
	return float64(time.Since(c.start).Microseconds()) / 1e6
}

// origin is who the call acts as: its integration, on behalf of the body's user.
func (c *call) origin(user, source, note string) alert.Origin {
	o := alert.Origin{RequestID: c.id, User: user, Source: source, Note: note}
	if c.in != nil {
		o.Actor = alert.Actor{Kind: alert.ActorIntegration, ID: c.in.ID, Name: c.in.Name, Type: string(c.in.Type)}
	}
	if o.Source == "" {
		o.Source = clientIP(c.r)
	}
	return o
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// v2 wraps a handler of the Opsgenie API; see keyed.
func (s *Server) v2(h func(*call) error) http.Handler {
	return s.keyed(integration.TypeAPI, h)
}

// keyed wraps a handler that integrations call with their key: request id, key check (the key must
// belong to an integration of type want), body limit, and one place where errors become
// Opsgenie-shaped responses and are logged once.
func (s *Server) keyed(want integration.Type, h func(*call) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r, id: newRequestID(), start: time.Now()}
		w.Header().Set("X-Request-Id", c.id)
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		err := s.checkPath(r)
		if err == nil {
			err = s.authenticate(c, want)
		}
		if err == nil {
			err = h(c)
		}
		if err != nil {
			s.fail(c, err)
		}
	})
}

// checkPath refuses intake URLs for integration types that have no intake, before the key is read.
func (s *Server) checkPath(r *http.Request) error {
	t := r.PathValue("type")
	if t == "" || t == string(integration.TypeSecurityHub) {
		return nil
	}
	return apiErr(http.StatusNotFound, fmt.Sprintf("unknown integration type %q in the URL; this endpoint is /v1/json/amazonsecurityhub", t))
}

// fail answers err in Opsgenie's error shape and logs it once.
func (s *Server) fail(c *call, err error) {
	status, body := http.StatusInternalServerError, map[string]any{"message": "internal error; see tocsin's log for request " + c.id}
	var (
		ps oncall.Problems
		ie *intake.Error
		ae *apiError
		ve *alert.ValidationError
		mb *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
		status, body["message"] = ae.status, ae.msg
	case errors.As(err, &ie):
		status, body["message"] = ie.Status, ie.Msg
	case errors.As(err, &ps):
		status, body["message"], body["problems"] = http.StatusUnprocessableEntity, "the configuration would not be valid", ps
	case errors.As(err, &ve):
		status = http.StatusUnprocessableEntity
		body["message"] = "Request body is not processable: " + ve.Error()
		if ve.Field != "" {
			body["errors"] = map[string]string{ve.Field: ve.Reason}
		}
	case errors.Is(err, alert.ErrNotFound):
		status, body["message"] = http.StatusNotFound, "Alert does not exist"
	case errors.As(err, &mb):
		status, body["message"] = http.StatusRequestEntityTooLarge, "request body is larger than "+strconv.FormatInt(mb.Limit, 10)+" bytes"
	case errors.Is(err, context.Canceled):
		status, body["message"] = 499, "client closed the request"
	}
	body["took"], body["requestId"] = c.took(), c.id
	attrs := []any{"method", c.r.Method, "path", c.r.URL.Path, "status", status, "requestId", c.id, "err", err}
	if c.in != nil {
		attrs = append(attrs, "integration", c.in.Name)
	}
	if status >= 500 && status != 499 {
		s.log.Error("request failed", attrs...)
	} else {
		s.log.Info("request refused", attrs...)
	}
	writeJSON(c.w, status, body)
}

// apiError is an error with the HTTP status and message the client should see.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return strconv.Itoa(e.status) + " " + e.msg }

func apiErr(status int, msg string) error { return &apiError{status: status, msg: msg} }

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// observe records metrics for every request and recovers from panics so that one bad request never
// takes the process down.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
				if !rec.wrote {
					writeJSON(rec, http.StatusInternalServerError, map[string]string{"message": "internal error"})
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			s.metrics.observe(route, rec.status, time.Since(start))
		}()
		next.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
