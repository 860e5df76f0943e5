package alert

import (
	"strconv"
	"strings"
	"unicode"
)

// Query is a parsed alert search: every condition must hold. It is the subset of Opsgenie's alert
// search syntax that tocsin understands: field:value or field=value terms (status, acknowledged,
// snoozed, priority, tag, alias, message, source, entity, owner, tinyId, integration), free words
// matched against the message, joined by AND or by spaces.
type Query struct {
	Status       Status
	Acknowledged *bool
	Snoozed      *bool
	Priorities   []Priority // any of
	Tags         []string   // all of
	Alias        string
	TinyID       int64
	Source       string
	Entity       string
	Owner        string
	Integration  string   // integration name
	Text         []string // each must appear in the message, ignoring case
}

// MaxQueryLength bounds a search string; longer ones are a validation error.
const MaxQueryLength = 2000

// ParseQuery parses Opsgenie's search syntax. An empty string matches every alert.
func ParseQuery(s string) (Query, error) {
	var q Query
	if len(s) > MaxQueryLength {
		return q, invalid("query", "longer than %d bytes", MaxQueryLength)
	}
	terms, err := splitTerms(clean(s))
	if err != nil {
		return q, err
	}
	for _, t := range terms {
		if !t.quoted {
			switch strings.ToUpper(t.text) {
			case "AND":
				continue
			case "OR", "NOT":
				return q, invalid("query", "%s is not supported; join conditions with AND", strings.ToUpper(t.text))
			}
		}
		field, value, ok := cutField(t)
		if !ok {
			if t.text != "" {
				q.Text = append(q.Text, t.text)
			}
			continue
		}
		if err := q.set(field, value); err != nil {
			return q, err
		}
	}
	return q, nil
}

func (q *Query) set(field, value string) error {
	switch strings.ToLower(field) {
	case "status":
		switch Status(strings.ToLower(value)) {
		case StatusOpen, StatusClosed:
			q.Status = Status(strings.ToLower(value))
		default:
			return invalid("query", "status must be open or closed, not %q", value)
		}
	case "acknowledged":
		b, err := parseBool(field, value)
		if err != nil {
			return err
		}
		q.Acknowledged = &b
	case "snoozed":
		b, err := parseBool(field, value)
		if err != nil {
			return err
		}
		q.Snoozed = &b
	case "priority":
		p := Priority(strings.ToUpper(value))
		if !p.Valid() {
			return invalid("query", "priority must be one of P1..P5, not %q", value)
		}
		q.Priorities = append(q.Priorities, p)
	case "tag", "tags":
		q.Tags = append(q.Tags, value)
	case "alias":
		q.Alias = value
	case "tinyid":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n <= 0 {
			return invalid("query", "tinyId must be a positive number, not %q", value)
		}
		q.TinyID = n
	case "message":
		q.Text = append(q.Text, value)
	case "source":
		q.Source = value
	case "entity":
		q.Entity = value
	case "owner":
		q.Owner = value
	case "integration", "integration.name", "integrationname":
		q.Integration = value
	default:
		return invalid("query", "unknown field %q", field)
	}
	return nil
}

func parseBool(field, value string) (bool, error) {
	switch strings.ToLower(value) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalid("query", "%s must be true or false, not %q", field, value)
}

type term struct {
	text   string
	quoted bool // the whole term was quoted, so it is free text even if it holds a colon
}

// cutField splits field:value or field=value; a quoted value keeps its spaces.
func cutField(t term) (field, value string, ok bool) {
	if t.quoted {
		return "", "", false
	}
	i := strings.IndexAny(t.text, ":=")
	if i <= 0 {
		return "", "", false
	}
	field = t.text[:i]
	for _, r := range field {
		if !(unicode.IsLetter(r) || r == '.') {
			return "", "", false
		}
	}
	return field, unquote(t.text[i+1:]), true
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// splitTerms splits on whitespace outside double quotes.
func splitTerms(s string) ([]term, error) {
	var (
		terms   []term
		cur     strings.Builder
		inQuote bool
		started bool
		quoted  bool // current term began with a quote
	)
	flush := func() {
		if started {
			text := cur.String()
			if quoted {
				text = unquote(text)
			}
			terms = append(terms, term{text: text, quoted: quoted})
		}
		cur.Reset()
		started, quoted = false, false
	}
	for _, r := range s {
		switch {
		case r == '"':
			if !started {
				quoted = true
			}
			started = true
			inQuote = !inQuote
			cur.WriteRune(r)
		case unicode.IsSpace(r) && !inQuote:
			flush()
		default:
			started = true
			cur.WriteRune(r)
		}
	}
	if inQuote {
		return nil, invalid("query", "unterminated quote")
	}
	flush()
	return terms, nil
}
