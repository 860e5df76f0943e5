package securityhub

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tocsin-dev/tocsin/internal/alert"
)

// How much of each part of a finding the description shows. The sum stays well under
// alert.MaxDescriptionRunes for any finding Security Hub accepts (its own limits are smaller), so
// only hostile input is cut, and then the links at the end survive (see describe).
const (
	maxWhatRunes        = 4000 // Description: ASFF allows 1024
	maxListedResources  = 10   // ASFF allows 32
	maxResourceIDRunes  = 256
	maxListedReasons    = 5
	maxRemediationRunes = 1500 // ASFF allows 512
	maxNoteRunes        = 1000
	maxFactRunes        = 200 // one-line facts: times, names, labels
	maxConsoleURLBytes  = 4096
)

// describe writes what a responder needs to act without opening anything else: what happened, where
// (account, region, resources), how bad, since when, how to fix it, and links to the source and to
// the finding in the console. The links and the finding Id come last but are never cut off: the body
// before them is cut instead.
func describe(f Finding, product, level string, by sentBy) string {
	var b strings.Builder
	line := func(label, value string) {
		if value != "" {
			b.WriteString(label + ": " + value + "\n")
		}
	}
	fact := func(s string) string { return clip(oneLine(s), maxFactRunes) }

	if by.customAction {
		name := fact(by.name)
		if name == "" {
			name = "(unnamed)"
		}
		b.WriteString("Sent from Security Hub with the custom action " + name + ".\n\n")
	}
	if what := clip(text(f.Description), maxWhatRunes); what != "" {
		b.WriteString(what + "\n\n")
	}

	line("Severity", severityText(f.Severity, level))
	if p := fact(product); p != "" {
		if c := fact(f.CompanyName); c != "" && !strings.EqualFold(c, p) {
			p += " (" + c + ")"
		}
		line("Product", p)
	}
	account := fact(f.AwsAccountId)
	if name := fact(f.AwsAccountName); name != "" {
		account += " (" + name + ")"
	}
	line("Account", account)
	line("Region", f.HomeRegion())
	if n := len(f.Resources); n > 0 {
		b.WriteString("Resources:\n")
		for i, r := range f.Resources {
			if i == maxListedResources {
				fmt.Fprintf(&b, "  … and %d more\n", n-i)
				break
			}
			b.WriteString("  - " + strings.TrimSpace(fact(r.Type)+" "+clip(oneLine(r.Id), maxResourceIDRunes)))
			if reg := r.Region; validRegion(reg) && reg != f.HomeRegion() {
				b.WriteString(" (" + reg + ")")
			}
			b.WriteString("\n")
		}
	}
	if c := f.Compliance; c.Status != "" || c.SecurityControlId != "" {
		status := fact(upper(c.Status))
		if id := fact(c.SecurityControlId); id != "" {
			status = strings.TrimSpace(status + " (control " + id + ")")
		}
		line("Compliance", status)
		for i, r := range c.StatusReasons {
			if i == maxListedReasons {
				break
			}
			reason := fact(r.ReasonCode)
			if desc := fact(r.Description); desc != "" {
				reason = strings.TrimPrefix(reason+": "+desc, ": ")
			}
			if reason != "" {
				b.WriteString("  - " + reason + "\n")
			}
		}
	}
	line("Workflow status", fact(f.WorkflowStatus()))
	line("Record state", fact(upper(f.RecordState)))
	line("First observed", fact(f.FirstObservedAt))
	line("Last observed", fact(f.LastObservedAt))
	if f.FirstObservedAt == "" {
		line("Created", fact(f.CreatedAt))
	}
	line("Updated", fact(f.UpdatedAt))

	rec := f.Remediation.Recommendation
	if what, link := clip(text(rec.Text), maxRemediationRunes), webURL(rec.Url); what != "" || link != "" {
		b.WriteString("\nRemediation:\n")
		if what != "" {
			b.WriteString(what + "\n")
		}
		if link != "" {
			b.WriteString(link + "\n")
		}
	}
	if note := clip(text(f.Note.Text), maxNoteRunes); note != "" {
		by := fact(f.Note.UpdatedBy)
		if at := fact(f.Note.UpdatedAt); at != "" {
			by = strings.TrimSpace(by + " at " + at)
		}
		if by != "" {
			by = " (" + by + ")"
		}
		b.WriteString("\nNote" + by + ":\n" + note + "\n")
	}

	var links strings.Builder
	if src := webURL(f.SourceUrl); src != "" {
		links.WriteString("Source: " + src + "\n")
	}
	if u := ConsoleURL(f); u != "" {
		links.WriteString("Open in Security Hub: " + u + "\n")
	}
	links.WriteString("Finding ID: " + clip(oneLine(f.Id), maxDetailValue))
	return joinWithin(b.String(), links.String(), alert.MaxDescriptionRunes)
}

// joinWithin joins body and tail with a blank line, cutting body so that the whole fits in max runes.
func joinWithin(body, tail string, max int) string {
	body = strings.TrimSpace(body)
	tail = strings.TrimSpace(tail)
	if body == "" {
		return cutRunes(tail, max)
	}
	room := max - utf8.RuneCountInString(tail) - 2
	if room < 1 {
		return cutRunes(tail, max)
	}
	return clip(body, room) + "\n\n" + tail
}

func severityText(s Severity, level string) string {
	if level == "" {
		level = "unknown"
	}
	var more []string
	if s.Normalized != nil {
		more = append(more, "normalized "+strconv.Itoa(*s.Normalized))
	}
	if o := clip(oneLine(s.Original), 40); o != "" && !strings.EqualFold(o, level) {
		more = append(more, "original "+o)
	}
	if len(more) == 0 {
		return level
	}
	return level + " (" + strings.Join(more, ", ") + ")"
}

// consoleHost is the AWS console of a partition; "" for partitions without a public console
// (the ISO partitions), where no link is better than a wrong one.
func consoleHost(partition string) string {
	switch partition {
	case "aws":
		return "console.aws.amazon.com"
	case "aws-cn":
		return "console.amazonaws.cn"
	case "aws-us-gov":
		return "console.amazonaws-us-gov.com"
	}
	return ""
}

// ConsoleURL links to the finding in the Security Hub (CSPM) console of its partition and region:
//
//	https://HOST/securityhub/home?region=REGION#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253AID
//
// HOST is console.aws.amazon.com, console.amazonaws.cn (aws-cn) or console.amazonaws-us-gov.com
// (aws-us-gov); the search says "Id EQUALS ID", percent-encoded twice as the console encodes its own
// search links, ID included. The region is the finding's own (Finding.HomeRegion), where the finding
// always exists, even when the event came through an aggregation region. "" when the partition has
// no public console or no region is known.
func ConsoleURL(f Finding) string {
	host, region := consoleHost(f.Partition()), f.HomeRegion()
	if host == "" || region == "" || f.Id == "" {
		return ""
	}
	u := "https://" + host + "/securityhub/home?region=" + region +
		"#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253A" + escapeComponent(escapeComponent(f.Id))
	if len(u) > maxConsoleURLBytes {
		return ""
	}
	return u
}

// insightConsoleURL links to an insight: https://HOST/securityhub/home?region=REGION#/insights/ARN.
func insightConsoleURL(arn, region string) string {
	partition := arnField(arn, 1)
	if partition == "" {
		partition = "aws"
	}
	host := consoleHost(partition)
	if host == "" || !validRegion(region) {
		return ""
	}
	u := "https://" + host + "/securityhub/home?region=" + region + "#/insights/" + escapeComponent(arn)
	if len(u) > maxConsoleURLBytes {
		return ""
	}
	return u
}

// Insight results shown: Security Hub sends at most 100, and 100 values of maxInsightValueRunes fit
// in a description.
const (
	maxListedInsightResults = 100
	maxInsightValueRunes    = 120
)

// MapInsight makes the one alert an Insight Results event stands for: a person chose to send an
// insight's results through a custom action, and wants them looked at as a whole, not one alert per
// group. Its alias is Alias(insightArn), so sending the same insight again while its alert is open
// counts another occurrence instead of paging again; its message is "Security Hub insight: NAME"; its
// description lists the results; its priority is alert.DefaultPriority (P3), since an insight has no
// severity of its own. ev must be a parsed Insight Results event.
func MapInsight(ev *Event, opts Options) Decision {
	d := ev.Detail
	name := oneLine(d.InsightName)
	if name == "" {
		name = oneLine(d.InsightArn)
	}
	alias := Alias(d.InsightArn)

	var b strings.Builder
	fact := func(s string) string { return clip(oneLine(s), maxFactRunes) }
	action := fact(d.ActionName)
	if action == "" {
		action = "(unnamed)"
	}
	b.WriteString("Insight results sent from Security Hub with the custom action " + action)
	if desc := fact(d.ActionDescription); desc != "" {
		b.WriteString(" (" + desc + ")")
	}
	b.WriteString(".\n\n")
	b.WriteString("Insight: " + fact(name) + "\n")
	if rt := fact(d.ResultType); rt != "" {
		b.WriteString("Grouped by: " + rt + "\n")
	}
	if a := fact(ev.Account); a != "" {
		b.WriteString("Account: " + a + "\n")
	}
	if validRegion(ev.Region) {
		b.WriteString("Region: " + ev.Region + "\n")
	}
	fmt.Fprintf(&b, "Results (%d):\n", len(d.InsightResults))
	for i, r := range d.InsightResults {
		if i == maxListedInsightResults {
			fmt.Fprintf(&b, "  … and %d more\n", len(d.InsightResults)-i)
			break
		}
		fmt.Fprintf(&b, "  - %s: %d\n", clip(oneLine(r.Value), maxInsightValueRunes), r.Count)
	}
	var links strings.Builder
	if u := insightConsoleURL(d.InsightArn, ev.Region); u != "" {
		links.WriteString("Open in Security Hub: " + u + "\n")
	}
	links.WriteString("Insight ARN: " + clip(oneLine(d.InsightArn), maxDetailValue))

	var tags tagSet
	tags.add(opts.Tags...)
	tags.add("insight", ev.Account)
	if validRegion(ev.Region) {
		tags.add(ev.Region)
	}

	var details detailSet
	details.add("InsightArn", d.InsightArn)
	details.add("InsightName", d.InsightName)
	details.add("ResultType", d.ResultType)
	details.add("Results", strconv.Itoa(len(d.InsightResults)))
	details.add("CustomAction", d.ActionName)
	details.add("AwsAccountId", ev.Account)
	if validRegion(ev.Region) {
		details.add("Region", ev.Region)
	}

	return Decision{
		Action: ActionCreate,
		Alias:  alias,
		Request: alert.CreateRequest{
			Message:     message("Security Hub insight: "+name, "Security Hub insight"),
			Alias:       alias,
			Description: joinWithin(b.String(), links.String(), alert.MaxDescriptionRunes),
			Responders:  cloneResponders(opts.Responders),
			Tags:        tags.list,
			Details:     details.m,
			Entity:      cutRunes(name, alert.MaxEntityRunes),
			Source:      "Security Hub",
			Priority:    alert.DefaultPriority,
		},
	}
}

func cloneResponders(rs []alert.Responder) []alert.Responder {
	if rs == nil {
		return nil
	}
	return append([]alert.Responder(nil), rs...)
}
