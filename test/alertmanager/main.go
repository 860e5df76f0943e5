// Command alertmanager is the Go half of scripts/alertmanager-compat, which proves that Prometheus
// Alertmanager's opsgenie_configs works against tocsin. The script builds and starts the real
// Alertmanager and tocsin; this program (standard library only) does what would be fragile in bash:
//
//	ports N                  print N free loopback TCP ports, one a line
//	proxy -listen -target    a transparent HTTP proxy that records every exchange (request and
//	                         response bodies) as JSON lines, so a failure shows exactly what
//	                         Alertmanager sent and what tocsin answered
//	run -am -tocsin -key     the scenario: fire an alert into Alertmanager, wait for tocsin to open
//	                         it, check its fields, resolve it, wait for tocsin to close it, and check
//	                         that Alertmanager saw no failed notification
//
// It is not a test of this module's packages and is not run by "go test"; run the script.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: alertmanager ports N | proxy -listen ADDR -target URL -log FILE | run -am URL -tocsin URL -key KEY")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "ports":
		err = ports(os.Args[2:])
	case "proxy":
		err = proxy(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "alertmanager-compat: FAIL:", err)
		os.Exit(1)
	}
}

// ports prints n distinct free loopback ports. All listeners are held open until every port is
// chosen so that the ports differ; the small window between closing them and the servers binding
// them is acceptable for a test on one machine.
func ports(args []string) error {
	n := 1
	if len(args) > 0 {
		var err error
		if n, err = strconv.Atoi(args[0]); err != nil || n < 1 {
			return fmt.Errorf("ports: bad count %q", args[0])
		}
	}
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ls = append(ls, l)
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

// exchange is one request through the proxy and its answer.
type exchange struct {
	Time         string            `json:"time"`
	Method       string            `json:"method"`
	URI          string            `json:"uri"`
	Headers      map[string]string `json:"headers"`
	RequestBody  string            `json:"requestBody"`
	Status       int               `json:"status"`
	ResponseBody string            `json:"responseBody"`
	Error        string            `json:"error,omitempty"`
	Millis       int64             `json:"ms"`
}

func proxy(args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	target := fs.String("target", "", "base URL to forward to, e.g. http://127.0.0.1:8080")
	logPath := fs.String("log", "", "file to append one JSON line per exchange to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tu, err := url.Parse(*target)
	if err != nil || tu.Host == "" {
		return fmt.Errorf("proxy: -target must be a base URL, got %q", *target)
	}
	out := io.Writer(os.Stdout)
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	var mu sync.Mutex
	client := &http.Client{Timeout: 30 * time.Second}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		body, _ := io.ReadAll(r.Body)
		ex := exchange{Time: start.UTC().Format(time.RFC3339Nano), Method: r.Method, URI: r.URL.RequestURI(), Headers: map[string]string{}, RequestBody: string(body)}
		for _, k := range []string{"Content-Type", "User-Agent", "Authorization"} {
			if v := r.Header.Get(k); v != "" {
				if k == "Authorization" {
					if scheme, _, ok := strings.Cut(v, " "); ok {
						v = scheme + " <redacted>"
					}
				}
				ex.Headers[k] = v
			}
		}
		defer func() {
			ex.Millis = time.Since(start).Milliseconds()
			line, _ := json.Marshal(ex)
			mu.Lock()
			_, _ = out.Write(append(line, '\n'))
			mu.Unlock()
		}()
		req, err := http.NewRequestWithContext(r.Context(), r.Method, strings.TrimRight(tu.String(), "/")+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			ex.Error = err.Error()
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			ex.Status, ex.Error = http.StatusBadGateway, err.Error()
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		rb, _ := io.ReadAll(resp.Body)
		ex.Status, ex.ResponseBody = resp.StatusCode, string(rb)
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(rb)
	})
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// tocsinAlert is the part of tocsin's (Opsgenie's) alert JSON that the scenario checks.
type tocsinAlert struct {
	ID          string            `json:"id"`
	Alias       string            `json:"alias"`
	Message     string            `json:"message"`
	Status      string            `json:"status"`
	Tags        []string          `json:"tags"`
	Count       int               `json:"count"`
	Source      string            `json:"source"`
	Priority    string            `json:"priority"`
	Entity      string            `json:"entity"`
	Description string            `json:"description"`
	Details     map[string]string `json:"details"`
	Actions     []string          `json:"actions"`
	Responders  []struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"responders"`
	Integration *struct {
		Name string `json:"name"`
	} `json:"integration"`
}

type tocsinNote struct {
	Note string `json:"note"`
}

type runner struct {
	am, tocsin, key, exchanges string
	timeout                    time.Duration
	start                      time.Time
	http                       *http.Client
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "alertmanager-compat: [%5.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	r := &runner{start: time.Now(), http: &http.Client{Timeout: 10 * time.Second}}
	fs.StringVar(&r.am, "am", "", "Alertmanager's base URL")
	fs.StringVar(&r.tocsin, "tocsin", "", "tocsin's base URL")
	fs.StringVar(&r.key, "key", "", "tocsin API integration key (the one in alertmanager.yml)")
	fs.StringVar(&r.exchanges, "exchanges", "", "the proxy's exchange log, if Alertmanager talks to tocsin through it")
	fs.DurationVar(&r.timeout, "timeout", 30*time.Second, "how long to wait for each of open and close")
	source := fs.String("source", "alertmanager-compat", "the source: set in alertmanager.yml")
	integrationName := fs.String("integration", "", "the tocsin integration's name, if it should be checked")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if r.am == "" || r.tocsin == "" || r.key == "" {
		return errors.New("run: -am, -tocsin and -key are required")
	}
	r.am, r.tocsin = strings.TrimRight(r.am, "/"), strings.TrimRight(r.tocsin, "/")

	// A fresh alert name per run, so that nothing left from an earlier run can satisfy a check.
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	name := "TocsinCompat" + hex.EncodeToString(rb[:])
	labels := map[string]string{"alertname": name, "severity": "critical", "service": "checkout"}
	annotations := map[string]string{"summary": "Checkout latency above SLO", "description": "p99 latency of checkout is 2.5s (SLO 1s)"}
	startsAt := time.Now().UTC().Add(-time.Second)

	// 1. Fire.
	r.logf("firing alert %s into Alertmanager (%s/api/v2/alerts)", name, r.am)
	if err := r.postAlert(labels, annotations, startsAt, time.Now().UTC().Add(10*time.Minute)); err != nil {
		return err
	}

	// 2. Wait for tocsin to have it open.
	r.logf("waiting up to %s for an open alert in tocsin", r.timeout)
	var open tocsinAlert
	err := r.poll("an open alert in tocsin", func() (bool, error) {
		var list struct {
			Data []tocsinAlert `json:"data"`
		}
		if err := r.tocsinGet("/v2/alerts?query="+url.QueryEscape("status:open"), &list); err != nil {
			return false, err
		}
		switch len(list.Data) {
		case 0:
			return false, nil
		case 1:
			open = list.Data[0]
			return true, nil
		default:
			return false, fmt.Errorf("expected one open alert, tocsin lists %d: %+v", len(list.Data), list.Data)
		}
	})
	if err != nil {
		return err
	}
	r.logf("tocsin opened alert id=%s alias=%s message=%q", open.ID, open.Alias, open.Message)

	// 3. Check it, read back by the alias Alertmanager chose (a SHA-256 of the group key).
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(open.Alias) {
		return fmt.Errorf("alias %q is not the 64-hex-digit group key hash Alertmanager sends", open.Alias)
	}
	var got tocsinAlert
	if err := r.getByAlias(open.Alias, &got); err != nil {
		return err
	}
	var problems []string
	check := func(what string, ok bool, gotV any) {
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: got %v", what, gotV))
		}
	}
	wantMsg := name + ": " + annotations["summary"]
	check("id matches the listed alert", got.ID == open.ID, got.ID)
	check("status open", got.Status == "open", got.Status)
	check("message "+strconv.Quote(wantMsg), got.Message == wantMsg, strconv.Quote(got.Message))
	check("description", got.Description == annotations["description"], strconv.Quote(got.Description))
	check("source "+strconv.Quote(*source), got.Source == *source, strconv.Quote(got.Source))
	check("priority P1 (severity=critical)", got.Priority == "P1", got.Priority)
	check("tags contain tocsin-compat and severity=critical", slices.Contains(got.Tags, "tocsin-compat") && slices.Contains(got.Tags, "severity=critical"), got.Tags)
	check("entity checkout", got.Entity == "checkout", strconv.Quote(got.Entity))
	check("count 1", got.Count == 1, got.Count)
	for k, v := range labels {
		check("details["+k+"] = the common label", got.Details[k] == v, got.Details)
	}
	check("details[runbook] from the config template", got.Details["runbook"] == "https://runbooks.example.com/"+name, got.Details)
	check("actions Restart, Runbook", slices.Equal(got.Actions, []string{"Restart", "Runbook"}), got.Actions)
	check("responder team sre", len(got.Responders) == 1 && got.Responders[0].Type == "team" && got.Responders[0].Name == "sre", got.Responders)
	if *integrationName != "" {
		check("integration "+*integrationName, got.Integration != nil && got.Integration.Name == *integrationName, got.Integration)
	}
	var notes struct {
		Data []tocsinNote `json:"data"`
	}
	if err := r.tocsinGet("/v2/alerts/"+url.PathEscape(open.Alias)+"/notes?identifierType=alias", &notes); err != nil {
		return err
	}
	check(`a note "opened by Alertmanager" (the create's note)`, slices.ContainsFunc(notes.Data, func(n tocsinNote) bool {
		return n.Note == "opened by Alertmanager"
	}), notes.Data)
	if len(problems) > 0 {
		return fmt.Errorf("the alert tocsin opened is not what Alertmanager was configured to send:\n  - %s", strings.Join(problems, "\n  - "))
	}
	r.logf("open alert checked: message, description, source, priority, tags, entity, details, actions, responders, note")

	// 4. Resolve: the same alert with endsAt in the past.
	r.logf("resolving alert %s in Alertmanager", name)
	if err := r.postAlert(labels, annotations, startsAt, time.Now().UTC().Add(-time.Millisecond)); err != nil {
		return err
	}
	r.logf("waiting up to %s for tocsin to close alias %s", r.timeout, open.Alias)
	var closed tocsinAlert
	err = r.poll("tocsin to close the alert", func() (bool, error) {
		if err := r.getByAlias(open.Alias, &closed); err != nil {
			return false, err
		}
		return closed.Status == "closed", nil
	})
	if err != nil {
		return err
	}
	if closed.ID != open.ID {
		return fmt.Errorf("alias %s now names alert %s, not the one opened (%s)", open.Alias, closed.ID, open.ID)
	}
	var list struct {
		Data []tocsinAlert `json:"data"`
	}
	if err := r.tocsinGet("/v2/alerts?query="+url.QueryEscape("status:open"), &list); err != nil {
		return err
	}
	if len(list.Data) != 0 {
		return fmt.Errorf("after the close tocsin still lists %d open alert(s): %+v", len(list.Data), list.Data)
	}
	r.logf("tocsin closed alert id=%s", closed.ID)

	// 5. Alertmanager's own view: every opsgenie notification it attempted succeeded.
	total, failed, err := r.amNotificationCounts()
	if err != nil {
		return err
	}
	r.logf("Alertmanager metrics: opsgenie notifications %v, failed %v", total, failed)
	if total < 2 {
		return fmt.Errorf("alertmanager_notifications_total{integration=\"opsgenie\"} is %v, want at least 2 (firing and resolved)", total)
	}
	if failed != 0 {
		return fmt.Errorf("alertmanager_notifications_failed_total{integration=\"opsgenie\"} is %v, want 0", failed)
	}

	// 6. Through the proxy: every request Alertmanager made got a 2xx, and it used the endpoints
	// we expect (create, update message and description, close by alias).
	if r.exchanges != "" {
		if err := r.checkExchanges(open.Alias); err != nil {
			return err
		}
	}
	r.logf("PASS in %.1fs", time.Since(r.start).Seconds())
	return nil
}

func (r *runner) postAlert(labels, annotations map[string]string, startsAt, endsAt time.Time) error {
	body, _ := json.Marshal([]map[string]any{{
		"labels": labels, "annotations": annotations,
		"startsAt": startsAt.Format(time.RFC3339Nano), "endsAt": endsAt.Format(time.RFC3339Nano),
		"generatorURL": "http://prometheus.example.com/graph",
	}})
	resp, err := r.http.Post(r.am+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("post alert to Alertmanager: %w", err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("Alertmanager answered POST /api/v2/alerts with %s: %s", resp.Status, rb)
	}
	return nil
}

func (r *runner) tocsinGet(path string, into any) error {
	req, err := http.NewRequest(http.MethodGet, r.tocsin+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "GenieKey "+r.key)
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return &statusError{path: path, status: resp.StatusCode, body: string(rb)}
	}
	if err := json.Unmarshal(rb, into); err != nil {
		return fmt.Errorf("GET %s: decode %s: %w", path, rb, err)
	}
	return nil
}

type statusError struct {
	path   string
	status int
	body   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("GET %s: tocsin answered %d: %s", e.path, e.status, e.body)
}

func (r *runner) getByAlias(alias string, into *tocsinAlert) error {
	var env struct {
		Data *tocsinAlert `json:"data"`
	}
	env.Data = into
	return r.tocsinGet("/v2/alerts/"+url.PathEscape(alias)+"?identifierType=alias", &env)
}

// poll calls f every 250ms until it reports done, fails, or the timeout passes.
func (r *runner) poll(what string, f func() (bool, error)) error {
	deadline := time.Now().Add(r.timeout)
	for {
		done, err := f()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", r.timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// amNotificationCounts sums Alertmanager's opsgenie notification counters from /metrics.
func (r *runner) amNotificationCounts() (total, failed float64, err error) {
	resp, err := r.http.Get(r.am + "/metrics")
	if err != nil {
		return 0, 0, fmt.Errorf("Alertmanager /metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	sawTotal := false
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.Contains(line, `integration="opsgenie"`) {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		fields := strings.Fields(line)
		v, perr := strconv.ParseFloat(fields[len(fields)-1], 64)
		if perr != nil {
			continue
		}
		switch name {
		case "alertmanager_notifications_total":
			total += v
			sawTotal = true
		case "alertmanager_notifications_failed_total":
			failed += v
		}
	}
	if !sawTotal {
		return 0, 0, errors.New(`Alertmanager's /metrics has no alertmanager_notifications_total{integration="opsgenie"}`)
	}
	return total, failed, nil
}

func (r *runner) checkExchanges(alias string) error {
	b, err := os.ReadFile(r.exchanges)
	if err != nil {
		return err
	}
	want := map[string]bool{
		"POST /v2/alerts":                          false,
		"PUT /v2/alerts/" + alias + "/message":     false,
		"PUT /v2/alerts/" + alias + "/description": false,
		"POST /v2/alerts/" + alias + "/close":      false,
	}
	var bad []string
	n := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var ex exchange
		if err := json.Unmarshal([]byte(line), &ex); err != nil {
			return fmt.Errorf("proxy log: %w", err)
		}
		if !strings.HasPrefix(ex.URI, "/v2/") {
			continue // the script's own readiness probes
		}
		n++
		path, query, _ := strings.Cut(ex.URI, "?")
		key := ex.Method + " " + path
		if _, ok := want[key]; ok {
			want[key] = true
		}
		if ex.Status < 200 || ex.Status > 299 {
			bad = append(bad, line)
		}
		if strings.HasPrefix(path, "/v2/alerts/"+alias+"/") && !strings.Contains(query, "identifierType=alias") {
			bad = append(bad, "no identifierType=alias: "+line)
		}
	}
	var missing []string
	for k, seen := range want {
		if !seen {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	if len(bad) > 0 {
		return fmt.Errorf("tocsin refused requests that Alertmanager sent:\n  %s", strings.Join(bad, "\n  "))
	}
	if len(missing) > 0 {
		return fmt.Errorf("Alertmanager never made these requests: %s", strings.Join(missing, ", "))
	}
	r.logf("proxy saw %d Opsgenie API requests from Alertmanager, all answered 2xx", n)
	return nil
}
