package securityhub

import (
	"fmt"
	"slices"
	"strings"
)

// Filter is an integration's choice of which findings are worth an alert. It is stored as JSON with
// the integration's settings (`filter: {minSeverity: MEDIUM}` in `tocsin apply`). The zero value
// lets every active finding through.
//
// A filter can drop exactly one thing: the create of an alert for a finding from a "Security Hub
// Findings - Imported" event (Decide turns that Decision into ActionDrop). It never drops
//   - a close: a finding that is resolved, suppressed, archived or passed closes its alert whatever
//     the filter says, or an alert made before the filter changed would stay open for ever;
//   - a finding sent by a Custom Action, or Insight Results: a person chose to send them.
//
// Allows says the same for one finding, so it is safe to call on any finding.
type Filter struct {
	// MinSeverity drops findings whose severity (Severity.Level) is below this label. "" lets
	// every severity through. A finding without any severity counts as MEDIUM, as its P3 alert does.
	MinSeverity string `json:"minSeverity,omitempty"`
	// ProductNames, when not empty, lets through only findings whose product (Finding.Product,
	// e.g. "GuardDuty", "Security Hub", "Prowler", compared without regard to case) or whose
	// ProductArn is listed.
	ProductNames []string `json:"productNames,omitempty"`
	// AccountIDs, when not empty, lets through only findings of these AWS accounts (AwsAccountId).
	AccountIDs []string `json:"accountIds,omitempty"`
	// RecordStates lets through findings in these record states; empty means ACTIVE only, and a
	// finding without a record state counts as ACTIVE. An ARCHIVED finding always closes its alert
	// and never creates one, so listing ARCHIVED changes nothing; what this setting can do is keep
	// out states other than ACTIVE and ARCHIVED that a third-party product might invent.
	RecordStates []string `json:"recordStates,omitempty"`
}

// Validate reports settings that could never match what Security Hub sends, so that a typo is
// refused when the integration is saved instead of silently dropping every finding.
func (f Filter) Validate() error {
	if f.MinSeverity != "" && !validLabel(upper(f.MinSeverity)) {
		return fmt.Errorf("filter.minSeverity: must be one of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, not %q", f.MinSeverity)
	}
	for _, s := range f.RecordStates {
		if u := upper(s); u != RecordActive && u != RecordArchived {
			return fmt.Errorf("filter.recordStates: must be ACTIVE or ARCHIVED, not %q", s)
		}
	}
	for _, p := range f.ProductNames {
		if strings.TrimSpace(p) == "" {
			return fmt.Errorf("filter.productNames: names must not be empty")
		}
	}
	for _, a := range f.AccountIDs {
		if strings.TrimSpace(a) == "" {
			return fmt.Errorf("filter.accountIds: account ids must not be empty")
		}
	}
	return nil
}

// Allows reports whether the finding may create an alert and, when not, why (for logs; the reason
// quotes finding values, so do not use it as a metric label). A finding that closes its alert is
// always allowed.
func (f Filter) Allows(fi Finding) (ok bool, reason string) {
	if fi.CloseReason() != "" {
		return true, ""
	}
	state := upper(fi.RecordState)
	if state == "" {
		state = RecordActive
	}
	allowedStates := []string{RecordActive}
	if len(f.RecordStates) > 0 {
		allowedStates = allowedStates[:0]
		for _, s := range f.RecordStates {
			allowedStates = append(allowedStates, upper(s))
		}
	}
	if !slices.Contains(allowedStates, state) {
		return false, fmt.Sprintf("record state %s is not one of %s", quote(state), strings.Join(allowedStates, ", "))
	}
	if min := upper(f.MinSeverity); min != "" {
		level := fi.Severity.Level()
		if severityRank(level) < severityRank(min) {
			if level == "" {
				level = "unknown"
			}
			return false, fmt.Sprintf("severity %s is below the minimum %s", level, min)
		}
	}
	if len(f.ProductNames) > 0 {
		product := fi.Product()
		match := slices.ContainsFunc(f.ProductNames, func(p string) bool {
			p = strings.TrimSpace(p)
			return strings.EqualFold(p, product) || p == fi.ProductArn
		})
		if !match {
			return false, fmt.Sprintf("product %s is not in the filter's product names", quote(product))
		}
	}
	if len(f.AccountIDs) > 0 {
		account := strings.TrimSpace(fi.AwsAccountId)
		if !slices.ContainsFunc(f.AccountIDs, func(a string) bool { return strings.TrimSpace(a) == account }) {
			return false, fmt.Sprintf("account %s is not in the filter's account ids", quote(account))
		}
	}
	return true, ""
}
