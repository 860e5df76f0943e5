package email

import (
	"regexp"
	"strings"
	"testing"
)

// The regular expressions parseDescription's matchers replaced, as the reference they must agree
// with.
var (
	referenceField = regexp.MustCompile(`^([A-Z][A-Za-z0-9 ()./_-]{0,38}): (\S.*)$`)
	referenceItem  = regexp.MustCompile(`^\s*[-*•]\s+(.*)$`)
	referenceLink  = regexp.MustCompile(`https?://[^\s<>"]+`)
)

func requireMatchersAgree(t *testing.T, s string) {
	t.Helper()
	label, value, ok := fieldParts(s)
	if sub := referenceField.FindStringSubmatch(s); (sub != nil) != ok || ok && (sub[1] != label || sub[2] != value) {
		t.Errorf("fieldParts(%q) = %q, %q, %v; the expression finds %q", s, label, value, ok, sub)
	}
	text, ok := itemText(s)
	if sub := referenceItem.FindStringSubmatch(s); (sub != nil) != ok || ok && sub[1] != text {
		t.Errorf("itemText(%q) = %q, %v; the expression finds %q", s, text, ok, sub)
	}
	start, end := nextLink(s)
	if loc := referenceLink.FindStringIndex(s); loc == nil && start != -1 || loc != nil && (loc[0] != start || loc[1] != end) {
		t.Errorf("nextLink(%q) = %d, %d; the expression finds %v", s, start, end, loc)
	}
}

func TestDescriptionLineMatchersAgreeWithTheirExpressions(t *testing.T) {
	for _, s := range []string{
		"", "Severity: HIGH", "Severity:HIGH", "Severity:  HIGH", "Severity: ", "severity: HIGH",
		"A: b", "A:: b", "Resource (EC2)/x_y-z.1: i-0abc: more", "Remediation: https://docs.aws.amazon.com/x.",
		"ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHI: 39 characters", "ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJ: 40",
		"Label: \tvalue", "Label: é", "Lab\u00e9l: x", "- item", "  * item", "• item", "•item", "-item", "- ", "-",
		"\t-\titem https://a.example/x", "x https://a.example/b?c=d&e=<f> http:// https://", "httphttps://x",
		"https://", "https://\"", "HTTPS://A.EXAMPLE", "see http://a.example/(b).", "hhttp://x", "https:/x http://y",
	} {
		requireMatchersAgree(t, s)
	}
}

func FuzzDescriptionLineMatchersAgreeWithTheirExpressions(f *testing.F) {
	for _, s := range []string{"Severity: HIGH", "  - item https://a.example/x?y=1", "• x", "Label:  x", "http://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// As parseDescription sees them: lines of a cleaned text, as they are and trimmed.
		for line := range strings.SplitSeq(cleanText(s), "\n") {
			requireMatchersAgree(t, line)
			requireMatchersAgree(t, strings.TrimSpace(line))
		}
	})
}
