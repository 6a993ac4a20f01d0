-- Dashboard administrators (people signing in to the web page) and their browser sessions.
-- Only a bcrypt hash of a password is kept; a session is found by the SHA-256 of its id, so
-- the database never holds a usable cookie.

CREATE TABLE admins (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE web_sessions (
    digest     TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES admins(username) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX web_sessions_username ON web_sessions (username);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- The jobs list (GET /api/v2/jobs) reads newest first.
CREATE INDEX jobs_created ON jobs (created_at, id);
