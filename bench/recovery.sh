#!/bin/bash
# Recovery time against state size: a GROUP BY over ~9M (auction, bidder) groups of generated
# Nexmark bids, checkpointed every 4 s; killed (SIGKILL) once checkpoint N is complete, then
# restarted. Prints the checkpoint's size and the restart's restore times.
# Usage: bench/recovery.sh [N] [EVENTS]   (larger N, larger state; N=12 with 400000000 events
# holds about 1 GB)
set -e
cd "$(dirname "$0")/.."
cargo build --release -q
N=${1:-2}
EVENTS=${2:-30000000}
D=$(mktemp -d)
cat > "$D/big.sql" <<SQL
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, date_time TIMESTAMP(3))
WITH ('connector' = 'nexmark', 'table' = 'bid', 'events' = '$EVENTS');
CREATE TABLE out (auction BIGINT, bidder BIGINT, n BIGINT, m BIGINT)
WITH ('connector' = 'filesystem', 'path' = '$D/out.csv', 'format' = 'csv');
INSERT INTO out SELECT auction, bidder, COUNT(*), MAX(price) FROM bid GROUP BY auction, bidder;
SQL
target/release/darwin run "$D/big.sql" --checkpoint-dir "$D/ck" --checkpoint-interval 4s --checkpoints-retained 1 > "$D/first.log" 2>&1 &
PID=$!
while [ ! -d "$D/ck/chk-$(printf %010d "$N")" ]; do
  kill -0 $PID 2>/dev/null || { echo "the run ended before checkpoint $N; pick a smaller N or more events"; exit 1; }
  sleep 0.05
done
kill -9 $PID 2>/dev/null || { echo "the run ended at checkpoint $N; pick a smaller N or more events"; exit 1; }
wait $PID 2>/dev/null || true
echo "checkpoint $N: $(du -sh "$D/ck/chk-$(printf %010d "$N")" | cut -f1) on disk, $(grep -h state_bytes "$D"/ck/chk-*/manifest.json)"
if [ "$EVENTS" = 30000000 ]; then
  target/release/darwin run "$D/big.sql" --checkpoint-dir "$D/ck" --checkpoint-interval 60s 2>&1 | grep -E "restored|elapsed"
  echo "rows: $(wc -l < "$D/out.csv") (an uninterrupted run over 30000000 events writes 8809823)"
else
  # Other sizes: only the restore is timed; the restarted run is stopped once it processes.
  target/release/darwin run "$D/big.sql" --checkpoint-dir "$D/ck" --checkpoint-interval 60s > "$D/second.log" 2>&1 &
  PID=$!
  until grep -q "processing again" "$D/second.log"; do sleep 0.05; done
  kill -9 $PID; wait $PID 2>/dev/null || true
  grep "processing again" "$D/second.log"
fi
rm -rf "$D"
