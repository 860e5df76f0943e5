-- The newest version of its source record an alert has seen (Security Hub: the finding's UpdatedAt,
-- Unix ms), so that an echo of tocsin's own write-back is told from news.
ALTER TABLE alerts ADD COLUMN source_version BIGINT NOT NULL DEFAULT 0;
