-- Web UI sign-in: one argon2id password hash per user (users themselves live in the on-call
-- configuration), and sessions, kept only as the SHA-256 of their token.
CREATE TABLE user_passwords (
    username   TEXT PRIMARY KEY,
    hash       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
