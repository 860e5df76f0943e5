// Package server assembles tocsin from its parts (database, job queue, domain services, HTTP API) and
// runs it until it is told to stop.
package server

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tocsin-dev/tocsin/internal/access"
	"github.com/tocsin-dev/tocsin/internal/actionlink"
	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/escalation"
	"github.com/tocsin-dev/tocsin/internal/httpapi"
	"github.com/tocsin-dev/tocsin/internal/intake"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/jobs"
	"github.com/tocsin-dev/tocsin/internal/notify"
	"github.com/tocsin-dev/tocsin/internal/notify/email"
	"github.com/tocsin-dev/tocsin/internal/notify/webhook"
	"github.com/tocsin-dev/tocsin/internal/securityhub"
	"github.com/tocsin-dev/tocsin/internal/securityhub/awsapi"
	"github.com/tocsin-dev/tocsin/internal/securityhub/writeback"
	"github.com/tocsin-dev/tocsin/internal/signin"
	"github.com/tocsin-dev/tocsin/internal/sns"
	"github.com/tocsin-dev/tocsin/internal/store"
	"github.com/tocsin-dev/tocsin/internal/web"
)

// Config is what `tocsin serve` is started with.
type Config struct {
	Addr             string
	Database         string
	BaseURL          string
	RequestRetention time.Duration
	MaxBodyBytes     int64
	// SNSCertHosts are the host patterns trusted for SNS SigningCertURL and SubscribeURL; empty
	// means the AWS SNS hosts of every partition.
	SNSCertHosts []string
	// SNSCAFile is a PEM file of extra roots for fetching those URLs (LocalStack, tests).
	SNSCAFile string
	// WebhookSecret signs webhook notifications; empty means the secret tocsin keeps in its database.
	WebhookSecret string
	// WebhookAllowHTTP lets webhook contacts use plain http to hosts other than loopback.
	WebhookAllowHTTP bool
	// SMTPURL is the mail server for email pages (smtp://user:pass@host:587, smtps://…:465,
	// smtp://host:25); empty means no email channel. SMTPFrom is the sender address.
	SMTPURL  string
	SMTPFrom string
	// SMTPTLSConfig, when set, is the base TLS configuration for the mail server (extra roots).
	SMTPTLSConfig *tls.Config
	// LinkTTL is how long the acknowledge and close links in notifications work; 0 means
	// actionlink.DefaultTTL (24 h).
	LinkTTL time.Duration
	// ShutdownTimeout bounds how long in-flight requests and jobs may take to finish on SIGTERM.
	ShutdownTimeout time.Duration
	// PageLease is how long a replica owns a page it is sending; a page whose replica died before
	// sending it goes out from another (or the restarted one) after this. 0 means one minute.
	PageLease time.Duration
	// PageQueue is how many pages due at once wait in memory, with their alerts, for a sender; 0
	// means 8192. Pages beyond it wait in order and are sent as the queue drains.
	PageQueue int
	Log       *slog.Logger
}

// App is a running tocsin's parts.
type App struct {
	cfg          Config
	DB           *store.DB
	Queue        *jobs.Queue
	Alerts       *alert.Service
	Integrations *integration.Service
	HTTP         *httpapi.Server
	Registry     *prometheus.Registry
	Escalation   *escalation.Engine
	// Links signs the one-click links in notifications.
	Links *actionlink.Signer
	// WriteBack writes what people do to alerts back to their Security Hub findings.
	WriteBack *writeback.Writer
	// SignIn checks the web UI's passwords and sessions.
	SignIn *signin.Service
	ui     *web.Server

	closeChannels func() error
}

// Open connects to the database, applies migrations and builds every part, without starting anything.
func Open(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 25 * time.Second
	}
	db, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	q, err := jobs.New(ctx, db, cfg.Log, jobs.Options{RequestRetention: cfg.RequestRetention})
	if err != nil {
		db.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	created := prometheus.NewCounter(prometheus.CounterOpts{Name: "tocsin_alerts_created_total", Help: "Alerts created."})
	deduped := prometheus.NewCounter(prometheus.CounterOpts{Name: "tocsin_alerts_deduped_total", Help: "Creates absorbed by an open alert with the same alias."})
	reg.MustRegister(created, deduped, &queueCollector{q: q})

	links, err := linkSigner(ctx, cfg, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	engine, channels, closeChannels, err := escalationEngine(ctx, cfg, db, q, links)
	if err != nil {
		db.Close()
		return nil, err
	}
	alerts := alert.NewService(db.Alerts(q), alert.Options{Outbox: writeback.Outbox, Escalation: engine, OnCreate: func(r alert.CreateResult) {
		if r.Deduped {
			deduped.Inc()
		} else {
			created.Inc()
		}
	}})
	integrations := integration.NewService(db.Integrations())
	aws, err := awsapi.NewClient(ctx, awsapi.Options{Logger: cfg.Log})
	if err != nil {
		closeChannels()
		db.Close()
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	verifier, err := snsVerifier(cfg)
	if err != nil {
		closeChannels()
		db.Close()
		return nil, err
	}
	shIntake := intake.NewSecurityHub(alerts, verifier, cfg.Log, reg)
	signIn := signin.NewService(db.SignIn(), signin.Options{})
	ui, err := web.New(web.Config{
		Alerts: alerts, Integrations: integrations, SignIn: signIn, DB: db, BaseURL: cfg.BaseURL, Log: cfg.Log,
		TestNotification: TestNotification(db, channels, 30*time.Second),
		IntakeStats: func(id string) web.IntakeStats {
			st := shIntake.Stats(id)
			return web.IntakeStats{Received: st.Received, Filtered: st.Filtered, Failed: st.Failed, LastError: st.LastError, LastErrorAt: st.LastErrorAt}
		},
	})
	if err != nil {
		closeChannels()
		db.Close()
		return nil, err
	}
	api := httpapi.New(httpapi.Config{
		Alerts: alerts, Integrations: integrations, Ready: db, Log: cfg.Log, Registry: reg, MaxBodyBytes: cfg.MaxBodyBytes,
		SecurityHub: shIntake,
		Access:      access.NewService(db.APIKeys()), DB: db, Links: links, UI: ui.Handler(),
	})
	return &App{cfg: cfg, DB: db, Queue: q, Alerts: alerts, Integrations: integrations, HTTP: api, Registry: reg, Escalation: engine, Links: links, closeChannels: closeChannels, SignIn: signIn, ui: ui,
		WriteBack: writeback.NewWriter(alerts, integrations, aws, writeback.Options{Log: cfg.Log})}, nil
}

// LinkSecretName names the key that signs the acknowledge and close links in notifications.
// `tocsin notify rotate-link-secret` replaces it.
const LinkSecretName = "action-links"

func linkSigner(ctx context.Context, cfg Config, db *store.DB) (*actionlink.Signer, error) {
	v, err := db.Secret(ctx, LinkSecretName)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("secret %s is not hex: %w", LinkSecretName, err)
	}
	return actionlink.NewSigner(key, cfg.LinkTTL, nil)
}

// pageLinks makes the links a page offers: the alert (a signed view link until the web UI exists),
// acknowledge and close as the paged user, and the finding in the AWS console.
func pageLinks(baseURL string, s *actionlink.Signer, log *slog.Logger) func(*alert.Alert, string) notify.Links {
	base := strings.TrimRight(baseURL, "/")
	return func(a *alert.Alert, user string) notify.Links {
		var l notify.Links
		link := func(action string) string {
			tok, err := s.Sign(a.ID, action, user)
			if err != nil {
				log.Warn("sign action link", "alert", a.ID, "action", action, "err", err)
				return ""
			}
			return base + "/a/" + tok
		}
		if base != "" && user != "" {
			l.Alert = link(actionlink.View)
			if a.Status != alert.StatusClosed {
				l.Close = link(actionlink.Close)
				if !a.Acknowledged {
					l.Ack = link(actionlink.Ack)
				}
			}
		}
		if a.Integration.Type == string(integration.TypeSecurityHub) {
			l.Finding = securityhub.ConsoleURL(securityhub.Finding{Id: a.Details["Id"], ProductArn: a.Details["ProductArn"], Region: a.Details["Region"]})
		}
		return l
	}
}

// WebhookSecretName names the webhook signing key among the secrets kept in the database.
const WebhookSecretName = "webhook-signing"

// Channels builds the notification channels cfg configures: webhook always, email when SMTPURL is
// set. A page through a method without a channel is recorded as failed. close releases the
// channels' connections.
func Channels(ctx context.Context, cfg Config, db *store.DB) (r *notify.Registry, close func() error, err error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	secret := cfg.WebhookSecret
	if secret == "" {
		if secret, err = db.Secret(ctx, WebhookSecretName); err != nil {
			return nil, nil, err
		}
	}
	hook, err := webhook.New(webhook.Options{Secret: []byte(secret), AllowHTTP: cfg.WebhookAllowHTTP, Logger: cfg.Log})
	if err != nil {
		return nil, nil, fmt.Errorf("webhook channel: %w", err)
	}
	channels := []notify.Channel{hook}
	close = func() error { return nil }
	if cfg.SMTPURL != "" {
		mail, err := email.New(email.Options{URL: cfg.SMTPURL, From: cfg.SMTPFrom, Logger: cfg.Log, TLSConfig: cfg.SMTPTLSConfig})
		if err != nil {
			return nil, nil, fmt.Errorf("email channel (--smtp-url, --smtp-from): %w", err)
		}
		channels, close = append(channels, mail), mail.Close
	}
	r, err = notify.NewRegistry(channels...)
	if err != nil {
		close()
		return nil, nil, err
	}
	return r, close, nil
}

// escalationEngine builds the engine over the configured channels.
func escalationEngine(ctx context.Context, cfg Config, db *store.DB, q *jobs.Queue, links *actionlink.Signer) (*escalation.Engine, *notify.Registry, func() error, error) {
	channels, closeChannels, err := Channels(ctx, cfg, db)
	if err != nil {
		return nil, nil, nil, err
	}
	sender := &notify.Sender{Channels: channels, People: fullNames(db.OnCall(), time.Minute),
		Links: pageLinks(cfg.BaseURL, links, cfg.Log), History: db.Escalations(nil)}
	return escalation.NewEngine(db.Escalations(q), sender, cfg.Log, escalation.Options{Lease: cfg.PageLease, Queue: cfg.PageQueue}), channels, closeChannels, nil
}

// fullNames looks up the full names pages greet people by, keeping each for ttl: a page should not
// wait for a database connection, under load, for a courtesy, and a renamed user is greeted by the
// new name a minute later at most.
func fullNames(oc *store.OnCall, ttl time.Duration) func(ctx context.Context, username string) string {
	type entry struct {
		name string
		at   time.Time
	}
	var (
		mu    sync.Mutex
		names = map[string]entry{}
	)
	return func(ctx context.Context, username string) string {
		mu.Lock()
		e, ok := names[username]
		mu.Unlock()
		if ok && time.Since(e.at) < ttl {
			return e.name
		}
		e = entry{at: time.Now()}
		if u, err := oc.User(ctx, username); err == nil {
			e.name = u.FullName
		}
		mu.Lock()
		if len(names) > 10000 {
			clear(names) // a bound, not a policy: there are rarely this many people on call
		}
		names[username] = e
		mu.Unlock()
		return e.name
	}
}

// TestNotification sends a test page to every contact of a user, each attempt bounded by timeout:
// the web UI's profile button and `tocsin notify test`.
func TestNotification(db *store.DB, channels *notify.Registry, timeout time.Duration) func(ctx context.Context, username string) ([]notify.TestResult, error) {
	return func(ctx context.Context, username string) ([]notify.TestResult, error) {
		u, err := db.OnCall().User(ctx, username)
		if err != nil {
			return nil, err
		}
		full := u.WithDefaults()
		contacts := make([]notify.Contact, len(full.Contacts))
		for i, c := range full.Contacts {
			contacts[i] = notify.Contact{Method: string(c.Method), To: c.To}
		}
		return notify.SendTest(ctx, channels, notify.Person{Username: u.Username, FullName: u.FullName}, contacts, timeout), nil
	}
}

func snsVerifier(cfg Config) (*sns.Verifier, error) {
	opts := sns.Options{Hosts: cfg.SNSCertHosts}
	if cfg.SNSCAFile != "" {
		pem, err := os.ReadFile(cfg.SNSCAFile)
		if err != nil {
			return nil, fmt.Errorf("--sns-ca-file: %w", err)
		}
		opts.ExtraRootsPEM = pem
	}
	v, err := sns.NewVerifier(opts)
	if err != nil {
		return nil, fmt.Errorf("SNS trust settings: %w", err)
	}
	return v, nil
}

// Close releases the channels' connections and the database.
func (a *App) Close() error {
	a.ui.Close()
	return errors.Join(a.closeChannels(), a.DB.Close())
}

// Serve works jobs and answers HTTP on ln until ctx ends, then shuts down gracefully: it stops
// accepting, finishes in-flight requests and running jobs (within ShutdownTimeout), and returns.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	log := a.cfg.Log
	pagerCtx, stopPager := context.WithCancel(context.WithoutCancel(ctx))
	pagerDone := make(chan struct{})
	go func() {
		defer close(pagerDone)
		a.Escalation.Run(pagerCtx)
	}()
	defer stopPager()
	if err := a.Queue.Start(context.WithoutCancel(ctx), jobs.Handlers{Alerts: a.Alerts, Escalation: a.Escalation, WriteBack: a.WriteBack}); err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.HTTP.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("tocsin is serving", "addr", ln.Addr().String(), "database", a.DB.Dialect(), "baseURL", a.cfg.BaseURL)
	if has, err := a.SignIn.HasPasswords(ctx); err == nil && !has {
		log.Info("nobody can sign in to the web UI yet; create the first admin with: tocsin user set-password admin@example.com --role admin")
	}
	go a.pruneSessions(ctx)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	log.Info("shutting down: finishing in-flight requests and jobs")
	a.HTTP.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if qerr := a.Queue.Stop(sctx); qerr != nil {
		err = errors.Join(err, fmt.Errorf("stop jobs: %w", qerr))
	}
	// Pages already committed go out before the process exits.
	stopPager()
	select {
	case <-pagerDone:
	case <-sctx.Done():
		log.Warn("shutting down before every page was sent: the rest go out when their leases run out")
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(serveErr, err)
	}
	return err
}

// pruneSessions deletes expired web sessions every hour until ctx ends.
func (a *App) pruneSessions(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := a.SignIn.Prune(ctx); err != nil {
				a.cfg.Log.Warn("prune web sessions", "err", err)
			}
		}
	}
}

// queueCollector reports the job queue's depth by state when /metrics is scraped.
type queueCollector struct{ q *jobs.Queue }

var queueDesc = prometheus.NewDesc("tocsin_jobs", "Jobs in the durable queue by state.", []string{"state"}, nil)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDesc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depth, err := c.q.Depth(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDesc, err)
		return
	}
	for state, n := range depth {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(n), state)
	}
}
