package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestIntegrationCreatePrintsTheKeyAloneOnTheLastLine(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "t.db")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"integration", "create", "--name", "prom", "--database", dsn}, &out, &errOut); err != nil {
		t.Fatalf("create: %v (%s)", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 || len(lines[0]) != 64 {
		t.Fatalf("stdout = %q, want the key alone", out.String())
	}
	if !strings.Contains(errOut.String(), "/v2/alerts") {
		t.Errorf("stderr does not name the endpoint: %q", errOut.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"integration", "disable", "--database", dsn, "prom"}, &out, &errOut); err != nil {
		t.Fatalf("disable: %v", err)
	}
	if err := run(context.Background(), []string{"integration", "list", "--database", dsn}, &out, &errOut); err != nil {
		t.Fatalf("list: %v", err)
	}
	if !strings.Contains(out.String(), "prom") || !strings.Contains(out.String(), "false") {
		t.Errorf("list = %q, want prom disabled", out.String())
	}
	if err := run(context.Background(), []string{"integration", "delete", "--database", dsn, "prom"}, &out, &errOut); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := run(context.Background(), []string{"integration", "delete", "--database", dsn, "prom"}, &out, &errOut); err == nil {
		t.Error("deleting it twice succeeded")
	}
}

func TestFlagsFallBackToTocsinEnvironmentVariables(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "env.db")
	t.Setenv("TOCSIN_DATABASE", dsn)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"integration", "create", "--name", "x"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"integration", "list", "--database", dsn}, &out, &errOut); err != nil || !strings.Contains(out.String(), "x") {
		t.Fatalf("the integration was not made in TOCSIN_DATABASE: %v %q", err, out.String())
	}
}

func TestServeStopsCleanlyWhenTold(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var errOut bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--database", "sqlite://" + filepath.Join(t.TempDir(), "s.db")}, &bytes.Buffer{}, &errOut)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil && res.StatusCode == 200 {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tocsin did not become ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel() // what SIGTERM does through signal.NotifyContext
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestASecurityHubIntegrationPrintsItsEndpointAndRefusesABadFilter(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "t.db")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"integration", "create", "--type", "amazonsecurityhub", "--name", "shub", "--min-severity", "high",
		"--database", dsn, "--base-url", "https://tocsin.example.com"}, &out, &errOut)
	if err != nil {
		t.Fatalf("create: %v (%s)", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "https://tocsin.example.com/v1/json/amazonsecurityhub?apiKey=KEY") {
		t.Errorf("stderr does not give the endpoint: %q", errOut.String())
	}
	err = run(context.Background(), []string{"integration", "create", "--type", "amazonsecurityhub", "--name", "bad", "--min-severity", "SEVERE", "--database", dsn}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "minSeverity") {
		t.Errorf("a bad --min-severity: %v, want an error naming it", err)
	}
	if err := run(context.Background(), []string{"integration", "create", "--type", "webhook", "--name", "wh", "--database", dsn}, &out, &errOut); err == nil {
		t.Error("a webhook integration was created though its endpoint does not exist yet")
	}
}

func TestTheWebhookSecretIsMadeOnceAndStaysTheSame(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "t.db")
	var first, second, errOut bytes.Buffer
	if err := run(context.Background(), []string{"webhook", "secret", "--database", dsn}, &first, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"webhook", "secret", "--database", dsn}, &second, &errOut); err != nil {
		t.Fatal(err)
	}
	if len(strings.TrimSpace(first.String())) != 64 || first.String() != second.String() {
		t.Errorf("secrets %q and %q, want the same 64 hex digits", first.String(), second.String())
	}
}

func TestSplitListReadsACommaSeparatedFlagValue(t *testing.T) {
	got := splitList(" sns.*.amazonaws.com, ,127.0.0.1:4566,")
	if want := []string{"sns.*.amazonaws.com", "127.0.0.1:4566"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := splitList(""); len(got) != 0 {
		t.Fatalf("an empty flag gave %q, want nothing (the defaults)", got)
	}
}
