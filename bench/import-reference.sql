-- The reference for `userbridge import`: the sqlite3 CLI loads the same users, as CSV with
-- one column per stored attribute, into a table with userbridge's columns and indexes.
CREATE TABLE users (
    user_id TEXT NOT NULL UNIQUE, connection_id TEXT NOT NULL, email TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0, given_name TEXT, family_name TEXT, name TEXT,
    nickname TEXT, picture TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    username TEXT, phone_number TEXT, phone_verified INTEGER, blocked INTEGER,
    last_login TEXT, last_ip TEXT, logins_count INTEGER, last_password_reset TEXT,
    multifactor_last_modified TEXT, user_metadata TEXT, app_metadata TEXT,
    linked_identities TEXT, password_hash TEXT, custom_password_hash TEXT, mfa_factors TEXT
);
CREATE UNIQUE INDEX users_email ON users (email, connection_id);
-- The CSV cannot carry NULL: a user without a username arrives as '', which userbridge stores
-- as NULL; the partial index leaves both out.
CREATE UNIQUE INDEX users_username ON users (connection_id, username)
    WHERE username IS NOT NULL AND username <> '';
CREATE INDEX users_created ON users (created_at, user_id);
