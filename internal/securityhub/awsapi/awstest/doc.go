// Package awstest is a real HTTP server standing in for AWS STS and Security Hub in tests of
// Security Hub write-back, so that those tests run the AWS SDK for Go end to end — endpoint
// resolution, SigV4 signing, credential caching, wire formats and error decoding — with nothing but
// Go.
//
// It is strict where AWS is strict, because a lenient fake passes code that AWS refuses: it
// recomputes every SigV4 signature with its own implementation of AWS's published algorithm and
// checks the credential scope's service and region; it lets only its base identity assume a role,
// only with the role's ExternalId, and only that role's temporary credentials (with their session
// token) call Security Hub, and only for the actions the role allows; it validates request bodies
// against the published API (required members, enums, lengths, at most 100 findings, no unknown
// fields) and answers in AWS's shapes (query-protocol XML for STS, REST-JSON with x-amzn-ErrorType
// for Security Hub); and it enforces the BatchUpdateFindings rate quota with a token bucket.
//
// Tests script faults (Inject, Unprocess) and inspect what was called (Calls, CallsTo,
// RateViolations). Point a client at the server either through the environment (Env, as an
// operator would with AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_SECURITYHUB) or with Config.
package awstest
