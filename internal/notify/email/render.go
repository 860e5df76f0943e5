package email

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tocsin-dev/tocsin/internal/notify"
)

// Rendered is one email as Send sends it.
type Rendered struct {
	Subject string
	Text    string // the text/plain part
	HTML    string // the text/html part

	Date time.Time // the Date header: Options.Now at rendering

	// MessageID is new for every email: a hash of the page's idempotency key, the time and random
	// bits, "<…@MessageIDDomain>".
	MessageID string

	// InReplyTo and References are both the alert's thread id, "<alert-ID@MessageIDDomain>", so
	// that every email about one alert lands in one thread. Empty when the alert has no id.
	InReplyTo  string
	References string
}

// integrationSecurityHub is Alert.Integration.Type for alerts made from Security Hub findings.
const integrationSecurityHub = "amazonsecurityhub"

// Limits that keep a hostile or broken alert from making an unreadable email.
const (
	maxSubjectMessageRunes = 160
	maxFactRunes           = 300
	maxPreviousRecipients  = 10
	maxDetails             = 50
	maxLinkTextRunes       = 80 // links up to this long show in full, longer ones as host and path
	maxShortLinkRunes      = 60
)

// Render makes the email for m: subject, both bodies and the headers that identify and thread it.
// Everything but Date and MessageID depends on m alone. Send uses it; it is exported so that tests
// and a CLI can show an email without sending it.
func (c *Channel) Render(m notify.Message) (Rendered, error) {
	r := renderBody(m)
	r.Date = c.now()
	var err error
	if r.MessageID, err = c.messageID(m, r.Date); err != nil {
		return Rendered{}, err
	}
	if id := threadID(m.Alert.ID); id != "" {
		r.InReplyTo = "<alert-" + id + "@" + c.idDomain + ">"
		r.References = r.InReplyTo
	}
	return r, nil
}

// messageID is unique per email; the hash of the idempotency key lets an operator match a
// delivery record to the mail server's logs.
func (c *Channel) messageID(m notify.Message, now time.Time) (string, error) {
	key := sha256.Sum256([]byte(m.IdempotencyKey + "\x00" + m.Alert.ID))
	var rnd [8]byte
	c.randMu.Lock()
	_, err := io.ReadFull(c.rand, rnd[:])
	c.randMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("making a Message-ID: %w", err)
	}
	return "<" + hex.EncodeToString(key[:6]) + "." + strconv.FormatInt(now.UnixMilli(), 36) + "." +
		hex.EncodeToString(rnd[:]) + "@" + c.idDomain + ">", nil
}

// threadID is the alert id when it can stand in a Message-ID as it is (a UUID can), else a hash of
// it; "" for no id.
func threadID(id string) string {
	if id == "" {
		return ""
	}
	ok := len(id) <= 100
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			ok = false
			break
		}
	}
	if ok {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "h" + hex.EncodeToString(sum[:16])
}

// view is what the bodies show. Every string is plain text; writeHTML escapes it.
type view struct {
	Subject   string
	Preheader string
	Test      bool

	Priority     string // "P2"
	PriorityName string // "High"
	Color        string // the priority's colour, for the badge and the top bar
	Kind         string // "GuardDuty · Security Hub finding", "Alert"
	TinyID       string // "#42"
	Title        string // the alert message

	State      string // "Acknowledged" or "Closed", "" for open and unacknowledged
	StateNote  string
	Escalation string

	Ack, Close, AlertURL, Finding string

	Facts   []fact
	Details []fact // the alert's details, for alerts not from Security Hub

	Description     string     // as given, for the text part
	DescriptionHTML []descLine // parsed into lines, for the HTML part

	Why    string
	Expiry string
}

type fact struct {
	Label string
	Pad   string // spaces after the label that align the values in the text part
	Value string
	Mono  bool // an identifier, shown in a fixed-width font that may break anywhere
}

type priorityStyle struct{ name, color string }

// The Opsgenie names of the priorities; the colours are dark enough for white text.
var priorities = map[string]priorityStyle{
	"P1": {"Critical", "#b91c1c"},
	"P2": {"High", "#c2410c"},
	"P3": {"Moderate", "#a16207"},
	"P4": {"Low", "#1d4ed8"},
	"P5": {"Informational", "#4b5563"},
}

// renderBody renders everything that depends on m alone.
func renderBody(m notify.Message) Rendered {
	v := newView(m)
	var text, html strings.Builder
	text.Grow(2048 + len(v.Description))
	writeText(&text, &v)
	html.Grow(htmlSize(&v))
	writeHTML(&html, &v)
	return Rendered{Subject: v.Subject, Text: strings.TrimRight(text.String(), "\n") + "\n", HTML: html.String()}
}

func newView(m notify.Message) view {
	a := m.Alert
	sh := a.Integration.Type == integrationSecurityHub
	v := view{
		Subject:  subject(m),
		Test:     m.Test,
		Priority: oneLine(a.Priority),
		Title:    clipRunes(oneLine(a.Message), 1000),
		Ack:      webLink(m.Links.Ack),
		Close:    webLink(m.Links.Close),
		AlertURL: webLink(m.Links.Alert),
		Finding:  webLink(m.Links.Finding),
	}
	if v.Title == "" {
		v.Title = "(no message)"
	}
	style, ok := priorities[v.Priority]
	if !ok {
		style = priorityStyle{"", "#4b5563"}
	}
	v.PriorityName, v.Color = style.name, style.color
	if a.TinyID > 0 {
		v.TinyID = "#" + strconv.FormatInt(a.TinyID, 10)
	}
	source := fact1(a.Source)
	switch {
	case sh && source != "":
		v.Kind = source + " · Security Hub finding"
	case sh:
		v.Kind = "Security Hub finding"
	case source != "":
		v.Kind = "Alert from " + source
	default:
		v.Kind = "Alert"
	}

	switch {
	case strings.EqualFold(a.Status, "closed"):
		v.State, v.StateNote = "Closed", "This alert is already closed. Nothing needs to be done unless it opens again."
	case a.Acknowledged:
		v.State, v.StateNote = "Acknowledged", "This alert has already been acknowledged: someone is working on it."
	}
	if m.Step > 1 || m.Round > 1 {
		v.Escalation = fmt.Sprintf("Escalation step %d (round %d).", m.Step, max(m.Round, 1))
		if names := people(m.PreviousRecipients); names != "" {
			v.Escalation += " Paged before: " + names + "."
		}
	}

	if sh {
		v.Facts = securityHubFacts(a)
	} else {
		v.Facts, v.Details = alertFacts(a)
	}
	v.Facts = append(v.Facts, timeFacts(a)...)
	padFacts(v.Facts)
	padFacts(v.Details)

	v.Description = cleanText(a.Description)
	v.DescriptionHTML = parseDescription(v.Description)
	v.Preheader = preheader(v)
	v.Why = why(m)
	v.Expiry = expiry(v.Ack != "", v.Close != "")
	return v
}

// subject is "[P2] GuardDuty: TITLE (ACCOUNT REGION)" for Security Hub alerts and "[P3] TITLE
// (SOURCE)" for others. It names nothing that changes while the alert is open (no step, no count),
// so that clients that thread by subject keep one thread per alert.
func subject(m notify.Message) string {
	a := m.Alert
	var b strings.Builder
	if m.Test {
		b.WriteString("[TEST] ")
	}
	if p := clipRunes(oneLine(a.Priority), 10); p != "" {
		b.WriteString("[" + p + "] ")
	}
	msg := clipRunes(oneLine(a.Message), maxSubjectMessageRunes)
	if msg == "" {
		msg = "(no message)"
	}
	source := clipRunes(oneLine(a.Source), 60)
	if a.Integration.Type == integrationSecurityHub {
		if source == "" {
			source = "Security Hub"
		}
		b.WriteString(source + ": " + msg)
		where := strings.TrimSpace(clipRunes(oneLine(a.Details["AwsAccountId"]), 20) + " " + clipRunes(oneLine(a.Details["Region"]), 30))
		if where != "" {
			b.WriteString(" (" + where + ")")
		}
		return b.String()
	}
	b.WriteString(msg)
	if source != "" && !strings.EqualFold(source, msg) {
		b.WriteString(" (" + source + ")")
	}
	return b.String()
}

func securityHubFacts(a notify.Alert) []fact {
	d := a.Details
	account := fact1(d["AwsAccountId"])
	if name := fact1(d["AwsAccountName"]); name != "" {
		account = strings.TrimSpace(account + " (" + name + ")")
	}
	return nonEmpty(
		fact{Label: "Severity", Value: fact1(d["Severity.Label"])},
		fact{Label: "Account", Value: account},
		fact{Label: "Region", Value: fact1(d["Region"])},
		fact{Label: "Resource", Value: fact1(a.Entity), Mono: true},
		fact{Label: "Product", Value: fact1(a.Source)},
		fact{Label: "Finding type", Value: fact1(d["Types"])},
		fact{Label: "Workflow", Value: fact1(d["Workflow.Status"])},
	)
}

// alertFacts are the fields Opsgenie shows for an alert, and its details sorted by key.
func alertFacts(a notify.Alert) (facts, details []fact) {
	priority := fact1(a.Priority)
	if s, ok := priorities[priority]; ok {
		priority += " · " + s.name
	}
	status := fact1(a.Status)
	if r, size := utf8.DecodeRuneInString(status); size > 0 {
		status = string(unicode.ToUpper(r)) + status[size:]
	}
	if a.Acknowledged {
		status = strings.TrimSpace(status + ", acknowledged")
	}
	integration := fact1(a.Integration.Name)
	if t := fact1(a.Integration.Type); t != "" && t != integration {
		integration = strings.TrimSpace(integration + " (" + t + ")")
	}
	facts = nonEmpty(
		fact{Label: "Priority", Value: priority},
		fact{Label: "Status", Value: status},
		fact{Label: "Source", Value: fact1(a.Source)},
		fact{Label: "Entity", Value: fact1(a.Entity), Mono: true},
		fact{Label: "Alias", Value: fact1(a.Alias), Mono: true},
		fact{Label: "Tags", Value: fact1(strings.Join(a.Tags, ", "))},
		fact{Label: "Integration", Value: integration},
	)
	keys := make([]string, 0, len(a.Details))
	for k := range a.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i == maxDetails {
			details = append(details, fact{Label: "…", Value: fmt.Sprintf("%d more", len(keys)-i)})
			break
		}
		if label := clipRunes(oneLine(k), 40); label != "" {
			details = append(details, fact{Label: label, Value: fact1(a.Details[k])})
		}
	}
	return facts, details
}

func timeFacts(a notify.Alert) []fact {
	count := ""
	if a.Count > 0 {
		count = strconv.Itoa(a.Count)
	}
	last := utc(a.LastOccurredAt)
	if last == utc(a.CreatedAt) {
		last = "" // one occurrence: "First seen" says it all
	}
	return nonEmpty(
		fact{Label: "First seen", Value: utc(a.CreatedAt)},
		fact{Label: "Last seen", Value: last},
		fact{Label: "Occurrences", Value: count},
	)
}

func nonEmpty(facts ...fact) []fact {
	return slices.DeleteFunc(facts, func(f fact) bool { return f.Value == "" })
}

func padFacts(facts []fact) {
	width := 0
	for _, f := range facts {
		width = max(width, utf8.RuneCountInString(f.Label))
	}
	for i := range facts {
		facts[i].Pad = strings.Repeat(" ", width-utf8.RuneCountInString(facts[i].Label))
	}
}

func utc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// people names persons by full name, or username when they have none, once each.
func people(ps []notify.Person) string {
	var names []string
	for _, p := range ps {
		name := fact1(p.FullName)
		if name == "" {
			name = fact1(p.Username)
		}
		if name == "" || slices.Contains(names, name) {
			continue
		}
		names = append(names, name)
	}
	if len(names) > maxPreviousRecipients {
		names = append(names[:maxPreviousRecipients], fmt.Sprintf("and %d more", len(names)-maxPreviousRecipients))
	}
	return strings.Join(names, ", ")
}

func preheader(v view) string {
	var parts []string
	if v.Escalation != "" {
		parts = append(parts, v.Escalation)
	}
	if v.StateNote != "" {
		parts = append(parts, v.StateNote)
	}
	for _, f := range v.Facts {
		switch f.Label {
		case "Severity", "Account", "Region", "Resource", "Priority", "Source", "Entity":
			parts = append(parts, f.Label+": "+f.Value)
		}
	}
	return clipRunes(strings.Join(parts, " · "), 200)
}

func why(m notify.Message) string {
	who := fact1(m.Recipient.Username)
	if who == "" {
		who = fact1(m.Contact.To)
	}
	switch {
	case m.Test:
		return "This is a test notification for " + who + ", sent to check that email reaches you. No alert needs attention."
	case m.Step > 0:
		step := "escalation step " + strconv.Itoa(m.Step)
		if m.Round > 1 {
			step += ", round " + strconv.Itoa(m.Round)
		}
		return "You got this email because you are on call for this alert (" + step + ") as " + who + "."
	}
	return "You got this email because you are notified about this alert as " + who + "."
}

func expiry(ack, closeLink bool) string {
	switch {
	case ack && closeLink:
		return "The Acknowledge and Close links are for you alone and expire; if one no longer works, open the alert in tocsin."
	case ack:
		return "The Acknowledge link is for you alone and expires; if it no longer works, open the alert in tocsin."
	case closeLink:
		return "The Close link is for you alone and expires; if it no longer works, open the alert in tocsin."
	}
	return ""
}

// webLink is u if it is an absolute http(s) URL on one line, else "": a link the email shows must
// open a web page, and a broken one is better left out than shown.
func webLink(u string) string {
	if u == "" || strings.ContainsFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	return u
}

// fact1 is a value for one line of the facts table.
func fact1(s string) string { return clipRunes(oneLine(s), maxFactRunes) }

// oneLine folds control characters and runs of white space (CR and LF among them, and Unicode line
// separators) into single spaces, so that the result is safe in a header.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
}

// headerValue is s for a header of its own: one line, at most 200 runes.
func headerValue(s string) string { return clipRunes(oneLine(s), 200) }

// cleanText keeps a multi-line text's line breaks and drops other control characters.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\r', r == '\u2028', r == '\u2029', r == '\u0085':
			return '\n'
		case r == '\t':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// clipRunes shortens s to n runes, the last of them "…".
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n-1 {
			return s[:j] + "…"
		}
		i++
	}
	return s
}

// descLine is a line of a description, parsed for the HTML part. Descriptions from Security Hub
// (see securityhub.describe) are "Label: value" lines, "Heading:" lines over indented "- item"
// lists, and paragraphs; other descriptions are usually paragraphs, which render the same.
type descLine struct {
	Kind  string // "text", "heading", "item", "field" or "gap" (a blank line)
	Label string // for "field"
	Segs  []seg
}

// seg is a run of text, or a link when URL is set.
type seg struct {
	Text string
	URL  string
}

// The line shapes parseDescription knows. They were regular expressions, and matching them was half
// the cost of a page's email; the hand-written matchers below do what these did (description_test.go
// checks them against the expressions):
//
//	field  ^([A-Z][A-Za-z0-9 ()./_-]{0,38}): (\S.*)$   on the trimmed line
//	item   ^\s*[-*•]\s+(.*)$
//	link   https?://[^\s<>"]+

func parseDescription(s string) []descLine {
	var out []descLine
	for line := range strings.SplitSeq(s, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			if len(out) > 0 && out[len(out)-1].Kind != "gap" {
				out = append(out, descLine{Kind: "gap"})
			}
		case strings.HasSuffix(trimmed, ":") && utf8.RuneCountInString(trimmed) <= 60 && !strings.Contains(trimmed, "://"):
			out = append(out, descLine{Kind: "heading", Segs: []seg{{Text: trimmed}}})
		default:
			if text, ok := itemText(line); ok {
				out = append(out, descLine{Kind: "item", Segs: linkify(text)})
				continue
			}
			if label, value, ok := fieldParts(trimmed); ok && !strings.Contains(label, "://") {
				out = append(out, descLine{Kind: "field", Label: label + ":", Segs: linkify(value)})
				continue
			}
			out = append(out, descLine{Kind: "text", Segs: linkify(trimmed)})
		}
	}
	return out
}

// reSpace is what \s matches in Go's regular expressions.
func reSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// itemText is the text of a list item, "- text", "* text" or "• text", after leading white space.
func itemText(line string) (string, bool) {
	i := 0
	for i < len(line) && reSpace(line[i]) {
		i++
	}
	rest := line[i:]
	switch {
	case strings.HasPrefix(rest, "-"), strings.HasPrefix(rest, "*"):
		rest = rest[1:]
	case strings.HasPrefix(rest, "•"):
		rest = rest[len("•"):]
	default:
		return "", false
	}
	if rest == "" || !reSpace(rest[0]) {
		return "", false
	}
	for rest != "" && reSpace(rest[0]) {
		rest = rest[1:]
	}
	return rest, true
}

// fieldParts splits "Label: value": a label of 1 to 39 characters (a capital letter first, then
// letters, digits, spaces and ()./_-), a colon and a space, and a value that starts with something
// other than white space.
func fieldParts(s string) (label, value string, ok bool) {
	colon := strings.IndexByte(s, ':')
	if colon < 1 || colon > 39 || s[0] < 'A' || s[0] > 'Z' {
		return "", "", false
	}
	for i := 1; i < colon; i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte(" ()./_-", c) >= 0) {
			return "", "", false
		}
	}
	value = s[colon+1:]
	if len(value) < 2 || value[0] != ' ' || reSpace(value[1]) {
		return "", "", false
	}
	return s[:colon], value[1:], true
}

// nextLink finds the first http(s) link in s: its start and end, or -1.
func nextLink(s string) (start, end int) {
	for from := 0; ; {
		i := strings.Index(s[from:], "http")
		if i < 0 {
			return -1, -1
		}
		i += from
		j := i + len("http")
		if strings.HasPrefix(s[j:], "s") {
			j++
		}
		if strings.HasPrefix(s[j:], "://") {
			j += len("://")
			k := j
			for k < len(s) && !reSpace(s[k]) && s[k] != '<' && s[k] != '>' && s[k] != '"' {
				k++
			}
			if k > j {
				return i, k
			}
		}
		from = i + 1
	}
}

// linkify splits s into text and http(s) links. Punctuation that ends a sentence is not part of a
// link. A long link shows as its host and the start of its path, so that it does not stretch a
// phone's screen; the full URL is the target.
func linkify(s string) []seg {
	var out []seg
	for len(s) > 0 {
		start, end := nextLink(s)
		if start < 0 {
			out = append(out, seg{Text: s})
			break
		}
		loc := [2]int{start, end}
		u := strings.TrimRight(s[loc[0]:loc[1]], ".,;:!?'")
		if strings.HasSuffix(u, ")") && !strings.Contains(u, "(") {
			u = strings.TrimSuffix(u, ")")
		}
		if loc[0] > 0 {
			out = append(out, seg{Text: s[:loc[0]]})
		}
		if webLink(u) == "" {
			out = append(out, seg{Text: u})
		} else {
			out = append(out, seg{Text: linkText(u), URL: u})
		}
		s = s[loc[0]+len(u):]
	}
	return out
}

func linkText(u string) string {
	if utf8.RuneCountInString(u) <= maxLinkTextRunes {
		return u
	}
	p, err := url.Parse(u)
	if err != nil {
		return clipRunes(u, maxShortLinkRunes)
	}
	return clipRunes(p.Host+p.EscapedPath(), maxShortLinkRunes)
}
