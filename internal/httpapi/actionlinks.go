package httpapi

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-dev/tocsin/internal/actionlink"
	"github.com/tocsin-dev/tocsin/internal/alert"
)

// The one-click links in pages: BASE/a/{token}. A GET never acts, because mail scanners and link
// previews fetch every link in an email; it shows the alert and a button. The button POSTs to the
// same URL, and only that acts, as the user the link was sent to.

// actionPage is what the page template shows.
type actionPage struct {
	Title   string
	Message string // what happened, or why nothing did
	Alert   *alert.Alert
	Action  string // the pending action the button does: "ack" or "close"; "" for no button
	User    string
	Ack     string // for a view page: fresh links for the two buttons
	Close   string
	Expires time.Time
}

func (p actionPage) State() string {
	switch {
	case p.Alert == nil:
		return ""
	case p.Alert.Status == alert.StatusClosed:
		return "closed"
	case p.Alert.Acknowledged:
		return "acknowledged"
	case p.Alert.Snoozed:
		return "snoozed"
	}
	return "open"
}

var actionVerbs = map[string]string{actionlink.Ack: "Acknowledge", actionlink.Close: "Close"}

func (s *Server) actionLink(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The token is in the URL: keep it out of Referer headers and caches, and the page out of frames.
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	reqID := newRequestID()
	h.Set("X-Request-Id", reqID)

	c, err := s.cfg.Links.Verify(r.PathValue("token"))
	if err != nil {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, actionlink.ErrExpired):
			status = http.StatusGone
		case errors.Is(err, actionlink.ErrBadSignature):
			status = http.StatusForbidden
		}
		s.log.Info("action link refused", "method", r.Method, "status", status, "requestId", reqID, "err", err)
		s.actionAnswer(w, r, status, actionPage{Title: "This link does not work", Message: sentence(err.Error()) + " Nothing was changed."})
		return
	}
	ref := alert.Ref{Type: alert.ByID, Value: c.AlertID}
	a, err := s.cfg.Alerts.Get(r.Context(), ref)
	if errors.Is(err, alert.ErrNotFound) {
		s.actionAnswer(w, r, http.StatusNotFound, actionPage{Title: "Alert not found", Message: "The alert this link names no longer exists. Nothing was changed."})
		return
	}
	if err != nil {
		s.log.Error("action link: read alert", "alert", c.AlertID, "requestId", reqID, "err", err)
		s.actionAnswer(w, r, http.StatusInternalServerError, actionPage{Title: "Something went wrong", Message: "tocsin could not read the alert; see its log for request " + reqID + "."})
		return
	}
	page := actionPage{Alert: a, User: c.User, Expires: c.Expires}

	if r.Method != http.MethodPost {
		s.actionAnswer(w, r, http.StatusOK, s.confirmPage(page, c))
		return
	}
	if c.Action == actionlink.View {
		s.actionAnswer(w, r, http.StatusMethodNotAllowed, actionPage{Title: "Nothing to do", Message: "This link only shows the alert."})
		return
	}
	if a.Status == alert.StatusClosed {
		page.Title, page.Message = "Already closed", "This alert was closed already; nothing was changed."
		s.actionAnswer(w, r, http.StatusConflict, page)
		return
	}
	o := alert.Origin{
		Actor:     alert.Actor{Kind: alert.ActorUser, ID: c.User, Name: c.User},
		RequestID: reqID, User: c.User, Source: "link in a notification",
	}
	act := s.cfg.Alerts.Acknowledge
	if c.Action == actionlink.Close {
		act = s.cfg.Alerts.Close
	}
	after, err := act(r.Context(), o, ref)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, alert.ErrNotFound) {
			status = http.StatusNotFound
		}
		s.log.Error("action link: act", "alert", c.AlertID, "action", c.Action, "user", c.User, "requestId", reqID, "err", err)
		s.actionAnswer(w, r, status, actionPage{Title: "Nothing was changed", Message: "tocsin could not " + c.Action + " the alert; see its log for request " + reqID + "."})
		return
	}
	s.log.Info("alert changed by link", "alert", c.AlertID, "action", c.Action, "user", c.User, "requestId", reqID)
	page.Alert = after
	if c.Action == actionlink.Ack {
		page.Title, page.Message = "Acknowledged", "You acknowledged the alert. Escalation has stopped."
		if a.Acknowledged {
			page.Title, page.Message = "Already acknowledged", "The alert was acknowledged already (by "+orDash(a.Report.AcknowledgedBy)+"); nothing was changed."
		}
	} else {
		page.Title, page.Message = "Closed", "You closed the alert."
	}
	s.actionAnswer(w, r, http.StatusOK, page)
}

// confirmPage is the GET answer: the alert, and the button for the link's action when it still
// makes sense. A view link gets both buttons, with fresh links for the same user.
func (s *Server) confirmPage(p actionPage, c actionlink.Claims) actionPage {
	a := p.Alert
	switch {
	case a.Status == alert.StatusClosed:
		p.Title, p.Message = "Already closed", "This alert is closed; there is nothing left to do."
	case c.Action == actionlink.View:
		p.Title = "Alert #" + strconv.FormatInt(a.TinyID, 10)
		if ack, err := s.cfg.Links.Sign(a.ID, actionlink.Ack, c.User); err == nil && !a.Acknowledged {
			p.Ack = "/a/" + ack
		}
		if cl, err := s.cfg.Links.Sign(a.ID, actionlink.Close, c.User); err == nil {
			p.Close = "/a/" + cl
		}
	case c.Action == actionlink.Ack && a.Acknowledged:
		p.Title, p.Message = "Already acknowledged", "The alert was acknowledged by "+orDash(a.Report.AcknowledgedBy)+"."
	default:
		p.Title, p.Action = actionVerbs[c.Action]+" this alert?", c.Action
	}
	return p
}

// sentence makes an error message a sentence for a page: a capital first letter and a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

func orDash(s string) string {
	if s == "" {
		return "someone"
	}
	return s
}

// actionAnswer writes the page, or JSON for a client that asks for it (scripts, tests).
func (s *Server) actionAnswer(w http.ResponseWriter, r *http.Request, status int, p actionPage) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		body := map[string]any{"title": p.Title, "message": p.Message, "action": p.Action}
		if p.Alert != nil {
			body["alertId"], body["state"] = p.Alert.ID, p.State()
		}
		writeJSON(w, status, body)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := actionTemplate.Execute(w, p); err != nil {
		s.log.Warn("action link: write page", "err", err)
	}
}

var actionTemplate = template.Must(template.New("action").Funcs(template.FuncMap{
	"verb": func(a string) string { return actionVerbs[a] },
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}} · tocsin</title>
<style>
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#57606a;--line:#d0d7de;--accent:#0b5cad;--p1:#b3261e}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9da7b3;--line:#30363d;--accent:#58a6ff;--p1:#ff7b72}}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:40rem;margin:0 auto;padding:1.25rem}
h1{font-size:1.4rem;margin:.2rem 0 .8rem}
.msg{font-size:1.05rem}
.card{border:1px solid var(--line);border-radius:8px;padding:1rem;margin:1rem 0}
.card h2{font-size:1.1rem;margin:0 0 .5rem;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem .75rem;margin:0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font:inherit;font-size:.95rem;margin:.75rem 0 0;max-height:24rem;overflow:auto}
.prio{font-weight:700}.P1,.P2{color:var(--p1)}
form{display:inline}
button{font:inherit;font-weight:600;padding:.8rem 1.4rem;margin:.25rem .5rem .25rem 0;border-radius:8px;border:2px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;min-width:9rem}
button.secondary{background:transparent;color:var(--accent)}
small{color:var(--muted)}
</style></head>
<body><main>
<h1>{{.Title}}</h1>
{{with .Message}}<p class="msg">{{.}}</p>{{end}}
{{with .Alert}}<section class="card" aria-label="alert">
<h2><span class="prio {{.Priority}}">{{.Priority}}</span> #{{.TinyID}} {{.Message}}</h2>
<dl>
<dt>State</dt><dd>{{$.State}}</dd>
{{with .Source}}<dt>Source</dt><dd>{{.}}</dd>{{end}}
{{with .Entity}}<dt>Resource</dt><dd>{{.}}</dd>{{end}}
<dt>First seen</dt><dd>{{when .CreatedAt}}</dd>
<dt>Last seen</dt><dd>{{when .LastOccurredAt}}</dd>
<dt>Count</dt><dd>{{.Count}}</dd>
{{with .Report.AcknowledgedBy}}<dt>Acknowledged by</dt><dd>{{.}}</dd>{{end}}
</dl>
{{with .Description}}<pre>{{.}}</pre>{{end}}
</section>{{end}}
{{if .Action}}<form method="post"><button type="submit">{{verb .Action}}</button></form>
<p><small>You are signed in by this link as {{.User}}; it works until {{when .Expires}}.</small></p>{{end}}
{{if or .Ack .Close}}<p>
{{with .Ack}}<form method="post" action="{{.}}"><button type="submit">Acknowledge</button></form>{{end}}
{{with .Close}}<form method="post" action="{{.}}"><button type="submit" class="secondary">Close</button></form>{{end}}
</p><p><small>Acting as {{.User}}.</small></p>{{end}}
</main></body></html>
`))
