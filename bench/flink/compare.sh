#!/usr/bin/env bash
# Darwin beside Apache Flink on this machine, in one run: YSB and Nexmark q0, q1, q2, q5, q7, q8.
# Flink runs each query as a local mini-cluster job on its fastest built-in source (datagen, values
# computed from a sequence: ../../../shared/peers/flink); Darwin runs `darwin bench` on the same
# number of events, end to end (generator in the timed run) and replayed from memory.
# usage: bench/flink/compare.sh [EVENTS] [PARALLELISM]   (needs Java 17; installs PyFlink once)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
peers=${DARWIN_PEERS:-$root/../shared/peers/flink}
events=${1:-20000000}
par=${2:-$(nproc)}
venv=/tmp/flink-venv
bash "$peers/setup.sh" "$venv" >/dev/null
(cd "$root" && cargo build --release -q -p darwin-cli)
darwin="$root/target/release/darwin"
flink() { # script rows -> events/s
  local out
  out=$("$venv/bin/python" "$peers/flink_sql.py" "$1" --parallelism "$par" --var ROWS="$2" 2>/dev/null | tail -1)
  python3 -c "import json,sys; r=json.loads(sys.argv[1]); print(f'{int(sys.argv[2])/r[\"net_runtime_s\"]:.0f}')" "$out" "$2"
}
printf '| query | events | Flink events/s | Darwin end to end | ratio | Darwin replayed | ratio |\n|---|---|---|---|---|---|---|\n'
row() { # name flink_eps darwin_json
  python3 - "$@" <<'PY'
import json, sys
name, flink, d = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
e2e, rep = d["end_to_end"]["events_per_sec"], d["events_per_sec"]
print(f"| {name} | {d['events']:,} | {flink/1e6:.2f}M | {e2e/1e6:.2f}M | {e2e/flink:.1f}x | {rep/1e6:.2f}M | {rep/flink:.1f}x |")
PY
}
f=$(flink "$peers/ysb.sql" "$events")
d=$("$darwin" bench ysb --events "$events" --parallelism "$par" --json)
row YSB "$f" "$d"
for q in q0 q1 q2 q5 q7; do
  # Nexmark's `events` counts all kinds; 92% are bids, which is what these queries read.
  bids=$(( events * 46 / 50 ))
  cat "$here/bid_table.sql" "$here/$q.sql" > "/tmp/flink-nexmark-$q.sql"
  f=$(flink "/tmp/flink-nexmark-$q.sql" "$bids")
  d=$("$darwin" bench nexmark --query "$q" --events "$events" --parallelism "$par" --json)
  row "Nexmark $q" "$f" "$d"
done
# q8 reads persons (1 in 50 events) and auctions (3 in 50), each from its own datagen table.
persons=$(( events / 50 )); auctions=$(( events * 3 / 50 ))
out=$("$venv/bin/python" "$peers/flink_sql.py" "$here/q8.sql" --parallelism "$par" --var PERSONS="$persons" --var AUCTIONS="$auctions" 2>/dev/null | tail -1)
f=$(python3 -c "import json,sys; print(f'{int(sys.argv[2])/json.loads(sys.argv[1])[\"net_runtime_s\"]:.0f}')" "$out" $(( persons + auctions )))
d=$("$darwin" bench nexmark --query q8 --events "$events" --parallelism "$par" --json)
row "Nexmark q8" "$f" "$d"
