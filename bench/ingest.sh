#!/usr/bin/env bash
# Ingestion beside DuckDB, same files, same run: Nexmark bids from `darwin gen` as CSV and JSON
# lines, the projection of Nexmark q1 (auction, bidder, 0.908 * price, date_time), Darwin into a
# blackhole on 1 and 2 workers, DuckDB reading the same four columns into aggregates (so nothing
# is written) on 1 and 2 threads. Prints a Markdown table of rows/s and MB/s.
# usage: bench/ingest.sh [EVENTS]   (default 5,000,000 Nexmark events: 4.6M bids, 855 MB of CSV)
# DuckDB comes from PyPI: scripts/pyenv.sh installs it into a cache venv.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-5000000}
data=${DARWIN_INGEST_DATA:-/tmp/darwin-ingest-$events}
cargo build --release -q -p darwin-cli
darwin=target/release/darwin
for fmt in csv json; do
  [ -s "$data/bid.$fmt" ] || "$darwin" gen nexmark --events "$events" --format "$fmt" --out "$data" 2>/dev/null
done
python=$(scripts/pyenv.sh)
cols="auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP(3), extra VARCHAR"
results=$(mktemp)
for fmt in csv json; do
  q="CREATE TABLE bid ($cols) WITH ('connector' = 'filesystem', 'path' = '$data/bid.$fmt', 'format' = '$fmt');
     CREATE TABLE o (auction BIGINT, bidder BIGINT, price DECIMAL(23, 3), date_time TIMESTAMP(3)) WITH ('connector' = 'blackhole');
     INSERT INTO o SELECT auction, bidder, 0.908 * price, date_time FROM bid;"
  for p in 1 2; do
    secs=$("$darwin" run -e "$q" --parallelism "$p" 2>&1 | sed -n 's/^elapsed: \([0-9.]*\) s.*/\1/p')
    echo "darwin $fmt $p $secs" >> "$results"
  done
  for t in 1 2; do
    secs=$("$python" - "$data/bid.$fmt" "$fmt" "$t" <<'PY'
import duckdb, sys, time
path, fmt, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
cols = {"auction": "BIGINT", "bidder": "BIGINT", "price": "BIGINT", "channel": "VARCHAR", "url": "VARCHAR",
        "date_time": "TIMESTAMP", "extra": "VARCHAR"}
src = (f"read_csv('{path}', header = false, columns = {cols})" if fmt == "csv"
       else f"read_json('{path}', format = 'newline_delimited', columns = {cols})")
start = time.time()
con.execute(f"SELECT count(*), sum(auction), sum(bidder), sum(0.908 * price), max(date_time) FROM {src}").fetchall()
print(f"{time.time() - start:.3f}")
PY
)
    echo "duckdb $fmt $t $secs" >> "$results"
  done
done
rows=$(wc -l < "$data/bid.csv")
python3 - "$results" "$rows" "$data" <<'PY'
import os, sys
rows, data = int(sys.argv[2]), sys.argv[3]
print(f"| engine | format | workers/threads | s | rows/s | MB/s |  ({rows:,} bids)")
print("|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    engine, fmt, p, secs = line.split()
    mb = os.path.getsize(f"{data}/bid.{fmt}") / 1e6
    s = float(secs)
    print(f"| {engine} | {fmt} | {p} | {s:.2f} | {rows / s / 1e6:.2f}M | {mb / s:.0f} |")
PY
rm -f "$results"
