// Package sns accepts Amazon SNS messages delivered to an HTTP(S) endpoint and decides whether to
// believe them.
//
// Anyone on the internet can POST a body that looks like an SNS notification to tocsin's intake URL,
// and a forged Security Hub finding could page people or, worse, close a real alert. SNS signs every
// message with a key whose certificate it publishes at SigningCertURL, so the only things worth
// trusting are: a message that parses strictly ([Parse]), a certificate fetched over HTTPS from a host
// the operator allowed, and a signature over the exact string AWS documents ([StringToSign]). The
// [Verifier] does all of that, and also confirms subscriptions, because visiting a SubscribeURL is an
// outbound request that an attacker would love to aim at the instance metadata service.
//
// Errors are sentinel values to test with errors.Is, chosen so that a transport can answer SNS
// correctly: a malformed or forged message must not be retried (4xx), while a certificate that could
// not be fetched right now must be (5xx), since SNS redelivers anything that is not a 2xx. See
// [HTTPStatus].
package sns
