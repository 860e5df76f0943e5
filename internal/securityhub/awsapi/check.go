package awsapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// CheckStep is one line of `tocsin aws check`.
type CheckStep struct {
	Name   string
	OK     bool
	Detail string
}

// Skipped is the Detail of a step that did not run because an earlier one failed.
const Skipped = "skipped"

// checkSessionName tells a check apart from write-backs in CloudTrail.
const checkSessionName = "tocsin-check"

// Check walks the path a write-back takes — base credentials, AssumeRole, a Security Hub call in the
// role's region — and says at each step what is wrong and where to fix it. Every step after a
// failed one is reported as skipped. It assumes the role afresh rather than through the cache, so
// that a trust policy changed a minute ago is what gets tested, and it calls only the read-only
// GetFindings: testing BatchUpdateFindings would change a finding.
func (c *Client) Check(ctx context.Context, role Role) []CheckStep {
	region := c.stsRegion(role, "")
	steps := []CheckStep{
		{Name: "AWS credentials"},
		{Name: strings.TrimSpace("assume role " + role.ARN)},
		{Name: strings.TrimSpace("Security Hub GetFindings in " + region)},
	}
	steps[0].OK, steps[0].Detail = c.checkBase(ctx)
	var assumed aws.Credentials
	if steps[0].OK {
		assumed, steps[1].OK, steps[1].Detail = c.checkAssume(ctx, role, region)
	}
	if steps[1].OK {
		steps[2].OK, steps[2].Detail = c.checkGetFindings(ctx, region, assumed)
	}
	for i := 1; i < len(steps); i++ {
		if !steps[i-1].OK {
			steps[i].OK, steps[i].Detail = false, Skipped
		}
	}
	return steps
}

func (c *Client) checkBase(ctx context.Context) (bool, string) {
	const how = "provide credentials as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, as a profile in " +
		"~/.aws/credentials or ~/.aws/config (AWS_PROFILE), or by running with an instance profile, " +
		"ECS task role or EKS pod role"
	if c.cfg.Credentials == nil {
		return false, "no credential provider is configured; " + how
	}
	cr, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return false, fmt.Sprintf("no AWS credentials found (%v); %s", err, how)
	}
	if !cr.HasKeys() {
		return false, "the credentials found are empty; " + how
	}
	d := fmt.Sprintf("access key %s", maskKey(cr.AccessKeyID))
	if cr.Source != "" {
		d += " from " + cr.Source
	}
	if cr.CanExpire {
		d += ", expires " + c.until(cr.Expires)
	}
	return true, d
}

// maskKey shows enough of an access key id to tell which key it is in the IAM console. The id is
// not a secret, but it need not be printed whole either.
func maskKey(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:4] + "…" + id[len(id)-4:]
}

func (c *Client) until(t time.Time) string {
	return fmt.Sprintf("%s (in %s)", t.UTC().Format(time.RFC3339), t.Sub(c.now()).Round(time.Second))
}

func (c *Client) checkAssume(ctx context.Context, role Role, region string) (aws.Credentials, bool, string) {
	switch {
	case role.ARN == "":
		return aws.Credentials{}, false, "no role ARN is configured: set the integration's role ARN (--role-arn)"
	case region == "":
		return aws.Credentials{}, false, "no region is configured: set the integration's region (--region) or AWS_REGION"
	}
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(role.ARN),
		RoleSessionName: aws.String(checkSessionName),
		DurationSeconds: aws.Int32(900), // the shortest STS allows: the check needs one call
	}
	if role.ExternalID != "" {
		in.ExternalId = aws.String(role.ExternalID)
	}
	client := sts.NewFromConfig(c.cfg, func(o *sts.Options) { o.Region = region })
	out, err := client.AssumeRole(ctx, in)
	if err != nil {
		return aws.Credentials{}, false, assumeFailure(err, role, region)
	}
	if out.Credentials == nil {
		return aws.Credentials{}, false, "STS answered without credentials"
	}
	cr := aws.Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
		Source:          "AssumeRole",
	}
	d := "assumed"
	if out.AssumedRoleUser != nil {
		d += " as " + aws.ToString(out.AssumedRoleUser.Arn)
	}
	if out.Credentials.Expiration != nil {
		d += "; credentials valid until " + c.until(*out.Credentials.Expiration)
	}
	if role.ExternalID != "" {
		d += "; ExternalId accepted"
	}
	return cr, true, d + " (STS in " + region + ")"
}

func assumeFailure(err error, role Role, region string) string {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return fmt.Sprintf("could not call STS in %s: %v", region, err)
	}
	msg := sentence(api)
	switch api.ErrorCode() {
	case "AccessDenied":
		d := msg + ". The role is not assumable by these credentials or the ExternalId is wrong " +
			"(AWS does not say which): check the role's trust policy — its Principal must allow " +
			"the identity named above, and its sts:ExternalId condition must equal the integration's external ID"
		if role.ExternalID == "" {
			d += "; no ExternalId was sent, set one (--external-id) if the trust policy requires it"
		}
		return d
	case "InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature":
		return msg + ". AWS refused the base credentials themselves: check the access key and secret"
	case "ExpiredToken":
		return msg + ". The base credentials have expired: refresh them"
	case "RegionDisabledException":
		return msg + ". STS is not activated in " + region + " for this account: activate it in IAM's account settings or use another region"
	case "ValidationError", "MalformedPolicyDocument":
		return msg + ". Check the role ARN and external ID"
	}
	return msg
}

func (c *Client) checkGetFindings(ctx context.Context, region string, cr aws.Credentials) (bool, string) {
	out, err := c.sh.GetFindings(ctx, &securityhub.GetFindingsInput{MaxResults: aws.Int32(1)}, func(o *securityhub.Options) {
		o.Region = region
		o.Credentials = credentials.StaticCredentialsProvider{Value: cr}
	})
	if err != nil {
		var api smithy.APIError
		if !errors.As(err, &api) {
			return false, fmt.Sprintf("could not call Security Hub in %s: %v", region, err)
		}
		msg := sentence(api)
		switch api.ErrorCode() {
		case "AccessDeniedException":
			return false, msg + ". The role lacks securityhub:GetFindings; write-back also needs securityhub:BatchUpdateFindings"
		case "InvalidAccessException":
			return false, msg + ". Security Hub is not enabled in this account/region (" + region + "): enable it, or set the integration's region to the aggregation region"
		}
		return false, msg
	}
	d := "Security Hub answers"
	if len(out.Findings) == 0 {
		d += " (no findings visible yet)"
	}
	return true, d + "; securityhub:BatchUpdateFindings is not tested, as that would change a finding"
}

// sentence is an API error as "Code: message" without a final full stop, so that advice can follow
// it after one.
func sentence(api smithy.APIError) string {
	return api.ErrorCode() + ": " + strings.TrimRight(api.ErrorMessage(), ". ")
}
