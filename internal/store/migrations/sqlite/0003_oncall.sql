-- On-call: people, teams, schedules and escalation policies are stored as JSON documents (the shapes
-- of package oncall, which `tocsin apply` and the API read and write whole), keyed by their unique
-- name. Notifications are one row per "page this user through this contact for this step".

ALTER TABLE alerts ADD COLUMN escalation_epoch INTEGER NOT NULL DEFAULT 0;

CREATE TABLE oncall_objects (
    kind       TEXT NOT NULL, -- user, team, schedule, escalation
    name       TEXT NOT NULL,
    doc        TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, name)
);

CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    -- alert, epoch, round, step, user and contact: a retried step job, a restarted process or a
    -- second replica finds the row and pages no one twice.
    dedupe_key  TEXT NOT NULL UNIQUE,
    alert_id    TEXT NOT NULL,
    epoch       INTEGER NOT NULL,
    round       INTEGER NOT NULL,
    step        INTEGER NOT NULL,
    username    TEXT NOT NULL,
    method      TEXT NOT NULL,
    target      TEXT NOT NULL,
    state       TEXT NOT NULL, -- pending, sent, failed, cancelled
    error       TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    provider_id TEXT NOT NULL,
    due_at      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    sent_at     BIGINT NOT NULL
);
CREATE INDEX notifications_alert ON notifications (alert_id, created_at);
