#!/bin/bash
# Recovery time against state size: a GROUP BY over ~9M (auction, bidder) groups of generated
# Nexmark bids, checkpointed every 4 s; killed (SIGKILL) once checkpoint N is complete, then
# restarted. Prints the checkpoint's size and the restart's restore times.
# Usage: bench/recovery.sh [N]   (N = 2 or 3: larger N, larger state)
set -e
cd "$(dirname "$0")/.."
cargo build --release -q
N=${1:-2}
D=$(mktemp -d)
cat > "$D/big.sql" <<SQL
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, date_time TIMESTAMP(3))
WITH ('connector' = 'nexmark', 'table' = 'bid', 'events' = '30000000');
CREATE TABLE out (auction BIGINT, bidder BIGINT, n BIGINT, m BIGINT)
WITH ('connector' = 'filesystem', 'path' = '$D/out.csv', 'format' = 'csv');
INSERT INTO out SELECT auction, bidder, COUNT(*), MAX(price) FROM bid GROUP BY auction, bidder;
SQL
target/release/darwin run "$D/big.sql" --checkpoint-dir "$D/ck" --checkpoint-interval 4s --checkpoints-retained 1 > "$D/first.log" 2>&1 &
PID=$!
while [ ! -d "$D/ck/chk-$(printf %010d "$N")" ]; do sleep 0.05; done
kill -9 $PID; wait $PID 2>/dev/null || true
echo "checkpoint $N: $(du -sh "$D/ck/chk-$(printf %010d "$N")" | cut -f1) on disk, $(grep -h state_bytes "$D"/ck/chk-*/manifest.json)"
target/release/darwin run "$D/big.sql" --checkpoint-dir "$D/ck" --checkpoint-interval 60s 2>&1 | grep -E "restored|elapsed"
echo "rows: $(wc -l < "$D/out.csv") (an uninterrupted run writes 8809823)"
rm -rf "$D"
