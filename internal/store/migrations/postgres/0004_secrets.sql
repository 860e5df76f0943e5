-- Server secrets made on first use (the webhook signing key; later the action-link key), so that every
-- replica and every restart signs with the same key.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
