package awsapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	"github.com/tocsin-dev/tocsin/internal/securityhub/awsapi"
	"github.com/tocsin-dev/tocsin/internal/securityhub/awsapi/awstest"
)

const (
	roleARN    = "arn:aws:iam::111122223333:role/tocsinSecurityHubRole"
	externalID = "tocsin-external-0001"
	homeRegion = "eu-central-1"
)

var role = awsapi.Role{ARN: roleARN, ExternalID: externalID, Region: homeRegion}

func newServer(t *testing.T, mods ...func(*awstest.Options)) *awstest.Server {
	t.Helper()
	o := awstest.Options{Roles: []awstest.Role{{
		ARN: roleARN, ExternalID: externalID,
		Allow: []string{awstest.ActionBatchUpdateFindings, awstest.ActionGetFindings},
	}}}
	for _, mod := range mods {
		mod(&o)
	}
	return awstest.New(t, o)
}

// syncBuffer collects logs from concurrent calls.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newClient makes a client for srv through srv.Config unless o says otherwise. Logs go to logs, if
// given, at debug level.
func newClient(t *testing.T, srv *awstest.Server, o awsapi.Options, logs *syncBuffer) *awsapi.Client {
	t.Helper()
	if reflect.ValueOf(o.BaseConfig).IsZero() && srv != nil {
		o.BaseConfig = srv.Config()
	}
	if logs == nil {
		logs = &syncBuffer{}
	}
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := awsapi.NewClient(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// calls counts every call of an operation the server saw, answered with success or not.
func calls(srv *awstest.Server, op string) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.Operation == op {
			n++
		}
	}
	return n
}

func one(id, region string, u awsapi.Update) awsapi.Batch {
	return awsapi.Batch{Region: region, Update: u, Items: []awsapi.Item{item("k-"+id, id, region, u)}}
}

func TestBatchUpdateThroughTheEnvironment(t *testing.T) {
	srv := newServer(t)
	srv.Env(t)
	logs := &syncBuffer{}
	c := newClient(t, nil, awsapi.Options{}, logs) // the default chain and the endpoint variables
	items := []awsapi.Item{
		item("1", "a", "eu-west-1", ack),
		item("2", "b", "us-east-1", ack),
		item("3", "c", "", ack),
		item("4", "d", "eu-west-1", ack),
	}
	batches := awsapi.Batches(items, role.Region)
	for _, b := range batches {
		res, err := c.BatchUpdate(context.Background(), role, b)
		if err != nil {
			t.Fatalf("BatchUpdate in %s: %v", b.Region, err)
		}
		if len(res.Processed) != len(b.Items) || len(res.Unprocessed) != 0 {
			t.Fatalf("BatchUpdate in %s: %+v", b.Region, res)
		}
	}

	t.Run("the role is assumed once, at STS in the role's region, by the base identity with the ExternalId", func(t *testing.T) {
		got := srv.CallsTo(awstest.OpAssumeRole)
		if len(got) != 1 {
			t.Fatalf("%d AssumeRole calls, want 1", len(got))
		}
		a := got[0]
		if a.Region != homeRegion || a.AccessKeyID != srv.AccessKeyID() {
			t.Errorf("AssumeRole in %q signed by %q", a.Region, a.AccessKeyID)
		}
		if r := a.AssumeRole; r.RoleArn != roleARN || r.ExternalId != externalID || r.RoleSessionName != "tocsin" || r.DurationSeconds != 3600 {
			t.Errorf("AssumeRole request %+v", *r)
		}
	})
	t.Run("each batch is signed with the temporary credentials in its findings' region", func(t *testing.T) {
		got := srv.CallsTo(awstest.OpBatchUpdateFindings)
		var regions []string
		for _, c := range got {
			regions = append(regions, c.Region)
			if !strings.HasPrefix(c.AccessKeyID, "ASIA") || c.RoleARN != roleARN {
				t.Errorf("call in %s signed by %q of role %q", c.Region, c.AccessKeyID, c.RoleARN)
			}
			if c.BatchUpdate.Workflow == nil || *c.BatchUpdate.Workflow.Status != awsapi.WorkflowNotified {
				t.Errorf("call in %s sent workflow %+v", c.Region, c.BatchUpdate.Workflow)
			}
		}
		if want := []string{"eu-west-1", "us-east-1", homeRegion}; !reflect.DeepEqual(regions, want) {
			t.Errorf("regions %v, want %v", regions, want)
		}
		if n := len(got[0].BatchUpdate.FindingIdentifiers); n != 2 {
			t.Errorf("first call carried %d findings, want 2", n)
		}
	})
	t.Run("no secret reaches the logs", func(t *testing.T) {
		if l := logs.String(); strings.Contains(l, awstest.DefaultSecretAccessKey) || !strings.Contains(l, "assumed role") {
			t.Errorf("logs:\n%s", l)
		}
	})
}

func TestCredentialsAreCached(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(o *awstest.Options) { o.RateLimit = awstest.RateLimit{PerSecond: 1e6, Burst: 1e6} })
	c := newClient(t, srv, awsapi.Options{RatePerSecond: 1e6, Burst: 1e6}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			_, err := c.BatchUpdate(context.Background(), role, one(fmt.Sprint(i), "eu-west-1", ack))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := calls(srv, awstest.OpAssumeRole); n != 1 {
		t.Errorf("%d AssumeRole calls for 20 concurrent BatchUpdates, want 1", n)
	}
	// Another role is assumed on its own.
	other := role
	other.ExternalID = "tocsin-external-0002"
	if _, err := c.BatchUpdate(context.Background(), other, one("x", "eu-west-1", ack)); err == nil {
		t.Error("a role with another ExternalId used the cached credentials")
	}
	if n := calls(srv, awstest.OpAssumeRole); n != 2 {
		t.Errorf("%d AssumeRole calls, want 2", n)
	}
}

func TestUpdateFields(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ö", 700)
	tests := []struct {
		name   string
		update awsapi.Update
		check  func(t *testing.T, r *awstest.BatchUpdateFindingsRequest)
	}{
		{"an acknowledgement sends only the workflow status", ack, func(t *testing.T, r *awstest.BatchUpdateFindingsRequest) {
			if r.Workflow == nil || *r.Workflow.Status != "NOTIFIED" || r.Note != nil || r.Severity != nil {
				t.Errorf("%+v", r)
			}
		}},
		{"a note sends text and author only", note, func(t *testing.T, r *awstest.BatchUpdateFindingsRequest) {
			if r.Note == nil || *r.Note.Text != "looking" || *r.Note.UpdatedBy != "alice" || r.Workflow != nil {
				t.Errorf("%+v", r)
			}
		}},
		{"a note by nobody is signed tocsin", awsapi.Update{NoteText: "x"}, func(t *testing.T, r *awstest.BatchUpdateFindingsRequest) {
			if *r.Note.UpdatedBy != awsapi.DefaultUpdatedBy {
				t.Errorf("UpdatedBy %q", *r.Note.UpdatedBy)
			}
		}},
		{"a long note is cut to the API limit", awsapi.Update{NoteText: long, NoteUpdatedBy: long}, func(t *testing.T, r *awstest.BatchUpdateFindingsRequest) {
			if utf8.RuneCountInString(*r.Note.Text) != 512 || utf8.RuneCountInString(*r.Note.UpdatedBy) != 512 {
				t.Errorf("note of %d runes by %d runes", utf8.RuneCountInString(*r.Note.Text), utf8.RuneCountInString(*r.Note.UpdatedBy))
			}
		}},
		{"a priority change sends the severity label", awsapi.Update{SeverityLabel: "HIGH"}, func(t *testing.T, r *awstest.BatchUpdateFindingsRequest) {
			if r.Severity == nil || *r.Severity.Label != "HIGH" || r.Severity.Normalized != nil || r.Workflow != nil {
				t.Errorf("%+v", r)
			}
		}},
		{"a close with a note sends both", awsapi.Update{Workflow: "RESOLVED", NoteText: "fixed", NoteUpdatedBy: "bob"}, func(t *testing.T, r *awstest.BatchUpdateFindingsRequest) {
			if r.Workflow == nil || *r.Workflow.Status != "RESOLVED" || r.Note == nil || *r.Note.Text != "fixed" {
				t.Errorf("%+v", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			c := newClient(t, srv, awsapi.Options{}, nil)
			if _, err := c.BatchUpdate(context.Background(), role, one("a", "eu-west-1", tt.update)); err != nil {
				t.Fatal(err)
			}
			got := srv.CallsTo(awstest.OpBatchUpdateFindings)
			if len(got) != 1 {
				t.Fatalf("%d calls", len(got))
			}
			tt.check(t, got[0].BatchUpdate)
		})
	}
}

func TestUnprocessedFindings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		code  string
		retry bool
	}{
		{"a concurrent update is retried", "ConcurrentUpdateError", true},
		{"an internal failure is retried", "InternalFailure", true},
		{"a duplicated identifier is retried", "DuplicatedFindingIdentifier", true},
		{"a finding that is not found is given up", "FindingNotFound", false},
		{"a finding over the size limit is given up", "FindingSizeExceeded", false},
		{"invalid input is given up", "InvalidInput", false},
		{"an undocumented code is retried", "SomethingNew", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			srv.Unprocess(awstest.Unprocessed{Ids: []string{"b"}, Code: tt.code, Message: "m"})
			c := newClient(t, srv, awsapi.Options{}, nil)
			b := awsapi.Batch{Region: "eu-west-1", Update: ack, Items: []awsapi.Item{
				item("1", "a", "eu-west-1", ack), item("2", "b", "eu-west-1", ack), item("3", "b", "eu-west-1", ack),
			}}
			res, err := c.BatchUpdate(context.Background(), role, b)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Processed) != 1 || res.Processed[0].Key != "1" {
				t.Errorf("processed %+v", res.Processed)
			}
			if len(res.Unprocessed) != 2 {
				t.Fatalf("unprocessed %+v", res.Unprocessed)
			}
			for i, f := range res.Unprocessed {
				if f.Key != fmt.Sprint(i+2) || f.Code != tt.code || f.Message != "m" || f.Retry != tt.retry {
					t.Errorf("unprocessed %+v, want code %s retry %v", f, tt.code, tt.retry)
				}
			}
			if n := len(srv.CallsTo(awstest.OpBatchUpdateFindings)[0].BatchUpdate.FindingIdentifiers); n != 2 {
				t.Errorf("%d identifiers sent for two findings", n)
			}
		})
	}

	t.Run("a finding sent to another region than its own is not found there", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, func(o *awstest.Options) {
			o.Findings = []awstest.Finding{{Id: "a", ProductArn: product, Region: "eu-west-1"}}
		})
		c := newClient(t, srv, awsapi.Options{}, nil)
		res, err := c.BatchUpdate(context.Background(), role, one("a", "us-east-1", ack))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Unprocessed) != 1 || res.Unprocessed[0].Code != "FindingNotFound" || res.Unprocessed[0].Retry {
			t.Errorf("%+v", res)
		}
	})
}

func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

func TestCallErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		server    func(*awstest.Options)
		fault     *awstest.Fault
		role      awsapi.Role
		batch     *awsapi.Batch
		base      func(srv *awstest.Server) aws.Config
		permanent bool
		code      string // "" when no API error is expected
		sent      int    // BatchUpdateFindings calls that reach the server
	}{
		{name: "throttling is temporary and not retried by the SDK", fault: ptr(awstest.Throttling(awstest.OpBatchUpdateFindings)), code: "ThrottlingException", sent: 1},
		{name: "an internal error is temporary and not retried by the SDK", fault: ptr(awstest.InternalError(awstest.OpBatchUpdateFindings)), code: "InternalException", sent: 1},
		{name: "an unknown 503 is temporary", fault: &awstest.Fault{Operation: awstest.OpBatchUpdateFindings, Status: 503, Code: "Whatever", Message: "down"}, code: "Whatever", sent: 1},
		{name: "an unknown 4xx is permanent", fault: &awstest.Fault{Operation: awstest.OpBatchUpdateFindings, Status: 400, Code: "Whatever", Message: "no"}, code: "Whatever", sent: 1, permanent: true},
		{name: "access denied by a policy is permanent", fault: ptr(awstest.AccessDenied(awstest.OpBatchUpdateFindings)), code: "AccessDeniedException", sent: 1, permanent: true},
		{name: "Security Hub not enabled is permanent", fault: ptr(awstest.NotEnabled(awstest.OpBatchUpdateFindings)), code: "InvalidAccessException", sent: 1, permanent: true},
		{name: "a role without the BatchUpdateFindings permission is permanent", sent: 1, permanent: true, code: "AccessDeniedException",
			server: func(o *awstest.Options) { o.Roles[0].Allow = []string{awstest.ActionGetFindings} }},
		{name: "a wrong ExternalId is permanent", role: awsapi.Role{ARN: roleARN, ExternalID: "tocsin-wrong-id", Region: homeRegion}, code: "AccessDenied", permanent: true},
		{name: "a missing ExternalId is permanent", role: awsapi.Role{ARN: roleARN, Region: homeRegion}, code: "AccessDenied", permanent: true},
		{name: "a role that does not trust tocsin is permanent", role: awsapi.Role{ARN: "arn:aws:iam::111122223333:role/other", Region: homeRegion}, code: "AccessDenied", permanent: true},
		{name: "STS throttling is temporary", fault: &awstest.Fault{Operation: awstest.OpAssumeRole, Status: 400, Code: "Throttling", Message: "Rate exceeded"}, code: "Throttling"},
		{name: "wrong base credentials are permanent", code: "SignatureDoesNotMatch", permanent: true,
			base: func(srv *awstest.Server) aws.Config {
				cfg := srv.Config()
				cfg.Credentials = credentials.NewStaticCredentialsProvider(srv.AccessKeyID(), "wrong", "")
				return cfg
			}},
		{name: "an unknown workflow status is permanent and sends nothing", permanent: true,
			batch: ptr(one("a", "eu-west-1", awsapi.Update{Workflow: "DONE"}))},
		{name: "a batch with no region is permanent and sends nothing", permanent: true,
			role: awsapi.Role{ARN: roleARN, ExternalID: externalID}, batch: ptr(one("a", "", ack))},
		{name: "an empty update is permanent and sends nothing", permanent: true,
			batch: ptr(one("a", "eu-west-1", awsapi.Update{NoteText: "  "}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mods []func(*awstest.Options)
			if tt.server != nil {
				mods = append(mods, tt.server)
			}
			srv := newServer(t, mods...)
			if tt.fault != nil {
				srv.Inject(*tt.fault)
			}
			o := awsapi.Options{}
			if tt.base != nil {
				o.BaseConfig = tt.base(srv)
			}
			c := newClient(t, srv, o, nil)
			r := role
			if tt.role.ARN != "" {
				r = tt.role
			}
			b := one("a", "eu-west-1", ack)
			if tt.batch != nil {
				b = *tt.batch
			}
			res, err := c.BatchUpdate(context.Background(), r, b)
			if err == nil {
				t.Fatalf("no error; result %+v", res)
			}
			if awsapi.IsPermanent(err) != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v: %v", !tt.permanent, tt.permanent, err)
			}
			if code := apiCode(err); code != tt.code {
				t.Errorf("API error code %q, want %q: %v", code, tt.code, err)
			}
			if n := calls(srv, awstest.OpBatchUpdateFindings); n != tt.sent {
				t.Errorf("%d BatchUpdateFindings calls reached AWS, want %d", n, tt.sent)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestIsPermanentOfOtherErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"nil is not permanent", nil},
		{"a plain error is not permanent", errors.New("network down")},
		{"a cancelled context is not permanent", context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if awsapi.IsPermanent(tt.err) {
				t.Error("permanent")
			}
		})
	}
}

// TestRateLimiter does not run in parallel with other tests: the stand-in's quota check tolerates
// only so much difference in delay between calls, and a machine busy with other tests adds more.
func TestRateLimiter(t *testing.T) {
	run := func(t *testing.T, o awsapi.Options) (errs []error, elapsed time.Duration, srv *awstest.Server) {
		srv = newServer(t)
		c := newClient(t, srv, o, nil)
		// Assume the role first, so that the calls below start together.
		if _, err := c.BatchUpdate(context.Background(), role, one("warm-up", "us-west-2", ack)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				_, err := c.BatchUpdate(context.Background(), role, one(fmt.Sprint(i), "eu-west-1", ack))
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, err)
			})
		}
		wg.Wait()
		return errs, time.Since(start), srv
	}

	t.Run("40 immediate calls stay within the server's quota", func(t *testing.T) {
		errs, elapsed, srv := run(t, awsapi.Options{})
		for _, err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if v := srv.RateViolations(); v != 0 {
			t.Errorf("%d calls over the rate limit", v)
		}
		// 30 go at once, the last of the other 10 is due a second later.
		if elapsed < 900*time.Millisecond || elapsed > time.Minute {
			t.Errorf("40 calls took %v", elapsed)
		}
	})
	t.Run("a client allowed more than the quota is throttled, temporarily", func(t *testing.T) {
		errs, _, srv := run(t, awsapi.Options{RatePerSecond: 1000, Burst: 1000})
		failed := 0
		for _, err := range errs {
			if err == nil {
				continue
			}
			failed++
			if awsapi.IsPermanent(err) || apiCode(err) != "TooManyRequestsException" {
				t.Errorf("over the quota: %v", err)
			}
		}
		if failed == 0 || srv.RateViolations() != failed {
			t.Errorf("%d calls failed, %d violations counted; want some, and the same", failed, srv.RateViolations())
		}
	})
	t.Run("a cancelled context stops the wait", func(t *testing.T) {
		srv := newServer(t)
		c := newClient(t, srv, awsapi.Options{RatePerSecond: 0.001, Burst: 1}, nil)
		if _, err := c.BatchUpdate(context.Background(), role, one("a", "eu-west-1", ack)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.BatchUpdate(ctx, role, one("b", "eu-west-1", ack))
		if err == nil || awsapi.IsPermanent(err) {
			t.Errorf("err = %v, want a temporary error", err)
		}
		if n := calls(srv, awstest.OpBatchUpdateFindings); n != 1 {
			t.Errorf("%d calls sent", n)
		}
	})
}
