package awsapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/time/rate"
)

// Defaults of Options: the BatchUpdateFindings quota, per account and region.
const (
	DefaultRatePerSecond = 10
	DefaultBurst         = 30
)

const (
	// sessionName shows in CloudTrail as the assumed role's session, so that the account owner
	// can tell tocsin's writes from a person's.
	sessionName = "tocsin"
	// sessionDuration is the longest session every role allows (MaxSessionDuration is at least an
	// hour), so a busy integration assumes its role about once an hour.
	sessionDuration = time.Hour
	// expiryWindow renews credentials this long before they expire, so that a call signed just
	// before expiry does not arrive with an expired token.
	expiryWindow = 5 * time.Minute
)

// Role is an integration's write-back settings.
type Role struct {
	ARN        string
	ExternalID string
	// Region is where calls go for findings with no region of their own, and where STS is called.
	Region string
}

// Options configure a Client. The zero value is usable.
type Options struct {
	// BaseConfig carries the base identity that assumes the integrations' roles. The zero Config
	// means config.LoadDefaultConfig: the default credential chain (environment, ~/.aws, instance
	// or task role), AWS_REGION, and the AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_SECURITYHUB
	// overrides, which the SDK applies itself.
	BaseConfig aws.Config
	// RatePerSecond and Burst bound BatchUpdateFindings calls per account and region; default
	// DefaultRatePerSecond and DefaultBurst.
	RatePerSecond float64
	Burst         int
	// HTTPClient replaces BaseConfig's HTTP client when set.
	HTTPClient aws.HTTPClient
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now; it only dates what Check reports.
	Now func() time.Time
}

// Client writes updates to Security Hub findings on behalf of integrations, each through its own
// assumed role. It is safe for concurrent use; share one per process so that the credential caches
// and rate limiters are shared too.
type Client struct {
	cfg   aws.Config
	sh    *securityhub.Client
	log   *slog.Logger
	now   func() time.Time
	rate  rate.Limit
	burst int

	mu       sync.Mutex
	creds    map[roleKey]*aws.CredentialsCache
	limiters map[limitKey]*rate.Limiter
}

type roleKey struct{ arn, externalID string }

// limitKey is what AWS's quotas are counted by.
type limitKey struct{ account, region string }

// NewClient returns a Client. It fails only when the default configuration cannot be loaded (a
// malformed ~/.aws/config, say); missing credentials show up in Check and in the first call.
func NewClient(ctx context.Context, o Options) (*Client, error) {
	cfg := o.BaseConfig
	if reflect.ValueOf(cfg).IsZero() {
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
			return nil, fmt.Errorf("load AWS configuration: %w", err)
		}
	}
	if o.HTTPClient != nil {
		cfg.HTTPClient = o.HTTPClient
	}
	if cfg.AppID == "" {
		cfg.AppID = "tocsin"
	}
	// The job queue that calls BatchUpdate already retries with backoff, and the rate limiter here
	// only sees calls it is asked for. SDK retries underneath both would multiply attempts (queue
	// attempts × SDK attempts) and send throttled calls again behind the limiter's back. So the SDK
	// gets one extra attempt, and only when the request may never have reached AWS (a reset or
	// refused connection); throttling and 5xx answers come straight back to the queue. The SDK's
	// own retry quota is off: with a single retry it can only turn a clear error into an opaque one.
	// RetryMaxAttempts is cleared because a non-zero value (AWS_MAX_ATTEMPTS) would wrap this
	// retryer with a different attempt count.
	cfg.Retryer = newRetryer
	cfg.RetryMaxAttempts = 0
	cfg.RetryMode = ""

	c := &Client{
		cfg:      cfg,
		log:      o.Logger,
		now:      o.Now,
		rate:     rate.Limit(o.RatePerSecond),
		burst:    o.Burst,
		creds:    make(map[roleKey]*aws.CredentialsCache),
		limiters: make(map[limitKey]*rate.Limiter),
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.rate <= 0 {
		c.rate = DefaultRatePerSecond
	}
	if c.burst <= 0 {
		c.burst = DefaultBurst
	}
	// One Security Hub client serves every role and region: both are set per call.
	c.sh = securityhub.NewFromConfig(cfg)
	return c, nil
}

func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 2
		o.RateLimiter = ratelimit.None
		o.Retryables = []retry.IsErrorRetryable{
			retry.NoRetryCanceledError{},
			retry.RetryableConnectionError{},
		}
	})
}

// stsRegion is where the role is assumed: the role's region, so that STS is called at a regional
// endpoint next to the work (and still works where the global endpoint is not enabled).
func (c *Client) stsRegion(role Role, fallback string) string {
	switch {
	case role.Region != "":
		return role.Region
	case c.cfg.Region != "":
		return c.cfg.Region
	}
	return fallback
}

// credentials returns the role's credential cache, made on first use. Keeping one per role (not
// per call) is what makes the role be assumed once an hour rather than once a call.
func (c *Client) credentials(role Role, fallbackRegion string) *aws.CredentialsCache {
	k := roleKey{role.ARN, role.ExternalID}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.creds[k]; p != nil {
		return p
	}
	region := c.stsRegion(role, fallbackRegion)
	client := sts.NewFromConfig(c.cfg, func(o *sts.Options) { o.Region = region })
	arp := stscreds.NewAssumeRoleProvider(client, role.ARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = sessionName
		o.Duration = sessionDuration
		if role.ExternalID != "" {
			o.ExternalID = aws.String(role.ExternalID)
		}
	})
	p := aws.NewCredentialsCache(&loggedProvider{p: arp, log: c.log, role: role.ARN, region: region},
		func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = expiryWindow })
	c.creds[k] = p
	return p
}

// loggedProvider logs each time a role is assumed: rarely, and the moment a trust policy breaks.
// It logs the role and the expiry, never the keys or the session token.
type loggedProvider struct {
	p      aws.CredentialsProvider
	log    *slog.Logger
	role   string
	region string
}

func (l *loggedProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	cr, err := l.p.Retrieve(ctx)
	if err != nil {
		l.log.WarnContext(ctx, "securityhub: assume role failed", "role", l.role, "stsRegion", l.region, "err", err)
		return cr, err
	}
	l.log.InfoContext(ctx, "securityhub: assumed role", "role", l.role, "stsRegion", l.region, "expires", cr.Expires)
	return cr, nil
}

// limiter returns the limiter for the role's account in region.
func (c *Client) limiter(role Role, region string) *rate.Limiter {
	k := limitKey{accountOf(role.ARN), region}
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.limiters[k]
	if l == nil {
		l = rate.NewLimiter(c.rate, c.burst)
		c.limiters[k] = l
	}
	return l
}

// accountOf is the account in an IAM ARN (arn:aws:iam::123456789012:role/name). An ARN it cannot
// read counts as its own account, which errs towards more calls but never mixes two accounts.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && parts[4] != "" {
		return parts[4]
	}
	return arn
}

// Failed is an item that BatchUpdateFindings reported as not updated.
type Failed struct {
	Item
	Code, Message string
	// Retry says whether sending the item again can succeed (see retryUnprocessed).
	Retry bool
}

// Result is the outcome of one call, item by item: every item of the batch is in exactly one list.
type Result struct {
	Processed   []Item
	Unprocessed []Failed
}

// notReported is the code given to an item AWS named in neither list, which it is documented never
// to do; such an item is retried.
const notReported = "NotReported"

// BatchUpdate makes one BatchUpdateFindings call for b in b.Region, as role. A nil error means the
// call was answered: look at Result for each item. A non-nil error means nothing was updated; see
// IsPermanent for whether to try again.
func (c *Client) BatchUpdate(ctx context.Context, role Role, b Batch) (Result, error) {
	if len(b.Items) == 0 {
		return Result{}, nil
	}
	in, err := request(role, b)
	if err != nil {
		return Result{}, permanent(err)
	}
	creds := c.credentials(role, b.Region)
	// Credentials first, then the limiter: the first call of a role waits for AssumeRole, and
	// waiting for it while holding a token would let the calls behind it bunch up at AWS.
	if _, err := creds.Retrieve(ctx); err != nil {
		return Result{}, classify(fmt.Errorf("securityhub: assume role %s: %w", role.ARN, err))
	}
	if err := c.limiter(role, b.Region).Wait(ctx); err != nil {
		return Result{}, fmt.Errorf("securityhub: waiting for the rate limit of %s in %s: %w", accountOf(role.ARN), b.Region, err)
	}
	out, err := c.sh.BatchUpdateFindings(ctx, in, func(o *securityhub.Options) {
		o.Region = b.Region
		o.Credentials = creds
	})
	if err != nil {
		return Result{}, classify(fmt.Errorf("securityhub: BatchUpdateFindings in %s as %s: %w", b.Region, role.ARN, err))
	}
	res := result(b.Items, out)
	c.log.DebugContext(ctx, "securityhub: BatchUpdateFindings", "role", role.ARN, "region", b.Region,
		"findings", len(in.FindingIdentifiers), "processed", len(res.Processed), "unprocessed", len(res.Unprocessed))
	return res, nil
}

// request builds the call for b, refusing what AWS would refuse so that the caller learns it
// without spending a call or a token.
func request(role Role, b Batch) (*securityhub.BatchUpdateFindingsInput, error) {
	switch {
	case role.ARN == "":
		return nil, errors.New("securityhub: no role ARN configured for write-back")
	case b.Region == "":
		return nil, errors.New("securityhub: no region for the findings and no default region configured")
	case b.Update.Empty():
		return nil, errors.New("securityhub: the update changes nothing")
	}
	in := &securityhub.BatchUpdateFindingsInput{}
	u := b.Update
	if u.Workflow != "" {
		if !validWorkflow(u.Workflow) {
			return nil, fmt.Errorf("securityhub: workflow status %q is not NEW, NOTIFIED, RESOLVED or SUPPRESSED", u.Workflow)
		}
		in.Workflow = &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatus(u.Workflow)}
	}
	if u.SeverityLabel != "" {
		if !validSeverity(u.SeverityLabel) {
			return nil, fmt.Errorf("securityhub: severity label %q is not CRITICAL, HIGH, MEDIUM, LOW or INFORMATIONAL", u.SeverityLabel)
		}
		in.Severity = &shtypes.SeverityUpdate{Label: shtypes.SeverityLabel(u.SeverityLabel)}
	}
	if u.hasNote() {
		by := u.NoteUpdatedBy
		if strings.TrimSpace(by) == "" {
			by = DefaultUpdatedBy
		}
		in.Note = &shtypes.NoteUpdate{Text: aws.String(CutNote(u.NoteText)), UpdatedBy: aws.String(CutNote(by))}
	}
	seen := make(map[findingIdent]bool, len(b.Items))
	for _, it := range b.Items {
		id := it.Finding.ident()
		if id.id == "" || id.productArn == "" {
			return nil, fmt.Errorf("securityhub: item %q: a finding needs both Id and ProductArn", it.Key)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		in.FindingIdentifiers = append(in.FindingIdentifiers,
			shtypes.AwsSecurityFindingIdentifier{Id: aws.String(id.id), ProductArn: aws.String(id.productArn)})
	}
	if n := len(in.FindingIdentifiers); n > MaxFindingsPerCall {
		return nil, fmt.Errorf("securityhub: %d findings in one batch, more than the %d BatchUpdateFindings takes; use Batches", n, MaxFindingsPerCall)
	}
	return in, nil
}

func validWorkflow(s string) bool {
	switch s {
	case WorkflowNew, WorkflowNotified, WorkflowResolved, WorkflowSuppressed:
		return true
	}
	return false
}

func validSeverity(s string) bool {
	switch shtypes.SeverityLabel(s) {
	case shtypes.SeverityLabelCritical, shtypes.SeverityLabelHigh, shtypes.SeverityLabelMedium,
		shtypes.SeverityLabelLow, shtypes.SeverityLabelInformational:
		return true
	}
	return false
}

// result maps AWS's answer, which names findings, back to the items, which the caller knows by Key.
func result(items []Item, out *securityhub.BatchUpdateFindingsOutput) Result {
	processed := make(map[findingIdent]bool, len(out.ProcessedFindings))
	for _, f := range out.ProcessedFindings {
		processed[findingIdent{aws.ToString(f.Id), aws.ToString(f.ProductArn)}] = true
	}
	unprocessed := make(map[findingIdent]shtypes.BatchUpdateFindingsUnprocessedFinding, len(out.UnprocessedFindings))
	for _, u := range out.UnprocessedFindings {
		if u.FindingIdentifier != nil {
			unprocessed[findingIdent{aws.ToString(u.FindingIdentifier.Id), aws.ToString(u.FindingIdentifier.ProductArn)}] = u
		}
	}
	var res Result
	for _, it := range items {
		id := it.Finding.ident()
		if u, ok := unprocessed[id]; ok {
			code := aws.ToString(u.ErrorCode)
			res.Unprocessed = append(res.Unprocessed, Failed{Item: it, Code: code, Message: aws.ToString(u.ErrorMessage), Retry: retryUnprocessed(code)})
			continue
		}
		if processed[id] {
			res.Processed = append(res.Processed, it)
			continue
		}
		res.Unprocessed = append(res.Unprocessed, Failed{Item: it, Code: notReported,
			Message: "BatchUpdateFindings named the finding neither processed nor unprocessed", Retry: true})
	}
	return res
}
