package awstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testRole       = "arn:aws:iam::111122223333:role/tocsinSecurityHubRole"
	testExternalID = "tocsin-external-id-1"
	testRegion     = "eu-west-1"
)

func testServer(t *testing.T) *Server {
	return New(t, Options{
		Roles: []Role{{
			ARN: testRole, ExternalID: testExternalID,
			Allow: []string{ActionBatchUpdateFindings, ActionGetFindings},
		}},
		RateLimit: RateLimit{PerSecond: 1e6, Burst: 1e6}, // these tests are about other things
	})
}

func baseCreds(s *Server) aws.Credentials {
	return aws.Credentials{AccessKeyID: s.opts.AccessKeyID, SecretAccessKey: s.opts.SecretAccessKey}
}

// send signs a raw request with the SDK's signer, lets tamper change it after signing, and returns
// the answer.
func send(t *testing.T, s *Server, method, path, contentType string, body []byte, cr aws.Credentials,
	service, region string, tamper func(*http.Request)) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if cr.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", cr.SessionToken)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), cr, req, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(req)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, out
}

func assumeForm(externalID string) []byte {
	v := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {testRole},
		"RoleSessionName": {"tocsin"}, "DurationSeconds": {"900"}}
	if externalID != "" {
		v.Set("ExternalId", externalID)
	}
	return []byte(v.Encode())
}

const formType = "application/x-www-form-urlencoded"

// assume gets temporary credentials the way the SDK would, but by hand.
func assume(t *testing.T, s *Server) aws.Credentials {
	t.Helper()
	status, _, body := send(t, s, http.MethodPost, "/", formType, assumeForm(testExternalID), baseCreds(s), "sts", testRegion, nil)
	if status != http.StatusOK {
		t.Fatalf("AssumeRole: %d %s", status, body)
	}
	var resp struct {
		Result struct {
			Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken, Expiration string }
		} `xml:"AssumeRoleResult"`
	}
	if err := xml.Unmarshal(body, &resp); err != nil {
		t.Fatalf("AssumeRole answer %s: %v", body, err)
	}
	c := resp.Result.Credentials
	if !strings.HasPrefix(c.AccessKeyId, "ASIA") || c.SecretAccessKey == "" || c.SessionToken == "" {
		t.Fatalf("AssumeRole issued %+v", c)
	}
	if _, err := time.Parse(time.RFC3339, c.Expiration); err != nil {
		t.Fatalf("Expiration %q: %v", c.Expiration, err)
	}
	return aws.Credentials{AccessKeyID: c.AccessKeyId, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
}

func xmlErrorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error struct{ Type, Code, Message string }
	}
	if err := xml.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	return e.Error.Code
}

func TestSignatures(t *testing.T) {
	s := testServer(t)
	role := assume(t, s)
	batch := []byte(`{"FindingIdentifiers":[{"Id":"f-1","ProductArn":"arn:aws:securityhub:eu-west-1::product/aws/guardduty"}],"Workflow":{"Status":"NOTIFIED"}}`)
	tests := []struct {
		name     string
		service  string
		body     []byte
		cr       aws.Credentials
		scope    string // service in the credential scope; defaults to service
		region   string
		tamper   func(*http.Request)
		status   int
		wantCode string
	}{
		{name: "an AssumeRole signed with the base identity is accepted", service: "sts", cr: baseCreds(s), status: 200},
		{name: "a changed body no longer matches its signature", service: "sts", cr: baseCreds(s), status: 403, wantCode: "SignatureDoesNotMatch",
			tamper: func(r *http.Request) {
				b := assumeForm("tocsin-other-id-2")
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			}},
		{name: "a changed signature is rejected", service: "sts", cr: baseCreds(s), status: 403, wantCode: "SignatureDoesNotMatch",
			tamper: func(r *http.Request) {
				a := r.Header.Get("Authorization")
				last := a[len(a)-1]
				repl := "0"
				if last == '0' {
					repl = "1"
				}
				r.Header.Set("Authorization", a[:len(a)-1]+repl)
			}},
		{name: "a signature made with the wrong secret is rejected", service: "sts", status: 403, wantCode: "SignatureDoesNotMatch",
			cr: aws.Credentials{AccessKeyID: DefaultAccessKeyID, SecretAccessKey: "not-the-secret"}},
		{name: "an unknown access key is rejected", service: "sts", status: 403, wantCode: "InvalidClientTokenId",
			cr: aws.Credentials{AccessKeyID: "AKIAUNKNOWNKEY000000", SecretAccessKey: "x"}},
		{name: "a credential scoped to another service is rejected", service: "sts", scope: "iam", cr: baseCreds(s), status: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "a credential scoped to no real region is rejected", service: "sts", region: "moon-base-1x", cr: baseCreds(s), status: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "an unsigned request is rejected", service: "sts", cr: baseCreds(s), status: 403, wantCode: "MissingAuthenticationToken",
			tamper: func(r *http.Request) { r.Header.Del("Authorization") }},
		{name: "a BatchUpdateFindings signed with temporary credentials is accepted", service: "securityhub", body: batch, cr: role, status: 200},
		{name: "a changed Security Hub body is rejected", service: "securityhub", body: batch, cr: role, status: 403, wantCode: "InvalidSignatureException",
			tamper: func(r *http.Request) {
				b := bytes.Replace(batch, []byte("NOTIFIED"), []byte("RESOLVED"), 1)
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			}},
		{name: "temporary credentials without their session token are rejected", service: "securityhub", body: batch, status: 403, wantCode: "UnrecognizedClientException",
			cr: aws.Credentials{AccessKeyID: role.AccessKeyID, SecretAccessKey: role.SecretAccessKey}},
		{name: "temporary credentials with another session token are rejected", service: "securityhub", body: batch, status: 403, wantCode: "UnrecognizedClientException",
			cr: role, tamper: func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "forged") }},
		{name: "the base identity may not call Security Hub itself", service: "securityhub", body: batch, cr: baseCreds(s), status: 403, wantCode: "AccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path, ct, body := http.MethodPost, "/", formType, assumeForm(testExternalID)
			if tt.service == "securityhub" {
				method, path, ct, body = http.MethodPatch, "/findings/batchupdate", "application/json", tt.body
			}
			scope, region := tt.scope, tt.region
			if scope == "" {
				scope = tt.service
			}
			if region == "" {
				region = testRegion
			}
			status, header, out := send(t, s, method, path, ct, body, tt.cr, scope, region, tt.tamper)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, out)
			}
			if tt.wantCode == "" {
				return
			}
			code := header.Get("X-Amzn-Errortype")
			if tt.service == "sts" {
				code = xmlErrorCode(t, out)
			}
			if code != tt.wantCode {
				t.Errorf("error code %q, want %q: %s", code, tt.wantCode, out)
			}
		})
	}
}

func TestAssumeRoleTrust(t *testing.T) {
	s := testServer(t)
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"the right ExternalId is accepted", url.Values{"ExternalId": {testExternalID}}, 200, ""},
		{"a wrong ExternalId is denied like an untrusted caller", url.Values{"ExternalId": {"tocsin-wrong"}}, 403, "AccessDenied"},
		{"a missing ExternalId is denied", url.Values{"ExternalId": nil}, 403, "AccessDenied"},
		{"an unknown role is denied", url.Values{"RoleArn": {"arn:aws:iam::111122223333:role/nobody"}}, 403, "AccessDenied"},
		{"a session longer than the role allows is refused", url.Values{"ExternalId": {testExternalID}, "DurationSeconds": {"7200"}}, 400, "ValidationError"},
		{"a session shorter than 15 minutes is refused", url.Values{"ExternalId": {testExternalID}, "DurationSeconds": {"60"}}, 400, "ValidationError"},
		{"a session name with a space is refused", url.Values{"ExternalId": {testExternalID}, "RoleSessionName": {"to csin"}}, 400, "ValidationError"},
		{"a request without a role is refused", url.Values{"RoleArn": nil}, 400, "ValidationError"},
		{"another action is unknown", url.Values{"Action": {"GetCallerIdentity"}}, 400, "InvalidAction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := url.ParseQuery(string(assumeForm("")))
			for k, vs := range tt.form {
				if vs == nil {
					v.Del(k)
				} else {
					v[k] = vs
				}
			}
			status, _, out := send(t, s, http.MethodPost, "/", formType, []byte(v.Encode()), baseCreds(s), "sts", testRegion, nil)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, out)
			}
			if tt.code != "" {
				if code := xmlErrorCode(t, out); code != tt.code {
					t.Errorf("code %q, want %q", code, tt.code)
				}
			}
			if tt.code == "AccessDenied" && !strings.Contains(string(out), "is not authorized to perform: sts:AssumeRole on resource:") {
				t.Errorf("message is not AWS's: %s", out)
			}
		})
	}
}

func TestBatchUpdateFindingsValidation(t *testing.T) {
	s := testServer(t)
	role := assume(t, s)
	long := strings.Repeat("é", 513)
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"a workflow change is valid", `{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}],"Workflow":{"Status":"RESOLVED"}}`, true},
		{"a note with text and author is valid", `{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}],"Note":{"Text":"t","UpdatedBy":"u"}}`, true},
		{"every documented field together is valid", `{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}],"Confidence":5,"Criticality":6,"Types":["x"],"UserDefinedFields":{"k":"v"},"VerificationState":"TRUE_POSITIVE","RelatedFindings":[{"Id":"b","ProductArn":"p"}],"Severity":{"Label":"LOW"}}`, true},
		{"a note without UpdatedBy is refused", `{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}],"Note":{"Text":"t"}}`, false},
		{"a note without text is refused", `{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}],"Note":{"UpdatedBy":"u"}}`, false},
		{"a blank note is refused", `{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}],"Note":{"Text":"  ","UpdatedBy":"u"}}`, false},
		{"a note over 512 characters is refused", `{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}],"Note":{"Text":"` + long + `","UpdatedBy":"u"}}`, false},
		{"an unknown workflow status is refused", `{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}],"Workflow":{"Status":"DONE"}}`, false},
		{"an unknown severity label is refused", `{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}],"Severity":{"Label":"SEVERE"}}`, false},
		{"a request changing nothing is refused", `{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}]}`, false},
		{"a request without findings is refused", `{"FindingIdentifiers":[],"Workflow":{"Status":"NEW"}}`, false},
		{"a finding without ProductArn is refused", `{"FindingIdentifiers":[{"Id":"a"}],"Workflow":{"Status":"NEW"}}`, false},
		{"a null finding is refused", `{"FindingIdentifiers":[null],"Workflow":{"Status":"NEW"}}`, false},
		{"an unknown top-level field is refused", `{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}],"Workflow":{"Status":"NEW"},"Status":"NEW"}`, false},
		{"a number where a string belongs is refused", `{"FindingIdentifiers":[{"Id":1,"ProductArn":"p"}],"Workflow":{"Status":"NEW"}}`, false},
		{"trailing data is refused", `{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}],"Workflow":{"Status":"NEW"}} {}`, false},
		{"a JSON null is refused", `null`, false},
		{"an array is refused", `[]`, false},
		{"an empty body is refused", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header, out := send(t, s, http.MethodPatch, "/findings/batchupdate", "application/json", []byte(tt.body), role, "securityhub", testRegion, nil)
			if tt.ok {
				if status != 200 {
					t.Fatalf("status %d: %s", status, out)
				}
				return
			}
			if status != 400 || header.Get("X-Amzn-Errortype") != "InvalidInputException" {
				t.Fatalf("status %d, type %q, want 400 InvalidInputException: %s", status, header.Get("X-Amzn-Errortype"), out)
			}
		})
	}

	t.Run("101 findings are refused", func(t *testing.T) {
		var ids []map[string]string
		for i := range 101 {
			ids = append(ids, map[string]string{"Id": strings.Repeat("x", i+1), "ProductArn": "p"})
		}
		body, _ := json.Marshal(map[string]any{"FindingIdentifiers": ids, "Workflow": map[string]string{"Status": "NEW"}})
		if status, _, out := send(t, s, http.MethodPatch, "/findings/batchupdate", "application/json", body, role, "securityhub", testRegion, nil); status != 400 {
			t.Fatalf("status %d: %s", status, out)
		}
	})

	// Mangled bodies must be answered, never crash the stand-in (a panic fails the test through
	// the server's recover).
	t.Run("mangled bodies are answered without a panic", func(t *testing.T) {
		seed := []byte(tests[2].body)
		r := rand.New(rand.NewPCG(1, 2))
		for range 300 {
			b := append([]byte(nil), seed...)
			for range 1 + r.IntN(4) {
				i := r.IntN(len(b))
				switch r.IntN(3) {
				case 0:
					b[i] = byte(r.IntN(256))
				case 1:
					b = append(b[:i], b[i+1:]...)
				default:
					b = append(b[:i], append([]byte(`{}[]":,0n`)[r.IntN(9):][:1], b[i:]...)...)
				}
			}
			status, _, out := send(t, s, http.MethodPatch, "/findings/batchupdate", "application/json", b, role, "securityhub", testRegion, nil)
			if status != 200 && status != 400 {
				t.Fatalf("body %q: status %d: %s", b, status, out)
			}
		}
	})
}

func TestBatchUpdateFindingsAnswers(t *testing.T) {
	s := New(t, Options{
		Roles:    []Role{{ARN: testRole, ExternalID: testExternalID, Allow: []string{ActionBatchUpdateFindings}}},
		Findings: []Finding{{"a", "p", testRegion}, {"b", "p", testRegion}, {"c", "p", "us-east-1"}},
	})
	role := assume(t, s)
	s.Unprocess(Unprocessed{Ids: []string{"b"}, Code: "ConcurrentUpdateError"})
	body := `{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"},{"Id":"b","ProductArn":"p"},{"Id":"c","ProductArn":"p"},{"Id":"zz","ProductArn":"p"}],"Workflow":{"Status":"NOTIFIED"}}`
	answer := func() map[string]string {
		status, _, out := send(t, s, http.MethodPatch, "/findings/batchupdate", "application/json", []byte(body), role, "securityhub", testRegion, nil)
		if status != 200 {
			t.Fatalf("status %d: %s", status, out)
		}
		var resp struct {
			ProcessedFindings   []struct{ Id string }
			UnprocessedFindings []struct {
				FindingIdentifier struct{ Id string }
				ErrorCode         string
			}
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, p := range resp.ProcessedFindings {
			got[p.Id] = "ok"
		}
		for _, u := range resp.UnprocessedFindings {
			got[u.FindingIdentifier.Id] = u.ErrorCode
		}
		return got
	}
	want := map[string]string{"a": "ok", "b": "ConcurrentUpdateError", "c": "FindingNotFound", "zz": "FindingNotFound"}
	if got := answer(); !equalMaps(got, want) {
		t.Errorf("first call: %v, want %v", got, want)
	}
	want["b"] = "ok" // the injected outcome was for one call only
	if got := answer(); !equalMaps(got, want) {
		t.Errorf("second call: %v, want %v", got, want)
	}
	if n := len(s.CallsTo(OpBatchUpdateFindings)); n != 2 {
		t.Errorf("%d calls recorded, want 2", n)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRateLimit(t *testing.T) {
	s := New(t, Options{
		Roles:     []Role{{ARN: testRole, Allow: []string{ActionBatchUpdateFindings}}},
		RateLimit: RateLimit{PerSecond: 1, Burst: 3, Slack: -1},
	})
	role := assume(t, s) // an ExternalId the role does not require is ignored, as at AWS
	body := []byte(`{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}],"Workflow":{"Status":"NEW"}}`)
	var throttled int
	for range 5 {
		status, header, _ := send(t, s, http.MethodPatch, "/findings/batchupdate", "application/json", body, role, "securityhub", testRegion, nil)
		if status == http.StatusTooManyRequests && header.Get("X-Amzn-Errortype") == "TooManyRequestsException" {
			throttled++
		}
	}
	if throttled < 1 || s.RateViolations() != throttled {
		t.Errorf("%d calls throttled, %d violations counted; want at least one, and the same", throttled, s.RateViolations())
	}
}
