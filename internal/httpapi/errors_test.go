package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

type response struct {
	status int
	header http.Header
	body   map[string]any
}

func do(t *testing.T, method, url, auth, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("%s %s answered %d with a body that is not JSON: %q", method, url, res.StatusCode, raw)
	}
	return r
}

type rawResponse struct {
	status int
	body   string
}

func rawDo(t *testing.T, method, url, auth, body string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return rawResponse{status: res.StatusCode, body: string(raw)}
}

func TestBadRequestsGetOpsgenieShapedErrors(t *testing.T) {
	env := servertest.Start(t, storetest.SQLite(t))
	ctx := context.Background()
	disabled, disabledKey, _ := env.App.Integrations.Create(ctx, integration.Integration{Name: "off", Type: integration.TypeAPI})
	if _, err := env.App.Integrations.SetEnabled(ctx, disabled.Name, false); err != nil {
		t.Fatal(err)
	}
	genie := "GenieKey " + env.Key
	tests := []struct {
		name, method, path, auth, body string
		status                         int
		message                        string
	}{
		{"no key", "POST", "/v2/alerts", "", `{"message":"m"}`, 401, "missing API key"},
		{"unknown key", "POST", "/v2/alerts", "GenieKey nope", `{"message":"m"}`, 401, "invalid API key"},
		{"disabled integration", "POST", "/v2/alerts", "GenieKey " + disabledKey, `{"message":"m"}`, 403, "disabled"},
		{"no message", "POST", "/v2/alerts", genie, `{"alias":"a"}`, 422, "message: is required"},
		{"bad priority", "POST", "/v2/alerts", genie, `{"message":"m","priority":"P0"}`, 422, "priority"},
		{"details of the wrong type", "POST", "/v2/alerts", genie, `{"message":"m","details":{"a":1}}`, 422, "details"},
		{"broken JSON", "POST", "/v2/alerts", genie, `{"message":`, 400, "not valid JSON"},
		{"deep JSON", "POST", "/v2/alerts", genie, strings.Repeat("[", 100), 400, "nested too deeply"},
		{"huge body", "POST", "/v2/alerts", genie, `{"message":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "larger than"},
		{"unknown alert", "POST", "/v2/alerts/nope/acknowledge", genie, ``, 404, "Alert does not exist"},
		{"unknown identifier type", "GET", "/v2/alerts/x?identifierType=name", genie, ``, 422, "identifierType"},
		{"bad query", "GET", "/v2/alerts?query=status:maybe", genie, ``, 422, "status must be open or closed"},
		{"too large a page", "GET", "/v2/alerts?limit=1000", genie, ``, 422, "limit"},
		{"unknown request", "GET", "/v2/alerts/requests/nope", genie, ``, 404, "Request not found"},
		{"snooze without end", "POST", "/v2/alerts/x/snooze?identifierType=alias", genie, `{}`, 422, "endTime"},
		{"unknown endpoint", "GET", "/v2/heartbeats", genie, ``, 404, "no such API endpoint"},
		{"key in the query string works", "GET", "/v2/alerts/count?apiKey=" + env.Key, "", ``, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, env.URL+tt.path, tt.auth, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d (body %v)", r.status, tt.status, r.body)
			}
			msg, _ := r.body["message"].(string)
			if !strings.Contains(msg, tt.message) {
				t.Errorf("message %q does not contain %q", msg, tt.message)
			}
			if id := r.header.Get("X-Request-Id"); id == "" || r.body["requestId"] != id {
				t.Errorf("X-Request-Id %q and body requestId %v differ", id, r.body["requestId"])
			}
			if _, ok := r.body["took"].(float64); !ok {
				t.Errorf("no took in %v", r.body)
			}
		})
	}
}

func TestHealthReadinessAndMetricsAnswer(t *testing.T) {
	env := servertest.Start(t, storetest.SQLite(t))
	if r := do(t, "GET", env.URL+"/healthz", "", ""); r.status != 200 {
		t.Errorf("/healthz: %d", r.status)
	}
	if r := do(t, "GET", env.URL+"/readyz", "", ""); r.status != 200 || r.body["status"] != "ready" {
		t.Errorf("/readyz: %d %v", r.status, r.body)
	}
	do(t, "POST", env.URL+"/v2/alerts", "GenieKey "+env.Key, `{"message":"m","alias":"a"}`)
	do(t, "POST", env.URL+"/v2/alerts", "GenieKey "+env.Key, `{"message":"m","alias":"a"}`)
	res, err := http.Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	for _, want := range []string{
		`tocsin_http_requests_total{code="202",route="POST /v2/alerts"} 2`,
		"tocsin_alerts_created_total 1",
		"tocsin_alerts_deduped_total 1",
		`tocsin_jobs{state="available"}`,
		"tocsin_http_request_duration_seconds_bucket",
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
