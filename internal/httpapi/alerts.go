package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
)

// The JSON shapes of Opsgenie's v2 Alert API. Field names and types follow Opsgenie's documentation
// and the official Go SDK, which decodes them.

// timeFormat is Opsgenie's date format: UTC with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

type alertJSON struct {
	ID             string            `json:"id"`
	TinyID         string            `json:"tinyId"`
	Alias          string            `json:"alias"`
	Message        string            `json:"message"`
	Status         string            `json:"status"`
	Acknowledged   bool              `json:"acknowledged"`
	IsSeen         bool              `json:"isSeen"`
	Tags           []string          `json:"tags"`
	Snoozed        bool              `json:"snoozed"`
	SnoozedUntil   string            `json:"snoozedUntil,omitempty"`
	Count          int               `json:"count"`
	LastOccurredAt string            `json:"lastOccurredAt"`
	CreatedAt      string            `json:"createdAt"`
	UpdatedAt      string            `json:"updatedAt"`
	Source         string            `json:"source"`
	Owner          string            `json:"owner"`
	Priority       string            `json:"priority"`
	Responders     []alert.Responder `json:"responders"`
	VisibleTo      []alert.Responder `json:"visibleTo,omitempty"`
	Integration    *integrationJSON  `json:"integration,omitempty"`
	Report         alert.Report      `json:"report"`
	Actions        []string          `json:"actions"`
	Entity         string            `json:"entity"`
	Description    string            `json:"description"`
	Details        map[string]string `json:"details"`
}

type integrationJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func toJSON(a *alert.Alert) alertJSON {
	j := alertJSON{
		ID: a.ID, TinyID: strconv.FormatInt(a.TinyID, 10), Alias: a.Alias, Message: a.Message, Status: string(a.Status),
		Acknowledged: a.Acknowledged, IsSeen: a.Seen, Tags: orEmpty(a.Tags), Snoozed: a.Snoozed, SnoozedUntil: fmtTime(a.SnoozedUntil),
		Count: a.Count, LastOccurredAt: fmtTime(a.LastOccurredAt), CreatedAt: fmtTime(a.CreatedAt), UpdatedAt: fmtTime(a.UpdatedAt),
		Source: a.Source, Owner: a.Owner, Priority: string(a.Priority), Responders: orEmpty(a.Responders), VisibleTo: a.VisibleTo,
		Report: a.Report, Actions: orEmpty(a.Actions), Entity: a.Entity, Description: a.Description, Details: a.Details,
	}
	if j.Details == nil {
		j.Details = map[string]string{}
	}
	if a.Integration.ID != "" {
		j.Integration = &integrationJSON{ID: a.Integration.ID, Name: a.Integration.Name, Type: a.Integration.Type}
	}
	return j
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// actionBody is the optional body every action takes.
type actionBody struct {
	User   string `json:"user"`
	Source string `json:"source"`
	Note   string `json:"note"`
}

type createBody struct {
	actionBody
	Message     string            `json:"message"`
	Alias       string            `json:"alias"`
	Description string            `json:"description"`
	Responders  []alert.Responder `json:"responders"`
	VisibleTo   []alert.Responder `json:"visibleTo"`
	Actions     []string          `json:"actions"`
	Tags        []string          `json:"tags"`
	Details     map[string]string `json:"details"`
	Entity      string            `json:"entity"`
	Priority    string            `json:"priority"`
}

func (s *Server) createAlert(c *call) error {
	var b createBody
	if err := c.decode(&b); err != nil {
		return err
	}
	o := c.origin(b.User, b.Source, b.Note)
	_, err := s.cfg.Alerts.Create(c.r.Context(), o, alert.CreateRequest{
		Message: b.Message, Alias: b.Alias, Description: b.Description, Responders: b.Responders, VisibleTo: b.VisibleTo,
		Actions: b.Actions, Tags: b.Tags, Details: b.Details, Entity: b.Entity, Source: o.Source, Priority: alert.Priority(b.Priority),
	})
	if err != nil {
		return err
	}
	return c.accepted()
}

// ref reads the alert identifier from the path and identifierType from the query (default id).
func (c *call) ref() (alert.Ref, error) {
	t := c.r.URL.Query().Get("identifierType")
	if t == "" {
		t = "id"
	}
	switch alert.IdentifierType(t) {
	case alert.ByID, alert.ByTiny, alert.ByAlias:
	default:
		return alert.Ref{}, apiErr(http.StatusUnprocessableEntity, "identifierType must be id, tiny or alias")
	}
	return alert.Ref{Type: alert.IdentifierType(t), Value: c.r.PathValue("identifier")}, nil
}

func (s *Server) getAlert(c *call) error {
	ref, err := c.ref()
	if err != nil {
		return err
	}
	a, err := s.cfg.Alerts.Get(c.r.Context(), ref)
	if err != nil {
		return err
	}
	return c.data(toJSON(a), nil)
}

func (s *Server) listOptions(c *call) (alert.ListOptions, error) {
	q := c.r.URL.Query()
	var opts alert.ListOptions
	var err error
	if opts.Query, err = alert.ParseQuery(q.Get("query")); err != nil {
		return opts, err
	}
	if q.Get("searchIdentifier") != "" {
		return opts, apiErr(http.StatusUnprocessableEntity, "saved searches are not supported; pass the search as query")
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"offset", &opts.Offset}, {"limit", &opts.Limit}} {
		if v := q.Get(p.name); v != "" {
			if *p.dst, err = strconv.Atoi(v); err != nil {
				return opts, apiErr(http.StatusUnprocessableEntity, p.name+" must be a number")
			}
		}
	}
	opts.Sort, opts.Order = alert.SortField(q.Get("sort")), alert.Order(q.Get("order"))
	return opts, nil
}

func (s *Server) listAlerts(c *call) error {
	opts, err := s.listOptions(c)
	if err != nil {
		return err
	}
	alerts, err := s.cfg.Alerts.List(c.r.Context(), opts)
	if err != nil {
		return err
	}
	out := make([]alertJSON, len(alerts))
	for i, a := range alerts {
		out[i] = toJSON(a)
	}
	limit := opts.Limit
	if limit == 0 {
		limit = alert.DefaultListLimit
	}
	paging := map[string]string{"first": c.pageURL(0, limit)}
	if len(alerts) == limit {
		paging["next"] = c.pageURL(opts.Offset+limit, limit)
	}
	return c.data(out, map[string]any{"paging": paging})
}

func (c *call) pageURL(offset, limit int) string {
	u := *c.r.URL
	q := u.Query()
	q.Set("offset", strconv.Itoa(offset))
	q.Set("limit", strconv.Itoa(limit))
	q.Del("apiKey")
	u.RawQuery = q.Encode()
	u.Scheme, u.Host = "", ""
	return u.String()
}

func (s *Server) countAlerts(c *call) error {
	q, err := alert.ParseQuery(c.r.URL.Query().Get("query"))
	if err != nil {
		return err
	}
	n, err := s.cfg.Alerts.Count(c.r.Context(), q)
	if err != nil {
		return err
	}
	return c.data(map[string]int{"count": n}, nil)
}

func (s *Server) requestStatus(c *call) error {
	st, err := s.cfg.Alerts.RequestStatus(c.r.Context(), c.r.PathValue("requestID"))
	if err != nil {
		if errors.Is(err, alert.ErrNotFound) {
			return apiErr(http.StatusNotFound, "Request not found")
		}
		return err
	}
	// Statuses are visible only to the integration that made the request.
	if st.IntegrationID != "" && st.IntegrationID != c.in.ID {
		return apiErr(http.StatusNotFound, "Request not found")
	}
	return c.data(map[string]any{
		"success": st.Success, "isSuccess": st.Success, "action": st.Action, "processedAt": fmtTime(st.ProcessedAt),
		"integrationId": st.IntegrationID, "status": st.Status, "alertId": st.AlertID, "alias": st.Alias,
	}, nil)
}

// act runs an action that takes only the common body and answers 202.
func (s *Server) act(c *call, body any, common *actionBody, do func(alert.Origin, alert.Ref) error) error {
	ref, err := c.ref()
	if err != nil {
		return err
	}
	if err := c.decode(body); err != nil {
		return err
	}
	if err := do(c.origin(common.User, common.Source, common.Note), ref); err != nil {
		return err
	}
	return c.accepted()
}

type simpleAction func(ctx context.Context, o alert.Origin, ref alert.Ref) (*alert.Alert, error)

func (s *Server) simple(c *call, fn simpleAction) error {
	var b actionBody
	return s.act(c, &b, &b, func(o alert.Origin, ref alert.Ref) error {
		_, err := fn(c.r.Context(), o, ref)
		return err
	})
}

func (s *Server) acknowledge(c *call) error   { return s.simple(c, s.cfg.Alerts.Acknowledge) }
func (s *Server) unacknowledge(c *call) error { return s.simple(c, s.cfg.Alerts.Unacknowledge) }
func (s *Server) closeAlert(c *call) error    { return s.simple(c, s.cfg.Alerts.Close) }
func (s *Server) addNote(c *call) error       { return s.simple(c, s.cfg.Alerts.AddNote) }

func (s *Server) snooze(c *call) error {
	var b struct {
		actionBody
		EndTime string `json:"endTime"`
	}
	return s.act(c, &b, &b.actionBody, func(o alert.Origin, ref alert.Ref) error {
		until, err := time.Parse(time.RFC3339Nano, b.EndTime)
		if err != nil {
			return &alert.ValidationError{Field: "endTime", Reason: "must be a date like 2026-11-26T10:00:00Z"}
		}
		_, err = s.cfg.Alerts.Snooze(c.r.Context(), o, ref, until)
		return err
	})
}

func (s *Server) escalate(c *call) error {
	var b struct {
		actionBody
		Escalation alert.Responder `json:"escalation"`
	}
	return s.act(c, &b, &b.actionBody, func(o alert.Origin, ref alert.Ref) error {
		_, err := s.cfg.Alerts.Escalate(c.r.Context(), o, ref, b.Escalation)
		return err
	})
}

func (s *Server) assign(c *call) error {
	var b struct {
		actionBody
		Owner struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"owner"`
	}
	return s.act(c, &b, &b.actionBody, func(o alert.Origin, ref alert.Ref) error {
		owner := b.Owner.Username
		if owner == "" {
			owner = b.Owner.ID
		}
		_, err := s.cfg.Alerts.Assign(c.r.Context(), o, ref, owner)
		return err
	})
}

func (s *Server) addTags(c *call) error {
	var b struct {
		actionBody
		Tags []string `json:"tags"`
	}
	return s.act(c, &b, &b.actionBody, func(o alert.Origin, ref alert.Ref) error {
		_, err := s.cfg.Alerts.AddTags(c.r.Context(), o, ref, b.Tags)
		return err
	})
}

func (s *Server) addDetails(c *call) error {
	var b struct {
		actionBody
		Details map[string]string `json:"details"`
	}
	return s.act(c, &b, &b.actionBody, func(o alert.Origin, ref alert.Ref) error {
		_, err := s.cfg.Alerts.AddDetails(c.r.Context(), o, ref, b.Details)
		return err
	})
}

// queryAction reads a DELETE's parameters from the query string, as Opsgenie's API defines them.
func (s *Server) queryAction(c *call, listParam string, do func(o alert.Origin, ref alert.Ref, list []string) error) error {
	ref, err := c.ref()
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	var list []string
	for _, v := range strings.Split(q.Get(listParam), ",") {
		if v = strings.TrimSpace(v); v != "" {
			list = append(list, v)
		}
	}
	if err := do(c.origin(q.Get("user"), q.Get("source"), q.Get("note")), ref, list); err != nil {
		return err
	}
	return c.accepted()
}

func (s *Server) removeTags(c *call) error {
	return s.queryAction(c, "tags", func(o alert.Origin, ref alert.Ref, tags []string) error {
		_, err := s.cfg.Alerts.RemoveTags(c.r.Context(), o, ref, tags)
		return err
	})
}

func (s *Server) removeDetails(c *call) error {
	return s.queryAction(c, "keys", func(o alert.Origin, ref alert.Ref, keys []string) error {
		_, err := s.cfg.Alerts.RemoveDetails(c.r.Context(), o, ref, keys)
		return err
	})
}

func (s *Server) deleteAlert(c *call) error {
	return s.queryAction(c, "", func(o alert.Origin, ref alert.Ref, _ []string) error {
		return s.cfg.Alerts.Delete(c.r.Context(), o, ref)
	})
}

func (s *Server) updatePriority(c *call) error {
	var b struct {
		actionBody
		Priority string `json:"priority"`
	}
	return s.act(c, &b, &b.actionBody, func(o alert.Origin, ref alert.Ref) error {
		_, err := s.cfg.Alerts.UpdatePriority(c.r.Context(), o, ref, alert.Priority(b.Priority))
		return err
	})
}

func (s *Server) updateMessage(c *call) error {
	var b struct {
		actionBody
		Message string `json:"message"`
	}
	return s.act(c, &b, &b.actionBody, func(o alert.Origin, ref alert.Ref) error {
		_, err := s.cfg.Alerts.UpdateMessage(c.r.Context(), o, ref, b.Message)
		return err
	})
}

func (s *Server) updateDescription(c *call) error {
	var b struct {
		actionBody
		Description string `json:"description"`
	}
	return s.act(c, &b, &b.actionBody, func(o alert.Origin, ref alert.Ref) error {
		_, err := s.cfg.Alerts.UpdateDescription(c.r.Context(), o, ref, b.Description)
		return err
	})
}

// listSub serves GET …/{identifier}/notes and …/logs.
func (s *Server) listSub(c *call) error {
	ref, err := c.ref()
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	p := alert.Page{Desc: q.Get("order") == "desc"}
	if v := q.Get("limit"); v != "" {
		if p.Limit, err = strconv.Atoi(v); err != nil || p.Limit < 1 || p.Limit > alert.MaxListLimit {
			return apiErr(http.StatusUnprocessableEntity, "limit must be a number from 1 to 100")
		}
	}
	if v := q.Get("offset"); v != "" {
		if p.After, err = strconv.ParseInt(v, 10, 64); err != nil || p.After < 0 {
			return apiErr(http.StatusUnprocessableEntity, "offset must be an offset returned by an earlier page")
		}
	}
	ctx := c.r.Context()
	type entry struct {
		Note      string `json:"note,omitempty"`
		Log       string `json:"log,omitempty"`
		Type      string `json:"type,omitempty"`
		Owner     string `json:"owner"`
		CreatedAt string `json:"createdAt"`
		Offset    string `json:"offset"`
	}
	var out []entry
	switch c.r.PathValue("list") {
	case "notes":
		notes, err := s.cfg.Alerts.Notes(ctx, ref, p)
		if err != nil {
			return err
		}
		for _, n := range notes {
			out = append(out, entry{Note: n.Text, Owner: n.Owner, CreatedAt: fmtTime(n.CreatedAt), Offset: strconv.FormatInt(n.ID, 10)})
		}
	case "logs":
		logs, err := s.cfg.Alerts.Logs(ctx, ref, p)
		if err != nil {
			return err
		}
		for _, l := range logs {
			out = append(out, entry{Log: l.Text, Type: l.Type, Owner: l.Owner, CreatedAt: fmtTime(l.CreatedAt), Offset: strconv.FormatInt(l.ID, 10)})
		}
	default:
		return apiErr(http.StatusNotFound, "no such API endpoint")
	}
	paging := map[string]string{}
	if len(out) > 0 {
		u := *c.r.URL
		v := u.Query()
		v.Set("offset", out[len(out)-1].Offset)
		v.Set("direction", "next")
		v.Del("apiKey")
		u.RawQuery = v.Encode()
		paging["next"] = (&url.URL{Path: u.Path, RawQuery: u.RawQuery}).String()
	}
	return c.data(orEmpty(out), map[string]any{"paging": paging})
}
