#!/usr/bin/env bash
# Export benchmark (issue 2): 1,000,000 seeded users, the 11 default fields, to TSV —
# userbridge side by side with the sqlite3 CLI on the same database file.
#   bench/export.sh [USERS]        (default 1000000; data kept in bench/out/)
# Prints hyperfine's comparison, then peak memory at 100k and at USERS users.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-1000000}
out=bench/out
mkdir -p "$out"

need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2"; }; }
need hyperfine hyperfine
need sqlite3 sqlite3
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }

cargo build --release -q
ub=$PWD/target/release/userbridge

seeded() { # DIR COUNT: a data dir holding COUNT seeded users (seed 1), made once.
  if [ "$("$ub" --data-dir "$1" users count 2>/dev/null || echo 0)" != "$2" ]; then
    rm -rf "$1"
    /usr/bin/time -f "seeded $2 users in %e s (peak %M KB)" "$ub" --data-dir "$1" users seed --count "$2"
  fi
}
seeded "$out/users-100k" 100000
seeded "$out/users-$users" "$users"
data=$out/users-$users

echo "== export $users users, 11 default fields, TSV (machine: $(nproc) cores, $(uname -m))"
hyperfine --warmup 1 --runs 7 --export-json "$out/export-$users.json" \
  -n userbridge "$ub --data-dir $data export --format tsv -o $out/userbridge.tsv" \
  -n sqlite3 "sqlite3 $data/userbridge.db < bench/export-reference.sql > $out/sqlite3.tsv"
python3 - "$out/export-$users.json" <<'PY'
import json, statistics, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
ub, ref = statistics.median(r["userbridge"]["times"]), statistics.median(r["sqlite3"]["times"])
print(f"median: userbridge {ub:.3f} s, sqlite3 {ref:.3f} s, ratio userbridge/sqlite3 = {ub/ref:.2f}")
PY

echo "== peak memory (median of 3 runs, KB)"
for dir in "$out/users-100k" "$data"; do
  for _ in 1 2 3; do
    /usr/bin/time -f "%M" "$ub" --data-dir "$dir" export --format tsv -o /dev/null 2>&1 >/dev/null | tail -1
  done | sort -n | sed -n 2p | xargs printf "%s: %s KB\n" "$(basename "$dir")"
done
