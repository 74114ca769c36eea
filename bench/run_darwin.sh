#!/usr/bin/env bash
# Runs Darwin's benchmark set (YSB and Nexmark q0, q1, q2, q5, q7, q8) on 1 worker and on every
# core, and prints a Markdown table of the results (one JSON line per run is kept beside it).
# usage: bench/run_darwin.sh [OUT.jsonl]     (about 4 minutes on the 2-core development machine)
#        MODE=compiled bench/run_darwin.sh    (the compiled executor; default interpreted)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/darwin-bench.jsonl}
cargo build --release -q -p darwin-cli
bin() { target/release/darwin "$@" --mode "${MODE:-interpreted}"; }
cores=$(nproc)
: > "$out"
for p in 1 "$cores"; do
  bin bench ysb --events 100000000 --parallelism "$p" --json >> "$out"
  for q in q0 q1 q2; do bin bench nexmark --query "$q" --events 20000000 --parallelism "$p" --json >> "$out"; done
  for q in q5 q7; do bin bench nexmark --query "$q" --events 10000000 --parallelism "$p" --json >> "$out"; done
  bin bench nexmark --query q8 --events 50000000 --parallelism "$p" --json >> "$out"
done
# Long runs, replayed only (an end-to-end run of 1B events would take the generator 15 minutes):
# the runs above last under a second for q5, q7 and q8, too short for steady-state scaling.
long="${out%.jsonl}.long.jsonl"
: > "$long"
for p in 1 "$cores"; do
  for q in q5 q7; do bin bench nexmark --query "$q" --events 100000000 --parallelism "$p" --replay-only --json >> "$long"; done
  bin bench nexmark --query q8 --events 1000000000 --parallelism "$p" --replay-only --json >> "$long"
done
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| query | workers | events | replayed events/s | per core | end-to-end events/s | latency p50 / p99 ms | peak RSS MiB | roofline % | check |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    e = r["end_to_end"]
    lat = "-" if r["latency_p50_ms"] is None else f'{r["latency_p50_ms"]:.1f} / {r["latency_p99_ms"]:.1f}'
    print(f'| {r["benchmark"]} | {r["parallelism"]} | {r["events"]:,} | {r["events_per_sec"]/1e6:.2f}M | {r["events_per_sec_per_core"]/1e6:.2f}M | '
          f'{e["events_per_sec"]/1e6:.2f}M | {lat} | {r["peak_rss_bytes"]/2**20:.0f} | {100*r["events_per_sec"]/r["roofline_events_per_sec"]:.1f} | {r["check"].split(" (")[0]} |')
PY
python3 - "$long" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print()
print("Long runs, replayed only:")
print()
print("| query | workers | events read | replayed events/s | per core | latency p50 / p99 ms | workers idle % | peak RSS MiB | check |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    idle = " / ".join(f"{x:.0f}" for x in r.get("worker_idle_pct") or [])
    print(f'| {r["benchmark"]} | {r["parallelism"]} | {r["events"]:,} | {r["events_per_sec"]/1e6:.2f}M | {r["events_per_sec_per_core"]/1e6:.2f}M | '
          f'{r["latency_p50_ms"]:.1f} / {r["latency_p99_ms"]:.1f} | {idle} | {r["peak_rss_bytes"]/2**20:.0f} | {r["check"].split(" (")[0]} |')
PY
