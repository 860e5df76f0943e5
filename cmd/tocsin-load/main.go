// Command tocsin-load drives a running tocsin with signed Security Hub findings over SNS, on this
// machine only, and reports throughput, latency (HTTP and finding-to-page), errors, pages per
// finding, and the server's memory, CPU and goroutines. This file wires flags to internal/load,
// which does the work.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tocsin-dev/tocsin/internal/load"
)

const usage = `tocsin-load: drive a tocsin on this machine with signed Security Hub findings and measure it.

Usage:
  tocsin-load init [--cert-dir DIR] [--cert-addr ADDR] [--smtp-addr ADDR] [--smtp-from FROM]
        make the test CA in DIR (or check the one there) and print the flags to start
        tocsin serve with, on one line, for a script:  eval "tocsin serve ... $(tocsin-load init)"
  tocsin-load [flags]
        serve the signing certificate and an SMTP sink, send findings, wait for their pages,
        and print a report
  tocsin-load plot --samples FILE.csv --out FILE.png [--title TITLE]
        draw the samples a run wrote with --samples as a PNG: RSS, goroutines, CPU (cores)
        and throughput (requests acknowledged and emails a second) against time, restarts marked

Run "tocsin-load -h" for the flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tocsin-load:", err)
		}
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	targets, apiKey, mix                     string
	rate                                     float64
	concurrency, count, signers              int
	duration, wait, retryFor, giveUp         time.Duration
	certDir, certAddr, smtpAddr, smtpFrom    string
	pid                                      int
	pidFile, metricsURL, samples, out, runID string
	sampleEvery                              time.Duration
	signatureVersion, logLevel               string
}

func defaultCertDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "tocsin-load")
	}
	return "tocsin-load-certs"
}

func flags(name string, stderr io.Writer, init bool) (*flag.FlagSet, *options) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.StringVar(&o.certDir, "cert-dir", defaultCertDir(), "directory of the test CA and signing key: made on first use, reused after (tocsin's --sns-ca-file is DIR/ca.pem)")
	fs.StringVar(&o.certAddr, "cert-addr", load.DefaultCertAddr, "address the signing certificate is served on (tocsin's --sns-cert-hosts)")
	fs.StringVar(&o.smtpAddr, "smtp-addr", load.DefaultSMTPAddr, `address of the SMTP sink that receives the pages (tocsin's --smtp-url); "" or "off" for none`)
	fs.StringVar(&o.smtpFrom, "smtp-from", "tocsin <tocsin@example.com>", "sender of email pages, for the printed tocsin flags")
	if init {
		return fs, o
	}
	fs.StringVar(&o.targets, "targets", "http://127.0.0.1:8080", "comma-separated base URLs of the tocsins to drive, in turn; loopback addresses and localhost only")
	fs.StringVar(&o.apiKey, "api-key", "", "API key of the Security Hub integration (or TOCSIN_LOAD_API_KEY)")
	fs.Float64Var(&o.rate, "rate", 50, "requests a second, open loop; 0 sends as fast as the senders can")
	fs.IntVar(&o.concurrency, "concurrency", load.DefaultConcurrency, "senders (and keep-alive connections)")
	fs.IntVar(&o.count, "count", 0, "stop after this many requests (0: no limit)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "stop sending after this long (0: no limit); --count and --duration both bound the run")
	fs.StringVar(&o.mix, "mix", load.DefaultMix, "proportions of new findings, redeliveries, updates and resolves")
	fs.DurationVar(&o.wait, "wait", 30*time.Second, "after sending, how long to wait for the pages still owed")
	fs.IntVar(&o.signers, "signers", 0, "goroutines signing ahead of the senders (0: one a core)")
	fs.DurationVar(&o.retryFor, "retry-for", load.DefaultRetryFor, "how long a request is retried after refused connections, 5xx, 408 and 429")
	fs.DurationVar(&o.giveUp, "give-up", load.DefaultGiveUp, "at a fixed rate, a request not started this long after its slot is not sent")
	fs.IntVar(&o.pid, "pid", 0, "PID of the tocsin whose RSS and CPU are sampled from /proc")
	fs.StringVar(&o.pidFile, "pid-file", "", "file holding that PID, read again at every sample (follows a restarted tocsin)")
	fs.StringVar(&o.metricsURL, "metrics-url", "", "where go_goroutines is read (default: the first target's /metrics)")
	fs.DurationVar(&o.sampleEvery, "sample-every", load.DefaultSampleEvery, "sampling interval")
	fs.StringVar(&o.samples, "samples", "", "write the samples to this CSV file")
	fs.StringVar(&o.out, "out", "", "write the whole result (every acknowledged request, every email, the samples) to this JSON file")
	fs.StringVar(&o.runID, "run-id", "", "name of the run in finding ids and titles, [0-9a-z]{1,16} (default: random)")
	fs.StringVar(&o.signatureVersion, "signature-version", "1", "SNS SignatureVersion: 1 (SHA1withRSA) or 2 (SHA256withRSA)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return fs, o
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "help" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if len(args) > 0 && args[0] == "init" {
		return initCmd(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "plot" {
		return plotCmd(args[1:], stdout, stderr)
	}
	fs, o := flags("tocsin-load", stderr, false)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.apiKey == "" {
		o.apiKey = os.Getenv("TOCSIN_LOAD_API_KEY")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return loadCmd(ctx, o, stdout, stderr, log)
}

// initCmd makes the CA and prints the tocsin serve flags.
func initCmd(args []string, stdout, stderr io.Writer) error {
	fs, o := flags("tocsin-load init", stderr, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	caFile, err := load.MakeCA(o.certDir)
	if err != nil {
		return err
	}
	caFile, err = filepath.Abs(caFile)
	if err != nil {
		return fmt.Errorf("the CA file's path: %w", err)
	}
	fmt.Fprintln(stdout, shellJoin(load.ServeFlags(o.certAddr, caFile, smtpURL(o.smtpAddr), o.smtpFrom)))
	return nil
}

// plotCmd draws a samples CSV as a PNG.
func plotCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tocsin-load plot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	samples := fs.String("samples", "", "the samples CSV a run wrote with --samples")
	out := fs.String("out", "", "the PNG file to write")
	title := fs.String("title", "", `title of the plot (default: "tocsin-load samples: " and the CSV's name)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *samples == "" || *out == "" {
		return errors.New("plot: --samples and --out are required")
	}
	if *title == "" {
		*title = "tocsin-load samples: " + filepath.Base(*samples)
	}
	f, err := os.Open(*samples)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	defer f.Close()
	xs, err := load.ReadSamplesCSV(f)
	if err != nil {
		return fmt.Errorf("plot: %s: %w", *samples, err)
	}
	var png bytes.Buffer // drawn whole before the file is written, so that a failure leaves none
	if err := load.Plot(&png, xs, *title); err != nil {
		return fmt.Errorf("plot: %s: %w", *samples, err)
	}
	if err := os.WriteFile(*out, png.Bytes(), 0o644); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s: %d samples\n", *out, len(xs))
	return nil
}

func smtpURL(addr string) string {
	if sinkOff(addr) {
		return ""
	}
	return load.SMTPURL(addr)
}

func sinkOff(addr string) bool { return addr == "" || addr == "off" }

func loadCmd(ctx context.Context, o *options, stdout, stderr io.Writer, log *slog.Logger) error {
	mix, err := load.ParseMix(o.mix)
	if err != nil {
		return fmt.Errorf("--mix: %w", err)
	}
	var targets []string
	for t := range strings.SplitSeq(o.targets, ",") {
		if t = strings.TrimSpace(t); t != "" {
			if _, err := load.CheckTarget(t); err != nil { // before anything is started
				return err
			}
			targets = append(targets, t)
		}
	}
	// Files are opened first, so that a run is never lost to a path that cannot be written.
	var outFile, samplesFile *os.File
	for _, f := range []struct {
		path string
		file **os.File
	}{{o.out, &outFile}, {o.samples, &samplesFile}} {
		if f.path == "" {
			continue
		}
		if *f.file, err = os.Create(f.path); err != nil {
			return err
		}
		defer (*f.file).Close()
	}

	signer, err := load.NewSigner(load.SignerConfig{Dir: o.certDir, Addr: o.certAddr, SignatureVersion: o.signatureVersion})
	if err != nil {
		return err
	}
	defer signer.Close()
	var sink *load.Sink
	sinkURL := ""
	if !sinkOff(o.smtpAddr) {
		if sink, err = load.StartSink(o.smtpAddr); err != nil {
			return err
		}
		defer sink.Close()
		sinkURL = sink.URL()
	}
	caFile, err := filepath.Abs(signer.CAFile())
	if err != nil {
		return fmt.Errorf("the CA file's path: %w", err)
	}
	fmt.Fprintf(stderr, "tocsin must run with: tocsin serve %s\n", shellJoin(load.ServeFlags(signer.Host(), caFile, sinkURL, o.smtpFrom)))

	res, err := load.Run(ctx, load.Config{
		Targets: targets, APIKey: o.apiKey, Signer: signer, Sink: sink, Mix: mix,
		Rate: o.rate, Concurrency: o.concurrency, Count: o.count, Duration: o.duration, Wait: o.wait,
		Signers: o.signers, RetryFor: o.retryFor, GiveUp: o.giveUp,
		PID: o.pid, PIDFile: o.pidFile, MetricsURL: o.metricsURL, SampleEvery: o.sampleEvery,
		RunID: o.runID, Logger: log,
	})
	if err != nil {
		return err
	}
	if err := res.Report(stdout); err != nil {
		return err
	}
	if outFile != nil {
		if err := res.WriteJSON(outFile); err != nil {
			return err
		}
		if err := outFile.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", o.out, err)
		}
	}
	if samplesFile != nil {
		if err := res.WriteSamplesCSV(samplesFile); err != nil {
			return err
		}
		if err := samplesFile.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", o.samples, err)
		}
	}
	return nil
}

// shellJoin quotes args for a POSIX shell, leaving plain ones as they are.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = shellQuote(a)
	}
	return strings.Join(out, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
