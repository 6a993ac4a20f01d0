-- Runs started through the HTTP API are processes (campaign-import.md §7): queued, then
-- running, then finished. A process records whether it is a dry run, the document it reads
-- when the run overrides the definition's, and why it failed when it has no report.

ALTER TABLE import_runs ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_runs ADD COLUMN document TEXT;
ALTER TABLE import_runs ADD COLUMN message TEXT;

CREATE INDEX import_runs_state ON import_runs (state, started_at);
