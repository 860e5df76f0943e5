package alert

// Job arguments that alert changes enqueue in the same transaction as the change. Each satisfies River's
// JobArgs (a Kind method, JSON-encodable) without this package importing River, so the rules stay here
// and the queue stays in internal/jobs.

// WakeArgs wakes a snoozed alert when its snooze ends. The worker re-reads the alert and does nothing
// when the snooze was replaced, or the alert was closed or deleted in the meantime.
type WakeArgs struct {
	AlertID string `json:"alertId"`
	// Until is the snoozedUntil this job was scheduled for, in Unix milliseconds, so that a job left
	// over from an earlier snooze cannot end a later one.
	Until int64 `json:"until"`
}

// Kind names the job for the queue.
func (WakeArgs) Kind() string { return "alert.wake" }

// EscalateArgs asks the escalation engine to start paging for an alert: it routes the alert to its
// escalation policy and schedules the policy's steps. It is enqueued, in the same transaction, when an
// alert is created (not when a create dedupes), unacknowledged, or wakes from a snooze. Epoch is the
// alert's EscalationEpoch at that moment; the job does nothing if the alert moved on.
type EscalateArgs struct {
	AlertID string `json:"alertId"`
	Epoch   int    `json:"epoch"`
}

// Kind names the job for the queue.
func (EscalateArgs) Kind() string { return "alert.escalate" }
