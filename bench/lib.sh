# Shared set-up of the benchmarks in bench/: sourced, not run. After it: the working directory
# is the repository, $users and $out are set, hyperfine, sqlite3 and /usr/bin/time are
# installed, and $ub is a fresh release build of userbridge.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
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

# medians UNIT COUNT USERBRIDGE REFERENCE JSON…: the median of every command in hyperfine's
# JSON exports as seconds and UNIT per second, then the ratio of the two named commands.
medians() {
  python3 - "$@" <<'PY'
import json, statistics, sys
unit, n, ub_name, ref_name, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
runs = {}
for path in paths:
    for r in json.load(open(path))["results"]:
        runs[r["command"]] = statistics.median(r["times"])
for name, t in runs.items():
    print(f"median {name}: {t:.2f} s = {n / t:,.0f} {unit}/s")
print(f"ratio {ub_name} / {ref_name}: {runs[ub_name] / runs[ref_name]:.2f}")
PY
}
