#!/usr/bin/env bash
# How fast SQLite itself stores 1,000,000 users of ~800 bytes on this machine, with and without
# userbridge's indexes, before any parsing (BENCHMARKS.md, "the storage floor"). Rows are
# generated inside the sqlite3 CLI, so no input file is read.
#   bench/sqlite-floor.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
out=bench/out/floor
mkdir -p "$out"
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3; }
schema=$(sed -n '/CREATE TABLE connections/,/CREATE INDEX users_created/p' \
  crates/store/src/sqlite/migrations/0001_initial.sql)
noindex=$(printf '%s\n' "$schema" | grep -v 'CREATE.*INDEX')
select="WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<$rows)
SELECT 'auth0|'||hex(randomblob(12)), 'con_1', lower(hex(randomblob(6)))||'@example.com', 1,
  'Given', 'Family', 'Given Family', 'nick',
  'https://s.gravatar.com/avatar/'||hex(randomblob(16))||'?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fgf.png',
  '2026-12-06T08:00:00.000Z', '2026-12-06T08:00:00.000Z', NULL,
  '{\"plan\":\"pro\",\"consent\":{\"given\":true,\"at\":\"2024-01-01\"},\"tags\":[\"a\",\"b\",\"c\"],\"notes\":\"'||hex(randomblob(100))||'\"}',
  '{\"roles\":[\"user\"]}', '\$2b\$10\$C9qVQ1L0Y8mwUmsjr2NXdOq1j5tJpLeQnxz0Jz7K0m9m8l0k1j2h3' FROM s"
load="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-131072;
INSERT INTO connections VALUES('con_1','c','x');
.timer on
BEGIN;
INSERT INTO users(user_id, connection_id, email, email_verified, given_name, family_name, name,
  nickname, picture, created_at, updated_at, username, user_metadata, app_metadata, password_hash)
$select;
COMMIT;"
echo "== generating $rows rows alone"
sqlite3 :memory: ".timer on" "WITH g AS ($select) SELECT count(*) FROM g;"
echo "== with the four indexes (insert, then commit)"
rm -f "$out/indexed.db"*; sqlite3 "$out/indexed.db" "$schema"; sqlite3 "$out/indexed.db" <<<"$load"
echo "== without indexes (insert, then commit), then building them"
rm -f "$out/plain.db"*; sqlite3 "$out/plain.db" "$noindex"; sqlite3 "$out/plain.db" <<<"$load"
sqlite3 "$out/plain.db" ".timer on" "PRAGMA cache_size=-131072;
  CREATE UNIQUE INDEX e ON users (email, connection_id);
  CREATE UNIQUE INDEX u ON users (connection_id, username) WHERE username IS NOT NULL;
  CREATE INDEX c ON users (created_at, user_id);"
