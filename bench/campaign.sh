#!/usr/bin/env bash
# Campaign Data Import benchmark (issue 4): the seed recipe's TSV of 1,000,000 users (Email
# Address, Created At, First Name, Last Name) run into an empty campaign table, then again in
# add-and-update mode into the full one; in the same run the sqlite3 CLI .imports the same
# file into an equivalent table (same columns, unique key).
#   bench/campaign.sh [USERS]        (default 1000000; data kept in bench/out/)
source "$(dirname "$0")/lib.sh"

source=$out/users-$users
seeded "$source" "$users"
tsv=$out/contacts-$users.tsv
[ -s "$tsv" ] || "$ub" --data-dir "$source" export --format tsv \
  --field 'email=Email Address' --field 'created_at=Created At' \
  --field 'given_name=First Name' --field 'family_name=Last Name' -o "$tsv"

# A data directory holding the uploaded document and the saved definition, no table yet:
# every timed run into an empty table starts from a copy of it.
template=$out/campaign-template-$users
if [ ! -s "$template/definition" ]; then
  rm -rf "$template"
  "$ub" --data-dir "$template" campaign docs mkdir /marketing >/dev/null
  "$ub" --data-dir "$template" campaign docs upload "$tsv" --to /marketing >/dev/null
  "$ub" --data-dir "$template" campaign imports create --name 'Auth0 users' \
    --document "/marketing/$(basename "$tsv")" --table contacts --create-table \
    --delimiter tab --key 'Email Address' \
    --map 'Email Address=Email Address:email' --map 'Created At=Created At:datetime:ISO 8601' \
    --map 'First Name=First Name:text' --map 'Last Name=Last Name:text' \
    | grep -o 'def_[A-Za-z0-9]*' | head -1 > "$template/definition"
fi
def=$(cat "$template/definition")
work=$out/campaign-work

echo "== campaign import of $users rows (machine: $(nproc) cores, $(uname -m))"
hyperfine --runs 5 --export-json "$out/campaign-$users.json" \
  -n "userbridge run (empty table)" \
  --prepare "rm -rf $work && cp -r $template $work" \
  "$ub --data-dir $work campaign imports run $def" \
  -n "sqlite3 .import (empty table)" \
  --prepare "rm -f $out/campaign-reference.db && sqlite3 $out/campaign-reference.db 'CREATE TABLE contacts (\"Email Address\" TEXT UNIQUE, \"Created At\" TEXT, \"First Name\" TEXT, \"Last Name\" TEXT)'" \
  "sqlite3 $out/campaign-reference.db '.mode tabs' '.import --skip 1 $tsv contacts'"
# Add and update into the table the last run above filled: every row matches.
hyperfine --runs 5 --export-json "$out/campaign-update-$users.json" \
  -n "userbridge run (add and update, full table)" \
  "$ub --data-dir $work campaign imports run $def"
medians rows "$users" "userbridge run (empty table)" "sqlite3 .import (empty table)" \
  "$out/campaign-$users.json" "$out/campaign-update-$users.json"
echo "== peak memory (KB)"
rm -rf "$work" && cp -r "$template" "$work"
/usr/bin/time -f "empty table: %M KB" "$ub" --data-dir "$work" campaign imports run "$def" >/dev/null
/usr/bin/time -f "add and update: %M KB" "$ub" --data-dir "$work" campaign imports run "$def" >/dev/null
