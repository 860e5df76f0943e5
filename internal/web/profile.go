package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-dev/tocsin/internal/apply"
	"github.com/tocsin-dev/tocsin/internal/escalation"
	"github.com/tocsin-dev/tocsin/internal/oncall"
	"github.com/tocsin-dev/tocsin/internal/store"
)

// The profile page: who I am, how I am reached (contacts and notification rules, which I may edit,
// never my role), and a test notification to every contact.
func (s *Server) profileRoutes() {
	s.mux.Handle("GET /profile", s.signedIn(s.profilePage))
	s.mux.Handle("POST /profile", s.signedIn(s.saveProfile))
	s.mux.Handle("POST /profile/test", s.signedIn(s.testProfile))
}

// emptyRows is how many blank rows the contact and rule lists offer for adding.
const profileBlankRows = 2

var contactMethods = []string{string(oncall.MethodEmail), string(oncall.MethodSMS), string(oncall.MethodVoice), string(oncall.MethodWebhook)}

var commonTimezones = []string{"UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Asia/Singapore", "Australia/Sydney"}

type profileData struct {
	Username string
	Role     oncall.Role
	Teams    []string
	// Known is whether the username is in the on-call configuration; without it there is nothing to
	// edit or test.
	Known   bool
	CanEdit bool

	FullName, Timezone string
	Contacts           []contactRow
	Rules              []ruleRow
	ContactNames       []string // of the saved contacts, for the rules' suggestions
	DefaultContact     bool     // no contacts saved: paged by email at the username
	Plan               []oncall.Step
	Methods            []string
	Timezones          []string

	Problems []string
	Results  []testResult
	TestErr  string
}

// contactRow and ruleRow are rows of the form; N numbers them from 1 as the messages do.
type contactRow struct {
	N                int
	Name, Method, To string
}

type ruleRow struct {
	N              int
	Contact, Delay string
}

type testResult struct {
	Method, To, Detail, Err string
}

func (s *Server) profilePage(w http.ResponseWriter, r *http.Request, v *viewer) {
	s.renderProfile(w, r, v, http.StatusOK, nil, nil)
}

// renderProfile shows the profile; edit, when set, holds the refused form's values.
func (s *Server) renderProfile(w http.ResponseWriter, r *http.Request, v *viewer, status int, edit *profileData, results *profileData) {
	d := profileData{Username: v.User.Username, Role: v.User.Role, Teams: v.Teams, Methods: contactMethods, Timezones: commonTimezones}
	stored, err := s.cfg.DB.OnCall().User(r.Context(), v.User.Username)
	switch {
	case errors.Is(err, escalation.ErrNotConfigured):
	case err != nil:
		s.failErr(w, r, v, err)
		return
	default:
		d.Known, d.CanEdit = true, v.CanWrite()
		d.FullName, d.Timezone = stored.FullName, stored.Timezone
		names := oncall.ContactNames(stored.Contacts)
		for i, c := range stored.Contacts {
			d.Contacts = append(d.Contacts, contactRow{Name: names[i], Method: string(c.Method), To: c.To})
		}
		for _, rule := range stored.NotificationRules {
			d.Rules = append(d.Rules, ruleRow{Contact: rule.Contact, Delay: rule.Delay.String()})
		}
		eff := stored.WithDefaults()
		d.ContactNames = oncall.ContactNames(eff.Contacts)
		d.DefaultContact = len(stored.Contacts) == 0 && len(eff.Contacts) > 0
		d.Plan, _ = eff.Plan()
	}
	if edit != nil {
		d.FullName, d.Timezone, d.Contacts, d.Rules, d.Problems = edit.FullName, edit.Timezone, edit.Contacts, edit.Rules, edit.Problems
	}
	if results != nil {
		d.Results, d.TestErr = results.Results, results.TestErr
	}
	// Blank rows to add to, at least profileBlankRows of them at the end.
	for blankTail(d.Contacts, func(c contactRow) bool { return c.Method == "" && c.To == "" }) < profileBlankRows {
		d.Contacts = append(d.Contacts, contactRow{})
	}
	for blankTail(d.Rules, func(r ruleRow) bool { return r.Contact == "" && r.Delay == "" }) < profileBlankRows {
		d.Rules = append(d.Rules, ruleRow{})
	}
	for i := range d.Contacts {
		d.Contacts[i].N = i + 1
	}
	for i := range d.Rules {
		d.Rules[i].N = i + 1
	}
	msg := ""
	if len(d.Problems) > 0 {
		msg = "Your profile was not saved: fix the problems listed below and save again."
	}
	s.render(w, r, status, "profile", page{Title: "Profile", Nav: "profile", Viewer: v, Error: msg, Data: d})
}

// contactPath and rulePath find the list entry a problem is about, to name the form's row instead.
var (
	contactPath = regexp.MustCompile(`^contacts\[(\d+)\]`)
	rulePath    = regexp.MustCompile(`^notificationRules\[(\d+)\]`)
	userPrefix  = regexp.MustCompile(`^users\[\d+\]\.`)
)

func (s *Server) saveProfile(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !v.CanWrite() {
		s.failErr(w, r, v, errForbidden)
		return
	}
	ctx := r.Context()
	stored, err := s.cfg.DB.OnCall().User(ctx, v.User.Username)
	if errors.Is(err, escalation.ErrNotConfigured) {
		s.fail(w, r, v, http.StatusNotFound, "Your username is not in the on-call configuration, so there is no profile to save. An admin adds you with tocsin apply.")
		return
	}
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	form := &profileData{FullName: strings.TrimSpace(r.PostFormValue("full_name")), Timezone: strings.TrimSpace(r.PostFormValue("timezone"))}
	u := *stored // username and role stay what they are
	u.FullName, u.Timezone, u.Contacts, u.NotificationRules = form.FullName, form.Timezone, nil, nil

	// Rows are matched by position; a row left empty is no entry. contactRow/ruleRow remember which
	// row each entry came from, for the messages.
	var contactRowOf, ruleRowOf []int
	methods, tos := r.PostForm["contact_method"], r.PostForm["contact_to"]
	for i := range max(len(methods), len(tos)) {
		c := contactRow{Method: strings.TrimSpace(rowValue(methods, i)), To: strings.TrimSpace(rowValue(tos, i))}
		form.Contacts = append(form.Contacts, c)
		if c.Method == "" && c.To == "" {
			continue
		}
		u.Contacts = append(u.Contacts, oncall.Contact{Method: oncall.ContactMethod(c.Method), To: c.To})
		contactRowOf = append(contactRowOf, i+1)
	}
	contacts, delays := r.PostForm["rule_contact"], r.PostForm["rule_delay"]
	for i := range max(len(contacts), len(delays)) {
		row := ruleRow{Contact: strings.TrimSpace(rowValue(contacts, i)), Delay: strings.TrimSpace(rowValue(delays, i))}
		form.Rules = append(form.Rules, row)
		if row.Contact == "" && row.Delay == "" {
			continue
		}
		rule := oncall.NotificationRule{Contact: row.Contact}
		if row.Delay != "" {
			d, err := time.ParseDuration(row.Delay)
			if err != nil {
				form.Problems = append(form.Problems, fmt.Sprintf("Rule row %d: delay %q is not a duration such as 0s, 5m or 1h30m.", i+1, row.Delay))
			}
			rule.Delay = oncall.Duration(d)
		}
		u.NotificationRules = append(u.NotificationRules, rule)
		ruleRowOf = append(ruleRowOf, i+1)
	}
	names := oncall.ContactNames(u.Contacts)
	for i, row := range contactRowOf {
		form.Contacts[row-1].Name = names[i]
	}
	rowName := func(p oncall.Problem) string {
		path := userPrefix.ReplaceAllString(p.Path, "")
		if m := contactPath.FindStringSubmatch(path); m != nil {
			n, _ := strconv.Atoi(m[1])
			if n < len(contactRowOf) {
				path = "Contact row " + strconv.Itoa(contactRowOf[n]) + strings.TrimPrefix(path, m[0])
			}
		} else if m := rulePath.FindStringSubmatch(path); m != nil {
			n, _ := strconv.Atoi(m[1])
			if n < len(ruleRowOf) {
				path = "Rule row " + strconv.Itoa(ruleRowOf[n]) + strings.TrimPrefix(path, m[0])
			}
		}
		path = strings.Replace(path, ".", ": ", 1)
		if path == "" {
			return sentenceCase(p.Msg)
		}
		return sentenceCase(path) + ": " + p.Msg
	}
	refuse := func(err error) bool {
		var ps oncall.Problems
		if !errors.As(err, &ps) {
			return false
		}
		for _, p := range ps {
			form.Problems = append(form.Problems, rowName(p))
		}
		return true
	}
	if err := u.Validate(); err != nil && !refuse(err) {
		s.failErr(w, r, v, err)
		return
	}
	if len(form.Problems) > 0 {
		s.renderProfile(w, r, v, http.StatusUnprocessableEntity, form, nil)
		return
	}
	doc, err := json.Marshal(u)
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	// Put checks the whole configuration with the user in place (references to contacts, …).
	if _, err := apply.Put(ctx, s.cfg.DB, store.KindUser, u.Username, doc, s.cfg.Now()); err != nil {
		if refuse(err) {
			s.renderProfile(w, r, v, http.StatusUnprocessableEntity, form, nil)
			return
		}
		s.failErr(w, r, v, err)
		return
	}
	s.log.Info("web: profile saved", "user", u.Username)
	back(w, r, "/profile", "Your profile is saved.")
}

// trailing counts the entries at the end of list that are blank.
func blankTail[T any](list []T, blank func(T) bool) int {
	n := 0
	for i := len(list) - 1; i >= 0 && blank(list[i]); i-- {
		n++
	}
	return n
}

func rowValue(list []string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return ""
}

func (s *Server) testProfile(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	if _, err := s.cfg.DB.OnCall().User(ctx, v.User.Username); errors.Is(err, escalation.ErrNotConfigured) {
		s.fail(w, r, v, http.StatusNotFound, "Your username is not in the on-call configuration, so tocsin has no contact to test.")
		return
	} else if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	if s.cfg.TestNotification == nil {
		s.fail(w, r, v, http.StatusNotImplemented, "Test notifications are not available on this server.")
		return
	}
	res := &profileData{}
	results, err := s.cfg.TestNotification(ctx, v.User.Username)
	if err != nil {
		s.log.Error("web: test notification", "user", v.User.Username, "err", err)
		res.TestErr = "The test notification could not be sent; tocsin's log has the details."
	}
	for _, tr := range results {
		t := testResult{Method: tr.Contact.Method, To: tr.Contact.To, Detail: tr.Receipt.Detail}
		if tr.Err != nil {
			t.Err = tr.Err.Error()
		}
		res.Results = append(res.Results, t)
	}
	s.log.Info("web: test notification sent", "user", v.User.Username, "contacts", len(results))
	s.renderProfile(w, r, v, http.StatusOK, nil, res)
}
