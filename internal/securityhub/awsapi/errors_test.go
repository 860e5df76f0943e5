package awsapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sdkError wraps an API error the way the SDK does: operation error, response error, API error.
func sdkError(status int, code, message string) error {
	api := &smithy.GenericAPIError{Code: code, Message: message}
	resp := &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: api}}
	return &smithy.OperationError{ServiceID: "SecurityHub", OperationName: "BatchUpdateFindings", Err: resp}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"throttling is temporary", sdkError(429, "ThrottlingException", "Rate exceeded"), false},
		{"too many requests is temporary", sdkError(429, "TooManyRequestsException", "Rate exceeded"), false},
		{"Security Hub's limit exceeded is temporary", sdkError(429, "LimitExceededException", "limit"), false},
		{"STS throttling, a 400, is temporary", sdkError(400, "Throttling", "Rate exceeded"), false},
		{"an internal exception is temporary", sdkError(500, "InternalException", "x"), false},
		{"an unknown 5xx is temporary", sdkError(502, "BadGateway", "x"), false},
		{"an unknown 429 is temporary", sdkError(429, "SlowDownPlease", "x"), false},
		{"an expired session token is temporary", sdkError(403, "ExpiredTokenException", "expired"), false},
		{"a signature dated off AWS's clock is temporary", sdkError(403, "SignatureDoesNotMatch", "Signature expired: 20260101T000000Z is now earlier than …"), false},
		{"access denied is permanent", sdkError(403, "AccessDeniedException", "no"), true},
		{"STS access denied is permanent", sdkError(403, "AccessDenied", "not authorized to perform: sts:AssumeRole"), true},
		{"an authorization error is permanent", sdkError(403, "AuthorizationError", "no"), true},
		{"Security Hub not enabled is permanent", sdkError(401, "InvalidAccessException", "not subscribed"), true},
		{"invalid input is permanent", sdkError(400, "InvalidInputException", "bad"), true},
		{"a missing resource is permanent", sdkError(404, "ResourceNotFoundException", "gone"), true},
		{"a wrong signature is permanent", sdkError(403, "SignatureDoesNotMatch", "does not match"), true},
		{"an unknown 4xx is permanent", sdkError(400, "Weird", "x"), true},
		{"a network error is temporary", fmt.Errorf("send: %w", errors.New("connection reset by peer")), false},
		{"a cancelled context is temporary", fmt.Errorf("call: %w", context.Canceled), false},
		{"an API error without a response is decided by its code", &smithy.GenericAPIError{Code: "AccessDenied"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if IsPermanent(got) != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", IsPermanent(got), tt.permanent)
			}
			if got.Error() != tt.err.Error() || !errors.Is(got, tt.err) {
				t.Errorf("classify changed the error: %v", got)
			}
		})
	}
}
