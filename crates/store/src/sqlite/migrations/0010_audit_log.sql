-- The audit log: who did what, and when (issue 6). One row per job, import, export, campaign
-- run, document change, definition change and admin action. `detail` is a small JSON object
-- of counts and names: never a secret, a token, a hash or a whole record.
-- (0009 belongs to another branch; this file keeps its number so the two merge in order.)

CREATE TABLE audit_events (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
) STRICT;

-- Who created a job (a client id, `dashboard:<admin>`): the per-client cap on active jobs
-- counts by it. NULL for jobs created before this migration.
ALTER TABLE jobs ADD COLUMN created_by TEXT;
CREATE INDEX jobs_created_by ON jobs (created_by, status);
