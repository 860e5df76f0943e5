// Package intake turns what outside systems deliver into alert changes. SecurityHub receives
// Security Hub findings, either through an SNS HTTPS subscription (signed messages, subscription
// confirmations) or straight from an EventBridge API destination, and applies every finding of one
// delivery in one transaction through alert.Service.Ingest.
package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/securityhub"
	"github.com/tocsin-dev/tocsin/internal/sns"
)

// Alerts is the part of alert.Service the intake needs.
type Alerts interface {
	Ingest(ctx context.Context, o alert.Origin, key string, items []alert.Occurrence) (alert.IngestResult, error)
}

// Timeout bounds one delivery, certificate fetch and subscription confirmation included, so that
// tocsin always answers inside SNS's 15-second delivery timeout.
const Timeout = 10 * time.Second

// MaxMessageAge is how old an SNS message may be. It matches how long message ids are remembered to
// drop redeliveries (internal/jobs' MessageRetention default).
const MaxMessageAge = 7 * 24 * time.Hour

// SecurityHub is the Security Hub intake.
type SecurityHub struct {
	alerts  Alerts
	sns     *sns.Verifier
	log     *slog.Logger
	metrics *metrics
	stats   sync.Map // integration id → *Stats
}

// Stats counts what one integration's endpoint received since this process started, for the UI.
type Stats struct {
	mu                         sync.Mutex
	received, filtered, failed int64
	lastError                  string
	lastErrorAt                time.Time
}

// StatsSnapshot is a copy of Stats.
type StatsSnapshot struct {
	Received, Filtered, Failed int64
	LastError                  string
	LastErrorAt                time.Time
}

// Stats returns the counts of the integration with id.
func (h *SecurityHub) Stats(id string) StatsSnapshot {
	v, ok := h.stats.Load(id)
	if !ok {
		return StatsSnapshot{}
	}
	st := v.(*Stats)
	st.mu.Lock()
	defer st.mu.Unlock()
	return StatsSnapshot{Received: st.received, Filtered: st.filtered, Failed: st.failed, LastError: st.lastError, LastErrorAt: st.lastErrorAt}
}

func (h *SecurityHub) count(id string, r Receipt, err error) {
	v, _ := h.stats.LoadOrStore(id, &Stats{})
	st := v.(*Stats)
	st.mu.Lock()
	defer st.mu.Unlock()
	if err != nil {
		st.failed++
		st.lastError, st.lastErrorAt = err.Error(), time.Now()
		return
	}
	if !r.Duplicate {
		st.received += int64(r.Findings)
		st.filtered += int64(r.Filtered)
	}
}

// NewSecurityHub returns the intake. verifier decides which SNS certificate and subscription URLs are
// trusted; reg receives the intake's counters.
func NewSecurityHub(alerts Alerts, verifier *sns.Verifier, log *slog.Logger, reg prometheus.Registerer) *SecurityHub {
	return &SecurityHub{alerts: alerts, sns: verifier, log: log, metrics: newMetrics(reg)}
}

// Receipt says what one delivery did.
type Receipt struct {
	// Via is "sns" or "eventbridge".
	Via string `json:"via"`
	// MessageType is the SNS message type, or the EventBridge detail-type.
	MessageType string `json:"messageType"`
	MessageID   string `json:"messageId,omitempty"`
	// Duplicate is true when this message was applied before; nothing changed.
	Duplicate bool `json:"duplicate,omitempty"`
	Findings  int  `json:"findings"`
	Created   int  `json:"created"`
	Deduped   int  `json:"deduped"`
	Closed    int  `json:"closed"`
	Filtered  int  `json:"filtered"`
	// Ignored counts findings that would close an alert when none was open.
	Ignored int `json:"ignored"`
	// Quiet counts findings that were edits, not news: the same UpdatedAt as before, as after a
	// BatchUpdateFindings (tocsin's own write-back, or a person in the console). They change nothing.
	Quiet int `json:"quiet"`
}

// Error is a delivery refused, with the HTTP status to answer. Its message is safe to send back.
type Error struct {
	Status int
	Msg    string
	Err    error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func refuse(status int, err error, format string, args ...any) error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...), Err: err}
}

// Receive handles one POST to the Security Hub endpoint, already authenticated as integration in.
// An error is an *Error (refused: 4xx, or 5xx/503 so that SNS delivers again) or a database error.
func (h *SecurityHub) Receive(ctx context.Context, in *integration.Integration, header http.Header, body []byte) (r Receipt, err error) {
	defer func() { h.count(in.ID, r, err) }()
	return h.receive(ctx, in, header, body)
}

func (h *SecurityHub) receive(ctx context.Context, in *integration.Integration, header http.Header, body []byte) (Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	msg, err := sns.Parse(body)
	switch {
	case err == nil:
		return h.receiveSNS(ctx, in, msg)
	case errors.Is(err, sns.ErrRawDelivery) && !sns.FromSNS(header):
		// No SNS envelope and no SNS headers: an EventBridge API destination posting the event
		// itself. The integration key, already checked, is what makes it trusted.
		return h.receiveEvent(ctx, in, "eventbridge", body, "")
	case errors.Is(err, sns.ErrRawDelivery):
		h.metrics.messages.WithLabelValues(in.Name, "raw", "refused").Inc()
		return Receipt{}, refuse(http.StatusBadRequest, err, "%v", err)
	default:
		h.metrics.messages.WithLabelValues(in.Name, "unknown", "refused").Inc()
		return Receipt{}, refuse(http.StatusBadRequest, err, "not an SNS message or a Security Hub EventBridge event: %v", err)
	}
}

func (h *SecurityHub) receiveSNS(ctx context.Context, in *integration.Integration, m *sns.Message) (Receipt, error) {
	typ := string(m.Type)
	if err := h.sns.Verify(ctx, m); err != nil {
		h.metrics.messages.WithLabelValues(in.Name, typ, "refused").Inc()
		return Receipt{}, refuse(sns.HTTPStatus(err), err, "SNS message %s refused: %v", m.MessageID, err)
	}
	// A signed message stays valid for ever; beyond the window in which its MessageId is remembered a
	// captured one could be replayed, so it is refused. SNS stops retrying long before.
	if t, err := m.Time(); err == nil && time.Since(t) > MaxMessageAge {
		h.metrics.messages.WithLabelValues(in.Name, typ, "refused").Inc()
		return Receipt{}, refuse(http.StatusForbidden, nil, "SNS message %s is older than %s", m.MessageID, MaxMessageAge)
	}
	var (
		r   Receipt
		err error
	)
	switch m.Type {
	case sns.TypeNotification:
		r, err = h.receiveEvent(ctx, in, "sns", []byte(m.Message), m.MessageID)
	case sns.TypeSubscriptionConfirmation:
		r, err = h.confirm(ctx, in, m)
	case sns.TypeUnsubscribeConfirmation:
		r, err = h.unsubscribed(ctx, in, m)
	default:
		err = refuse(http.StatusBadRequest, nil, "unknown SNS message type %q", m.Type)
	}
	outcome := "accepted"
	switch {
	case err != nil:
		outcome = "failed"
		var ie *Error
		if errors.As(err, &ie) && ie.Status < 500 {
			outcome = "refused"
		}
	case r.Duplicate:
		outcome = "duplicate"
	}
	h.metrics.messages.WithLabelValues(in.Name, typ, outcome).Inc()
	r.Via, r.MessageType = "sns", typ
	return r, err
}

// receiveEvent applies a Security Hub EventBridge event: all its findings in one transaction, keyed
// by the SNS MessageId, or by the event id when EventBridge posted it directly.
func (h *SecurityHub) receiveEvent(ctx context.Context, in *integration.Integration, via string, body []byte, messageID string) (Receipt, error) {
	r := Receipt{Via: via, MessageID: messageID}
	ev, err := securityhub.ParseEvent(body)
	if err != nil {
		h.metrics.findings.WithLabelValues(in.Name, "failed").Inc()
		return r, refuse(http.StatusBadRequest, err, "not a Security Hub event: %v", err)
	}
	r.MessageType = ev.DetailType
	key := "sns:" + messageID
	if messageID == "" {
		if ev.ID == "" {
			return r, refuse(http.StatusBadRequest, nil, "the EventBridge event has no id")
		}
		key, r.MessageID = "eventbridge:"+ev.ID, ev.ID
	}
	if ev.Kind == securityhub.KindUnknown {
		// Accepted so that a broad rule does not make SNS retry it for ever; nothing to alert on.
		h.log.Info("ignored a Security Hub event of an unknown detail-type", "integration", in.Name, "detailType", ev.DetailType, "messageId", r.MessageID)
		return r, nil
	}
	decisions := securityhub.Decide(ev, securityhub.Filter(in.Settings.Filter), h.options(in))
	items := make([]alert.Occurrence, 0, len(decisions))
	for _, d := range decisions {
		r.Findings++
		if o, ok := d.Occurrence(); ok {
			items = append(items, o)
		} else {
			r.Filtered++
		}
	}
	res, err := h.alerts.Ingest(ctx, origin(in), key, items)
	if err != nil {
		h.metrics.findings.WithLabelValues(in.Name, "failed").Add(float64(r.Findings))
		var ve *alert.ValidationError
		if errors.As(err, &ve) {
			return r, refuse(http.StatusBadRequest, err, "a finding could not become an alert: %v", err)
		}
		return r, fmt.Errorf("apply %d findings: %w", r.Findings, err)
	}
	if res.Duplicate {
		r.Duplicate = true
		h.metrics.findings.WithLabelValues(in.Name, "duplicate").Add(float64(r.Findings))
		return r, nil
	}
	r.Created, r.Deduped, r.Closed, r.Ignored, r.Quiet = res.Created, res.Deduped, res.Closed, res.Ignored, res.Quiet
	for outcome, n := range map[string]int{"created": r.Created, "deduped": r.Deduped, "closed": r.Closed, "ignored": r.Ignored, "filtered": r.Filtered, "quiet": r.Quiet} {
		if n > 0 {
			h.metrics.findings.WithLabelValues(in.Name, outcome).Add(float64(n))
		}
	}
	return r, nil
}

func (h *SecurityHub) options(in *integration.Integration) securityhub.Options {
	var opts securityhub.Options
	if in.Team != "" {
		opts.Responders = []alert.Responder{{Type: "team", Name: in.Team}}
	}
	return opts
}

func origin(in *integration.Integration) alert.Origin {
	return alert.Origin{Actor: alert.Actor{Kind: alert.ActorIntegration, ID: in.ID, Name: in.Name, Type: string(in.Type)}}
}

// confirm visits the SubscribeURL of a verified SubscriptionConfirmation and records it as an alert,
// as Opsgenie does. The alert is made closed: the confirmation is worth seeing in the alert list, not
// worth paging anyone for.
func (h *SecurityHub) confirm(ctx context.Context, in *integration.Integration, m *sns.Message) (Receipt, error) {
	r := Receipt{MessageID: m.MessageID}
	arn, err := h.sns.Confirm(ctx, m)
	if err != nil {
		return r, refuse(sns.HTTPStatus(err), err, "could not confirm the SNS subscription to %s: %v", m.TopicARN, err)
	}
	h.log.Info("confirmed an SNS subscription", "integration", in.Name, "topic", m.TopicARN, "subscription", arn)
	desc := fmt.Sprintf("tocsin confirmed the subscription of integration %q to the SNS topic %s.\n\nSubscription ARN: %s\n\n"+
		"Security Hub findings that EventBridge sends to this topic now become alerts.", in.Name, m.TopicARN, arn)
	return r, h.notice(ctx, in, m, fmt.Sprintf("SNS subscription confirmed: %s (%s)", topicName(m.TopicARN), in.Name), desc, "subscription-confirmed")
}

// unsubscribed records an UnsubscribeConfirmation: the topic no longer delivers here.
func (h *SecurityHub) unsubscribed(ctx context.Context, in *integration.Integration, m *sns.Message) (Receipt, error) {
	h.log.Warn("the SNS subscription was removed", "integration", in.Name, "topic", m.TopicARN)
	desc := fmt.Sprintf("The subscription of integration %q to the SNS topic %s was removed: findings from it no longer reach tocsin.\n\n"+
		"If that was not intended, subscribe the endpoint again in SNS.", in.Name, m.TopicARN)
	return Receipt{MessageID: m.MessageID}, h.notice(ctx, in, m, fmt.Sprintf("SNS subscription removed: %s (%s)", topicName(m.TopicARN), in.Name), desc, "subscription-removed")
}

// notice stores a closed P5 alert about the subscription, once per SNS message.
func (h *SecurityHub) notice(ctx context.Context, in *integration.Integration, m *sns.Message, message, description, kind string) error {
	alias := "sns:" + kind + ":" + m.MessageID
	_, err := h.alerts.Ingest(ctx, origin(in), "sns:"+m.MessageID, []alert.Occurrence{
		{Create: &alert.CreateRequest{
			Message: message, Alias: alias, Description: description, Priority: alert.P5, Source: "Amazon SNS",
			Tags: []string{"sns", kind}, Details: map[string]string{"TopicArn": m.TopicARN, "MessageId": m.MessageID},
		}},
		{CloseAlias: alias, CloseNote: "Closed on creation: a record of the subscription, nothing to act on."},
	})
	if err != nil {
		return fmt.Errorf("record SNS %s: %w", kind, err)
	}
	return nil
}

// topicName is the last part of a topic ARN.
func topicName(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

type metrics struct {
	messages *prometheus.CounterVec
	findings *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tocsin_sns_messages_total",
			Help: "SNS messages received by the Security Hub intake, by integration, message type and outcome (accepted, duplicate, refused, failed).",
		}, []string{"integration", "type", "outcome"}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tocsin_securityhub_findings_total",
			Help: "Security Hub findings received, by integration and outcome (created, deduped, closed, ignored, filtered, duplicate, failed).",
		}, []string{"integration", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.findings)
	}
	return m
}
