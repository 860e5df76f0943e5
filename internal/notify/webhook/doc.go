// Package webhook is the webhook notify.Channel: it pages a person by POSTing a signed JSON document
// about the alert to the URL of their webhook contact (Contact.To).
//
// # Request
//
//	POST <contact URL>
//	Content-Type: application/json
//	User-Agent: tocsin
//	X-Tocsin-Timestamp: 1772366400
//	X-Tocsin-Signature: v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//	Idempotency-Key: alert-7f3c…/step-1/round-1/alice@example.com/webhook-0
//
// Idempotency-Key is the same on every retry of one page (it is absent only when the caller gave
// none); a receiver that may see a retry of a request it already handled should deduplicate on it.
// The timestamp is taken at each attempt, so a retry carries a fresh timestamp and signature.
//
// # Body (schema version 1)
//
//	{
//	  "version": 1,
//	  "type": "alert.page",                  // "alert.test" for `tocsin notify test`
//	  "alert": {
//	    "id": "8f1c2b9e-…",
//	    "tinyId": "42",                      // a decimal string, as in the Opsgenie API
//	    "alias": "arn:aws:securityhub:…",
//	    "message": "EC2 instance i-0abc is communicating with a known C&C server",
//	    "description": "…",
//	    "priority": "P2",                    // P1 (most urgent) … P5
//	    "status": "open",                    // open | closed
//	    "acknowledged": false,
//	    "source": "GuardDuty",
//	    "entity": "i-0abc",
//	    "tags": ["123456789012", "eu-central-1"],
//	    "details": {"AwsAccountId": "123456789012"},
//	    "count": 1,                          // deduplicated occurrences
//	    "createdAt": "2026-03-01T12:00:00Z",  // RFC 3339 in UTC, fractional seconds when present
//	    "lastOccurredAt": "2026-03-01T12:00:00Z",
//	    "integration": {"name": "securityhub-prod", "type": "amazonsecurityhub"}
//	  },
//	  "recipient": {"username": "alice@example.com", "fullName": "Alice Doe"},
//	  "step": 1,                             // 1-based escalation rule; 0 outside an escalation
//	  "round": 1,                            // 1-based pass through the policy; 2+ are repeats
//	  "previousRecipients": [],              // people paged before this step, oldest first
//	  "links": {"alert": "https://tocsin.example.com/alerts/…", "acknowledge": "", "close": ""},
//	  "idempotencyKey": "…"                  // same as the Idempotency-Key header
//	}
//
// Every field is always present: strings may be empty (links.acknowledge and links.close are empty
// when tocsin offers no action link), arrays and objects are never null. Fields may be added within
// version 1, so receivers must ignore fields they do not know; removing or changing the meaning of a
// field needs a new version. [Payload] is this document as a Go type.
//
// # Signature
//
// X-Tocsin-Signature is "v1=" followed by the lower-case hex HMAC-SHA256, keyed with the channel's
// secret, of the X-Tocsin-Timestamp value, a full stop, and the raw body:
//
//	v1 = hex(HMAC-SHA256(secret, timestamp + "." + body))
//
// To verify a request, a receiver:
//
//  1. reads the raw body bytes, before any JSON parsing (re-encoding changes them);
//  2. computes HMAC-SHA256(secret, X-Tocsin-Timestamp + "." + body) and compares its hex with the
//     value of each "v1=" entry of X-Tocsin-Signature (a comma-separated list; entries of other
//     schemes are ignored) using a constant-time comparison;
//  3. rejects the request unless one matches and the timestamp is within a few minutes of its own
//     clock (5 minutes is the default of [Verify]), which bounds replays;
//  4. deduplicates on Idempotency-Key if a retry would do harm.
//
// In Go, [Verify] does steps 2 and 3. In a shell, for testing:
//
//	{ printf '%s.' "$timestamp"; cat body.json; } | openssl dgst -sha256 -hmac "$secret"
//
// # Outcome
//
// A 2xx answer means the page was delivered; the Receipt carries the X-Request-Id response header as
// ProviderID when there is one. 408, 425, 429 and 5xx answers, timeouts and connection failures are
// temporary errors, retried by the caller; a Retry-After header (seconds or an HTTP date) on those
// answers becomes the error's retry hint (notify.RetryAfter). Every other 4xx is permanent, and so is
// a redirect: redirects are not followed, since the receiver's real URL belongs in the contact. Also
// permanent: a URL that is not http(s), http:// where it is not allowed, an address the guard
// refuses, and a TLS certificate that does not verify. Up to 64 KiB of the answer is read and its
// first 512 bytes are quoted, on one line, in the error.
//
// # Network rules
//
// Requests go out directly, never through HTTP_PROXY, so that internal/netguard sees the address
// each connection really goes to, after DNS: link-local and cloud instance metadata addresses
// (169.254.169.254, fd00:ec2::254), multicast and unspecified addresses are always refused, without
// a packet sent to them. Loopback and private addresses are allowed by default, so that on-premises
// receivers work; Options.RefusePrivate refuses them too.
//
// URLs must be https:// except to localhost, 127.0.0.0/8 and [::1], where plain http:// crosses no
// network (a sidecar, a local relay, tests). Options.AllowHTTP allows http:// everywhere, for
// receivers on a trusted internal network; the body is then readable on the wire, though a
// changed body still fails verification, and New logs a warning saying so.
package webhook
