// Package cloudformation writes the CloudFormation (YAML) for the AWS side of a tocsin Security Hub
// integration, as printed by `tocsin aws template --integration NAME [--org]`.
//
// The flow it sets up is the one in DESIGN.md: Security Hub -> EventBridge rule -> SNS topic ->
// HTTPS subscription to tocsin's intake, plus a "Send to tocsin" custom action and the role through
// which tocsin writes acknowledgements, closes, notes and priorities back with BatchUpdateFindings.
//
//   - Template is for one account and Region. With a Security Hub administrator account and
//     cross-Region aggregation, findings of every member account and linked Region arrive in the
//     administrator's aggregation Region, so this template, deployed there once, covers the whole
//     organisation. That is the simpler path and the one to recommend.
//   - OrgTemplate is for organisations without aggregation: a service-managed StackSet puts the
//     delivery part in every account and Region of chosen organizational units (as the seed blog
//     does with StackSets), and the write-back role, once, in the deploying account.
//
// The EventBridge rule applies the integration's filter (securityhub.Filter) early, to save
// traffic, but is never stricter than it: the events that close an alert always pass. tocsin
// applies the filter again on what arrives, so the rule is an optimisation, not the rule of record.
//
// Output is deterministic — keys in a fixed order, no dates, only a template version — so that a
// regenerated template can be diffed against the deployed one.
package cloudformation
