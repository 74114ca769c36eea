#!/bin/bash
# Throughput with and without a checkpoint every second, alternating runs (YSB and Nexmark q5).
# Alternating runs with and without checkpoints every second; prints events/s per run.
cd "$(dirname "$0")/.."
cargo build --release -q
for q in "ysb --events 200000000" "nexmark --query q5 --events 20000000"; do
  for i in 1 2 3; do
    a=$(./target/release/darwin bench $q --json | python3 -c "import json,sys; print(int(json.load(sys.stdin)['events_per_sec']))")
    b=$(./target/release/darwin bench $q --json --checkpoint-interval 1s | python3 -c "import json,sys; d=json.load(sys.stdin); k=d['checkpoints']; print(int(d['events_per_sec']), k['taken'], k['mean_ms'], k['max_ms'], k['last_state_bytes'])")
    echo "$q | without $a | with $b"
  done
done
