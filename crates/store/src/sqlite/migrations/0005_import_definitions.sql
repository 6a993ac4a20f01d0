-- Saved Data Import definitions and their runs (campaign-import.md §7, §9). The definition
-- and the report are JSON documents owned by the campaign crate; the store keeps them as
-- given.

CREATE TABLE import_definitions (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE import_runs (
    id            TEXT PRIMARY KEY,
    definition_id TEXT NOT NULL,
    state         TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    report        TEXT NOT NULL
) STRICT;

CREATE INDEX import_runs_definition ON import_runs (definition_id, started_at);
