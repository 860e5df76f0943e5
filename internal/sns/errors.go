package sns

import (
	"errors"
	"net/http"
)

// Sentinel errors. Every error this package returns wraps exactly one of them, with details of what was
// wrong; test with errors.Is. HTTPStatus maps them to the answer SNS should get.
var (
	// ErrMalformed: the body is not a well-formed SNS message (bad JSON, missing or mistyped fields,
	// unknown Type). Retrying cannot help.
	ErrMalformed = errors.New("sns: malformed message")

	// ErrRawDelivery: the body is a JSON object without an SNS envelope. From SNS this means the
	// subscription has raw message delivery on, which strips the signature, so the message cannot be
	// trusted.
	ErrRawDelivery = errors.New("sns: the body has no SNS envelope; turn off raw message delivery on the SNS subscription (tocsin needs the signed envelope)")

	// ErrUntrustedURL: SigningCertURL or SubscribeURL is not https, or its host is not in the allow
	// list. Nothing was fetched.
	ErrUntrustedURL = errors.New("sns: URL not trusted")

	// ErrBadSignature: the signature is not valid for the message under the signing certificate, or
	// cannot be decoded. The message is forged or was altered.
	ErrBadSignature = errors.New("sns: signature does not verify")

	// ErrBadCertificate: the allowed host served something that is not a usable signing certificate
	// (not found, too large, not PEM, not RSA, expired or not yet valid).
	ErrBadCertificate = errors.New("sns: signing certificate unusable")

	// ErrUnavailable: a request to SNS (the certificate or the SubscribeURL) failed in a way that may
	// succeed later: network error, timeout, 5xx or 429. The message was neither accepted nor found
	// forged; let SNS deliver it again.
	ErrUnavailable = errors.New("sns: SNS could not be reached")

	// ErrConfirmRefused: SNS answered the SubscribeURL with a client error (for example an expired
	// token), so the subscription is not confirmed.
	ErrConfirmRefused = errors.New("sns: SNS refused the subscription confirmation")
)

// HTTPStatus suggests the status to answer an SNS delivery that failed with err: 400 for bodies that are
// not signed SNS envelopes, 403 for messages that must not be believed, 503 when SNS should try again,
// 502 when SNS itself refused the confirmation, and 500 for anything else. SNS retries 5xx answers and
// gives up on 4xx, which is exactly what each case needs.
func HTTPStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrRawDelivery):
		return http.StatusBadRequest
	case errors.Is(err, ErrUntrustedURL), errors.Is(err, ErrBadSignature), errors.Is(err, ErrBadCertificate):
		return http.StatusForbidden
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrConfirmRefused):
		return http.StatusBadGateway
	default:
		return http.StatusInternalServerError
	}
}
