package awstest

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The base identity's defaults: a long-term IAM user key, as the default credential chain would
// find in the environment.
const (
	DefaultAccessKeyID     = "AKIATOCSINTESTBASE01"
	DefaultSecretAccessKey = "tocsin/awstest/base+secret/0123456789abcd"
	DefaultIdentityARN     = "arn:aws:iam::000000000000:user/tocsin-test"
	DefaultRegion          = "us-east-1"
)

// The IAM actions a Role can be allowed.
const (
	ActionBatchUpdateFindings = "securityhub:BatchUpdateFindings"
	ActionGetFindings         = "securityhub:GetFindings"
)

// The operations, as Call.Operation and Fault.Operation name them.
const (
	OpAssumeRole          = "AssumeRole"
	OpBatchUpdateFindings = "BatchUpdateFindings"
	OpGetFindings         = "GetFindings"
)

// Options configure a Server. The zero value serves the default base identity in any region, with
// no roles (so every AssumeRole is denied).
type Options struct {
	// The base identity: the only one that may assume roles. Defaults above.
	AccessKeyID, SecretAccessKey, IdentityARN string
	// Region is what Env sets as AWS_REGION and Config as Region; DefaultRegion when empty.
	Region string
	// Regions, when set, are the only regions a request may be signed for (the credential scope);
	// otherwise any well-formed region name is accepted.
	Regions []string
	// Roles are the roles that exist and trust the base identity.
	Roles []Role
	// Findings, when set, are the only findings that exist: any other identifier, or one sent to a
	// region other than its own, is reported unprocessed with FindingNotFound, as AWS does.
	Findings []Finding
	// RateLimit is the server's BatchUpdateFindings quota per account and region.
	RateLimit RateLimit
}

// Role is a role that trusts the base identity.
type Role struct {
	ARN string
	// ExternalID, when set, must be sent with AssumeRole: the sts:ExternalId condition of the trust
	// policy.
	ExternalID string
	// Allow lists the IAM actions the role's policy grants (ActionBatchUpdateFindings,
	// ActionGetFindings); a call for anything else is answered 403 AccessDeniedException.
	Allow []string
	// MaxSessionDuration caps DurationSeconds, as IAM does; one hour when zero.
	MaxSessionDuration time.Duration
}

// Finding is a finding that exists, in its home region.
type Finding struct {
	Id, ProductArn, Region string
}

// RateLimit is a token bucket. A call arriving with the bucket empty is answered 429
// TooManyRequestsException and counted as a violation.
type RateLimit struct {
	// PerSecond and Burst default to 10 and 30, the BatchUpdateFindings quota.
	PerSecond float64
	Burst     int
	// Slack lets a call arrive this much before its token is due without counting as a
	// violation; default 500ms. A client-side limiter with the same figures as the server hands
	// out tokens at the very moment they are due, so any difference in network delay between two
	// calls (or a busy machine's scheduling) would otherwise show as a violation; the slack absorbs
	// that jitter while still catching a client that sends more than the quota. Negative means none.
	Slack time.Duration
}

// Server stands in for STS and Security Hub over real HTTP: it checks SigV4 signatures, request
// shapes, trust and permissions as AWS does, answers in AWS's wire formats, and records every call.
// Both services share its URL: STS at "/", Security Hub under "/findings".
type Server struct {
	*httptest.Server
	t    testing.TB
	opts Options

	mu          sync.Mutex
	sessions    map[string]*session
	calls       []Call
	faults      []*Fault
	unprocessed []*Unprocessed
	buckets     map[bucketKey]*bucket
	violations  int
}

// session is a set of temporary credentials the server issued.
type session struct {
	role          *Role
	secret        string
	token         string
	expires       time.Time
	assumedArn    string
	assumedRoleID string
}

// New starts a Server, closed when the test ends.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	if o.AccessKeyID == "" {
		o.AccessKeyID = DefaultAccessKeyID
	}
	if o.SecretAccessKey == "" {
		o.SecretAccessKey = DefaultSecretAccessKey
	}
	if o.IdentityARN == "" {
		o.IdentityARN = DefaultIdentityARN
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.RateLimit.PerSecond == 0 {
		o.RateLimit.PerSecond = 10
	}
	if o.RateLimit.Burst == 0 {
		o.RateLimit.Burst = 30
	}
	switch {
	case o.RateLimit.Slack == 0:
		o.RateLimit.Slack = 500 * time.Millisecond
	case o.RateLimit.Slack < 0:
		o.RateLimit.Slack = 0
	}
	o.Roles = slices.Clone(o.Roles)
	for i := range o.Roles {
		if o.Roles[i].MaxSessionDuration == 0 {
			o.Roles[i].MaxSessionDuration = time.Hour
		}
	}
	s := &Server{
		t:        t,
		opts:     o,
		sessions: make(map[string]*session),
		buckets:  make(map[bucketKey]*bucket),
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.Close)
	return s
}

// Region is the region Env and Config set.
func (s *Server) Region() string { return s.opts.Region }

// AccessKeyID is the base identity's access key id.
func (s *Server) AccessKeyID() string { return s.opts.AccessKeyID }

// envToClear are the variables through which the machine's own AWS setup could reach a test: a
// profile, a role to assume, a container credential endpoint, another endpoint or retry policy.
var envToClear = []string{
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_DEFAULT_REGION", "AWS_ACCOUNT_ID",
	"AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_ROLE_ARN",
	"AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE",
	"AWS_STS_REGIONAL_ENDPOINTS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT",
	"AWS_CA_BUNDLE", "AWS_SDK_UA_APP_ID",
}

// Env points the default AWS configuration at the server through the environment, as an operator
// would point tocsin at LocalStack: the service endpoint variables, the base identity's keys,
// AWS_REGION, and empty config and credentials files with instance metadata off, so that nothing
// from the machine running the test leaks in. Everything is restored when the test ends; tests
// that call Env cannot run in parallel.
func (s *Server) Env(t testing.TB) {
	t.Helper()
	for _, k := range envToClear {
		UnsetEnv(t, k)
	}
	dir := t.TempDir()
	for _, f := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_STS", s.URL)
	t.Setenv("AWS_ENDPOINT_URL_SECURITYHUB", s.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", s.opts.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.opts.SecretAccessKey)
	t.Setenv("AWS_REGION", s.opts.Region)
}

// UnsetEnv removes environment variables for the rest of the test and restores them after it
// (t.Setenv alone can only set them, and an empty value is not always the same as none).
func UnsetEnv(t testing.TB, keys ...string) {
	t.Helper()
	for _, k := range keys {
		t.Setenv(k, "")
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
}

// Config is a base configuration for the server that does not touch the environment: the base
// identity's static keys, Region, and the server as BaseEndpoint for every service.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       s.opts.Region,
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(s.opts.AccessKeyID, s.opts.SecretAccessKey, "")),
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   s.Client(),
	}
}

// Call is one request the server answered, in the order they arrived.
type Call struct {
	Time time.Time
	// Service is "sts" or "securityhub", from the path; Operation one of the Op constants, or ""
	// when the request named none the server knows.
	Service, Operation string
	// Region and AccessKeyID are from the signature's credential scope ("" when there was no
	// readable signature). RoleARN is the role whose temporary credentials signed the call, ""
	// for the base identity or unknown keys.
	Region, AccessKeyID, RoleARN string
	// Status and ErrorCode are what the server answered (ErrorCode "" on success).
	Status    int
	ErrorCode string
	// The decoded request of the operation, when it could be decoded.
	AssumeRole  *AssumeRoleRequest
	BatchUpdate *BatchUpdateFindingsRequest
	GetFindings *GetFindingsRequest
}

// Calls returns every call so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallsTo returns the calls of one operation that the server answered with success.
func (s *Server) CallsTo(op string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Operation == op && c.ErrorCode == "" {
			out = append(out, c)
		}
	}
	return out
}

// RateViolations counts BatchUpdateFindings calls that arrived over the rate limit.
func (s *Server) RateViolations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.violations
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

// Fault is an error answer to inject in place of the real one, once the call is authenticated
// (and, for Security Hub, permitted).
type Fault struct {
	// Operation is the operation it answers (an Op constant); "" answers any Security Hub
	// operation.
	Operation string
	Status    int
	Code      string
	Message   string
	// Always keeps the fault for every matching call; otherwise it answers one call.
	Always bool
}

// Throttling is Security Hub's answer to a caller over its quota.
func Throttling(op string) Fault {
	return Fault{Operation: op, Status: http.StatusTooManyRequests, Code: "ThrottlingException", Message: "Rate exceeded"}
}

// InternalError is Security Hub's answer when it fails.
func InternalError(op string) Fault {
	return Fault{Operation: op, Status: http.StatusInternalServerError, Code: "InternalException", Message: "Internal service failure"}
}

// AccessDenied is the answer when a policy (an SCP, a permissions boundary) denies the call.
func AccessDenied(op string) Fault {
	code := "AccessDeniedException"
	if op == OpAssumeRole {
		code = "AccessDenied"
	}
	return Fault{Operation: op, Status: http.StatusForbidden, Code: code,
		Message: "User is not authorized to perform this operation with an explicit deny"}
}

// NotEnabled is Security Hub's answer in an account and region where it is not enabled.
func NotEnabled(op string) Fault {
	return Fault{Operation: op, Status: http.StatusUnauthorized, Code: "InvalidAccessException",
		Message: "Account is not subscribed to AWS Security Hub"}
}

// Inject queues a fault. Faults answer calls in the order they were injected.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// takeFault returns the first queued fault for op, consuming it unless it is Always.
func (s *Server) takeFault(op string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Operation == op || (f.Operation == "" && op != OpAssumeRole) {
			if !f.Always {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			return f
		}
	}
	return nil
}

// Unprocessed makes BatchUpdateFindings report findings as not updated.
type Unprocessed struct {
	// Ids are the finding Ids to report.
	Ids []string
	// Code is the ErrorCode (FindingNotFound, ConcurrentUpdateError, …); Message defaults to
	// the text AWS documents for it.
	Code, Message string
	// Always reports them in every call; otherwise only in the first call that names any of them.
	Always bool
}

// Unprocess queues u.
func (s *Server) Unprocess(u Unprocessed) {
	if u.Message == "" {
		u.Message = unprocessedMessages[u.Code]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unprocessed = append(s.unprocessed, &u)
}

// unprocessedMessages are the ErrorMessages AWS documents for each ErrorCode.
var unprocessedMessages = map[string]string{
	"ConcurrentUpdateError":       "Concurrent finding updates detected",
	"DuplicatedFindingIdentifier": "Finding Identifier is duplicated",
	"FindingNotFound":             "Finding Not Found",
	"FindingSizeExceeded":         "Finding size exceeded 240 KB",
	"InternalFailure":             "Internal service failure",
	"InvalidInput":                "Invalid Input",
}

// takeUnprocessed returns the injected outcome for each listed id of the request.
func (s *Server) takeUnprocessed(ids []FindingIdentifier) map[string]*Unprocessed {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*Unprocessed)
	keep := s.unprocessed[:0]
	for _, u := range s.unprocessed {
		hit := false
		for _, id := range ids {
			if slices.Contains(u.Ids, *id.Id) {
				hit = true
				if out[*id.Id] == nil {
					out[*id.Id] = u
				}
			}
		}
		if u.Always || !hit {
			keep = append(keep, u)
		}
	}
	clear(s.unprocessed[len(keep):])
	s.unprocessed = keep
	return out
}

type bucketKey struct{ account, region string }

type bucket struct {
	tokens float64
	last   time.Time
}

// overLimit takes a token for a call, or counts a violation when there is none even with the
// slack. Tokens may go below zero within the slack: a call that borrowed early is paid back by the
// next refill, so the long-run rate stays exact.
func (s *Server) overLimit(k bucketKey) bool {
	rl := s.opts.RateLimit
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[k]
	if b == nil {
		b = &bucket{tokens: float64(rl.Burst), last: now}
		s.buckets[k] = b
	}
	b.tokens = min(float64(rl.Burst), b.tokens+rl.PerSecond*now.Sub(b.last).Seconds())
	b.last = now
	if b.tokens+rl.PerSecond*rl.Slack.Seconds() < 1 {
		s.violations++
		return true
	}
	b.tokens--
	return false
}

// apiError is an error answer, rendered per service.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

const maxBody = 1 << 20

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		// A panic here is a bug in the stand-in: fail the test instead of letting net/http log
		// it and drop the connection, which the SDK would retry and hide.
		if v := recover(); v != nil {
			s.t.Errorf("awstest: panic serving %s %s: %v\n%s", r.Method, r.URL, v, debug.Stack())
			writeJSONError(w, &apiError{http.StatusInternalServerError, "InternalFailure", "awstest panicked"})
		}
	}()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	c := Call{Time: time.Now()}
	switch {
	case r.URL.Path == "/":
		c.Service = "sts"
	case r.URL.Path == "/findings" || strings.HasPrefix(r.URL.Path, "/findings/"):
		c.Service = "securityhub"
	default:
		c.Service = "unknown"
	}
	var aerr *apiError
	if err != nil {
		aerr = &apiError{http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "the request body is too large"}
	} else {
		switch c.Service {
		case "sts":
			aerr = s.serveSTS(w, r, body, &c)
		case "securityhub":
			aerr = s.serveSecurityHub(w, r, body, &c)
		default:
			aerr = &apiError{http.StatusNotFound, "UnknownOperationException", "no operation at " + r.Method + " " + r.URL.Path}
		}
	}
	if aerr != nil {
		c.Status, c.ErrorCode = aerr.status, aerr.code
		if c.Service == "sts" {
			writeXMLError(w, aerr)
		} else {
			writeJSONError(w, aerr)
		}
	} else {
		c.Status = http.StatusOK
	}
	s.record(c)
}

// authenticate checks the signature and returns the session that signed, nil for the base
// identity. The error codes differ by protocol, as AWS's do.
func (s *Server) authenticate(r *http.Request, body []byte, service string, c *Call) (*session, *apiError) {
	codes := authCodes[service]
	sig, problem := parseAuthorization(r.Header.Get("Authorization"))
	if problem != "" {
		if r.Header.Get("Authorization") == "" {
			return nil, &apiError{http.StatusForbidden, codes.missing, "Request is missing Authentication Token"}
		}
		return nil, &apiError{http.StatusForbidden, codes.incomplete, problem}
	}
	c.Region, c.AccessKeyID = sig.region, sig.accessKey
	secret, sess, token := "", (*session)(nil), ""
	if sig.accessKey == s.opts.AccessKeyID {
		secret = s.opts.SecretAccessKey
	} else {
		s.mu.Lock()
		sess = s.sessions[sig.accessKey]
		s.mu.Unlock()
		if sess == nil {
			return nil, &apiError{http.StatusForbidden, codes.unknownKey, "The security token included in the request is invalid."}
		}
		secret, token = sess.secret, sess.token
		c.RoleARN = sess.role.ARN
	}
	got := r.Header.Get("X-Amz-Security-Token")
	if got != token || (token != "" && !slices.Contains(sig.signedHeaders, "x-amz-security-token")) {
		return nil, &apiError{http.StatusForbidden, codes.unknownKey, "The security token included in the request is invalid."}
	}
	if sess != nil && !time.Now().Before(sess.expires) {
		return nil, &apiError{http.StatusForbidden, codes.expired, "The security token included in the request is expired"}
	}
	if sig.service != service {
		return nil, &apiError{http.StatusForbidden, codes.badSignature, fmt.Sprintf("Credential should be scoped to correct service: '%s'.", service)}
	}
	if !s.validRegion(sig.region) {
		return nil, &apiError{http.StatusForbidden, codes.badSignature, "Credential should be scoped to a valid region."}
	}
	if problem := verify(r, body, sig, secret, time.Now()); problem != "" {
		return sess, &apiError{http.StatusForbidden, codes.badSignature, problem}
	}
	return sess, nil
}

type protocolCodes struct{ missing, incomplete, unknownKey, expired, badSignature string }

var authCodes = map[string]protocolCodes{
	"sts":         {"MissingAuthenticationToken", "IncompleteSignature", "InvalidClientTokenId", "ExpiredToken", "SignatureDoesNotMatch"},
	"securityhub": {"MissingAuthenticationTokenException", "IncompleteSignatureException", "UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException"},
}

var regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

func (s *Server) validRegion(r string) bool {
	if len(s.opts.Regions) > 0 {
		return slices.Contains(s.opts.Regions, r)
	}
	return regionName.MatchString(r)
}

func randomString(n int, enc func([]byte) string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than returning an error)
	return enc(b)
}

func newAccessKeyID() string {
	return "ASIA" + randomString(10, base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString)[:16]
}

func newSecret() string { return randomString(30, base64.StdEncoding.EncodeToString) }

func newToken() string { return randomString(120, base64.StdEncoding.EncodeToString) }

func newRequestID() string {
	h := randomString(16, hex.EncodeToString)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
