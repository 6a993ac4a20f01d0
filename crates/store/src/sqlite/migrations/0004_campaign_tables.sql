-- Campaign tables (campaign-import.md §5). One metadata row per table; its rows live in a
-- table of its own named "campaign_" || name, created by the backend (STRICT, a hidden
-- `_row INTEGER PRIMARY KEY` for insertion order, a hidden `_key TEXT UNIQUE` holding the
-- normalised key, and one ANY column per campaign column).
-- `definition` is JSON: {"columns":[{"name":…,"spec":…},…],"key":[…]}.

CREATE TABLE campaign_tables (
    name       TEXT PRIMARY KEY COLLATE NOCASE,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
