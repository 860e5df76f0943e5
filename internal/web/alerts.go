package web

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/escalation"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/oncall"
)

// The alert pages: the list (search, filters, counts, live updates, bulk actions), one alert (facts,
// description, activity, notifications, notes, write-back state) and the actions on it.
func (s *Server) alertRoutes() {
	m := s.mux
	m.Handle("GET /alerts", s.signedIn(s.alertList))
	m.Handle("POST /alerts/bulk", s.signedIn(s.alertBulk))
	m.Handle("GET /alerts/{id}", s.signedIn(s.alertPage))
	for _, action := range []string{"ack", "unack", "close", "note", "snooze", "priority"} {
		m.Handle("POST /alerts/{id}/"+action, s.signedIn(s.alertAction(action)))
	}
}

// alertListLimit is how many alerts one page of the list shows.
const alertListLimit = 50

// The states an alert is shown in, most urgent first. Open and closed are the alert's status;
// acknowledged and snoozed are flags on an open alert, and a snoozed alert counts as snoozed whether
// or not it was acknowledged, so that every alert is in exactly one state.
var alertStates = []string{"open", "acknowledged", "snoozed", "closed"}

// alertStateTerms are the query-language terms that select the alerts in each state.
var alertStateTerms = map[string]string{
	"":             "",
	"open":         "status:open acknowledged:false snoozed:false",
	"acknowledged": "status:open acknowledged:true snoozed:false",
	"snoozed":      "status:open snoozed:true",
	"closed":       "status:closed",
}

// alertStateOf names the state an alert is in (see alertStates).
func alertStateOf(a *alert.Alert) string {
	switch {
	case a.Status == alert.StatusClosed:
		return "closed"
	case a.Snoozed:
		return "snoozed"
	case a.Acknowledged:
		return "acknowledged"
	}
	return "open"
}

var alertPriorities = []alert.Priority{alert.P1, alert.P2, alert.P3, alert.P4, alert.P5}

// alertFilter is what the list's form asks for.
type alertFilter struct {
	Search      string // the query language of /v2/alerts
	State       string // "" or one of alertStates
	Priority    string // "" or P1..P5
	Team        string // "" or a team name
	Integration string // "" or an integration name
	Offset      int
}

func parseAlertFilter(q url.Values) (alertFilter, error) {
	f := alertFilter{
		Search:      strings.TrimSpace(q.Get("q")),
		State:       q.Get("state"),
		Priority:    strings.ToUpper(q.Get("priority")),
		Team:        q.Get("team"),
		Integration: q.Get("integration"),
	}
	if _, ok := alertStateTerms[f.State]; !ok {
		return f, &alert.ValidationError{Field: "state", Reason: "must be open, acknowledged, snoozed or closed"}
	}
	if f.Priority != "" && !alert.Priority(f.Priority).Valid() {
		return f, &alert.ValidationError{Field: "priority", Reason: "must be one of P1, P2, P3, P4, P5"}
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > alert.MaxListOffset {
			return f, &alert.ValidationError{Field: "offset", Reason: fmt.Sprintf("must be a number from 0 to %d", alert.MaxListOffset)}
		}
		f.Offset = n
	}
	return f, nil
}

// terms is the search with the filters added as terms of the query language; the filters come last,
// so that they win over a search that names the same field.
func (f alertFilter) terms(state string) string {
	t := []string{f.Search, alertStateTerms[state]}
	if f.Priority != "" {
		t = append(t, "priority:"+f.Priority)
	}
	if f.Integration != "" {
		t = append(t, "integration:"+alertQuoteTerm(f.Integration))
	}
	return strings.Join(slices.DeleteFunc(t, func(s string) bool { return s == "" }), " ")
}

// query parses terms(state). A priority filter replaces the search's alertPriorities rather than adding
// one more to choose from.
func (f alertFilter) query(state string) (alert.Query, error) {
	q, err := alert.ParseQuery(f.terms(state))
	if err == nil && f.Priority != "" {
		q.Priorities = []alert.Priority{alert.Priority(f.Priority)}
	}
	return q, err
}

func alertQuoteTerm(s string) string {
	if strings.ContainsAny(s, " \t\"") {
		return `"` + strings.ReplaceAll(s, `"`, "") + `"`
	}
	return s
}

// url is the list's address with these filters; offset < 0 leaves it out.
func (f alertFilter) url(state string, offset int) string {
	v := url.Values{}
	for _, p := range [][2]string{{"q", f.Search}, {"state", state}, {"priority", f.Priority}, {"team", f.Team}, {"integration", f.Integration}} {
		if p[1] != "" {
			v.Set(p[0], p[1])
		}
	}
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	if len(v) == 0 {
		return "/alerts"
	}
	return "/alerts?" + v.Encode()
}

// alertAccess answers who may see and change which alert.
type alertAccess struct {
	v            *viewer
	teamOf       map[string]string // integration id and name → its team
	integrations []string          // the integrations' names
}

func (s *Server) alertAccess(ctx context.Context, v *viewer) (alertAccess, error) {
	list, err := s.cfg.Integrations.List(ctx)
	if err != nil {
		return alertAccess{}, err
	}
	ac := alertAccess{v: v, teamOf: map[string]string{}}
	for _, in := range list {
		ac.teamOf[in.ID], ac.teamOf[in.Name] = in.Team, in.Team
		ac.integrations = append(ac.integrations, in.Name)
	}
	slices.Sort(ac.integrations)
	return ac, nil
}

func (ac alertAccess) integrationTeam(a *alert.Alert) string {
	if t := ac.teamOf[a.Integration.ID]; t != "" {
		return t
	}
	if a.Integration.Name == "" {
		return ""
	}
	return ac.teamOf[a.Integration.Name]
}

// belongs reports whether the alert is the team's: routed to it, or made by its integration.
func (ac alertAccess) belongs(a *alert.Alert, team string) bool {
	if ac.integrationTeam(a) == team {
		return true
	}
	for _, r := range a.Responders {
		if r.Type == "team" && (r.Name == team || r.ID == team) {
			return true
		}
	}
	return false
}

// ours reports whether the alert is the viewer's: one of their teams responds, they respond
// themselves, their team owns the integration, or nobody in particular is responsible.
func (ac alertAccess) ours(a *alert.Alert) bool {
	team := ac.integrationTeam(a)
	if len(a.Responders) == 0 && team == "" {
		return true
	}
	if team != "" && slices.Contains(ac.v.Teams, team) {
		return true
	}
	me := ac.v.User.Username
	for _, r := range a.Responders {
		switch r.Type {
		case "team":
			if slices.Contains(ac.v.Teams, r.Name) || (r.ID != "" && slices.Contains(ac.v.Teams, r.ID)) {
				return true
			}
		case "user":
			if r.Username == me || r.Name == me || r.ID == me {
				return true
			}
		}
	}
	return false
}

// filtered says whether the viewer sees only some alerts: users see their teams' alerts; admins
// and readonly auditors see all.
func (ac alertAccess) filtered() bool { return ac.v.User.Role == oncall.RoleUser }

func (ac alertAccess) maySee(a *alert.Alert) bool { return !ac.filtered() || ac.ours(a) }

func (ac alertAccess) mayAct(a *alert.Alert) bool {
	return ac.v.Admin() || (ac.v.CanWrite() && ac.ours(a))
}

// alertRow is one line of the list.
type alertRow struct {
	*alert.Alert
	State   string
	Team    string
	CanAct  bool
	Checked bool
}

// alertStateCount is one of the counts above the list, a link to the list of that state.
type alertStateCount struct {
	State, Label, URL string
	N                 int
	Current           bool
}

type alertListData struct {
	Filter       alertFilter
	Query        string // the filters as the API's query
	Rows         []alertRow
	Counts       []alertStateCount
	Capped       bool   // the counts cover only the newest alerts (see alertsScan)
	Self         string // this list, for live reloads
	Prev, Next   string
	From, To     int
	States       []string
	Priorities   []alert.Priority
	Teams        []string
	Integrations []string
	CanWrite     bool
	Filtered     bool // the viewer sees only their teams' alerts
}

// Where says whose the alert is: the teams it is routed to, its integration's team, the integration.
func (r alertRow) Where() string {
	var parts []string
	for _, rs := range r.Responders {
		if name := alertFirstOf(rs.Name, rs.ID); rs.Type == "team" && name != "" && !slices.Contains(parts, name) {
			parts = append(parts, name)
		}
	}
	for _, s := range []string{r.Team, r.Integration.Name} {
		if s != "" && !slices.Contains(parts, s) {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " · ")
}

func (s *Server) alertList(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	f, err := parseAlertFilter(r.URL.Query())
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	ac, err := s.alertAccess(ctx, v)
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	d := alertListData{
		Filter: f, Query: f.terms(f.State), Self: f.url(f.State, f.Offset), States: alertStates, Priorities: alertPriorities,
		CanWrite: v.CanWrite(), Filtered: ac.filtered(),
	}
	queries := map[string]alert.Query{}
	for state := range alertStateTerms {
		if queries[state], err = f.query(state); err != nil {
			s.failErr(w, r, v, err)
			return
		}
	}
	var (
		list   []*alert.Alert
		counts map[string]int
	)
	if ac.filtered() || f.Team != "" {
		list, counts, d.Capped, err = s.alertsScan(ctx, ac, f, queries)
	} else {
		list, counts, err = s.alertsPage(ctx, f, queries)
	}
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	checked := r.URL.Query()["id"] // a live reload keeps what was ticked
	for i, a := range list {
		if i == alertListLimit {
			d.Next = f.url(f.State, f.Offset+alertListLimit)
			break
		}
		d.Rows = append(d.Rows, alertRow{Alert: a, State: alertStateOf(a), Team: ac.integrationTeam(a), CanAct: ac.mayAct(a), Checked: slices.Contains(checked, a.ID)})
	}
	if f.Offset > 0 {
		d.Prev = f.url(f.State, max(f.Offset-alertListLimit, 0))
	}
	if len(d.Rows) > 0 {
		d.From, d.To = f.Offset+1, f.Offset+len(d.Rows)
	}
	for _, st := range append([]string{""}, alertStates...) {
		label := "All"
		if st != "" {
			label = strings.ToUpper(st[:1]) + st[1:]
		}
		d.Counts = append(d.Counts, alertStateCount{State: st, Label: label, URL: f.url(st, 0), N: counts[st], Current: st == f.State})
	}
	if d.Teams, err = s.alertTeams(ctx); err != nil {
		s.failErr(w, r, v, err)
		return
	}
	d.Integrations = ac.integrations
	s.render(w, r, http.StatusOK, "alerts", page{Title: "Alerts", Nav: "alerts", Viewer: v, Data: d})
}

// alertsPage lists one page (and one more alert, to know whether there is a next page) and counts
// each state in the database.
func (s *Server) alertsPage(ctx context.Context, f alertFilter, queries map[string]alert.Query) ([]*alert.Alert, map[string]int, error) {
	list, err := s.cfg.Alerts.List(ctx, alert.ListOptions{Query: queries[f.State], Offset: f.Offset, Limit: alertListLimit + 1, Sort: alert.SortCreatedAt, Order: alert.Desc})
	if err != nil {
		return nil, nil, err
	}
	counts := map[string]int{}
	for state, q := range queries {
		if counts[state], err = s.cfg.Alerts.Count(ctx, q); err != nil {
			return nil, nil, err
		}
	}
	return list, counts, nil
}

// alertScanBatch is how many alerts alertsScan reads at a time.
const alertScanBatch = alert.MaxListLimit

// alertsScan lists and counts alerts the query language cannot select: those of a team (responders
// and the integration's team are not query terms) and those a user may see. It reads the newest
// alerts that match the rest of the query, up to the list's maximum offset, and filters them here;
// capped reports that there were more.
func (s *Server) alertsScan(ctx context.Context, ac alertAccess, f alertFilter, queries map[string]alert.Query) (list []*alert.Alert, counts map[string]int, capped bool, err error) {
	base := queries[""]
	base.Status, base.Acknowledged, base.Snoozed = "", nil, nil // the states are told apart below
	counts = map[string]int{}
	matched := 0
	for offset := 0; ; offset += alertScanBatch {
		batch, err := s.cfg.Alerts.List(ctx, alert.ListOptions{Query: base, Offset: offset, Limit: alertScanBatch, Sort: alert.SortCreatedAt, Order: alert.Desc})
		if err != nil {
			return nil, nil, false, err
		}
		for _, a := range batch {
			if !ac.maySee(a) || (f.Team != "" && !ac.belongs(a, f.Team)) {
				continue
			}
			for state, q := range queries {
				if alertStatusMatches(a, q) {
					counts[state]++
				}
			}
			if alertStatusMatches(a, queries[f.State]) {
				matched++
				if matched > f.Offset && len(list) <= alertListLimit {
					list = append(list, a)
				}
			}
		}
		if len(batch) < alertScanBatch {
			return list, counts, false, nil
		}
		if offset+alertScanBatch > alert.MaxListOffset {
			return list, counts, true, nil
		}
	}
}

// alertStatusMatches checks the terms alertsScan left out of its query.
func alertStatusMatches(a *alert.Alert, q alert.Query) bool {
	return (q.Status == "" || a.Status == q.Status) &&
		(q.Acknowledged == nil || a.Acknowledged == *q.Acknowledged) &&
		(q.Snoozed == nil || a.Snoozed == *q.Snoozed)
}

// alertTeams are the teams the list can be filtered by.
func (s *Server) alertTeams(ctx context.Context) ([]string, error) {
	cfg, err := s.cfg.DB.OnCall().Config(ctx)
	if err != nil {
		return nil, err
	}
	var teams []string
	for _, t := range cfg.Teams {
		teams = append(teams, t.Name)
	}
	slices.Sort(teams)
	return teams, nil
}

// alertMaxBulk bounds the alerts one bulk action changes.
const alertMaxBulk = 100

func (s *Server) alertBulk(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !v.CanWrite() {
		s.failErr(w, r, v, errForbidden)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, v, http.StatusBadRequest, "The form could not be read.")
		return
	}
	action := r.PostFormValue("action")
	var (
		act  func(context.Context, alert.Origin, alert.Ref) (*alert.Alert, error)
		verb string
	)
	switch action {
	case "ack":
		act, verb = s.cfg.Alerts.Acknowledge, "Acknowledged"
	case "close":
		act, verb = s.cfg.Alerts.Close, "Closed"
	default:
		s.failErr(w, r, v, &alert.ValidationError{Field: "action", Reason: "must be ack or close"})
		return
	}
	ids := slices.Compact(slices.Sorted(slices.Values(r.PostForm["id"])))
	switch {
	case len(ids) == 0:
		s.failErr(w, r, v, &alert.ValidationError{Reason: "Select at least one alert."})
		return
	case len(ids) > alertMaxBulk:
		s.failErr(w, r, v, &alert.ValidationError{Reason: fmt.Sprintf("Select at most %d alerts at a time.", alertMaxBulk)})
		return
	}
	ctx := r.Context()
	ac, err := s.alertAccess(ctx, v)
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	var done []string
	skipped := 0
	o := alertOrigin(v, r.PostFormValue("note"))
	for _, id := range ids {
		a, err := s.cfg.Alerts.Get(ctx, alert.Ref{Type: alert.ByID, Value: id})
		if errors.Is(err, alert.ErrNotFound) || (err == nil && !ac.mayAct(a)) {
			skipped++
			continue
		}
		if err != nil {
			s.failErr(w, r, v, err)
			return
		}
		if _, err := act(ctx, o, alert.Ref{Type: alert.ByID, Value: a.ID}); err != nil {
			s.failErr(w, r, v, err)
			return
		}
		done = append(done, "#"+strconv.FormatInt(a.TinyID, 10))
	}
	flash := verb + " " + strings.Join(done, ", ")
	if len(done) == 0 {
		flash = "Nothing changed"
	}
	if skipped > 0 {
		flash += fmt.Sprintf("; skipped %d that you may not change or that no longer exist", skipped)
	}
	back(w, r, "/alerts", flash)
}

func alertOrigin(v *viewer, note string) alert.Origin {
	name := v.User.Username
	return alert.Origin{Actor: alert.Actor{Kind: alert.ActorUser, ID: name, Name: name}, User: name, Source: "web", Note: note}
}

// alertRef reads the alert in a path: a tiny id is a number, anything else an id.
func alertRef(r *http.Request) alert.Ref {
	id := r.PathValue("id")
	if id != "" && strings.Trim(id, "0123456789") == "" {
		return alert.Ref{Type: alert.ByTiny, Value: id}
	}
	return alert.Ref{Type: alert.ByID, Value: id}
}

func alertPath(a *alert.Alert) string { return "/alerts/" + strconv.FormatInt(a.TinyID, 10) }

// alertSnoozeChoices are the snooze buttons' values; "tomorrow" is the next 08:00 where the user lives.
var alertSnoozeChoices = map[string]time.Duration{"15m": 15 * time.Minute, "1h": time.Hour, "4h": 4 * time.Hour}

// alertLocation is the viewer's time zone, UTC when they have none (or it is unknown).
func alertLocation(v *viewer) *time.Location {
	if v.User.Timezone != "" {
		if loc, err := time.LoadLocation(v.User.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// alertNextMorning is the first 08:00 after now in loc.
func alertNextMorning(now time.Time, loc *time.Location) time.Time {
	n := now.In(loc)
	t := time.Date(n.Year(), n.Month(), n.Day(), 8, 0, 0, 0, loc)
	if !t.After(n) {
		t = time.Date(n.Year(), n.Month(), n.Day()+1, 8, 0, 0, 0, loc)
	}
	return t
}

func (s *Server) alertAction(action string) func(http.ResponseWriter, *http.Request, *viewer) {
	return func(w http.ResponseWriter, r *http.Request, v *viewer) {
		if !v.CanWrite() {
			s.failErr(w, r, v, errForbidden)
			return
		}
		ctx := r.Context()
		a, ac, err := s.pathAlert(r, v)
		if err == nil && !ac.mayAct(a) {
			err = errForbidden
		}
		if err != nil {
			s.failErr(w, r, v, err)
			return
		}
		o := alertOrigin(v, r.PostFormValue("note"))
		ref := alert.Ref{Type: alert.ByID, Value: a.ID}
		tiny := "#" + strconv.FormatInt(a.TinyID, 10)
		var (
			flash string
			after *alert.Alert
		)
		switch action {
		case "ack":
			after, err = s.cfg.Alerts.Acknowledge(ctx, o, ref)
			flash = "Acknowledged " + tiny
		case "unack":
			after, err = s.cfg.Alerts.Unacknowledge(ctx, o, ref)
			flash = "Unacknowledged " + tiny
		case "close":
			after, err = s.cfg.Alerts.Close(ctx, o, ref)
			flash = "Closed " + tiny
		case "note":
			_, err = s.cfg.Alerts.AddNote(ctx, o, ref)
			flash = "Added a note to " + tiny
		case "priority":
			p := alert.Priority(strings.ToUpper(r.PostFormValue("priority")))
			after, err = s.cfg.Alerts.UpdatePriority(ctx, o, ref, p)
			flash = "Priority of " + tiny + " is " + string(p)
		case "snooze":
			choice := r.PostFormValue("for")
			now := s.cfg.Now()
			var until time.Time
			if d, ok := alertSnoozeChoices[choice]; ok {
				until = now.Add(d)
			} else if choice == "tomorrow" {
				until = alertNextMorning(now, alertLocation(v))
			} else {
				err = &alert.ValidationError{Field: "snooze", Reason: "choose 15 minutes, 1 hour, 4 hours or until tomorrow"}
				break
			}
			after, err = s.cfg.Alerts.Snooze(ctx, o, ref, until)
			flash = "Snoozed " + tiny + " until " + until.In(alertLocation(v)).Format("2006-01-02 15:04 MST")
		}
		if err != nil {
			s.failErr(w, r, v, err)
			return
		}
		if after != nil && after.UpdatedAt.Equal(a.UpdatedAt) && strings.TrimSpace(o.Note) == "" {
			flash = "Nothing to change: " + tiny + " is " + alertStateOf(after) + " and " + string(after.Priority)
		}
		back(w, r, alertPath(a), flash)
	}
}

// alertFact is one line of the facts list.
type alertFact struct{ Name, Value string }

// alertLogRow is one line of the activity log; an action a person took on a Security Hub alert also says
// whether it reached Security Hub.
type alertLogRow struct {
	alert.LogEntry
	WriteBack      string // "", written, failed, pending, not sent
	WriteBackError string
}

// WriteBackText says what became of the change in Security Hub.
func (l alertLogRow) WriteBackText() string {
	switch l.WriteBack {
	case "written":
		return "Written to Security Hub"
	case "failed":
		return "Security Hub write-back failed: " + l.WriteBackError
	case "pending":
		return "Security Hub write-back pending"
	case "not sent":
		return "Not sent to Security Hub"
	}
	return ""
}

func (l alertLogRow) WriteBackClass() string {
	switch l.WriteBack {
	case "written":
		return "ok"
	case "failed":
		return "bad"
	case "pending":
		return "pending"
	}
	return "muted"
}

func (l alertLogRow) Class() string {
	switch l.Type {
	case "writebackDone":
		return "ok"
	case "writebackFailed":
		return "bad"
	}
	return ""
}

// alertNotificationRow is one page sent (or due) for the alert.
type alertNotificationRow struct {
	*escalation.Notification
}

func (n alertNotificationRow) Where() string {
	return fmt.Sprintf("step %d, round %d", n.Step+1, n.Round+1)
}

func (n alertNotificationRow) When() time.Time {
	for _, t := range []time.Time{n.SentAt, n.UpdatedAt, n.CreatedAt} {
		if !t.IsZero() {
			return t
		}
	}
	return n.DueAt
}

func (n alertNotificationRow) StateClass() string {
	switch n.State {
	case escalation.Sent:
		return "ok"
	case escalation.Failed:
		return "bad"
	case escalation.Pending:
		return "pending"
	}
	return "muted"
}

type alertSnoozeChoice struct{ Value, Label string }

type alertPageData struct {
	Alert         *alert.Alert
	Path          string
	State         string
	SecurityHub   bool
	Facts         []alertFact
	Details       []alertFact
	Responders    []string
	Log           []alertLogRow // newest first
	LogCapped     bool
	Notifications []alertNotificationRow // newest first
	Notes         []alert.Note           // newest first
	CanAct        bool
	Priorities    []alert.Priority
	Snooze        []alertSnoozeChoice
}

func (d alertPageData) Open() bool { return d.Alert.Status == alert.StatusOpen }

// alertMaxLog bounds the activity log shown on the page.
const alertMaxLog = 1000

// pathAlert reads the alert the path names and the viewer's access to alerts; errForbidden when the
// viewer may not see that alert.
func (s *Server) pathAlert(r *http.Request, v *viewer) (*alert.Alert, alertAccess, error) {
	a, err := s.cfg.Alerts.Get(r.Context(), alertRef(r))
	if err != nil {
		return nil, alertAccess{}, err
	}
	ac, err := s.alertAccess(r.Context(), v)
	if err == nil && !ac.maySee(a) {
		err = errForbidden
	}
	return a, ac, err
}

func (s *Server) alertPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	a, ac, err := s.pathAlert(r, v)
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	d := alertPageData{
		Alert: a, Path: alertPath(a), State: alertStateOf(a), CanAct: ac.mayAct(a), Priorities: alertPriorities,
		SecurityHub: a.Integration.Type == string(integration.TypeSecurityHub),
	}
	ref := alert.Ref{Type: alert.ByID, Value: a.ID}
	var in *integration.Integration
	if a.Integration.Name != "" {
		in, err = s.cfg.Integrations.Get(ctx, a.Integration.Name)
		if errors.Is(err, integration.ErrNotFound) {
			in, err = nil, nil
		}
		if err != nil {
			s.failErr(w, r, v, err)
			return
		}
	}
	d.Facts, d.Details, d.Responders = alertFacts(a, ac)
	entries, capped, err := s.alertLog(ctx, ref)
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	d.LogCapped = capped
	sendUpdates := in != nil && in.Settings.SendUpdates && in.Settings.RoleARN != ""
	d.Log = alertWriteBackStates(a, entries, d.SecurityHub, sendUpdates)
	if d.Notes, err = s.cfg.Alerts.Notes(ctx, ref, alert.Page{Desc: true, Limit: alert.MaxListLimit}); err != nil {
		s.failErr(w, r, v, err)
		return
	}
	ns, err := s.cfg.DB.Escalations(nil).Notifications(ctx, a.ID)
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	for i := len(ns) - 1; i >= 0; i-- {
		d.Notifications = append(d.Notifications, alertNotificationRow{ns[i]})
	}
	loc := alertLocation(v)
	morning := alertNextMorning(s.cfg.Now(), loc)
	d.Snooze = []alertSnoozeChoice{{"15m", "15 minutes"}, {"1h", "1 hour"}, {"4h", "4 hours"},
		{"tomorrow", "Until " + morning.Format("Mon 15:04") + " " + loc.String()}}
	title := "#" + strconv.FormatInt(a.TinyID, 10) + " " + a.Message
	s.render(w, r, http.StatusOK, "alert", page{Title: title, Nav: "alerts", Viewer: v, Data: d})
}

// alertLog reads the newest alertMaxLog entries of the activity log, newest first.
func (s *Server) alertLog(ctx context.Context, ref alert.Ref) (entries []alert.LogEntry, capped bool, err error) {
	p := alert.Page{Desc: true, Limit: alert.MaxListLimit}
	for {
		batch, err := s.cfg.Alerts.Logs(ctx, ref, p)
		if err != nil {
			return nil, false, err
		}
		entries = append(entries, batch...)
		if len(batch) < p.Limit {
			return entries, false, nil
		}
		if len(entries) >= alertMaxLog {
			return entries, true, nil
		}
		p.After = batch[len(batch)-1].ID
	}
}

// alertSecurityHubFacts are the details of a Security Hub alert shown first, in this order.
var alertSecurityHubFacts = []alertFact{
	{"Severity.Label", "Severity"}, {"AwsAccountId", "AWS account"}, {"AwsAccountName", "Account name"},
	{"Region", "Region"}, {"ProductName", "Product"}, {"Types", "Types"}, {"Workflow.Status", "Workflow status"},
	{"Id", "Finding"},
}

// alertFacts are what the page lists about an alert: the main facts, all the details, and the
// responders.
func alertFacts(a *alert.Alert, ac alertAccess) (facts, details []alertFact, responders []string) {
	add := func(name, value string) {
		if value != "" {
			facts = append(facts, alertFact{name, value})
		}
	}
	if a.Integration.Type == string(integration.TypeSecurityHub) {
		for _, f := range alertSecurityHubFacts {
			add(f.Value, a.Details[f.Name])
		}
	} else {
		add("Source", a.Source)
		add("Entity", a.Entity)
		add("Alias", a.Alias)
		add("Tags", strings.Join(a.Tags, ", "))
	}
	add("Count", strconv.Itoa(a.Count))
	add("Created", alertWhen(a.CreatedAt))
	add("Last occurred", alertWhen(a.LastOccurredAt))
	if a.Snoozed {
		add("Snoozed until", alertWhen(a.SnoozedUntil))
	}
	add("Owner", a.Owner)
	add("Acknowledged by", a.Report.AcknowledgedBy)
	add("Closed by", a.Report.ClosedBy)
	if a.Integration.Name != "" {
		add("Integration", a.Integration.Name+" ("+a.Integration.Type+")")
	}
	add("Integration team", ac.integrationTeam(a))
	for _, k := range slices.Sorted(maps.Keys(a.Details)) {
		details = append(details, alertFact{k, a.Details[k]})
	}
	for _, r := range a.Responders {
		responders = append(responders, r.Type+" "+alertFirstOf(r.Name, r.Username, r.ID))
	}
	return facts, details, responders
}

func alertWhen(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func alertFirstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// alertWriteBackTypes are the log types of the changes the Security Hub write-back sends.
var alertWriteBackTypes = map[string]bool{"alertAck": true, "alertUnack": true, "alertClose": true, "alertNote": true, "alertPriority": true}

// alertWriteBackStates pairs each change a person made to a Security Hub alert with the write-back that
// reported on it. entries are newest first. The log lines of one change (an acknowledge with a note)
// share their owner and time and get one write-back; write-backs are matched to the changes before
// them, oldest first. A change with no write-back yet is pending, or not sent when the integration
// does not send updates (or the alert has no finding to write to).
func alertWriteBackStates(a *alert.Alert, entries []alert.LogEntry, securityHub, sendUpdates bool) []alertLogRow {
	rows := make([]alertLogRow, len(entries))
	for i, e := range entries {
		rows[i] = alertLogRow{LogEntry: e}
	}
	if !securityHub {
		return rows
	}
	writable := sendUpdates && a.Details["Id"] != "" && a.Details["ProductArn"] != ""
	type change struct{ rows []int }
	var (
		changes []*change // oldest first
		waiting []*change // not matched to a write-back yet
	)
	for i := len(rows) - 1; i >= 0; i-- {
		e := rows[i].LogEntry
		switch {
		case e.Type == "writebackDone" || e.Type == "writebackFailed":
			if len(waiting) == 0 {
				continue
			}
			c := waiting[0]
			waiting = waiting[1:]
			state, msg := "written", ""
			if e.Type == "writebackFailed" {
				state = "failed"
				if _, after, ok := strings.Cut(e.Text, "): "); ok {
					msg = after
				} else {
					msg = e.Text
				}
			}
			for _, j := range c.rows {
				rows[j].WriteBack, rows[j].WriteBackError = state, msg
			}
		case alertWriteBackTypes[e.Type] && e.Owner != alert.System.Name && e.Owner != a.Integration.Name:
			if len(changes) > 0 {
				if last := changes[len(changes)-1]; len(last.rows) > 0 {
					prev := rows[last.rows[0]]
					if prev.Owner == e.Owner && prev.CreatedAt.Equal(e.CreatedAt) && slices.Contains(waiting, last) {
						last.rows = append(last.rows, i)
						continue
					}
				}
			}
			c := &change{rows: []int{i}}
			changes = append(changes, c)
			waiting = append(waiting, c)
		}
	}
	for _, c := range waiting {
		state := "not sent"
		if writable {
			state = "pending"
		}
		for _, j := range c.rows {
			rows[j].WriteBack = state
		}
	}
	return rows
}
