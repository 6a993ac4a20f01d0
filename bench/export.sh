#!/usr/bin/env bash
# Export benchmark (issue 2): 1,000,000 seeded users, the 11 default fields, to TSV —
# userbridge side by side with the sqlite3 CLI on the same database file.
#   bench/export.sh [USERS]        (default 1000000; data kept in bench/out/)
# Prints hyperfine's comparison, then peak memory at 100k and at USERS users.
source "$(dirname "$0")/lib.sh"

seeded "$out/users-100k" 100000
seeded "$out/users-$users" "$users"
data=$out/users-$users

echo "== export $users users, 11 default fields, TSV (machine: $(nproc) cores, $(uname -m))"
hyperfine --warmup 1 --runs 7 --export-json "$out/export-$users.json" \
  -n userbridge "$ub --data-dir $data export --format tsv -o $out/userbridge.tsv" \
  -n sqlite3 "sqlite3 $data/userbridge.db < bench/export-reference.sql > $out/sqlite3.tsv"
medians users "$users" userbridge sqlite3 "$out/export-$users.json"

echo "== peak memory (median of 3 runs, KB)"
for dir in "$out/users-100k" "$data"; do
  for _ in 1 2 3; do
    /usr/bin/time -f "%M" "$ub" --data-dir "$dir" export --format tsv -o /dev/null 2>&1 >/dev/null | tail -1
  done | sort -n | sed -n 2p | xargs printf "%s: %s KB\n" "$(basename "$dir")"
done
