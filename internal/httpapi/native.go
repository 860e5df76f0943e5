package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-dev/tocsin/internal/access"
	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/apply"
	"github.com/tocsin-dev/tocsin/internal/oncall"
	"github.com/tocsin-dev/tocsin/internal/store"
)

// tocsin's own JSON API under /api: the on-call configuration (users, teams, schedules, escalation
// policies), who is on call, and an alert's notifications. Keys come from `tocsin apikey create`:
// any role reads, admin writes.

func (s *Server) nativeRoutes() {
	m := s.mux
	api := func(pattern string, write bool, h func(*call) error) { m.Handle(pattern, s.native(write, h)) }
	api("GET /api/{kind}", false, s.listObjects)
	api("GET /api/{kind}/{name}", false, s.getObject)
	api("PUT /api/{kind}/{name}", true, s.putObject)
	api("DELETE /api/{kind}/{name}", true, s.deleteObject)
	api("GET /api/schedules/{name}/oncall", false, s.scheduleOnCall)
	api("GET /api/schedules/{name}/timeline", false, s.scheduleTimeline)
	api("GET /api/alerts/{id}/notifications", false, s.alertNotifications)
	// Opsgenie's "who is on call" for scripts that call it, with an integration key.
	m.Handle("GET /v2/schedules/{identifier}/on-calls", s.v2(s.opsgenieOnCalls))
}

// native wraps an /api handler: a request id, the key (Authorization: Bearer KEY, or X-Api-Key),
// the role check, and errors as {"message": …, "problems": […]}.
func (s *Server) native(write bool, h func(*call) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r, id: newRequestID(), start: time.Now()}
		w.Header().Set("X-Request-Id", c.id)
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		err := s.checkAPIKey(c, write)
		if err == nil {
			err = h(c)
		}
		if err != nil {
			s.fail(c, err)
		}
	})
}

func (s *Server) checkAPIKey(c *call, write bool) error {
	if s.cfg.Access == nil || s.cfg.DB == nil {
		return apiErr(http.StatusNotFound, "the /api is not configured")
	}
	secret := c.r.Header.Get("X-Api-Key")
	if auth := c.r.Header.Get("Authorization"); secret == "" && auth != "" {
		scheme, rest, _ := strings.Cut(auth, " ")
		if strings.EqualFold(scheme, "Bearer") {
			secret = strings.TrimSpace(rest)
		}
	}
	if secret == "" {
		return apiErr(http.StatusUnauthorized, "missing API key: send Authorization: Bearer KEY (make one with tocsin apikey create)")
	}
	k, err := s.cfg.Access.Authenticate(c.r.Context(), secret)
	if errors.Is(err, access.ErrUnknownKey) {
		return apiErr(http.StatusUnauthorized, "invalid API key")
	}
	if err != nil {
		return err
	}
	if write && !k.Role.CanWriteConfig() {
		return apiErr(http.StatusForbidden, "this API key's role ("+string(k.Role)+") may not change the configuration; an admin key may")
	}
	return nil
}

func (c *call) kind() (string, error) {
	kind, ok := apply.Kinds[c.r.PathValue("kind")]
	if !ok {
		return "", apiErr(http.StatusNotFound, "no such API endpoint; /api has users, teams, schedules and escalations")
	}
	return kind, nil
}

func (s *Server) listObjects(c *call) error {
	kind, err := c.kind()
	if err != nil {
		return err
	}
	objs, err := s.cfg.DB.Objects(c.r.Context(), kind)
	if err != nil {
		return err
	}
	docs := make([]json.RawMessage, len(objs))
	for i, o := range objs {
		docs[i] = o.Doc
	}
	return c.data(docs, nil)
}

func (s *Server) getObject(c *call) error {
	kind, err := c.kind()
	if err != nil {
		return err
	}
	o, err := s.cfg.DB.Object(c.r.Context(), kind, c.r.PathValue("name"))
	if errors.Is(err, store.ErrNoObject) {
		return apiErr(http.StatusNotFound, kind+" "+strconv.Quote(c.r.PathValue("name"))+" does not exist")
	}
	if err != nil {
		return err
	}
	return c.data(o.Doc, nil)
}

func (s *Server) putObject(c *call) error {
	kind, err := c.kind()
	if err != nil {
		return err
	}
	body, err := c.body()
	if err != nil {
		return err
	}
	created, err := apply.Put(c.r.Context(), s.cfg.DB, kind, c.r.PathValue("name"), body, time.Now())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(c.w, status, map[string]any{"result": "saved", "created": created, "took": c.took(), "requestId": c.id})
	return nil
}

func (s *Server) deleteObject(c *call) error {
	kind, err := c.kind()
	if err != nil {
		return err
	}
	err = apply.Remove(c.r.Context(), s.cfg.DB, kind, c.r.PathValue("name"))
	if errors.Is(err, store.ErrNoObject) {
		return apiErr(http.StatusNotFound, kind+" "+strconv.Quote(c.r.PathValue("name"))+" does not exist")
	}
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"result": "deleted", "took": c.took(), "requestId": c.id})
	return nil
}

// maxShifts bounds a timeline answer: a one-minute custom rotation over a year is half a million.
const maxShifts = 5000

// timeParam reads an RFC 3339 time from the query, or now.
func (c *call) timeParam(name string) (time.Time, error) {
	v := c.r.URL.Query().Get(name)
	if v == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil || t.Year() < 1970 || t.Year() > 9000 {
		return time.Time{}, &alert.ValidationError{Field: name, Reason: "must be a time like 2026-11-26T10:00:00Z, between 1970 and 9000"}
	}
	return t, nil
}

func (s *Server) schedule(c *call, name string) (*oncall.Schedule, error) {
	sch, err := s.cfg.DB.OnCall().Schedule(c.r.Context(), name)
	if err != nil {
		return nil, apiErr(http.StatusNotFound, "schedule "+strconv.Quote(name)+" does not exist")
	}
	return sch, nil
}

func (s *Server) scheduleOnCall(c *call) error {
	at, err := c.timeParam("at")
	if err != nil {
		return err
	}
	sch, err := s.schedule(c, c.r.PathValue("name"))
	if err != nil {
		return err
	}
	users, err := sch.OnCall(at)
	if err != nil {
		return err
	}
	return c.data(map[string]any{"schedule": sch.Name, "at": at.UTC().Format(time.RFC3339), "onCall": orEmpty(users)}, nil)
}

func (s *Server) scheduleTimeline(c *call) error {
	from, err := c.timeParam("from")
	if err != nil {
		return err
	}
	days := 14
	if v := c.r.URL.Query().Get("days"); v != "" {
		if days, err = strconv.Atoi(v); err != nil || days < 1 || days > 366 {
			return &alert.ValidationError{Field: "days", Reason: "must be a number from 1 to 366"}
		}
	}
	sch, err := s.schedule(c, c.r.PathValue("name"))
	if err != nil {
		return err
	}
	shifts, err := sch.Shifts(from, from.AddDate(0, 0, days))
	if err != nil {
		return err
	}
	if len(shifts) > maxShifts {
		return &alert.ValidationError{Field: "days", Reason: "the timeline has more than " + strconv.Itoa(maxShifts) + " shifts; ask for fewer days"}
	}
	type shift struct {
		User     string `json:"user"`
		Start    string `json:"start"`
		End      string `json:"end"`
		Rotation string `json:"rotation,omitempty"`
		Override bool   `json:"override,omitempty"`
	}
	out := make([]shift, len(shifts))
	for i, sh := range shifts {
		out[i] = shift{User: sh.User, Start: sh.Start.Format(time.RFC3339), End: sh.End.Format(time.RFC3339), Rotation: sh.Rotation, Override: sh.Override}
	}
	return c.data(out, map[string]any{"schedule": sch.Name, "timezone": sch.Timezone})
}

func (s *Server) alertNotifications(c *call) error {
	a, err := s.cfg.Alerts.Get(c.r.Context(), alert.Ref{Type: alert.ByID, Value: c.r.PathValue("id")})
	if err != nil {
		return err
	}
	list, err := s.cfg.DB.Escalations(nil).Notifications(c.r.Context(), a.ID)
	if err != nil {
		return err
	}
	type notification struct {
		ID       string `json:"id"`
		User     string `json:"user"`
		Method   string `json:"method"`
		To       string `json:"to"`
		Step     int    `json:"step"`
		Round    int    `json:"round"`
		State    string `json:"state"`
		Error    string `json:"error,omitempty"`
		Attempts int    `json:"attempts"`
		DueAt    string `json:"dueAt"`
		SentAt   string `json:"sentAt,omitempty"`
	}
	out := make([]notification, len(list))
	for i, n := range list {
		out[i] = notification{ID: n.ID, User: n.Username, Method: n.Method, To: n.To, Step: n.Step + 1, Round: n.Round + 1, State: string(n.State),
			Error: n.Error, Attempts: n.Attempts, DueAt: fmtTime(n.DueAt), SentAt: fmtTime(n.SentAt)}
	}
	return c.data(out, nil)
}

// opsgenieOnCalls answers GET /v2/schedules/{identifier}/on-calls as Opsgenie does. Schedules are
// named; tocsin takes the name as the id too.
func (s *Server) opsgenieOnCalls(c *call) error {
	at, err := c.timeParam("date")
	if err != nil {
		return err
	}
	sch, err := s.schedule(c, c.r.PathValue("identifier"))
	if err != nil {
		return err
	}
	users, err := sch.OnCall(at)
	if err != nil {
		return err
	}
	type participant struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Type string `json:"type"`
	}
	ps := make([]participant, len(users))
	for i, u := range users {
		ps[i] = participant{ID: u, Name: u, Type: "user"}
	}
	return c.data(map[string]any{
		"_parent":            map[string]any{"id": sch.Name, "name": sch.Name, "enabled": true},
		"onCallParticipants": ps,
	}, nil)
}
