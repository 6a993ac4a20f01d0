#!/usr/bin/env bash
# Import benchmark (issue 3): 1,000,000 users as NDJSON (an export of seeded users, each with
# a bcrypt password_hash, imported as is) into an empty connection, then again with --upsert
# into the full one; the sqlite3 CLI .imports the same users as CSV into an equivalent table.
#   bench/import.sh [USERS]        (default 1000000; data kept in bench/out/)
source "$(dirname "$0")/lib.sh"
conn=Username-Password-Authentication

source=$out/users-$users
seeded "$source" "$users"
file=$out/import-$users.ndjson
if [ ! -s "$file" ]; then
  # The same bcrypt hash for everyone: it is stored as given, never re-hashed.
  "$ub" --data-dir "$source" export --format ndjson | python3 -c '
import sys
tail = b",\"password_hash\":\"$2b$10$C9qVQ1L0Y8mwUmsjr2NXdOq1j5tJpLeQnxz0Jz7K0m9m8l0k1j2h3\"}\n"
for line in sys.stdin.buffer:
    if line.strip():
        sys.stdout.buffer.write(line.rstrip(b"\n")[:-1] + tail)' > "$file"
fi
# The same users, as the sqlite3 CLI loads them: one CSV column per stored attribute.
csv=$out/import-$users.csv
if [ ! -s "$csv" ]; then
  rm -rf "$out/import-source"
  "$ub" --data-dir "$out/import-source" import "$file" --connection $conn >/dev/null
  sqlite3 -csv "$out/import-source/userbridge.db" "SELECT user_id, connection_id, email,
    email_verified, given_name, family_name, name, nickname, picture, created_at, updated_at,
    username, phone_number, phone_verified, blocked, last_login, last_ip, logins_count,
    last_password_reset, multifactor_last_modified, user_metadata, app_metadata,
    linked_identities, password_hash, custom_password_hash, mfa_factors FROM users" > "$csv"
fi

echo "== import $users users (machine: $(nproc) cores, $(uname -m))"
hyperfine --runs 3 --export-json "$out/import-$users.json" \
  -n "userbridge import (empty connection)" \
  --prepare "rm -rf $out/import-empty" \
  "$ub --data-dir $out/import-empty import $file --connection $conn" \
  -n "sqlite3 .import (empty table)" \
  --prepare "rm -f $out/reference.db && sqlite3 $out/reference.db < bench/import-reference.sql" \
  "sqlite3 $out/reference.db '.import --csv $csv users'"
# Upsert into the full connection left by the last run above: every user is updated. The
# file has no password_hash (a password is only ever set on first import; Auth0's rule).
plain=$out/import-$users-plain.ndjson
[ -s "$plain" ] || "$ub" --data-dir "$source" export --format ndjson -o "$plain"
hyperfine --runs 3 --export-json "$out/import-upsert-$users.json" \
  -n "userbridge import --upsert (full connection)" \
  "$ub --data-dir $out/import-empty import $plain --connection $conn --upsert"
medians users "$users" "userbridge import (empty connection)" "sqlite3 .import (empty table)" \
  "$out/import-$users.json" "$out/import-upsert-$users.json"
echo "== peak memory (KB)"
rm -rf "$out/import-mem"
/usr/bin/time -f "empty connection: %M KB" "$ub" --data-dir "$out/import-mem" import "$file" --connection $conn >/dev/null
/usr/bin/time -f "upsert: %M KB" "$ub" --data-dir "$out/import-mem" import "$plain" --connection $conn --upsert >/dev/null
