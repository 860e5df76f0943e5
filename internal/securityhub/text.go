package securityhub

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// cutRunes shortens s to at most n runes. It counts runes the way package alert does (an invalid
// byte is one rune), so a value cut here is never cut again there.
func cutRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	count := 0
	for i := range s {
		if count == n {
			return s[:i]
		}
		count++
	}
	return s
}

// clip shortens s to at most n runes and, when it had to, ends it with "…" so a reader knows.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return cutRunes(s, n-1) + "…"
}

// oneLine makes s safe to show on one line: control characters (newlines included) become spaces,
// runs of white space become one, invalid UTF-8 becomes U+FFFD. It keeps values from the finding
// (ids, names, types) from forging extra lines in a description.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// text makes multi-line free text (a description, remediation) safe to embed: valid UTF-8, no
// control characters but newlines and tabs, no blank lines at either end.
func text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// escapeComponent percent-encodes everything but RFC 3986's unreserved characters, as JavaScript's
// encodeURIComponent nearly does; the Security Hub console decodes its search parameter with it.
func escapeComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// webURL returns s when it is an absolute http(s) URL fit to show a responder as a link, else "".
// Finding fields like SourceUrl are free text ("string" in AWS's own sample), and a javascript: URL
// must never become a link.
func webURL(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
	lower := strings.ToLower(s)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
		return ""
	}
	if len(s) > 2048 || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return ""
	}
	rest := s[strings.Index(s, "://")+3:]
	if rest == "" || rest[0] == '/' {
		return ""
	}
	return s
}
