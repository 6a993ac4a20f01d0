-- userbridge schema, version 1.
-- Text timestamps are canonical ISO 8601 with milliseconds and `Z`, so they sort as text.
-- JSON attributes are compact JSON text; an empty object is stored as NULL.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE connections (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
) STRICT;

-- Columns read by the default export come first; JSON and secrets last, so a scan that
-- does not need them never touches their overflow pages.
CREATE TABLE users (
    id                        INTEGER PRIMARY KEY,
    user_id                   TEXT NOT NULL UNIQUE,
    connection_id             TEXT NOT NULL REFERENCES connections(id),
    email                     TEXT,
    email_verified            INTEGER NOT NULL DEFAULT 0,
    given_name                TEXT,
    family_name               TEXT,
    name                      TEXT,
    nickname                  TEXT,
    picture                   TEXT,
    created_at                TEXT NOT NULL,
    updated_at                TEXT NOT NULL,
    username                  TEXT,
    phone_number              TEXT,
    phone_verified            INTEGER,
    blocked                   INTEGER,
    last_login                TEXT,
    last_ip                   TEXT,
    logins_count              INTEGER,
    last_password_reset       TEXT,
    multifactor_last_modified TEXT,
    user_metadata             TEXT,
    app_metadata              TEXT,
    linked_identities         TEXT,
    password_hash             TEXT,
    custom_password_hash      TEXT,
    mfa_factors               TEXT
) STRICT;

CREATE UNIQUE INDEX users_email ON users (email, connection_id);
CREATE UNIQUE INDEX users_username ON users (connection_id, username) WHERE username IS NOT NULL;
CREATE INDEX users_created ON users (created_at, user_id);

CREATE TABLE clients (
    client_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    connection_id  TEXT,
    spec           TEXT NOT NULL,
    processed      INTEGER NOT NULL DEFAULT 0,
    total          INTEGER NOT NULL DEFAULT 0,
    status_details TEXT,
    result         TEXT,
    finished_at    TEXT
) STRICT;

CREATE INDEX jobs_status ON jobs (status, created_at);
