-- IMP-41: a saved definition has a version number, 1 when created and one more on each
-- change; a run records the version it used (RUN-7). Rows from before this migration were
-- never changed in place (no route replaced a definition), so 1 is true of all of them.

ALTER TABLE import_definitions ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE import_runs ADD COLUMN definition_version INTEGER NOT NULL DEFAULT 1;
