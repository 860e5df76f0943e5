// Package email is the email notify.Channel: it pages a person by sending a multipart/alternative
// message (plain text and HTML) about the alert to the address of their email contact (Contact.To),
// through one SMTP server.
//
// # Server
//
// The server is a URL (see ParseURL):
//
//	smtp://user:pass@smtp.example.com:587   submission: STARTTLS, then AUTH (587 by default)
//	smtps://user:pass@smtp.example.com:465  submission over implicit TLS, then AUTH (465 by default)
//	smtp://relay.internal:25                a relay that needs no AUTH (25 by default)
//
// # TLS policy
//
// Credentials are never sent without TLS. With a user, smtp:// requires STARTTLS and a certificate
// that verifies (tls=required); a server that does not offer STARTTLS is an error, and no AUTH is
// sent. smtps:// speaks TLS from the first byte and also verifies the certificate. Without a user,
// smtp:// uses STARTTLS when the server offers it and plain SMTP otherwise (tls=opportunistic); as
// an MTA does at its "may" level, it does not verify the certificate then, since an attacker who
// could present a false one could as well strip the STARTTLS offer, so a check would only break
// relays with self-signed certificates. The query parameter tls=required|opportunistic|none
// overrides the default of smtp://; tls=opportunistic and tls=none are refused with a user. Besides
// these checks at configuration time, the AUTH step itself refuses to run on a connection without
// TLS. Config's String, GoString and LogValue replace the password with REDACTED.
//
// # Connections
//
// A Channel keeps up to Options.MaxConns connections to the server (each past TLS and AUTH) and
// sends on an idle one when it can, so a burst of pages does not pay a handshake per message; at
// most MaxConns messages are in flight at once, and further Sends wait for a connection (as long as
// their context lets them). A message is MAIL, RCPT and DATA on go-mail's SMTP client, with no RSET
// after it: the end of DATA ends the transaction. A connection is dropped after any error and
// closed after Options.IdleTimeout without use; one that died while idle (a server restart) is
// noticed before anything of the message is sent (by a NOOP after a second idle, else by MAIL
// failing without a reply or with 421) and replaced. Timeout bounds
// connecting and, separately, each message; cancelling the context of a Send closes its connection,
// which ends whatever step it is waiting on.
//
// # Outcome
//
// A message the server accepted (250 to DATA) is sent: the Receipt's ProviderID is the server's
// queue id when its reply names one ("queued as 4Q1x2Y3z"), else the Message-ID, and Detail is the
// reply. A 5xx reply to any command (an unknown mailbox, a rejected message, refused credentials) is
// a permanent error (notify.Permanent), and so is a contact that is not one email address. Every
// other failure is temporary and worth a retry: 4xx replies, refused and dropped connections,
// timeouts, TLS handshake and certificate failures, and a missing STARTTLS, which an operator fixes
// on the server. Errors name the recipient and the server, never the password.
//
// # Message
//
// Render shows what Send sends. The subject is
//
//	[P2] GuardDuty: EC2 instance i-0abc is communicating with a known C&C server (123456789012 eu-central-1)
//
// for alerts from Security Hub (the product, then the account and region from the details
// AwsAccountId and Region) and "[P3] MESSAGE (SOURCE)" for others, with "[TEST] " in front for
// test notifications. It names nothing that changes during an escalation, so that clients that
// thread by subject keep one thread per alert. Every header value is folded onto one line.
//
// The body has a one-column layout at most 600 pixels wide, inline CSS only, no images and no
// external resources: the priority, the alert, which escalation step and round this is and who was
// paged before, whether the alert is already acknowledged or closed, Acknowledge and Close buttons
// (for the links that exist), the facts (for Security Hub: severity, account, region, resource,
// product, finding type, workflow status; for other alerts the Opsgenie fields and details), first
// and last seen in UTC, the number of occurrences, the description with its line breaks kept and
// its web links clickable, links to the alert in tocsin and to the finding in the AWS console, and
// a footer saying why the recipient got the email and that the action links expire.
//
// Each email has a Message-ID of its own (a hash of the page's idempotency key, the time and random
// bits, at Options.MessageIDDomain); In-Reply-To and References both name the alert's thread,
// <alert-ID@MessageIDDomain>, so that every email about one alert lands in one thread. The headers
// X-Tocsin-Alert-Id and X-Tocsin-Priority are for mail filters; Auto-Submitted: auto-generated and
// X-Auto-Response-Suppress: All keep vacation responders quiet.
package email
