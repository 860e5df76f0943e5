// Command tocsin is the tocsin server and its administration commands. This file wires flags and
// environment variables to the packages under internal/; it holds no business logic.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // schedules name IANA zones; a minimal container may have no zoneinfo

	"github.com/tocsin-dev/tocsin/internal/access"
	"github.com/tocsin-dev/tocsin/internal/apply"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/oncall"
	"github.com/tocsin-dev/tocsin/internal/securityhub"
	"github.com/tocsin-dev/tocsin/internal/server"
	"github.com/tocsin-dev/tocsin/internal/store"
)

const usage = `tocsin: alerting and on-call for AWS Security Hub findings, with Opsgenie's v2 Alert API.

Commands:
  serve                         run the server
  apply -f FILE [--prune] [--dry-run]
                                make users, teams, schedules, escalation policies and
                                integrations what FILE (YAML) declares
  apikey create --name N --role admin|user|readonly
                                make a key for the /api and print it
  oncall [--schedule S] [--at TIME]
                                print who is on call
  user set-password USER [--role admin]
                                set the web UI password of a user (read from stdin), making the user
  notify test --user U          send a test notification to every contact of a user
  notify rotate-link-secret     replace the key that signs acknowledge and close links
  webhook secret                print the key that signs webhook pages (unless --webhook-secret is set)
  aws template --integration N [--org] [--key KEY]
                                print CloudFormation for the AWS side of a Security Hub integration
  aws check --integration N     check that tocsin can assume the integration's role and read findings
  integration create            make an integration and print its API key
  integration list              list integrations
  integration update NAME       change an integration's team, filter or write-back settings
  integration enable NAME       enable an integration
  integration disable NAME      disable an integration (its key gets 403)
  integration delete NAME       delete an integration

Every flag can also be set as an environment variable TOCSIN_<FLAG> (upper case, dashes as
underscores), e.g. TOCSIN_DATABASE=postgres://… . Run "tocsin COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tocsin:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "integration":
		return integrationCmd(ctx, args[1:], stdout, stderr)
	case "apply":
		return applyCmd(ctx, args[1:], stdout, stderr)
	case "apikey":
		return apikeyCmd(ctx, args[1:], stdout, stderr)
	case "oncall":
		return oncallCmd(ctx, args[1:], stdout, stderr)
	case "notify":
		return notifyCmd(ctx, args[1:], stdout, stderr)
	case "aws":
		return awsCmd(ctx, args[1:], stdout, stderr)
	case "user":
		return userCmd(ctx, args[1:], os.Stdin, stderr)
	case "webhook":
		return webhookCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// common holds the flags every command takes.
type common struct {
	database  string
	logLevel  string
	logFormat string
}

func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &common{}
	fs.StringVar(&c.database, "database", "sqlite://tocsin.db", "database URL: sqlite://PATH or postgres://USER@HOST/DB")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "auto", "log format: json, text, or auto (text on a terminal, JSON otherwise)")
	return fs, c
}

// parse parses args, then fills every flag not given on the command line from TOCSIN_<FLAG>.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		env := "TOCSIN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", env, v, e)
			}
		}
	})
	return err
}

func (c *common) logger(stderr io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	format := c.logFormat
	if format == "auto" {
		format = "json"
		if f, ok := stderr.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be json, text or auto, not %q", c.logFormat)
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs, c := newFlags("serve", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	baseURL := fs.String("base-url", "", "public URL of this server, used in links and printed endpoint URLs (default http://ADDR)")
	retention := fs.Duration("request-retention", 24*time.Hour, "how long API request statuses are kept")
	maxBody := fs.Int64("max-body-bytes", 1<<20, "largest request body accepted")
	shutdown := fs.Duration("shutdown-timeout", 25*time.Second, "how long in-flight requests and jobs may take to finish on SIGTERM")
	snsHosts := fs.String("sns-cert-hosts", "", "comma-separated host patterns trusted for SNS SigningCertURL and SubscribeURL, e.g. sns.*.amazonaws.com,127.0.0.1:8443 (default: the AWS SNS hosts of every partition)")
	snsCA := fs.String("sns-ca-file", "", "PEM file of extra root certificates for fetching SNS certificate and subscribe URLs")
	ch := channelFlags(fs)
	linkTTL := fs.Duration("link-ttl", 24*time.Hour, "how long the acknowledge and close links in notifications work")
	debugAddr := fs.String("debug-addr", "", "serve Go's profiler (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060; off when empty")
	pageLease := fs.Duration("page-lease", time.Minute, "how long a replica owns a page it is sending: a page whose replica died before sending it goes out after this")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *pageLease < 2*time.Second {
		return fmt.Errorf("--page-lease %s: must be at least 2s, longer than a send can take", *pageLease)
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	if *baseURL == "" {
		*baseURL = "http://" + *addr
	}
	cfg := server.Config{
		Addr: *addr, Database: c.database, BaseURL: *baseURL, RequestRetention: *retention,
		MaxBodyBytes: *maxBody, ShutdownTimeout: *shutdown, Log: log,
		SNSCertHosts: splitList(*snsHosts), SNSCAFile: *snsCA, LinkTTL: *linkTTL, PageLease: *pageLease,
	}
	ch.apply(&cfg)
	if cfg.SMTPURL == "" {
		log.Warn("no --smtp-url: email contacts cannot be paged (their pages are recorded as failed)")
	}
	app, err := server.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer app.Close()
	if *debugAddr != "" {
		stop, err := serveDebug(*debugAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	return app.Serve(ctx, ln)
}

// serveDebug serves Go's profiler on a loopback address only: profiles show memory contents.
func serveDebug(addr string, log *slog.Logger) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--debug-addr %q: the profiler is served on a loopback address only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("debug server stopped", "err", err)
		}
	}()
	log.Info("serving Go's profiler", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// channelOptions are the settings of the notification channels, shared by serve and notify test.
type channelOptions struct {
	smtpURL, smtpFrom, webhookSecret *string
	webhookHTTP                      *bool
}

func channelFlags(fs *flag.FlagSet) channelOptions {
	return channelOptions{
		smtpURL:       fs.String("smtp-url", "", "mail server for email pages: smtp://USER:PASS@HOST:587 (STARTTLS), smtps://USER:PASS@HOST:465, smtp://HOST:25 (a local relay); ?tls=required|opportunistic|none overrides the TLS policy; ?max_conns=N sets how many connections (default 4)"),
		smtpFrom:      fs.String("smtp-from", "", "sender of email pages, e.g. \"tocsin <tocsin@example.com>\""),
		webhookSecret: fs.String("webhook-secret", "", "key that signs webhook pages (default: one tocsin makes and keeps in its database; see tocsin webhook secret)"),
		webhookHTTP:   fs.Bool("webhook-allow-http", false, "let webhook contacts use plain http:// to hosts other than loopback"),
	}
}

func (o channelOptions) apply(cfg *server.Config) {
	cfg.SMTPURL, cfg.SMTPFrom = *o.smtpURL, *o.smtpFrom
	cfg.WebhookSecret, cfg.WebhookAllowHTTP = *o.webhookSecret, *o.webhookHTTP
}

func notifyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("notify needs a subcommand: test or rotate-link-secret")
	}
	sub, args := args[0], args[1:]
	fs, c := newFlags("notify "+sub, stderr)
	switch sub {
	case "test":
		user := fs.String("user", "", "the user to send a test notification to (required)")
		timeout := fs.Duration("timeout", 30*time.Second, "how long each attempt may take")
		ch := channelFlags(fs)
		if err := parse(fs, args); err != nil {
			return err
		}
		if *user == "" {
			return errors.New("notify test needs --user USERNAME")
		}
		log, err := c.logger(stderr)
		if err != nil {
			return err
		}
		cfg := server.Config{Database: c.database, Log: log}
		ch.apply(&cfg)
		return notifyTest(ctx, cfg, *user, *timeout, stdout)
	case "rotate-link-secret":
		if err := parse(fs, args); err != nil {
			return err
		}
		db, err := store.Open(ctx, c.database)
		if err != nil {
			return err
		}
		defer db.Close()
		if _, err := db.RotateSecret(ctx, server.LinkSecretName); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "Rotated the key that signs acknowledge and close links. Links already sent stop working once every tocsin serve has been restarted.")
		return nil
	}
	return fmt.Errorf("unknown notify subcommand %q: use test or rotate-link-secret", sub)
}

func notifyTest(ctx context.Context, cfg server.Config, username string, timeout time.Duration, stdout io.Writer) error {
	db, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	reg, closeChannels, err := server.Channels(ctx, cfg, db)
	if err != nil {
		return err
	}
	defer closeChannels()
	results, err := server.TestNotification(db, reg, timeout)(ctx, username)
	if err != nil {
		return fmt.Errorf("user %s: %w", username, err)
	}
	if len(results) == 0 {
		return fmt.Errorf("user %s has no contacts", username)
	}
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			fmt.Fprintf(stdout, "%s %s: FAILED: %v\n", r.Contact.Method, r.Contact.To, r.Err)
			continue
		}
		fmt.Fprintf(stdout, "%s %s: sent (%s)\n", r.Contact.Method, r.Contact.To, strings.TrimSpace(r.Receipt.Detail+" "+r.Receipt.ProviderID))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d test notifications failed", failed, len(results))
	}
	return nil
}

func integrationCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("integration needs a subcommand: create, list, enable, disable or delete")
	}
	sub, args := args[0], args[1:]
	// The name may come first (integration update prod --role-arn …); flag parsing stops at it.
	var named string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		named, args = args[0], args[1:]
	}
	fs, c := newFlags("integration "+sub, stderr)
	var (
		typ, name, team, roleARN, region, externalID, baseURL string
		minSeverity, products, accounts, recordStates         string
		sendUpdates                                           optionalBool
	)
	if sub == "create" {
		fs.StringVar(&typ, "type", "api", "integration type: api, amazonsecurityhub or webhook")
		fs.StringVar(&name, "name", "", "a unique name for the integration (required)")
		fs.StringVar(&baseURL, "base-url", "http://127.0.0.1:8080", "public URL of the tocsin server, to print the endpoint URL")
	}
	if sub == "create" || sub == "update" {
		fs.StringVar(&team, "team", "", "the team its alerts route to")
		fs.StringVar(&roleARN, "role-arn", "", "amazonsecurityhub: IAM role tocsin assumes to write updates back to Security Hub")
		fs.StringVar(&region, "region", "", "amazonsecurityhub: the Security Hub region for STS and for findings that name none (each finding's own region is used otherwise)")
		fs.StringVar(&externalID, "external-id", "", "amazonsecurityhub: ExternalId for AssumeRole (create makes one when not given)")
		fs.Var(&sendUpdates, "send-updates", "amazonsecurityhub: write alert actions back to Security Hub (default true when --role-arn is set)")
		fs.StringVar(&minSeverity, "min-severity", "", "amazonsecurityhub: findings below this severity label (CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL) are accepted but make no alert")
		fs.StringVar(&products, "products", "", "amazonsecurityhub: comma-separated product names (e.g. GuardDuty,Inspector); only their findings make alerts")
		fs.StringVar(&accounts, "accounts", "", "amazonsecurityhub: comma-separated AWS account ids; only their findings make alerts")
		fs.StringVar(&recordStates, "record-states", "", "amazonsecurityhub: comma-separated record states that make alerts (default ACTIVE)")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if named != "" {
		if err := fs.Parse(append([]string{named}, fs.Args()...)); err != nil {
			return err
		}
	}
	db, err := store.Open(ctx, c.database)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := integration.NewService(db.Integrations())

	switch sub {
	case "create":
		t, err := integration.ParseType(typ)
		if err != nil {
			return err
		}
		if name == "" {
			return errors.New("integration create needs --name")
		}
		if t == integration.TypeWebhook {
			// The webhook intake endpoint is not built yet; refusing here keeps tocsin from
			// printing an endpoint URL that would not answer.
			return fmt.Errorf("integration type %s is not available yet in this version; use --type api or amazonsecurityhub", t)
		}
		settings := integration.Settings{RoleARN: roleARN, Region: region, ExternalID: externalID, SendUpdates: roleARN != ""}
		if t == integration.TypeSecurityHub && externalID == "" {
			// The role's trust policy names it (tocsin aws template), so make one now, as
			// Opsgenie's integration page does.
			if settings.ExternalID, err = newExternalID(); err != nil {
				return err
			}
		}
		if sendUpdates.set {
			settings.SendUpdates = sendUpdates.value
		}
		settings.Filter = integration.FindingFilter{
			MinSeverity: strings.ToUpper(minSeverity), ProductNames: splitList(products), AccountIDs: splitList(accounts), RecordStates: splitList(recordStates),
		}
		if err := securityhub.Filter(settings.Filter).Validate(); err != nil {
			return err
		}
		in, key, err := svc.Create(ctx, integration.Integration{Name: name, Type: t, Team: team, Settings: settings})
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "Created %s integration %q (id %s).\n", in.Type, in.Name, in.ID)
		fmt.Fprintf(stderr, "Endpoint: %s\n", endpoint(baseURL, in.Type))
		if in.Type == integration.TypeSecurityHub {
			fmt.Fprintf(stderr, "ExternalId for the write-back role: %s\n", in.Settings.ExternalID)
			fmt.Fprintf(stderr, "Next: tocsin aws template --integration %q --key KEY > tocsin-securityhub.yaml, and deploy it with CloudFormation.\n", in.Name)
		}
		fmt.Fprintln(stderr, "API key (shown only now; store it safely):")
		fmt.Fprintln(stdout, key)
		return nil
	case "list":
		list, err := svc.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tTYPE\tTEAM\tENABLED\tCREATED")
		for _, in := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\n", in.Name, in.Type, in.Team, in.Enabled, in.CreatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	case "update":
		if fs.NArg() != 1 {
			return errors.New("integration update needs one integration name, then flags: integration update NAME --role-arn ARN …")
		}
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		in, err := svc.Update(ctx, fs.Arg(0), func(in *integration.Integration) error {
			st := &in.Settings
			for name, set := range map[string]func(){
				"team": func() { in.Team = team }, "role-arn": func() { st.RoleARN = roleARN }, "region": func() { st.Region = region },
				"external-id": func() { st.ExternalID = externalID }, "min-severity": func() { st.Filter.MinSeverity = strings.ToUpper(minSeverity) },
				"products": func() { st.Filter.ProductNames = splitList(products) }, "accounts": func() { st.Filter.AccountIDs = splitList(accounts) },
				"record-states": func() { st.Filter.RecordStates = splitList(recordStates) },
			} {
				if given[name] {
					set()
				}
			}
			if sendUpdates.set {
				st.SendUpdates = sendUpdates.value
			} else if given["role-arn"] {
				st.SendUpdates = roleARN != "" // as on create: a role means write back
			}
			return securityhub.Filter(st.Filter).Validate()
		})
		if err != nil {
			return fmt.Errorf("update %q: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(stderr, "Integration %q updated; send updates: %t, role: %s, region: %s. Running servers pick it up at once.\n",
			in.Name, in.Settings.SendUpdates, orNone(in.Settings.RoleARN), orNone(in.Settings.Region))
		return nil
	case "enable", "disable":
		if fs.NArg() != 1 {
			return fmt.Errorf("integration %s needs one integration name", sub)
		}
		in, err := svc.SetEnabled(ctx, fs.Arg(0), sub == "enable")
		if err != nil {
			return fmt.Errorf("%s %q: %w", sub, fs.Arg(0), err)
		}
		fmt.Fprintf(stderr, "Integration %q is now %sd.\n", in.Name, sub)
		return nil
	case "delete":
		if fs.NArg() != 1 {
			return errors.New("integration delete needs one integration name")
		}
		if err := svc.Delete(ctx, fs.Arg(0)); err != nil {
			return fmt.Errorf("delete %q: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(stderr, "Integration %q deleted.\n", fs.Arg(0))
		return nil
	}
	return fmt.Errorf("unknown integration subcommand %q", sub)
}

func applyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlags("apply", stderr)
	file := fs.String("f", "", "the YAML file to apply (- for standard input)")
	prune := fs.Bool("prune", false, "delete users, teams, schedules, escalation policies and integrations the file does not declare")
	dryRun := fs.Bool("dry-run", false, "print what would change and change nothing")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("apply needs -f FILE")
	}
	var data []byte
	var err error
	if *file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(*file)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", *file, err)
	}
	f, err := apply.Parse(data)
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	if err := f.Validate(); err != nil {
		var ps oncall.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				fmt.Fprintf(stderr, "%s: %s\n", *file, p)
			}
			return fmt.Errorf("%s: %d problem(s); nothing was changed", *file, len(ps))
		}
		return err
	}
	db, err := store.Open(ctx, c.database)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := apply.Apply(ctx, db, f, apply.Options{Prune: *prune, DryRun: *dryRun})
	if err != nil {
		return err
	}
	verb := ""
	if *dryRun {
		verb = "would "
	}
	for _, ch := range res.Changes {
		fmt.Fprintf(stderr, "%s%s\n", verb, ch)
	}
	switch {
	case len(res.Changes) == 0:
		fmt.Fprintf(stderr, "No changes: %d objects are as declared.\n", res.Unchanged)
	case *dryRun:
		fmt.Fprintf(stderr, "Dry run: %d changes planned, %d objects unchanged; nothing was changed.\n", len(res.Changes), res.Unchanged)
	default:
		fmt.Fprintf(stderr, "Applied %d changes; %d objects unchanged.\n", len(res.Changes), res.Unchanged)
	}
	// API keys of new integrations go to stdout, one "NAME KEY" per line, as the only secrets shown.
	names := make([]string, 0, len(res.Keys))
	for name := range res.Keys {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(stdout, "%s %s\n", name, res.Keys[name])
	}
	return nil
}

func apikeyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("apikey needs a subcommand: create")
	}
	fs, c := newFlags("apikey create", stderr)
	name := fs.String("name", "", "a unique name for the key (required)")
	role := fs.String("role", "user", "admin (everything), user (alerts, reads the configuration) or readonly")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	r, err := access.ParseRole(*role)
	if err != nil {
		return err
	}
	if *name == "" {
		return errors.New("apikey create needs --name")
	}
	db, err := store.Open(ctx, c.database)
	if err != nil {
		return err
	}
	defer db.Close()
	k, secret, err := access.NewService(db.APIKeys()).Create(ctx, *name, r)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Created %s API key %q. Send it as Authorization: Bearer KEY to /api. Shown only now:\n", k.Role, k.Name)
	fmt.Fprintln(stdout, secret)
	return nil
}

func webhookCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "secret" {
		return errors.New("webhook needs a subcommand: secret")
	}
	fs, c := newFlags("webhook secret", stderr)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	db, err := store.Open(ctx, c.database)
	if err != nil {
		return err
	}
	defer db.Close()
	secret, err := db.Secret(ctx, server.WebhookSecretName)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "The key that signs webhook pages (X-Tocsin-Signature), unless tocsin serve runs with --webhook-secret:")
	fmt.Fprintln(stdout, secret)
	return nil
}

func oncallCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlags("oncall", stderr)
	schedule := fs.String("schedule", "", "only this schedule (default: every schedule)")
	at := fs.String("at", "", "the time to ask about, RFC 3339 (default: now)")
	if err := parse(fs, args); err != nil {
		return err
	}
	when := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return fmt.Errorf("--at: want a time like 2026-12-24T09:00:00+01:00: %w", err)
		}
		when = t
	}
	db, err := store.Open(ctx, c.database)
	if err != nil {
		return err
	}
	defer db.Close()
	cfg, err := db.OnCall().Config(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULE\tON CALL\tUNTIL")
	found := false
	for _, s := range cfg.Schedules {
		if *schedule != "" && s.Name != *schedule {
			continue
		}
		found = true
		users, err := s.OnCall(when)
		if err != nil {
			return fmt.Errorf("schedule %s: %w", s.Name, err)
		}
		until := ""
		if shifts, err := s.Shifts(when, when.AddDate(0, 0, 30)); err == nil && len(shifts) > 0 && len(users) > 0 {
			until = shifts[0].End.Format("Mon 2006-01-02 15:04 MST")
		}
		who := strings.Join(users, ", ")
		if who == "" {
			who = "(nobody)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, who, until)
	}
	if *schedule != "" && !found {
		return fmt.Errorf("no schedule %q", *schedule)
	}
	return tw.Flush()
}

// endpoint is where an integration of type t sends its requests.
func endpoint(baseURL string, t integration.Type) string {
	base := strings.TrimRight(baseURL, "/")
	switch t {
	case integration.TypeSecurityHub:
		return base + "/v1/json/amazonsecurityhub?apiKey=KEY"
	case integration.TypeWebhook:
		return base + "/v1/json/webhook?apiKey=KEY"
	}
	return base + "/v2/alerts (header Authorization: GenieKey KEY)"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func newExternalID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make an external id: %w", err)
	}
	return "tocsin-" + hex.EncodeToString(b[:]), nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// optionalBool is a boolean flag that remembers whether it was given.
type optionalBool struct{ set, value bool }

func (b *optionalBool) String() string {
	if b == nil || !b.set {
		return ""
	}
	return fmt.Sprint(b.value)
}

func (b *optionalBool) Set(s string) error {
	switch strings.ToLower(s) {
	case "true", "1", "yes":
		b.value = true
	case "false", "0", "no":
		b.value = false
	default:
		return fmt.Errorf("want true or false, not %q", s)
	}
	b.set = true
	return nil
}

func (b *optionalBool) IsBoolFlag() bool { return true }
