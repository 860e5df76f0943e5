// Package writeback tells Security Hub what people did to the alerts its findings made: acknowledge
// marks the finding NOTIFIED, close RESOLVED, unacknowledge NEW, a note becomes the finding's note
// and a priority change its severity (DESIGN.md's table).
//
// The path of one change: alert.Service commits the change and, in the same transaction, a job
// (Outbox); the job's worker (Writer.Write) waits a moment for other changes due at the same time
// (batcher), and one BatchUpdateFindings call carries up to 100 findings that get the same update in
// the same region, within the API's rate limit. Throttling, 5xx and findings AWS reports as
// unprocessed are retried by the job queue with backoff; a permanent failure (access denied, finding
// not found) is written to the alert's activity log, not retried forever.
//
// The workflow status and severity written are the alert's state when the job runs, not when the
// change was made, so two changes written out of order (acknowledged, then closed) still leave the
// finding RESOLVED.
package writeback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/securityhub"
	"github.com/tocsin-dev/tocsin/internal/securityhub/awsapi"
)

// QueueName is the job queue write-backs run in, apart from paging so that a slow AWS never delays a
// page, and with many workers so that a batch can fill while its jobs wait.
const QueueName = "securityhub"

// Args is the job: write one change to one finding.
type Args struct {
	AlertID     string         `json:"alertId"`
	Integration string         `json:"integration"` // the integration's name
	Action      string         `json:"action"`      // alert.Change.Action, for the log
	Finding     awsapi.Finding `json:"finding"`
	// Update says what to write. Workflow and SeverityLabel are only markers here ("set"): the values
	// written are read from the alert when the job runs.
	Update awsapi.Update `json:"update"`
}

// Kind names the job for the queue.
func (Args) Kind() string { return "securityhub.writeback" }

// Queue names the queue the job runs in.
func (Args) Queue() string { return QueueName }

// set marks an Update field to be filled from the alert's state when the job runs.
const set = "set"

// UpdatedByPrefix starts the UpdatedBy of every note tocsin writes: "tocsin/alice@example.com".
const UpdatedByPrefix = "tocsin/"

// Outbox is alert.Options.Outbox for Security Hub: the job for a change to an alert made from a
// finding, or false when there is nothing to write (another kind of alert, a change Security Hub has
// no field for, or a change the finding itself caused).
func Outbox(a *alert.Alert, c alert.Change) (alert.Job, bool) {
	if a.Integration.Type != string(integration.TypeSecurityHub) || a.Integration.Name == "" {
		return nil, false
	}
	if c.Actor.Type == string(integration.TypeSecurityHub) {
		return nil, false // the intake closing an alert because the finding was resolved
	}
	f := awsapi.Finding{Id: a.Details["Id"], ProductArn: a.Details["ProductArn"], Region: a.Details["Region"], AccountID: a.Details["AwsAccountId"]}
	if f.Id == "" || f.ProductArn == "" {
		return nil, false // an insight, or a finding whose identifiers were not kept
	}
	var u awsapi.Update
	switch c.Action {
	case "Acknowledge", "Unacknowledge", "Close":
		u.Workflow = set
	case "UpdatePriority":
		u.SeverityLabel = set
	}
	if strings.TrimSpace(c.Note) != "" {
		u.NoteText = c.Note
		u.NoteUpdatedBy = awsapi.CutNote(UpdatedByPrefix + c.By)
	}
	if u.Empty() {
		return nil, false
	}
	return Args{AlertID: a.ID, Integration: a.Integration.Name, Action: c.Action, Finding: f, Update: u}, true
}

// Workflow is the workflow status that says what a's state is.
func Workflow(a *alert.Alert) string {
	switch {
	case a.Status == alert.StatusClosed:
		return "RESOLVED"
	case a.Acknowledged:
		return "NOTIFIED"
	}
	return "NEW"
}

// Alerts is what the writer reads and writes of alerts.
type Alerts interface {
	Get(ctx context.Context, ref alert.Ref) (*alert.Alert, error)
	AddLog(ctx context.Context, alertID, logType, text string) error
}

// Integrations looks up an integration's write-back settings.
type Integrations interface {
	Get(ctx context.Context, name string) (*integration.Integration, error)
}

// Caller makes one BatchUpdateFindings call; *awsapi.Client is one.
type Caller interface {
	BatchUpdate(ctx context.Context, role awsapi.Role, b awsapi.Batch) (awsapi.Result, error)
}

// Writer is the job's worker.
type Writer struct {
	alerts       Alerts
	integrations Integrations
	batch        *batcher
	log          *slog.Logger
}

// Options tune a Writer.
type Options struct {
	// Window is how long a write waits for others to share its call; default DefaultWindow.
	Window time.Duration
	Log    *slog.Logger
}

// NewWriter returns a writer that calls AWS through c.
func NewWriter(alerts Alerts, integrations Integrations, c Caller, opts Options) *Writer {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	return &Writer{alerts: alerts, integrations: integrations, batch: newBatcher(c, opts.Window, opts.Log), log: opts.Log}
}

// Retryable is an error the queue should retry with backoff.
type Retryable struct{ Err error }

func (e *Retryable) Error() string { return e.Err.Error() }
func (e *Retryable) Unwrap() error { return e.Err }

// Write writes one change. It returns nil when the change was written, when there is nothing to
// write (send-updates off, the alert gone) and when it failed for good (then the alert's log says
// so); a *Retryable error when a later attempt may succeed. last says this is the last attempt: a
// failure is then logged on the alert as given up.
func (w *Writer) Write(ctx context.Context, args Args, last bool) error {
	in, err := w.integrations.Get(ctx, args.Integration)
	if errors.Is(err, integration.ErrNotFound) {
		return nil
	}
	if err != nil {
		return &Retryable{Err: err}
	}
	s := in.Settings
	if !s.SendUpdates || s.RoleARN == "" {
		return nil
	}
	a, err := w.alerts.Get(ctx, alert.Ref{Type: alert.ByID, Value: args.AlertID})
	if errors.Is(err, alert.ErrNotFound) {
		return nil
	}
	if err != nil {
		return &Retryable{Err: err}
	}
	u := args.Update
	if u.Workflow != "" {
		u.Workflow = Workflow(a)
	}
	if u.SeverityLabel != "" {
		u.SeverityLabel = securityhub.LabelForPriority(a.Priority)
	}
	role := awsapi.Role{ARN: s.RoleARN, ExternalID: s.ExternalID, Region: s.Region}
	err = w.batch.do(ctx, role, awsapi.Item{Finding: args.Finding, Update: u})
	switch {
	case err == nil:
		return w.note(ctx, args.AlertID, "writebackDone", "Written to Security Hub: "+describe(u))
	case permanent(err) || last:
		w.log.Warn("security hub write-back failed", "alert", args.AlertID, "integration", args.Integration, "finding", args.Finding.Id, "err", err)
		return w.note(ctx, args.AlertID, "writebackFailed", "Security Hub write-back failed ("+describe(u)+"): "+err.Error())
	}
	return &Retryable{Err: err}
}

// note writes to the alert's activity log; a failure to do so is retried, since the write itself is
// idempotent.
func (w *Writer) note(ctx context.Context, alertID, logType, text string) error {
	if err := w.alerts.AddLog(ctx, alertID, logType, text); err != nil && !errors.Is(err, alert.ErrNotFound) {
		return &Retryable{Err: fmt.Errorf("record write-back on alert %s: %w", alertID, err)}
	}
	return nil
}

func describe(u awsapi.Update) string {
	var parts []string
	if u.Workflow != "" {
		parts = append(parts, "Workflow.Status "+u.Workflow)
	}
	if u.SeverityLabel != "" {
		parts = append(parts, "Severity.Label "+u.SeverityLabel)
	}
	if strings.TrimSpace(u.NoteText) != "" {
		parts = append(parts, "Note")
	}
	return strings.Join(parts, ", ")
}
