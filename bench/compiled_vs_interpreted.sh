#!/usr/bin/env bash
# Replayed throughput of each benchmark query on both executors, alternating, with one shared
# compile cache (compile time is not part of the timed run). Usage:
#   bench/compiled_vs_interpreted.sh [rounds]     (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
darwin=target/release/darwin
rounds=${1:-2}
cache=${DARWIN_CACHE_DIR:-$HOME/.cache/darwin}
rate() { grep -o '"events_per_sec":[0-9]*' | head -1 | cut -d: -f2; }
printf '%-6s %-12s %s\n' query mode "replayed events/s (per round)"
for q in ysb q0 q1 q2 q5 q7 q8; do
  if [ "$q" = ysb ]; then args=(ysb --events 200000000); else args=(nexmark --query "$q" --events 20000000); fi
  for mode in interpreted compiled; do
    line=""
    for _ in $(seq "$rounds"); do
      line+="$("$darwin" bench "${args[@]}" --mode "$mode" --cache-dir "$cache" --replay-only --json 2>/dev/null | rate) "
    done
    printf '%-6s %-12s %s\n' "$q" "$mode" "$line"
  done
done
