package sns

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// Confirm confirms the subscription a SubscriptionConfirmation asks for by visiting its SubscribeURL,
// and returns the subscription ARN when SNS's answer names it (an empty string otherwise).
//
// Confirm verifies m itself first, so it is safe to call on a message straight from Parse; after a
// successful Verify the repeat costs one RSA verification and no request. The SubscribeURL must be
// https on an allowed host; redirects are not followed.
//
// Errors: as Verify's; ErrMalformed if m is not a SubscriptionConfirmation; ErrUnavailable when SNS
// could not be reached or answered 5xx or 429 (SNS should resend the confirmation); ErrConfirmRefused
// when SNS answered with another error, such as an expired token.
func (v *Verifier) Confirm(ctx context.Context, m *Message) (string, error) {
	if m == nil || m.Type != TypeSubscriptionConfirmation {
		var typ MessageType
		if m != nil {
			typ = m.Type
		}
		return "", fmt.Errorf("%w: only a %s can be confirmed, not %q", ErrMalformed, TypeSubscriptionConfirmation, truncate(string(typ)))
	}
	if err := v.Verify(ctx, m); err != nil {
		return "", err
	}
	u, err := checkURL(v.patterns, "SubscribeURL", m.SubscribeURL)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	body, status, err := v.get(ctx, u, maxConfirmBytes)
	topic := truncate(m.TopicARN)
	switch {
	case status == 0:
		return "", fmt.Errorf("%w: confirming subscription to %s: %w", ErrUnavailable, topic, err)
	case retryable(status):
		return "", fmt.Errorf("%w: confirming subscription to %s: HTTP %d%s", ErrUnavailable, topic, status, snsErrorText(body))
	case status < 200 || status > 299:
		return "", fmt.Errorf("%w: confirming subscription to %s: HTTP %d%s", ErrConfirmRefused, topic, status, snsErrorText(body))
	case err != nil && !errors.Is(err, errTooLarge):
		// SNS said yes; only the details were lost. The subscription is confirmed.
		return "", nil
	}
	var resp struct {
		ARN string `xml:"ConfirmSubscriptionResult>SubscriptionArn"`
	}
	if xml.Unmarshal(body, &resp) != nil {
		return "", nil // confirmed all the same; the ARN is a nicety
	}
	return strings.TrimSpace(resp.ARN), nil
}

// snsErrorText pulls Code and Message out of an SNS XML error answer, for the error message.
func snsErrorText(body []byte) string {
	var resp struct {
		Code    string `xml:"Error>Code"`
		Message string `xml:"Error>Message"`
	}
	if len(body) == 0 || xml.Unmarshal(body, &resp) != nil || resp.Code == "" {
		return ""
	}
	if resp.Message == "" {
		return " (" + truncate(resp.Code) + ")"
	}
	return " (" + truncate(resp.Code) + ": " + truncate(resp.Message) + ")"
}
