package web

import (
	"html/template"
	"strconv"
	"strings"
	"time"
)

// funcs are the helpers templates may call.
var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"ago": func(t time.Time) string {
		d := time.Since(t)
		switch {
		case d < time.Minute:
			return "just now"
		case d < time.Hour:
			return strconv.Itoa(int(d.Minutes())) + " min ago"
		case d < 48*time.Hour:
			return strconv.Itoa(int(d.Hours())) + " h ago"
		}
		return strconv.Itoa(int(d.Hours()/24)) + " days ago"
	},
	"lower": strings.ToLower,
	"join":  strings.Join,
}
