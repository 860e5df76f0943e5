package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tocsin-dev/tocsin/internal/apply"
	"github.com/tocsin-dev/tocsin/internal/oncall"
	"github.com/tocsin-dev/tocsin/internal/store"
)

// The on-call page: who is on call now and the next two weeks of every schedule, overrides added by
// admins and the schedule's team, and teams and escalation policies read-only (they are edited with
// `tocsin apply`).
func (s *Server) oncallRoutes() {
	s.mux.Handle("GET /oncall", s.signedIn(s.oncallPage))
	s.mux.Handle("POST /oncall/{schedule}/overrides", s.signedIn(s.addOverride))
}

// timelineDays is how far ahead the page shows each schedule.
const timelineDays = 14

// maxPageShifts bounds the shifts drawn per schedule: a custom rotation of a minute would otherwise
// make a page of tens of thousands of rows.
const maxPageShifts = 3000

// datetimeLocal is the value format of <input type="datetime-local">.
const datetimeLocal = "2006-01-02T15:04"

type oncallData struct {
	Schedules []scheduleView
	Teams     []teamView
	Policies  []policyView
}

type userOption struct{ Value, Label string }

type scheduleView struct {
	ID, Name, Team, Timezone, Path string
	OnCall                         []string
	Until                          string // when the current shift ends, if known
	Err                            string // why the schedule cannot be computed
	TooMany                        bool   // too many shifts to draw
	Days                           []dayView
	Overrides                      []shiftView // current and future overrides
	YAML                           string

	// The override form, for those who may add one.
	CanOverride     bool
	Members, Others []userOption
	User, From, To  string // the form's values
	FormErr         string // why the last override was refused
}

type dayView struct {
	Label, Date string
	Segments    []barSegment
	Shifts      []shiftView
}

// segment is one stretch of a day's bar; Class holds its width class (w5…w100) and state.
type barSegment struct{ Class, Label string }

type shiftView struct {
	From, To, User, Rotation string
	Override                 bool
}

type teamView struct {
	ID, Name, Escalation, YAML string
	Members                    []string
}

type policyView struct {
	ID, Name, YAML string
	Rules          []string
}

// overrideForm is a refused override, shown again with its message.
type overrideForm struct {
	schedule, user, from, to, msg string
}

func (s *Server) oncallPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	s.renderOncall(w, r, v, http.StatusOK, nil)
}

func (s *Server) renderOncall(w http.ResponseWriter, r *http.Request, v *viewer, status int, form *overrideForm) {
	cfg, err := s.cfg.DB.OnCall().Config(r.Context())
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	now := s.cfg.Now()
	var d oncallData
	for i, sch := range cfg.Schedules {
		sv := s.scheduleView(cfg, &sch, now, v)
		sv.ID = "schedule-" + strconv.Itoa(i)
		if form != nil && form.schedule == sch.Name {
			sv.User, sv.From, sv.To, sv.FormErr = form.user, form.from, form.to, form.msg
		}
		d.Schedules = append(d.Schedules, sv)
	}
	for i, t := range cfg.Teams {
		d.Teams = append(d.Teams, teamView{ID: "team-yaml-" + strconv.Itoa(i), Name: t.Name, Escalation: t.Escalation, Members: t.Members, YAML: yamlOf(t)})
	}
	for i, p := range cfg.Escalations {
		pv := policyView{ID: "policy-yaml-" + strconv.Itoa(i), Name: p.Name, YAML: yamlOf(p)}
		for _, rule := range p.Rules {
			pv.Rules = append(pv.Rules, describeEscalationRule(rule))
		}
		if p.Repeat != nil && p.Repeat.Times > 0 {
			pv.Rules = append(pv.Rules, fmt.Sprintf("then, while nobody acknowledges, again from the first rule %d more times, %v after the last rule", p.Repeat.Times, p.Repeat.After))
		}
		d.Policies = append(d.Policies, pv)
	}
	msg := ""
	if form != nil {
		msg = "The override was not added: " + form.msg
	}
	s.render(w, r, status, "oncall", page{Title: "On call", Nav: "oncall", Viewer: v, Error: msg, Data: d})
}

func describeEscalationRule(r oncall.EscalationRule) string {
	target := "nobody"
	switch {
	case r.Notify.Schedule != "":
		target = "whoever is on call for schedule " + r.Notify.Schedule
	case r.Notify.User != "":
		target = "user " + r.Notify.User
	case r.Notify.Team != "":
		target = "every member of team " + r.Notify.Team
	}
	return fmt.Sprintf("after %v: %s", r.Delay, target)
}

func yamlOf(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "# " + err.Error()
	}
	return string(b)
}

// mayOverride: admins, and the members of the schedule's team who may write.
func mayOverride(v *viewer, sch *oncall.Schedule) bool {
	return v.Admin() || (v.CanWrite() && sch.Team != "" && slices.Contains(v.Teams, sch.Team))
}

func (s *Server) scheduleView(cfg *oncall.Config, sch *oncall.Schedule, now time.Time, v *viewer) scheduleView {
	sv := scheduleView{Name: sch.Name, Team: sch.Team, Timezone: sch.Timezone, Path: "/oncall/" + url.PathEscape(sch.Name), YAML: yamlOf(sch)}
	loc, err := time.LoadLocation(sch.Timezone)
	if err != nil {
		sv.Err = err.Error()
		return sv
	}
	users, err := sch.OnCall(now)
	if err != nil {
		sv.Err = err.Error()
		return sv
	}
	sv.OnCall = users

	local := now.In(loc)
	day0 := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	end := day0.AddDate(0, 0, timelineDays)
	shifts, err := sch.Shifts(day0, end)
	if err != nil {
		sv.Err = err.Error()
		return sv
	}
	var until time.Time
	for _, sh := range shifts {
		if !sh.Start.After(now) && sh.End.After(now) && slices.Contains(users, sh.User) && (until.IsZero() || sh.End.Before(until)) {
			until = sh.End
		}
	}
	if !until.IsZero() && until.Before(end) {
		sv.Until = until.In(loc).Format("Mon 2 Jan 15:04 MST")
	}
	for _, o := range sch.Overrides {
		if o.To.After(now) {
			sv.Overrides = append(sv.Overrides, shiftView{User: o.User, From: o.From.In(loc).Format("Mon 2 Jan 2006 15:04"), To: o.To.In(loc).Format("Mon 2 Jan 2006 15:04 MST"), Override: true})
		}
	}
	if len(shifts) > maxPageShifts {
		sv.TooMany = true
	} else {
		for i := range timelineDays {
			sv.Days = append(sv.Days, timelineDay(shifts, day0.AddDate(0, 0, i), day0.AddDate(0, 0, i+1)))
		}
	}

	if sv.CanOverride = mayOverride(v, sch); sv.CanOverride {
		sv.Members, sv.Others = overrideUsers(cfg, sch)
		sv.User = v.User.Username
		from := local.Truncate(time.Minute)
		if from.Minute() != 0 {
			from = from.Add(time.Duration(60-from.Minute()) * time.Minute) // the next full hour
		}
		sv.From, sv.To = from.Format(datetimeLocal), from.Add(8*time.Hour).Format(datetimeLocal)
	}
	return sv
}

// overrideUsers are the choices of the override form: the schedule's team first, then everyone else.
func overrideUsers(cfg *oncall.Config, sch *oncall.Schedule) (members, others []userOption) {
	label := map[string]string{}
	for _, u := range cfg.Users {
		label[u.Username] = u.Username
		if u.FullName != "" {
			label[u.Username] = u.FullName + " (" + u.Username + ")"
		}
	}
	for _, t := range cfg.Teams {
		if t.Name == sch.Team {
			for _, m := range t.Members {
				members = append(members, userOption{m, label[m]})
			}
		}
	}
	for _, u := range cfg.Users {
		if !slices.ContainsFunc(members, func(o userOption) bool { return o.Value == u.Username }) {
			others = append(others, userOption{u.Username, label[u.Username]})
		}
	}
	return members, others
}

// timelineDay draws one day [start, end) of a timeline: its shifts, cut to the day, and a bar of segments
// in which every instant shows exactly who is on call (several users where rotations overlap).
func timelineDay(shifts []oncall.Shift, start, end time.Time) dayView {
	d := dayView{Label: start.Format("Mon 2 Jan"), Date: start.Format("2006-01-02")}
	clock := func(t time.Time) string {
		if t.Equal(end) {
			return "24:00"
		}
		return t.Format("15:04")
	}
	points := []time.Time{start, end}
	var in []oncall.Shift
	for _, sh := range shifts {
		if !sh.Start.Before(end) || !sh.End.After(start) {
			continue
		}
		if sh.Start.Before(start) {
			sh.Start = start
		}
		if sh.End.After(end) {
			sh.End = end
		}
		in = append(in, sh)
		points = append(points, sh.Start, sh.End)
		d.Shifts = append(d.Shifts, shiftView{From: clock(sh.Start), To: clock(sh.End), User: sh.User, Rotation: sh.Rotation, Override: sh.Override})
	}
	slices.SortFunc(points, func(a, b time.Time) int { return a.Compare(b) })
	points = slices.CompactFunc(points, func(a, b time.Time) bool { return a.Equal(b) })

	// Positions are rounded to 5% steps at the boundaries, not per segment, so the widths always add up
	// to 100; a segment shorter than a step is left out of the bar (the list above it has it).
	total := end.Sub(start)
	pos := func(t time.Time) int {
		return int((float64(t.Sub(start))/float64(total))*20+0.5) * 5
	}
	type piece struct {
		label    string
		override bool
		from, to time.Time
	}
	var pieces []piece
	for i := 0; i+1 < len(points); i++ {
		a, b := points[i], points[i+1]
		var who []string
		override := false
		for _, sh := range in {
			if !sh.Start.After(a) && !sh.End.Before(b) {
				if !slices.Contains(who, sh.User) {
					who = append(who, sh.User)
				}
				override = override || sh.Override
			}
		}
		p := piece{label: strings.Join(who, ", "), override: override, from: a, to: b}
		if n := len(pieces); n > 0 && pieces[n-1].label == p.label && pieces[n-1].override == p.override {
			pieces[n-1].to = b
			continue
		}
		pieces = append(pieces, p)
	}
	for _, p := range pieces {
		w := pos(p.to) - pos(p.from)
		if w <= 0 {
			continue
		}
		class, label := "w"+strconv.Itoa(w), p.label
		switch {
		case label == "":
			class, label = class+" gap", "nobody"
		case p.override:
			class += " override"
		}
		d.Segments = append(d.Segments, barSegment{Class: class, Label: clock(p.from) + "–" + clock(p.to) + " " + label})
	}
	return d
}

// parseLocal reads a datetime-local value in the schedule's timezone.
func parseDatetimeLocal(field, value string, loc *time.Location) (time.Time, error) {
	value = strings.TrimSpace(value)
	for _, layout := range []string{datetimeLocal, "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, value, loc); err == nil {
			return t, nil
		}
	}
	if value == "" {
		return time.Time{}, fmt.Errorf("%s is required.", field)
	}
	return time.Time{}, fmt.Errorf("%s %q is not a date and time such as 2026-03-01T09:00.", field, value)
}

func (s *Server) addOverride(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	name := r.PathValue("schedule")
	sch, err := s.cfg.DB.OnCall().Schedule(ctx, name)
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	if !mayOverride(v, sch) {
		s.failErr(w, r, v, errForbidden)
		return
	}
	form := &overrideForm{schedule: sch.Name, user: strings.TrimSpace(r.PostFormValue("user")), from: r.PostFormValue("from"), to: r.PostFormValue("to")}
	refuse := func(msg string) {
		form.msg = msg
		s.renderOncall(w, r, v, http.StatusUnprocessableEntity, form)
	}
	loc, err := time.LoadLocation(sch.Timezone)
	if err != nil {
		refuse("the schedule's timezone: " + err.Error())
		return
	}
	from, err := parseDatetimeLocal("From", form.from, loc)
	if err != nil {
		refuse(err.Error())
		return
	}
	to, err := parseDatetimeLocal("To", form.to, loc)
	if err != nil {
		refuse(err.Error())
		return
	}
	if form.user == "" {
		refuse("choose who is on call.")
		return
	}
	o := oncall.Override{User: form.user, From: from, To: to}
	sch.Overrides = append(sch.Overrides, o)
	doc, err := json.Marshal(sch)
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	if _, err := apply.Put(ctx, s.cfg.DB, store.KindSchedule, sch.Name, doc, s.cfg.Now()); err != nil {
		var ps oncall.Problems
		if errors.As(err, &ps) {
			msgs := make([]string, len(ps))
			for i, p := range ps {
				p.Path = schedulePrefix.ReplaceAllString(p.Path, "")
				msgs[i] = p.Error()
			}
			refuse(strings.Join(msgs, "; ") + ".")
			return
		}
		s.failErr(w, r, v, err)
		return
	}
	s.log.Info("web: override added", "schedule", sch.Name, "user", o.User, "from", from, "to", to, "by", v.User.Username)
	back(w, r, "/oncall#schedule-"+strconv.Itoa(s.scheduleIndex(r, sch.Name)),
		fmt.Sprintf("Override added: %s is on call for %s from %s to %s.", o.User, sch.Name, from.Format("Mon 2 Jan 15:04"), to.Format("Mon 2 Jan 15:04 MST")))
}

// schedulePrefix is the start of a problem's path in the whole configuration, left out when the
// problem is shown next to the schedule's own form.
var schedulePrefix = regexp.MustCompile(`^schedules\[\d+\]\.`)

// scheduleIndex finds the schedule's place on the page, for the link back to it.
func (s *Server) scheduleIndex(r *http.Request, name string) int {
	cfg, err := s.cfg.DB.OnCall().Config(r.Context())
	if err != nil {
		return 0
	}
	return max(0, slices.IndexFunc(cfg.Schedules, func(sch oncall.Schedule) bool { return sch.Name == name }))
}
