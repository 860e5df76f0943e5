-- Messages an intake has applied, by the sender's message id (SNS MessageId, EventBridge event id), so
-- that at-least-once redeliveries change nothing. Rows older than the redelivery window are pruned.
CREATE TABLE intake_messages (
    integration_id TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    received_at    BIGINT NOT NULL,
    PRIMARY KEY (integration_id, message_id)
);
CREATE INDEX intake_messages_received ON intake_messages (received_at);
