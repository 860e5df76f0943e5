package securityhub

import "github.com/tocsin-dev/tocsin/internal/alert"

// The severity labels of ASFF, most severe first.
const (
	SeverityCritical      = "CRITICAL"
	SeverityHigh          = "HIGH"
	SeverityMedium        = "MEDIUM"
	SeverityLow           = "LOW"
	SeverityInformational = "INFORMATIONAL"
)

// Level is the severity label: Label when it is one of the five ASFF labels (in any case), else the
// label Security Hub itself derives from Normalized (90+ CRITICAL, 70+ HIGH, 40+ MEDIUM, 1+ LOW,
// 0 INFORMATIONAL). "" when the finding carries neither, which Security Hub never sends.
func (s Severity) Level() string {
	switch l := upper(s.Label); l {
	case SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInformational:
		return l
	}
	if s.Normalized == nil {
		return ""
	}
	switch n := *s.Normalized; {
	case n >= 90:
		return SeverityCritical
	case n >= 70:
		return SeverityHigh
	case n >= 40:
		return SeverityMedium
	case n >= 1:
		return SeverityLow
	default:
		return SeverityInformational
	}
}

// Priority is the alert priority for this severity: CRITICAL P1, HIGH P2, MEDIUM P3, LOW P4,
// INFORMATIONAL P5. A finding without any severity gets alert.DefaultPriority (P3): it neither pages
// as an emergency nor sinks out of sight.
func (s Severity) Priority() alert.Priority {
	switch s.Level() {
	case SeverityCritical:
		return alert.P1
	case SeverityHigh:
		return alert.P2
	case SeverityMedium:
		return alert.P3
	case SeverityLow:
		return alert.P4
	case SeverityInformational:
		return alert.P5
	}
	return alert.DefaultPriority
}

// LabelForPriority is the reverse of Severity.Priority, for writing a changed alert priority back to
// the finding's Severity.Label. It returns "" for an invalid priority.
func LabelForPriority(p alert.Priority) string {
	switch p {
	case alert.P1:
		return SeverityCritical
	case alert.P2:
		return SeverityHigh
	case alert.P3:
		return SeverityMedium
	case alert.P4:
		return SeverityLow
	case alert.P5:
		return SeverityInformational
	}
	return ""
}

// severityRank orders labels for Filter.MinSeverity; a finding without a severity ranks as MEDIUM,
// matching the P3 it gets.
func severityRank(label string) int {
	switch label {
	case SeverityCritical:
		return 4
	case SeverityHigh:
		return 3
	case SeverityLow:
		return 1
	case SeverityInformational:
		return 0
	}
	return 2
}

func validLabel(label string) bool {
	switch label {
	case SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInformational:
		return true
	}
	return false
}
