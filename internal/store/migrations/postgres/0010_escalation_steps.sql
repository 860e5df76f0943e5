-- Escalation steps due later (a policy's second rule, the next round). The escalation engine of
-- every replica polls the due ones through the index, claims one with a lease, fires it, and deletes
-- the row in the step's own transaction, so that a step fires once even when a replica dies on it.
CREATE TABLE escalation_steps (
    step_key    TEXT PRIMARY KEY, -- alert/epoch/round/step: a step is scheduled once
    alert_id    TEXT NOT NULL,
    args        TEXT NOT NULL,    -- the step, as JSON (escalation.StepArgs)
    due_at      BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0, -- claimed until, or (after a failure) not before
    attempts    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX escalation_steps_due ON escalation_steps (due_at);
