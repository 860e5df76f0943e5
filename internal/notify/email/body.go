package email

import (
	"strings"
	"unicode/utf8"
)

// The two bodies are written by plain Go rather than by html/template and text/template: at 1,000
// pages a second the templates' reflection and per-action escaper calls took more CPU than the
// rest of sending a page (issue 6's benchmark). Every value goes through escapeHTML or escapeURL,
// which escape exactly as html/template does in the same places; the differential test in
// body_test.go renders with the original templates (testdata/templates) and requires the same
// bytes, for the golden messages and for fuzzed ones.

// writeText writes the text/plain part.
func writeText(b *strings.Builder, v *view) {
	if v.Test {
		b.WriteString("TEST NOTIFICATION - no alert needs attention.\n\n")
	}
	b.WriteString("[" + v.Priority)
	if v.PriorityName != "" {
		b.WriteString(" · " + v.PriorityName)
	}
	b.WriteString("] " + v.Kind)
	if v.TinyID != "" {
		b.WriteString(" " + v.TinyID)
	}
	b.WriteString("\n" + v.Title + "\n")
	if v.Escalation != "" {
		b.WriteString("\n" + v.Escalation + "\n")
	}
	if v.StateNote != "" {
		b.WriteString("\n" + v.StateNote + "\n")
	}
	if v.Ack != "" || v.Close != "" {
		b.WriteString("\n")
		if v.Ack != "" {
			b.WriteString("Acknowledge: " + v.Ack + "\n")
		}
		if v.Close != "" {
			b.WriteString("Close:       " + v.Close + "\n")
		}
	}
	b.WriteString("\n")
	writeTextFacts(b, v.Facts)
	if v.Description != "" {
		b.WriteString("\nWHAT HAPPENED\n\n" + v.Description + "\n")
	}
	if len(v.Details) > 0 {
		b.WriteString("\nDETAILS\n\n")
		writeTextFacts(b, v.Details)
	}
	if v.AlertURL != "" || v.Finding != "" {
		b.WriteString("\n")
		if v.AlertURL != "" {
			b.WriteString("Open in tocsin: " + v.AlertURL + "\n")
		}
		if v.Finding != "" {
			b.WriteString("Open in the AWS console: " + v.Finding + "\n")
		}
	}
	b.WriteString("\n-- \n" + v.Why + "\n")
	if v.Expiry != "" {
		b.WriteString(v.Expiry + "\n")
	}
}

func writeTextFacts(b *strings.Builder, facts []fact) {
	for _, f := range facts {
		b.WriteString(f.Label + ":" + f.Pad + " " + f.Value + "\n")
	}
}

// The HTML part's fixed markup. Inline styles, tables for layout and no external resources: what
// mail clients, Outlook among them, render alike.
const (
	htmlHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="x-apple-disable-message-reformatting">
<title>`
	htmlBodyStart = `</title>
</head>
<body style="margin:0;padding:0;background-color:#f3f4f6;color:#111827;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;-webkit-text-size-adjust:100%;">
<div style="display:none;max-height:0;overflow:hidden;opacity:0;color:transparent;mso-hide:all;">`
	htmlCardStart = `</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f3f4f6;">
<tr>
<td align="center" style="padding:16px 8px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:600px;background-color:#ffffff;border:1px solid #e5e7eb;border-top:6px solid `
	htmlTestBanner = `
<tr>
<td style="padding:12px 20px;background-color:#fef3c7;color:#78350f;font-size:15px;line-height:22px;font-weight:600;">Test notification: no alert needs attention.</td>
</tr>`
	htmlBadgesStart = `
<tr>
<td style="padding:20px 20px 0 20px;font-size:14px;line-height:24px;color:#4b5563;">
<span style="display:inline-block;margin-right:4px;padding:0 8px;border-radius:4px;background-color:`
	htmlStateBadge = ` <span style="display:inline-block;margin-right:4px;padding:0 8px;border-radius:4px;background-color:#e5e7eb;color:#1f2937;font-weight:700;white-space:nowrap;">`
	htmlTitleStart = `</span>
</td>
</tr>
<tr>
<td style="padding:10px 20px 0 20px;">
<h1 style="margin:0;font-size:21px;line-height:28px;font-weight:700;color:#111827;word-wrap:break-word;overflow-wrap:anywhere;">`
	htmlTitleEnd = `</h1>
</td>
</tr>`
	htmlEscalation = `
<tr>
<td style="padding:14px 20px 0 20px;">
<div style="padding:10px 12px;background-color:#fff7ed;border-left:4px solid #ea580c;color:#7c2d12;font-size:15px;line-height:22px;">`
	htmlStateNote = `
<tr>
<td style="padding:14px 20px 0 20px;">
<div style="padding:10px 12px;background-color:#ecfdf5;border-left:4px solid #059669;color:#064e3b;font-size:15px;line-height:22px;">`
	htmlNoteEnd = `</div>
</td>
</tr>`
	htmlButtonsStart = `
<tr>
<td style="padding:18px 20px 8px 20px;">
<table role="presentation" cellpadding="0" cellspacing="0" border="0">
<tr>`
	htmlAckStart = `
<td style="padding:0 10px 0 0;"><a href="`
	htmlAckEnd     = `" style="display:inline-block;padding:14px 20px;min-width:104px;background-color:#1d4ed8;border:1px solid #1d4ed8;border-radius:6px;color:#ffffff;font-size:16px;font-weight:700;line-height:20px;text-align:center;text-decoration:none;">Acknowledge</a></td>`
	htmlCloseStart = `
<td><a href="`
	htmlCloseEnd   = `" style="display:inline-block;padding:14px 20px;min-width:104px;background-color:#ffffff;border:1px solid #6b7280;border-radius:6px;color:#111827;font-size:16px;font-weight:700;line-height:20px;text-align:center;text-decoration:none;">Close</a></td>`
	htmlButtonsEnd = `
</tr>
</table>
</td>
</tr>`
	htmlFactsSection = `
<tr>
<td style="padding:12px 20px 0 20px;">
`
	htmlSectionEnd = `
</td>
</tr>`
	htmlWhatHappened = `
<tr>
<td style="padding:22px 20px 0 20px;">
<h2 style="margin:0 0 10px 0;font-size:13px;line-height:18px;font-weight:700;letter-spacing:0.05em;text-transform:uppercase;color:#6b7280;">What happened</h2>
<div style="font-size:15px;line-height:22px;color:#1f2937;word-wrap:break-word;overflow-wrap:anywhere;">`
	htmlWhatHappenedEnd = `
</div>
</td>
</tr>`
	htmlDetails = `
<tr>
<td style="padding:22px 20px 0 20px;">
<h2 style="margin:0 0 6px 0;font-size:13px;line-height:18px;font-weight:700;letter-spacing:0.05em;text-transform:uppercase;color:#6b7280;">Details</h2>
`
	htmlLinksStart = `
<tr>
<td style="padding:20px 20px 0 20px;font-size:15px;line-height:26px;">`
	htmlAlertLinkStart = `
<a href="`
	htmlAlertLinkEnd     = `" style="display:inline-block;margin:0 18px 0 0;color:#1d4ed8;font-weight:600;text-decoration:underline;">Open in tocsin</a>`
	htmlFindingLinkStart = `
<a href="`
	htmlFindingLinkEnd = `" style="display:inline-block;color:#1d4ed8;font-weight:600;text-decoration:underline;">Open the finding in the AWS console</a>`
	htmlFooterStart    = `
<tr>
<td style="padding:20px;">
<div style="padding-top:14px;border-top:1px solid #e5e7eb;color:#6b7280;font-size:13px;line-height:19px;">
`
	htmlEnd = `
</div>
</td>
</tr>
</table>
</td>
</tr>
</table>
</body>
</html>
`

	htmlFactsStart = `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;table-layout:fixed;">`
	htmlFactLabel  = `
<tr>
<td valign="top" width="100" style="width:100px;padding:8px 10px 8px 0;border-top:1px solid #e5e7eb;color:#6b7280;font-size:14px;line-height:20px;word-wrap:break-word;">`
	htmlFactValue = `</td>
<td valign="top" style="padding:8px 0;border-top:1px solid #e5e7eb;color:#111827;`
	htmlFactMono   = `font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,'Liberation Mono',monospace;font-size:14px;word-break:break-all;`
	htmlFactPlain  = `font-size:15px;word-wrap:break-word;overflow-wrap:anywhere;`
	htmlFactValue2 = `line-height:20px;">`
	htmlFactEnd    = `</td>
</tr>`
	htmlFactsEnd = `
</table>`

	htmlGap     = `<div style="height:12px;line-height:12px;font-size:12px;">&nbsp;</div>`
	htmlHeading = `<div style="padding:2px 0;font-weight:700;color:#111827;">`
	htmlItem    = `<div style="padding:2px 0 2px 18px;text-indent:-12px;">•&nbsp;&nbsp;`
	htmlField   = `<div style="padding:2px 0;"><span style="color:#6b7280;">`
	htmlPara    = `<div style="padding:2px 0;">`
	htmlLink    = `" style="color:#1d4ed8;text-decoration:underline;word-break:break-all;">`
)

// writeHTML writes the text/html part. v.Color is one of the priorities' colours, never outside
// input, so it is written as it is.
func writeHTML(b *strings.Builder, v *view) {
	b.WriteString(htmlHead)
	escapeHTML(b, v.Subject)
	b.WriteString(htmlBodyStart)
	escapeHTML(b, v.Preheader)
	b.WriteString(htmlCardStart)
	b.WriteString(v.Color + `;border-radius:8px;">`)
	if v.Test {
		b.WriteString(htmlTestBanner)
	}
	b.WriteString(htmlBadgesStart)
	b.WriteString(v.Color + `;color:#ffffff;font-weight:700;white-space:nowrap;">`)
	escapeHTML(b, v.Priority)
	if v.PriorityName != "" {
		b.WriteString(" · ")
		escapeHTML(b, v.PriorityName)
	}
	b.WriteString("</span>")
	if v.State != "" {
		b.WriteString(htmlStateBadge)
		escapeHTML(b, v.State)
		b.WriteString("</span>")
	}
	b.WriteString("\n" + `<span style="white-space:nowrap;">`)
	escapeHTML(b, v.Kind)
	if v.TinyID != "" {
		b.WriteString(" ")
		escapeHTML(b, v.TinyID)
	}
	b.WriteString(htmlTitleStart)
	escapeHTML(b, v.Title)
	b.WriteString(htmlTitleEnd)
	writeEscaped(b, htmlEscalation, v.Escalation, htmlNoteEnd)
	writeEscaped(b, htmlStateNote, v.StateNote, htmlNoteEnd)
	if v.Ack != "" || v.Close != "" {
		b.WriteString(htmlButtonsStart)
		writeLink(b, htmlAckStart, v.Ack, htmlAckEnd)
		writeLink(b, htmlCloseStart, v.Close, htmlCloseEnd)
		b.WriteString(htmlButtonsEnd)
	}
	if len(v.Facts) > 0 {
		b.WriteString(htmlFactsSection)
		writeHTMLFacts(b, v.Facts)
		b.WriteString(htmlSectionEnd)
	}
	if len(v.DescriptionHTML) > 0 {
		b.WriteString(htmlWhatHappened)
		for _, l := range v.DescriptionHTML {
			b.WriteString("\n")
			switch l.Kind {
			case "gap":
				b.WriteString(htmlGap)
				continue
			case "heading":
				b.WriteString(htmlHeading)
			case "item":
				b.WriteString(htmlItem)
			case "field":
				b.WriteString(htmlField)
				escapeHTML(b, l.Label)
				b.WriteString("</span> ")
			default:
				b.WriteString(htmlPara)
			}
			writeSegs(b, l.Segs)
			b.WriteString("</div>")
		}
		b.WriteString(htmlWhatHappenedEnd)
	}
	if len(v.Details) > 0 {
		b.WriteString(htmlDetails)
		writeHTMLFacts(b, v.Details)
		b.WriteString(htmlSectionEnd)
	}
	if v.AlertURL != "" || v.Finding != "" {
		b.WriteString(htmlLinksStart)
		writeLink(b, htmlAlertLinkStart, v.AlertURL, htmlAlertLinkEnd)
		writeLink(b, htmlFindingLinkStart, v.Finding, htmlFindingLinkEnd)
		b.WriteString(htmlSectionEnd)
	}
	b.WriteString(htmlFooterStart)
	escapeHTML(b, v.Why)
	if v.Expiry != "" {
		b.WriteString("<br>\n")
		escapeHTML(b, v.Expiry)
	}
	b.WriteString(htmlEnd)
}

// writeEscaped writes text, escaped, between start and end; nothing when text is empty.
func writeEscaped(b *strings.Builder, start, text, end string) {
	if text == "" {
		return
	}
	b.WriteString(start)
	escapeHTML(b, text)
	b.WriteString(end)
}

// writeLink writes url as an href value between start and end; nothing when url is empty.
func writeLink(b *strings.Builder, start, url, end string) {
	if url == "" {
		return
	}
	b.WriteString(start)
	escapeURL(b, url)
	b.WriteString(end)
}

func writeHTMLFacts(b *strings.Builder, facts []fact) {
	b.WriteString(htmlFactsStart)
	for _, f := range facts {
		b.WriteString(htmlFactLabel)
		escapeHTML(b, f.Label)
		b.WriteString(htmlFactValue)
		if f.Mono {
			b.WriteString(htmlFactMono)
		} else {
			b.WriteString(htmlFactPlain)
		}
		b.WriteString(htmlFactValue2)
		escapeHTML(b, f.Value)
		b.WriteString(htmlFactEnd)
	}
	b.WriteString(htmlFactsEnd)
}

func writeSegs(b *strings.Builder, segs []seg) {
	for _, s := range segs {
		if s.URL == "" {
			escapeHTML(b, s.Text)
			continue
		}
		b.WriteString(`<a href="`)
		escapeURL(b, s.URL)
		b.WriteString(htmlLink)
		escapeHTML(b, s.Text)
		b.WriteString("</a>")
	}
}

// escapeHTML writes s as text or a quoted attribute value, as html/template escapes a string there:
// the five HTML specials, '+' (against UTF-7 sniffing) and NUL, which becomes U+FFFD.
func escapeHTML(b *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(repl)
		last = i + 1
	}
	b.WriteString(s[last:])
}

// escapeURL writes u as an href value, as html/template does: a URL whose scheme is not http,
// https or mailto becomes "#ZgotmplZ"; bytes that a URL may not hold as they are are
// percent-encoded (valid escapes are kept); then the result is escaped as an attribute.
func escapeURL(b *strings.Builder, u string) {
	if scheme, _, ok := strings.Cut(u, ":"); ok && !strings.Contains(scheme, "/") &&
		!strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "mailto") {
		b.WriteString("#ZgotmplZ")
		return
	}
	const hex = "0123456789abcdef"
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			b.WriteByte(c)
		case strings.IndexByte("-._~!#$*,/:;=?@[]", c) >= 0:
			b.WriteByte(c)
		case c == '&':
			b.WriteString("&amp;")
		case c == '+':
			b.WriteString("&#43;")
		case c == '%' && i+2 < len(u) && isHex(u[i+1]) && isHex(u[i+2]):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// htmlSize estimates the HTML part's length, so that its buffer is allocated once.
func htmlSize(v *view) int {
	n := 9000 + len(v.Description)*2
	for _, f := range v.Details {
		n += 600 + len(f.Value)
	}
	return n + utf8.UTFMax*len(v.Title)
}
