-- tocsin's first schema. The PostgreSQL twin of this file has the same tables and columns; only the
-- dialect differs (auto-increment keys, a sequence for tiny ids).
-- Times are Unix milliseconds (0 = never), lists and maps are JSON text.

CREATE TABLE integrations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    type       TEXT NOT NULL,
    team       TEXT NOT NULL DEFAULT '',
    enabled    BOOLEAN NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    settings   TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- SQLite has one writer, so a counter row is contention-free; PostgreSQL uses a sequence instead.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('alert_tiny_id', 0);

CREATE TABLE alerts (
    id               TEXT PRIMARY KEY,
    tiny_id          BIGINT NOT NULL UNIQUE,
    alias            TEXT NOT NULL,
    message          TEXT NOT NULL,
    description      TEXT NOT NULL,
    responders       TEXT NOT NULL,
    visible_to       TEXT NOT NULL,
    actions          TEXT NOT NULL,
    tags             TEXT NOT NULL,
    details          TEXT NOT NULL,
    entity           TEXT NOT NULL,
    source           TEXT NOT NULL,
    priority         TEXT NOT NULL,
    owner            TEXT NOT NULL,
    status           TEXT NOT NULL,
    acknowledged     BOOLEAN NOT NULL,
    seen             BOOLEAN NOT NULL,
    snoozed          BOOLEAN NOT NULL,
    snoozed_until    BIGINT NOT NULL,
    count            INTEGER NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    last_occurred_at BIGINT NOT NULL,
    integration_id   TEXT NOT NULL,
    integration_name TEXT NOT NULL,
    integration_type TEXT NOT NULL,
    ack_time         BIGINT NOT NULL,
    close_time       BIGINT NOT NULL,
    acknowledged_by  TEXT NOT NULL,
    closed_by        TEXT NOT NULL
);
-- At most one OPEN alert per alias: the database, not the code, is what keeps two replicas from
-- creating the same alert twice.
CREATE UNIQUE INDEX alerts_open_alias ON alerts (alias) WHERE status = 'open';
CREATE INDEX alerts_alias_created ON alerts (alias, created_at);
CREATE INDEX alerts_created ON alerts (created_at);
CREATE INDEX alerts_status_created ON alerts (status, created_at);

CREATE TABLE alert_notes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id   TEXT NOT NULL,
    note       TEXT NOT NULL,
    owner      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX alert_notes_alert ON alert_notes (alert_id, id);

CREATE TABLE alert_logs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id   TEXT NOT NULL,
    type       TEXT NOT NULL,
    log        TEXT NOT NULL,
    owner      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX alert_logs_alert ON alert_logs (alert_id, id);

CREATE TABLE requests (
    id             TEXT PRIMARY KEY,
    action         TEXT NOT NULL,
    alert_id       TEXT NOT NULL,
    alias          TEXT NOT NULL,
    integration_id TEXT NOT NULL,
    success        BOOLEAN NOT NULL,
    status         TEXT NOT NULL,
    processed_at   BIGINT NOT NULL
);
CREATE INDEX requests_processed ON requests (processed_at);
