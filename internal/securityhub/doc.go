// Package securityhub turns what AWS Security Hub sends through EventBridge into alert decisions.
//
// Security Hub is tocsin's main source of alerts, and its input is the least trusted: it arrives from
// the internet, possibly replayed, possibly from a misconfigured rule, at the rate a large AWS
// organisation produces findings. So this package is pure — no HTTP, no database, no AWS SDK — and
// split into three steps that the intake endpoint, the tests and the fuzzers can each drive alone:
//
//   - ParseEvent reads an EventBridge event, checks the envelope, the number of findings and the few
//     fields every later step relies on, and refuses anything else with an *Error whose text is safe
//     to send back to the client.
//   - Map turns one ASFF finding into a Decision (create an alert, or close the open one) following
//     the "Security Hub mapping" table in DESIGN.md, already within every limit of package alert, so
//     that a well-formed finding can never be refused later by alert.Service.
//   - Filter, a per-integration setting, says which findings are not worth an alert. It can drop only
//     creates, never closes, so that an alert always closes when its finding resolves.
//
// Decide runs Map and Filter over a parsed event; the caller commits the decisions in one
// transaction.
//
// Field names of the ASFF types follow the AWS Security Finding Format (and the AWS SDK for Go)
// rather than Go initialisms, so that Finding.AwsAccountId can be found by the name AWS documents.
package securityhub
