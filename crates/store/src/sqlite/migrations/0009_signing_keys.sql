-- Access tokens are signed JWTs (RS256) now: nothing is stored per token, so the table of
-- opaque token digests goes. The key pairs that sign them are PEM files under
-- <data-dir>/keys/ (one per kid); this table says which kids exist and which one signs.

DROP TABLE access_tokens;

CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,  -- unix seconds
    retired_at INTEGER            -- unix seconds; NULL for the current key (at most one)
) STRICT;

CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys ((retired_at IS NULL))
    WHERE retired_at IS NULL;
