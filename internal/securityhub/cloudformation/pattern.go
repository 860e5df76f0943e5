package cloudformation

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tocsin-dev/tocsin/internal/securityhub"
)

// severitiesFrom lists min and every label above it, least severe first.
func severitiesFrom(min string) []string {
	all := []string{
		securityhub.SeverityInformational, securityhub.SeverityLow, securityhub.SeverityMedium,
		securityhub.SeverityHigh, securityhub.SeverityCritical,
	}
	i := slices.Index(all, min)
	if i < 0 {
		return nil
	}
	return all[i:]
}

// importedPattern is the pattern of the rule for "Findings - Imported" events: the integration's
// filter applied early, so that EventBridge and SNS do not carry findings tocsin would only drop.
//
// It must never be stricter than securityhub.Filter, whose rule is that a filter may stop an alert
// from being created but never from being closed. So the filter is one side of an $or whose other
// branches are the events that close an alert (Workflow.Status RESOLVED or SUPPRESSED, RecordState
// ARCHIVED, Compliance.Status PASSED), which pass whatever the filter says. Otherwise a finding whose
// severity was lowered below the minimum after its alert opened (by its product, or by tocsin
// writing a changed priority back), or an alert opened before the filter was narrowed, could never
// close. For the same reason nothing filters on Workflow.Status as such.
//
// Within the filter's side:
//   - MinSeverity lists that label and every one above it. INFORMATIONAL would list all five, which
//     only drops findings without a label (that Filter counts as MEDIUM and lets through), so it
//     adds no condition.
//   - Products are matched ignoring case, as Filter does; one given as an ARN matches ProductArn,
//     so names and ARNs make two branches. Security Hub fills ProductName on every finding it
//     imports.
//   - Record states and accounts are matched exactly, and only when given.
func importedPattern(p Params) *yaml.Node {
	var common []field
	if p.MinSeverity != securityhub.SeverityInformational {
		if labels := severitiesFrom(p.MinSeverity); len(labels) > 0 {
			common = append(common, f("Severity", obj(f("Label", strs(labels...)))))
		}
	}
	if len(p.RecordStates) > 0 {
		var states []string
		for _, s := range p.RecordStates {
			if u := strings.ToUpper(strings.TrimSpace(s)); !slices.Contains(states, u) {
				states = append(states, u)
			}
		}
		common = append(common, f("RecordState", strs(states...)))
	}
	if len(p.AccountIDs) > 0 {
		ids := make([]string, 0, len(p.AccountIDs))
		for _, a := range p.AccountIDs {
			ids = append(ids, strings.TrimSpace(a))
		}
		common = append(common, f("AwsAccountId", strs(ids...)))
	}

	var names, arns []string
	for _, n := range p.ProductNames {
		n = strings.TrimSpace(n)
		if strings.HasPrefix(n, "arn:") {
			arns = append(arns, n)
		} else {
			names = append(names, n)
		}
	}
	var branches []*yaml.Node
	if len(names) > 0 {
		match := flow()
		for _, name := range names {
			match.Content = append(match.Content, obj(f("equals-ignore-case", str(name))))
		}
		branches = append(branches, obj(slices.Concat(common, []field{f("ProductName", match)})...))
	}
	if len(arns) > 0 {
		branches = append(branches, obj(slices.Concat(common, []field{f("ProductArn", strs(arns...))})...))
	}
	if len(branches) == 0 && len(common) > 0 {
		branches = append(branches, obj(common...))
	}

	pattern := []field{
		f("source", strs("aws.securityhub")),
		f("detail-type", strs(securityhub.DetailTypeFindingsImported)),
	}
	if len(branches) > 0 {
		closes := []*yaml.Node{
			obj(f("Workflow", obj(f("Status", strs(securityhub.WorkflowResolved, securityhub.WorkflowSuppressed))))),
			obj(f("RecordState", strs(securityhub.RecordArchived))),
			obj(f("Compliance", obj(f("Status", strs(securityhub.CompliancePassed))))),
		}
		pattern = append(pattern, f("detail", obj(f("findings", obj(fc(
			"The integration's filter, or any event that closes an alert: a filter never keeps an alert open.",
			"$or", list(slices.Concat(branches, closes)...)))))))
	}
	return obj(pattern...)
}

// customActionPattern matches what a person sends with this stack's custom action, and no other
// custom action's: Security Hub puts the action target's ARN in the event's resources. The action
// works on findings and on insight results, which arrive as different detail types; tocsin takes
// both. Nothing else is filtered, since a person chose to send them.
func customActionPattern() *yaml.Node {
	return obj(
		f("source", strs("aws.securityhub")),
		f("detail-type", strs(securityhub.DetailTypeCustomAction, securityhub.DetailTypeInsightResults)),
		f("resources", flow(getAtt(idActionTarget, "ActionTargetArn"))),
	)
}
