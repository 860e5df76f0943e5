// Package awsapi is tocsin's adapter to the AWS APIs behind Security Hub write-back: it assumes an
// integration's role with STS and calls BatchUpdateFindings, so that what people do in tocsin
// (acknowledge, close, add a note, change the priority) shows on the finding.
//
// It keeps the AWS SDK out of the rest of tocsin: package securityhub stays pure, and the write-back
// job deals only in Items, Batches, Results and one question about errors, IsPermanent.
//
// The job queue owns retries. So this package retries next to nothing itself (see NewClient), says
// of every failure whether it is worth retrying, both for a whole call (IsPermanent) and per finding
// (Failed.Retry), and keeps the queue within AWS's quotas with a token bucket per account and
// region, waited on before each call, instead of learning the quota from throttling errors.
//
// Credentials: the base identity (the default credential chain, or Options.BaseConfig) assumes each
// integration's role, with its ExternalId, at STS in the integration's region. Each role's temporary
// credentials are cached until shortly before they expire and shared by every call for that role.
// Secrets and session tokens are never logged.
//
// Check drives the same path once, step by step, for `tocsin aws check`. Package awstest is the
// HTTP stand-in for STS and Security Hub that the tests run against.
package awsapi
