-- A page due at once is sent by the process that committed it, without a queue job: lease_until
-- (Unix ms) is how long that process owns it. A page still pending after its lease ran out was in
-- flight when its process died; any replica's sweeper claims it again. 0 means the job queue owns
-- the page (a later contact, a retry).
ALTER TABLE notifications ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
CREATE INDEX notifications_leased ON notifications (lease_until) WHERE state = 'pending' AND lease_until > 0;
