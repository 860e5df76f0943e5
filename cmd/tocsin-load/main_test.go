package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-dev/tocsin/internal/load"
	"github.com/tocsin-dev/tocsin/internal/sns"
)

func TestInitMakesTheCAAndPrintsTheServeFlagsOnOneLine(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"init", "--cert-dir", dir, "--cert-addr", "127.0.0.1:18443", "--smtp-addr", "127.0.0.1:12525"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("init: %v\n%s", err, stderr.String())
	}
	want := "--sns-cert-hosts 127.0.0.1:18443 --sns-ca-file " + filepath.Join(dir, "ca.pem") +
		" --smtp-url 'smtp://127.0.0.1:12525?tls=none' --smtp-from 'tocsin <tocsin@example.com>'\n"
	if stdout.String() != want {
		t.Fatalf("stdout\n got %q\nwant %q", stdout.String(), want)
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	// Again: the same CA, and without a sink no SMTP flags.
	stdout.Reset()
	if err := run(context.Background(), []string{"init", "--cert-dir", dir, "--smtp-addr", "off"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout.String(), "smtp") {
		t.Errorf("with --smtp-addr off: %s", stdout.String())
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "ca.pem")); !bytes.Equal(again, ca) {
		t.Error("init replaced the CA")
	}
}

func TestATargetOffThisMachineIsRefusedWithAClearError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--targets", "http://127.0.0.1:18080,http://203.0.113.7:8080", "--api-key", "k",
		"--cert-dir", t.TempDir(), "--cert-addr", "127.0.0.1:0", "--smtp-addr", "off"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "203.0.113.7 is not a loopback address") {
		t.Fatalf("error %v", err)
	}
	if stdout.Len() > 0 {
		t.Errorf("printed %q before refusing", stdout.String())
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--mix", "new=1,explode=2"},
		{"--log-level", "loud"},
		{"--no-such-flag"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), append(args, "--cert-dir", t.TempDir(), "--smtp-addr", "off", "--cert-addr", "127.0.0.1:0"), &stdout, &stderr); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

func TestARunWritesItsReportTheJSONResultAndTheSamples(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			_, _ = w.Write([]byte("go_goroutines 12\n"))
			return
		}
		if sns.FromSNS(r.Header) && r.URL.Query().Get("apiKey") == "the-key" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	dir := t.TempDir()
	out, samples := filepath.Join(dir, "result.json"), filepath.Join(dir, "samples.csv")
	t.Setenv("TOCSIN_LOAD_API_KEY", "the-key") // no --api-key: the environment is read
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--targets", srv.URL, "--cert-dir", filepath.Join(dir, "certs"), "--cert-addr", "127.0.0.1:0",
		"--smtp-addr", "127.0.0.1:0", "--rate", "0", "--count", "40", "--wait", "0s", "--mix", "new=3,redeliver=1",
		"--pid", "1", "--sample-every", "50ms", "--out", out, "--samples", samples}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "40 requests") {
		t.Errorf("report:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "tocsin must run with: tocsin serve --sns-cert-hosts 127.0.0.1:") {
		t.Errorf("stderr does not say how to start tocsin:\n%s", stderr.String())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Requests []struct{ Kind string } `json:"requests"`
		Summary  struct{ Acked int }     `json:"summary"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Requests) != 40 || res.Summary.Acked != 40 {
		t.Errorf("%d requests listed, %d acknowledged; want 40", len(res.Requests), res.Summary.Acked)
	}
	f, err := os.Open(samples)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 || rows[0][0] != "unix_time" || rows[1][4] != "12" {
		t.Errorf("samples %q, %v", rows, err)
	}
}

func TestPlotDrawsASamplesCSVAsAPNG(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	var samples []load.Sample
	for i := range 300 {
		pid, cpu := 100, 0.4*float64(i)
		if i >= 150 {
			pid, cpu = 200, 0.4*float64(i-150)
		}
		samples = append(samples, load.Sample{At: start.Add(time.Duration(i) * time.Second), Elapsed: float64(i), PID: pid,
			RSS: 50 << 20, CPU: cpu, Goroutines: 95, Acked: 200 * int64(i), Emails: 190 * int64(i)})
	}
	var csvText bytes.Buffer
	if err := (&load.Result{Samples: samples}).WriteSamplesCSV(&csvText); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("samples.csv", csvText.String())
	out := filepath.Join(dir, "plot.png")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"plot", "--samples", good, "--out", out, "--title", "five minutes"}, &stdout, &stderr); err != nil {
		t.Fatalf("plot: %v\n%s", err, stderr.String())
	}
	if want := "wrote " + out + ": 300 samples\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != image.Rect(0, 0, 1200, 900) {
		t.Errorf("bounds %v", img.Bounds())
	}

	lines := strings.Split(csvText.String(), "\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no --out", []string{"--samples", good}, "--samples and --out are required"},
		{"no --samples", []string{"--out", filepath.Join(dir, "a.png")}, "--samples and --out are required"},
		{"an extra argument", []string{"--samples", good, "--out", filepath.Join(dir, "a.png"), "more"}, `unexpected argument "more"`},
		{"no such file", []string{"--samples", filepath.Join(dir, "none.csv"), "--out", filepath.Join(dir, "a.png")}, "none.csv"},
		{"a bad row", []string{"--samples", write("bad.csv", strings.Join(lines[:3], "\n")+"\n1,2,3,4,5,6,7,x\n"), "--out", filepath.Join(dir, "a.png")},
			`bad.csv: load: samples line 4: pid "x"`},
		{"one sample", []string{"--samples", write("one.csv", strings.Join(lines[:2], "\n")+"\n"), "--out", filepath.Join(dir, "a.png")},
			"one.csv: load: a plot needs at least 2 samples, got 1"},
		{"an unwritable output", []string{"--samples", good, "--out", filepath.Join(dir, "no", "such", "dir.png")}, "dir.png"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"plot"}, tc.args...), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "a.png")); err == nil {
				t.Error("a PNG was written")
			}
		})
	}
}
