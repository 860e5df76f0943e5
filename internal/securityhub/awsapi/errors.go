package awsapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// permanentError marks an error that no retry of the same call can fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, returned by this package, means retrying the same call cannot
// succeed until someone changes the AWS side or the integration's settings (a trust policy, a
// permission, an external ID, the request itself). Every other non-nil error is temporary: the job
// queue should try again later with backoff.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Error codes of whole calls, from Security Hub (REST-JSON), STS (query) and the gateway in front of
// both. Anything not listed is decided by its HTTP status: see classify.
var (
	temporaryCodes = map[string]bool{
		// Throttling, by every name AWS uses for it. Security Hub's LimitExceededException means a
		// throttling limit for BatchUpdateFindings.
		"ThrottlingException": true, "Throttling": true, "TooManyRequestsException": true,
		"LimitExceededException": true, "RequestLimitExceeded": true, "SlowDown": true,
		// Failures on AWS's side.
		"InternalException": true, "InternalServerException": true, "InternalFailure": true,
		"ServiceUnavailable": true, "ServiceUnavailableException": true, "RequestTimeout": true,
		"RequestTimeoutException": true, "IDPCommunicationError": true,
		// Temporary credentials that expired between being cached and being used: the cache
		// fetches new ones on the next call.
		"ExpiredToken": true, "ExpiredTokenException": true, "RequestExpired": true,
	}
	permanentCodes = map[string]bool{
		// Not allowed: the role's trust policy, its permissions, or a wrong ExternalId.
		"AccessDenied": true, "AccessDeniedException": true, "AuthorizationError": true,
		// Security Hub not enabled in the account and region.
		"InvalidAccessException": true,
		// The base credentials are wrong or revoked.
		"InvalidClientTokenId": true, "UnrecognizedClientException": true,
		"SignatureDoesNotMatch": true, "InvalidSignatureException": true,
		"IncompleteSignature": true, "MissingAuthenticationToken": true,
		// The request itself.
		"InvalidInputException": true, "ValidationException": true, "ValidationError": true,
		"InvalidParameterValue": true, "MalformedPolicyDocument": true,
		"ResourceNotFoundException": true, "RegionDisabledException": true,
	}
)

// classify marks err permanent or leaves it temporary. Known codes decide first; then the HTTP
// status: 429 and 5xx are AWS asking for patience, any other 4xx is a request AWS will refuse again.
// An error with no answer from AWS at all (a network failure, a cancelled context) is temporary.
func classify(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch code := api.ErrorCode(); {
		case temporaryCodes[code]:
			return err
		case (code == "SignatureDoesNotMatch" || code == "InvalidSignatureException") &&
			strings.Contains(api.ErrorMessage(), "Signature expired"):
			// The signature was right but dated too far from AWS's clock: a clock that NTP will
			// correct, not a wrong key.
			return err
		case permanentCodes[code]:
			return permanent(err)
		}
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) {
		switch s := resp.HTTPStatusCode(); {
		case s == http.StatusTooManyRequests || s >= 500:
			return err
		case s >= 400:
			return permanent(err)
		}
	}
	return err
}

// Codes of UnprocessedFindings. The documented ones are ConcurrentUpdateError,
// DuplicatedFindingIdentifier, FindingNotFound, FindingSizeExceeded, InternalFailure and InvalidInput.
var unprocessedRetry = map[string]bool{
	// Another writer held the finding (often Security Hub's own BatchImportFindings): next time it
	// is free.
	"ConcurrentUpdateError": true,
	"InternalFailure":       true,
	// Batches sends each finding once, so a duplicate means the request was built wrongly, not
	// that the finding is bad: sent again alone it goes through.
	"DuplicatedFindingIdentifier": true,
	// FindingNotFound (wrong Id or ProductArn, wrong region, or an archived-and-expired finding),
	// FindingSizeExceeded (the finding is at the 240 KB limit, and a retry carries the same update)
	// and InvalidInput never get better.
	"FindingNotFound":     false,
	"FindingSizeExceeded": false,
	"InvalidInput":        false,
}

// retryUnprocessed says whether an unprocessed finding is worth another call. An undocumented code
// is retried: the job queue's attempt limit still ends it, and dropping an update for good on a
// code nobody has seen would be worse.
func retryUnprocessed(code string) bool {
	retry, known := unprocessedRetry[code]
	return retry || !known
}
