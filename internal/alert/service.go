package alert

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Service applies the alert lifecycle. Each method is one transaction: the alert change, its activity
// log line, the request status and any job it causes commit together.
type Service struct {
	store    Store
	now      func() time.Time
	onCreate func(CreateResult)
	outbox   func(*Alert, Change) (Job, bool)
	// escalation starts paging new alerts in their create transaction; nil enqueues a job instead.
	escalation Escalation
}

// Change is something a person (or a script on their behalf) did to an alert, as other systems hear
// of it: the Security Hub write-back turns these into BatchUpdateFindings.
type Change struct {
	// Action is the Service method: Acknowledge, Unacknowledge, Close, AddNote, UpdatePriority, …
	Action string
	// Note is the note added with the change, if any (always, for AddNote).
	Note string
	// By is who did it, as the activity log shows it; Actor is the party that asked.
	By    string
	Actor Actor
}

// Options tune a Service. The zero value is ready to use.
type Options struct {
	// Now returns the current time; tests set it to control time.
	Now func() time.Time
	// OnCreate is called after each committed create, e.g. to count it in metrics.
	OnCreate func(CreateResult)
	// Outbox, when set, is asked inside the transaction of every change to an existing alert for a
	// job to commit with it. This is how other systems hear of changes (the Security Hub write-back)
	// without a crash ever losing one: the change and the job commit together or not at all.
	Outbox func(a *Alert, c Change) (Job, bool)
	// Escalation, when set, starts paging for each new alert inside its create transaction; without
	// it a new alert enqueues an EscalateArgs job.
	Escalation Escalation
}

// Escalation starts paging for a new alert in the transaction that creates it. The escalation engine
// implements it; this package only says when.
type Escalation interface {
	// Begin records what paging a needs in tx; after is called once tx has committed.
	Begin(ctx context.Context, tx Tx, a *Alert) (after func(), err error)
}

// NewService returns a Service that stores alerts in store.
func NewService(store Store, opts Options) *Service {
	s := &Service{store: store, now: opts.Now, onCreate: opts.OnCreate, outbox: opts.Outbox, escalation: opts.Escalation}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// CreateRequest is the content of a new alert, as Opsgenie's create call carries it. The caller's user,
// note and source travel in Origin.
type CreateRequest struct {
	Message     string
	Alias       string
	Description string
	Responders  []Responder
	VisibleTo   []Responder
	Actions     []string
	Tags        []string
	Details     map[string]string
	Entity      string
	Source      string
	Priority    Priority
	// SourceVersion, when not 0, is the version of the source's record this create reports (Security
	// Hub: the finding's UpdatedAt). A create no newer than what the alias's latest alert has seen is
	// not news but someone else's edit of the record (an echo of tocsin's own write-back, a workflow
	// change in the console): Ingest applies it quietly, never creating, reopening or counting.
	SourceVersion int64
}

// CreateResult says what a create did.
type CreateResult struct {
	Alert *Alert
	// Deduped is true when an open alert with the same alias absorbed the create (count+1).
	Deduped bool
	// committed is what to do once the create's transaction committed (send the first pages).
	committed func()
}

// createAttempts bounds retries when two replicas create the same alias at once; the loser's retry
// finds the winner's alert and dedupes onto it.
const createAttempts = 3

// Create makes a new alert, or, when an open alert has the same alias, counts another occurrence of it
// without notifying anyone again.
func (s *Service) Create(ctx context.Context, o Origin, req CreateRequest) (CreateResult, error) {
	if err := req.normalize(); err != nil {
		return CreateResult{}, err
	}
	var res CreateResult
	var err error
	for range createAttempts {
		res, err = s.createOnce(ctx, o, req)
		if !errors.Is(err, ErrAliasTaken) {
			break
		}
	}
	if err != nil {
		return CreateResult{}, err
	}
	res.afterCommit()
	if s.onCreate != nil {
		s.onCreate(res)
	}
	return res, nil
}

func (r CreateResult) afterCommit() {
	if r.committed != nil {
		r.committed()
	}
}

func (s *Service) createOnce(ctx context.Context, o Origin, req CreateRequest) (CreateResult, error) {
	var res CreateResult
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		res, err = s.createIn(ctx, tx, o, req, s.now(), nil)
		return err
	})
	return res, err
}

// createIn is the body of a create inside a transaction, shared by Create and Ingest.
// aliasLatest is the latest alert of an alias as the transaction already read it (locked), or none.
type aliasLatest struct{ alert *Alert }

// openAlert is the alias's open alert, or ErrNotFound. With the latest alert already read, it spares
// a query when that one is open (an alias has one open alert at most, and nothing reopens a closed
// one) or when the alias has no alert at all; a closed latest alert does not prove that none is open
// (replicas' clocks may differ on created_at), so the open one is then looked up.
func openAlert(ctx context.Context, tx Tx, alias string, latest *aliasLatest) (*Alert, error) {
	switch {
	case latest != nil && latest.alert == nil:
		return nil, ErrNotFound
	case latest != nil && latest.alert.Status == StatusOpen:
		return latest.alert, nil
	}
	return tx.OpenByAlias(ctx, alias)
}

func (s *Service) createIn(ctx context.Context, tx Tx, o Origin, req CreateRequest, now time.Time, latest *aliasLatest) (CreateResult, error) {
	if req.Alias != "" {
		open, err := openAlert(ctx, tx, req.Alias, latest)
		switch {
		case err == nil:
			open.Count++
			open.SourceVersion = max(open.SourceVersion, req.SourceVersion)
			open.LastOccurredAt = now
			open.UpdatedAt = now
			if err := tx.Update(ctx, open); err != nil {
				return CreateResult{}, err
			}
			text := fmt.Sprintf("Alert occurred again (count %d)", open.Count)
			return CreateResult{Alert: open, Deduped: true}, s.record(ctx, tx, o, open, now, "Create", "alertDedup", text, "Alert deduplicated")
		case !errors.Is(err, ErrNotFound):
			return CreateResult{}, err
		}
	}
	a := req.newAlert(now, o)
	if err := tx.Insert(ctx, a); err != nil {
		return CreateResult{}, err
	}
	text := "Alert created"
	if a.Integration.Name != "" {
		text = fmt.Sprintf("Alert created via %s", a.Integration.Name)
	}
	if err := s.record(ctx, tx, o, a, now, "Create", "alertCreate", text, "Created alert"); err != nil {
		return CreateResult{}, err
	}
	if s.escalation == nil {
		return CreateResult{Alert: a}, escalate(ctx, tx, a)
	}
	after, err := s.escalation.Begin(ctx, tx, a)
	if err != nil {
		return CreateResult{}, fmt.Errorf("start escalation: %w", err)
	}
	return CreateResult{Alert: a, committed: after}, nil
}

// escalate enqueues the start of escalation for a in the current transaction.
func escalate(ctx context.Context, tx Tx, a *Alert) error {
	return tx.Enqueue(ctx, EscalateArgs{AlertID: a.ID, Epoch: a.EscalationEpoch}, time.Time{})
}

// record writes what every change writes: the log line, the caller's note, and the request status.
func (s *Service) record(ctx context.Context, tx Tx, o Origin, a *Alert, now time.Time, action, logType, text, status string) error {
	if text != "" {
		if err := tx.AddLog(ctx, &LogEntry{AlertID: a.ID, Type: logType, Text: text, Owner: o.owner(), CreatedAt: now}); err != nil {
			return err
		}
	}
	note := cut(o.Note, MaxNoteRunes)
	if strings.TrimSpace(note) != "" {
		if err := tx.AddNote(ctx, &Note{AlertID: a.ID, Text: note, Owner: o.owner(), CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.AddLog(ctx, &LogEntry{AlertID: a.ID, Type: "alertNote", Text: "Note added: " + cut(note, 200), Owner: o.owner(), CreatedAt: now}); err != nil {
			return err
		}
	} else {
		note = ""
	}
	if s.outbox != nil && action != "Create" && (text != "" || note != "") {
		if job, ok := s.outbox(a, Change{Action: action, Note: note, By: o.owner(), Actor: o.Actor}); ok {
			if err := tx.Enqueue(ctx, job, time.Time{}); err != nil {
				return err
			}
		}
	}
	if o.RequestID == "" {
		return nil
	}
	return tx.SaveRequest(ctx, &RequestStatus{
		ID: o.RequestID, Action: action, AlertID: a.ID, Alias: a.Alias, IntegrationID: o.Actor.integrationID(),
		Success: true, Status: status, ProcessedAt: now,
	})
}

func (a Actor) integrationID() string {
	if a.Kind == ActorIntegration {
		return a.ID
	}
	return ""
}

// change is the shape of every action on an existing alert: lock it, let fn change it, and record
// the change. fn returns the log text, or "" when the alert already was as asked (nothing is written
// but the request status, so retries are harmless).
type change func(a *Alert, now time.Time, tx Tx) (logText string, err error)

func (s *Service) apply(ctx context.Context, o Origin, ref Ref, action, logType, status string, fn change) (*Alert, error) {
	ref, err := ref.normalize()
	if err != nil {
		return nil, err
	}
	var out *Alert
	err = s.store.InTx(ctx, func(tx Tx) error {
		a, err := tx.Lock(ctx, ref)
		if err != nil {
			return err
		}
		now := s.now()
		text, err := fn(a, now, tx)
		if err != nil {
			return err
		}
		if text != "" {
			a.UpdatedAt = now
			if err := tx.Update(ctx, a); err != nil {
				return err
			}
		}
		out = a
		return s.record(ctx, tx, o, a, now, action, logType, text, status)
	})
	return out, err
}

// Acknowledge marks the alert as seen to by someone: escalation stops.
func (s *Service) Acknowledge(ctx context.Context, o Origin, ref Ref) (*Alert, error) {
	return s.apply(ctx, o, ref, "Acknowledge", "alertAck", "Acknowledged alert", func(a *Alert, now time.Time, _ Tx) (string, error) {
		if a.Status == StatusClosed || a.Acknowledged {
			return "", nil
		}
		a.Acknowledged = true
		a.Seen = true
		if a.Report.AckTime == 0 {
			a.Report.AckTime = max(now.Sub(a.CreatedAt).Milliseconds(), 1)
			a.Report.AcknowledgedBy = o.owner()
		}
		return "Alert acknowledged", nil
	})
}

// Unacknowledge takes the acknowledgement back; escalation starts again (later issues).
func (s *Service) Unacknowledge(ctx context.Context, o Origin, ref Ref) (*Alert, error) {
	return s.apply(ctx, o, ref, "Unacknowledge", "alertUnack", "Unacknowledged alert", func(a *Alert, _ time.Time, tx Tx) (string, error) {
		if a.Status == StatusClosed || !a.Acknowledged {
			return "", nil
		}
		a.Acknowledged = false
		a.EscalationEpoch++
		if err := escalate(ctx, tx, a); err != nil {
			return "", err
		}
		return "Alert unacknowledged", nil
	})
}

// Close ends the alert. A later create with the same alias makes a new alert.
func (s *Service) Close(ctx context.Context, o Origin, ref Ref) (*Alert, error) {
	return s.apply(ctx, o, ref, "Close", "alertClose", "Closed alert", func(a *Alert, now time.Time, _ Tx) (string, error) {
		return closeAlert(a, now, o), nil
	})
}

// closeAlert closes a and returns the log text, or "" when it was closed already.
func closeAlert(a *Alert, now time.Time, o Origin) string {
	if a.Status == StatusClosed {
		return ""
	}
	a.Status = StatusClosed
	a.Snoozed = false
	a.SnoozedUntil = time.Time{}
	a.Report.CloseTime = max(now.Sub(a.CreatedAt).Milliseconds(), 1)
	a.Report.ClosedBy = o.owner()
	return "Alert closed"
}

// Snooze silences an open alert until the given time, when a job wakes it.
func (s *Service) Snooze(ctx context.Context, o Origin, ref Ref, until time.Time) (*Alert, error) {
	return s.apply(ctx, o, ref, "Snooze", "alertSnooze", "Snoozed alert", func(a *Alert, now time.Time, tx Tx) (string, error) {
		if !until.After(now) {
			return "", invalid("endTime", "must be in the future")
		}
		if a.Status == StatusClosed {
			return "", invalid("", "a closed alert cannot be snoozed")
		}
		a.Snoozed = true
		a.SnoozedUntil = until.Truncate(time.Millisecond)
		a.EscalationEpoch++ // pauses escalation: pending steps are now stale
		if err := tx.Enqueue(ctx, WakeArgs{AlertID: a.ID, Until: a.SnoozedUntil.UnixMilli()}, a.SnoozedUntil); err != nil {
			return "", err
		}
		return "Alert snoozed until " + a.SnoozedUntil.UTC().Format(time.RFC3339), nil
	})
}

// Wake ends a snooze that is due. It is the snooze job's body and safe to run more than once: it does
// nothing unless the alert is still snoozed until exactly the time the job was made for.
func (s *Service) Wake(ctx context.Context, alertID string, until int64) error {
	_, err := s.apply(ctx, Origin{Actor: System}, Ref{Type: ByID, Value: alertID}, "Wake", "alertWake", "", func(a *Alert, now time.Time, tx Tx) (string, error) {
		if !a.Snoozed || a.SnoozedUntil.UnixMilli() != until || a.Status == StatusClosed {
			return "", nil
		}
		a.Snoozed = false
		a.SnoozedUntil = time.Time{}
		if !a.Acknowledged {
			// An unacknowledged alert waking up pages again, from the first step.
			a.EscalationEpoch++
			if err := escalate(ctx, tx, a); err != nil {
				return "", err
			}
		}
		return "Snooze ended", nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil // deleted meanwhile: nothing to wake
	}
	return err
}

// AddNote adds a note (in o.Note) to the alert.
func (s *Service) AddNote(ctx context.Context, o Origin, ref Ref) (*Alert, error) {
	if strings.TrimSpace(o.Note) == "" {
		return nil, invalid("note", "must not be empty")
	}
	// record() writes the note and its log line.
	return s.apply(ctx, o, ref, "AddNote", "alertNote", "Added note", func(*Alert, time.Time, Tx) (string, error) {
		return "", nil
	})
}

// AddTags adds tags the alert does not have yet.
func (s *Service) AddTags(ctx context.Context, o Origin, ref Ref, tags []string) (*Alert, error) {
	tags, err := cleanTags(cleanAll(tags))
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, invalid("tags", "must not be empty")
	}
	return s.apply(ctx, o, ref, "AddTags", "alertTags", "Added tags", func(a *Alert, _ time.Time, _ Tx) (string, error) {
		var added []string
		for _, t := range tags {
			if !slices.Contains(a.Tags, t) {
				added = append(added, t)
			}
		}
		if len(added) == 0 {
			return "", nil
		}
		if len(a.Tags)+len(added) > MaxTags {
			return "", invalid("tags", "an alert has at most %d tags", MaxTags)
		}
		a.Tags = append(a.Tags, added...)
		return "Tags added: " + strings.Join(added, ", "), nil
	})
}

// RemoveTags removes the named tags.
func (s *Service) RemoveTags(ctx context.Context, o Origin, ref Ref, tags []string) (*Alert, error) {
	if len(tags) == 0 {
		return nil, invalid("tags", "must not be empty")
	}
	return s.apply(ctx, o, ref, "RemoveTags", "alertTags", "Removed tags", func(a *Alert, _ time.Time, _ Tx) (string, error) {
		var removed []string
		a.Tags = slices.DeleteFunc(a.Tags, func(t string) bool {
			if slices.Contains(tags, t) {
				removed = append(removed, t)
				return true
			}
			return false
		})
		if len(removed) == 0 {
			return "", nil
		}
		return "Tags removed: " + strings.Join(removed, ", "), nil
	})
}

// AddDetails sets custom properties, replacing values of keys that exist.
func (s *Service) AddDetails(ctx context.Context, o Origin, ref Ref, details map[string]string) (*Alert, error) {
	if len(details) == 0 {
		return nil, invalid("details", "must not be empty")
	}
	cleaned := make(map[string]string, len(details))
	for k, v := range details {
		cleaned[clean(k)] = clean(v)
	}
	details = cleaned
	return s.apply(ctx, o, ref, "AddDetails", "alertDetails", "Added details", func(a *Alert, _ time.Time, _ Tx) (string, error) {
		merged := make(map[string]string, len(a.Details)+len(details))
		for k, v := range a.Details {
			merged[k] = v
		}
		var keys []string
		for k, v := range details {
			if merged[k] != v {
				keys = append(keys, k)
			}
			merged[k] = v
		}
		if len(keys) == 0 {
			return "", nil
		}
		if err := checkDetails(merged); err != nil {
			return "", err
		}
		a.Details = merged
		sort.Strings(keys)
		return "Details set: " + strings.Join(keys, ", "), nil
	})
}

// RemoveDetails deletes custom properties by key.
func (s *Service) RemoveDetails(ctx context.Context, o Origin, ref Ref, keys []string) (*Alert, error) {
	if len(keys) == 0 {
		return nil, invalid("keys", "must not be empty")
	}
	return s.apply(ctx, o, ref, "RemoveDetails", "alertDetails", "Removed details", func(a *Alert, _ time.Time, _ Tx) (string, error) {
		var removed []string
		for _, k := range keys {
			if _, ok := a.Details[k]; ok {
				delete(a.Details, k)
				removed = append(removed, k)
			}
		}
		if len(removed) == 0 {
			return "", nil
		}
		return "Details removed: " + strings.Join(removed, ", "), nil
	})
}

// UpdatePriority changes the priority.
func (s *Service) UpdatePriority(ctx context.Context, o Origin, ref Ref, p Priority) (*Alert, error) {
	if !p.Valid() {
		return nil, invalid("priority", "must be one of P1, P2, P3, P4, P5")
	}
	return s.apply(ctx, o, ref, "UpdatePriority", "alertPriority", "Updated priority", func(a *Alert, _ time.Time, _ Tx) (string, error) {
		if a.Priority == p {
			return "", nil
		}
		old := a.Priority
		a.Priority = p
		return fmt.Sprintf("Priority changed from %s to %s", old, p), nil
	})
}

// UpdateMessage changes the message (cut to 130 runes).
func (s *Service) UpdateMessage(ctx context.Context, o Origin, ref Ref, message string) (*Alert, error) {
	message = cut(strings.TrimSpace(message), MaxMessageRunes)
	if message == "" {
		return nil, invalid("message", "must not be empty")
	}
	return s.apply(ctx, o, ref, "UpdateMessage", "alertMessage", "Updated message", func(a *Alert, _ time.Time, _ Tx) (string, error) {
		if a.Message == message {
			return "", nil
		}
		a.Message = message
		return "Message changed to: " + message, nil
	})
}

// UpdateDescription changes the description (cut to 15000 runes).
func (s *Service) UpdateDescription(ctx context.Context, o Origin, ref Ref, description string) (*Alert, error) {
	description = cut(description, MaxDescriptionRunes)
	return s.apply(ctx, o, ref, "UpdateDescription", "alertDescription", "Updated description", func(a *Alert, _ time.Time, _ Tx) (string, error) {
		if a.Description == description {
			return "", nil
		}
		a.Description = description
		return "Description changed", nil
	})
}

// Escalate routes the alert to an escalation policy as an extra responder. The escalation engine of a
// later issue acts on it; for now it is stored and logged.
func (s *Service) Escalate(ctx context.Context, o Origin, ref Ref, escalation Responder) (*Alert, error) {
	escalation = Responder{Type: "escalation", ID: clean(escalation.ID), Name: clean(escalation.Name)}
	if escalation.ID == "" && escalation.Name == "" {
		return nil, invalid("escalation", "needs an id or a name")
	}
	return s.apply(ctx, o, ref, "Escalate", "alertEscalate", "Escalated alert", func(a *Alert, _ time.Time, _ Tx) (string, error) {
		if slices.Contains(a.Responders, escalation) {
			return "", nil
		}
		a.Responders = append(a.Responders, escalation)
		return "Escalated to " + cmp.Or(escalation.Name, escalation.ID), nil
	})
}

// Assign makes a user the alert's owner.
func (s *Service) Assign(ctx context.Context, o Origin, ref Ref, owner string) (*Alert, error) {
	owner = cut(strings.TrimSpace(owner), MaxUserRunes)
	if owner == "" {
		return nil, invalid("owner", "needs an id or a username")
	}
	return s.apply(ctx, o, ref, "Assign", "alertAssign", "Assigned ownership", func(a *Alert, _ time.Time, _ Tx) (string, error) {
		if a.Owner == owner {
			return "", nil
		}
		a.Owner = owner
		return "Owner set to " + owner, nil
	})
}

// Delete removes the alert with its notes and log.
func (s *Service) Delete(ctx context.Context, o Origin, ref Ref) error {
	ref, err := ref.normalize()
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx Tx) error {
		a, err := tx.Lock(ctx, ref)
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, a.ID); err != nil {
			return err
		}
		if o.RequestID == "" {
			return nil
		}
		return tx.SaveRequest(ctx, &RequestStatus{
			ID: o.RequestID, Action: "Delete", AlertID: a.ID, Alias: a.Alias, IntegrationID: o.Actor.integrationID(),
			Success: true, Status: "Deleted alert", ProcessedAt: s.now(),
		})
	})
}

// Get returns one alert.
func (s *Service) Get(ctx context.Context, ref Ref) (*Alert, error) {
	ref, err := ref.normalize()
	if err != nil {
		return nil, err
	}
	return s.store.Get(ctx, ref)
}

// MaxListLimit and MaxListOffset follow Opsgenie's list limits.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
	MaxListOffset    = 20000
)

// List returns a page of alerts matching the options.
func (s *Service) List(ctx context.Context, opts ListOptions) ([]*Alert, error) {
	if opts.Limit == 0 {
		opts.Limit = DefaultListLimit
	}
	if opts.Limit < 1 || opts.Limit > MaxListLimit {
		return nil, invalid("limit", "must be between 1 and %d", MaxListLimit)
	}
	if opts.Offset < 0 || opts.Offset > MaxListOffset {
		return nil, invalid("offset", "must be between 0 and %d", MaxListOffset)
	}
	switch opts.Sort {
	case "":
		opts.Sort = SortCreatedAt
	case SortCreatedAt, SortUpdatedAt, SortLastOccurredAt, SortTinyID, SortPriority, SortCount, SortMessage, SortStatus, SortAlias:
	default:
		return nil, invalid("sort", "cannot sort by %q", opts.Sort)
	}
	switch opts.Order {
	case "":
		opts.Order = Desc
	case Asc, Desc:
	default:
		return nil, invalid("order", "must be asc or desc")
	}
	return s.store.List(ctx, opts)
}

// Count returns how many alerts match q.
func (s *Service) Count(ctx context.Context, q Query) (int, error) {
	return s.store.Count(ctx, q)
}

// Notes returns a page of an alert's notes.
func (s *Service) Notes(ctx context.Context, ref Ref, p Page) ([]Note, error) {
	a, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.store.Notes(ctx, a.ID, p.normalize())
}

// Logs returns a page of an alert's activity log.
func (s *Service) Logs(ctx context.Context, ref Ref, p Page) ([]LogEntry, error) {
	a, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.store.Logs(ctx, a.ID, p.normalize())
}

// RequestStatus returns what became of an earlier request.
func (s *Service) RequestStatus(ctx context.Context, id string) (*RequestStatus, error) {
	return s.store.RequestStatus(ctx, clean(id))
}

func (p Page) normalize() Page {
	if p.Limit <= 0 || p.Limit > MaxListLimit {
		p.Limit = MaxListLimit
	}
	return p
}

// normalize cleans a reference and checks it is well formed.
func (r Ref) normalize() (Ref, error) {
	r.Value = clean(r.Value)
	return r, r.check()
}

func (r Ref) check() error {
	if r.Value == "" {
		return invalid("identifier", "must not be empty")
	}
	switch r.Type {
	case ByID, ByAlias:
	case ByTiny:
		for _, c := range r.Value {
			if c < '0' || c > '9' {
				return invalid("identifier", "a tiny id is a number, not %q", r.Value)
			}
		}
	default:
		return invalid("identifierType", "must be id, tiny or alias, not %q", r.Type)
	}
	return nil
}

func (req *CreateRequest) normalize() error {
	req.Alias = clean(req.Alias)
	req.Actions, req.Tags = cleanAll(req.Actions), cleanAll(req.Tags)
	details := make(map[string]string, len(req.Details))
	for k, v := range req.Details {
		details[clean(k)] = clean(v)
	}
	req.Details = details
	for _, rs := range [][]Responder{req.Responders, req.VisibleTo} {
		for i, r := range rs {
			rs[i] = Responder{Type: clean(r.Type), ID: clean(r.ID), Name: clean(r.Name), Username: clean(r.Username)}
		}
	}
	req.Message = cut(strings.TrimSpace(req.Message), MaxMessageRunes)
	if req.Message == "" {
		return invalid("message", "is required")
	}
	req.Alias = strings.TrimSpace(req.Alias)
	if utf8.RuneCountInString(req.Alias) > MaxAliasRunes {
		return invalid("alias", "is longer than %d characters", MaxAliasRunes)
	}
	req.Description = cut(req.Description, MaxDescriptionRunes)
	req.Entity = cut(req.Entity, MaxEntityRunes)
	req.Source = cut(req.Source, MaxSourceRunes)
	if req.Priority == "" {
		req.Priority = DefaultPriority
	}
	if !req.Priority.Valid() {
		return invalid("priority", "must be one of P1, P2, P3, P4, P5, not %q", req.Priority)
	}
	tags, err := cleanTags(req.Tags)
	if err != nil {
		return err
	}
	if len(tags) > MaxTags {
		return invalid("tags", "an alert has at most %d tags", MaxTags)
	}
	req.Tags = tags
	if len(req.Actions) > MaxActions {
		return invalid("actions", "an alert has at most %d actions", MaxActions)
	}
	for i, a := range req.Actions {
		req.Actions[i] = cut(strings.TrimSpace(a), MaxActionRunes)
	}
	if err := checkDetails(req.Details); err != nil {
		return err
	}
	for _, rs := range [][]Responder{req.Responders, req.VisibleTo} {
		if len(rs) > MaxResponders {
			return invalid("responders", "at most %d", MaxResponders)
		}
		for _, r := range rs {
			switch r.Type {
			case "team", "user", "escalation", "schedule":
			default:
				return invalid("responders", "type must be team, user, escalation or schedule, not %q", r.Type)
			}
			if r.ID == "" && r.Name == "" && r.Username == "" {
				return invalid("responders", "each needs an id, a name or a username")
			}
		}
	}
	return nil
}

func (req *CreateRequest) newAlert(now time.Time, o Origin) *Alert {
	a := &Alert{
		ID:             NewID(),
		Alias:          req.Alias,
		Message:        req.Message,
		Description:    req.Description,
		Responders:     req.Responders,
		VisibleTo:      req.VisibleTo,
		Actions:        req.Actions,
		Tags:           req.Tags,
		Details:        req.Details,
		Entity:         req.Entity,
		Source:         req.Source,
		Priority:       req.Priority,
		SourceVersion:  req.SourceVersion,
		Status:         StatusOpen,
		Count:          1,
		CreatedAt:      now,
		UpdatedAt:      now,
		LastOccurredAt: now,
	}
	if a.Alias == "" {
		// As in Opsgenie, an alert created without an alias is its own alias, so it can still be
		// addressed by alias and never absorbs another create.
		a.Alias = a.ID
	}
	if o.Actor.Kind == ActorIntegration {
		a.Integration = IntegrationRef{ID: o.Actor.ID, Name: o.Actor.Name, Type: o.Actor.Type}
	}
	if a.Source == "" {
		a.Source = o.Source
	}
	return a
}

func cleanTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || slices.Contains(out, t) {
			continue
		}
		if utf8.RuneCountInString(t) > MaxTagRunes {
			return nil, invalid("tags", "tag %q is longer than %d characters", cut(t, 20), MaxTagRunes)
		}
		out = append(out, t)
	}
	return out, nil
}

func checkDetails(d map[string]string) error {
	total := 0
	for k, v := range d {
		if k == "" {
			return invalid("details", "keys must not be empty")
		}
		total += utf8.RuneCountInString(k) + utf8.RuneCountInString(v)
	}
	if total > MaxDetailsTotal {
		return invalid("details", "keys and values together are longer than %d characters", MaxDetailsTotal)
	}
	return nil
}

// clean makes s storable as text in every database: valid UTF-8 and no NUL bytes, which PostgreSQL
// refuses and no person means.
func clean(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

func cleanAll(list []string) []string {
	for i, s := range list {
		list[i] = clean(s)
	}
	return list
}

// cut cleans s and shortens it to at most n runes.
func cut(s string, n int) string {
	s = clean(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// NewID returns a random UUID (version 4) in its usual text form.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// AddLog writes a line to an alert's activity log without changing the alert: how a system acting on
// the alert's behalf (the Security Hub write-back) reports what it did. ErrNotFound when the alert
// is gone.
func (s *Service) AddLog(ctx context.Context, alertID, logType, text string) error {
	return s.store.InTx(ctx, func(tx Tx) error {
		a, err := tx.Lock(ctx, Ref{Type: ByID, Value: alertID})
		if err != nil {
			return err
		}
		return tx.AddLog(ctx, &LogEntry{AlertID: a.ID, Type: logType, Text: cut(text, MaxNoteRunes), Owner: System.Name, CreatedAt: s.now()})
	})
}
