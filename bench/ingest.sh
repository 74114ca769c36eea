#!/usr/bin/env bash
# Ingestion beside DuckDB, same files, same run. Data from `darwin gen`, as CSV, JSON lines and
# Parquet (snappy, row groups of 131,072 rows): Nexmark bids and YSB events. Queries:
#  q1  (bids) the projection of Nexmark q1: auction, bidder, 0.908 * price, date_time;
#  ysb (events) YSB's filter and windowed count: views per ad per 10-second tumbling window.
# Darwin writes into a blackhole on 1 and 2 workers; DuckDB computes the same columns into
# aggregates (so nothing is written) on 1 and 2 threads. Prints a Markdown table.
# usage: bench/ingest.sh [EVENTS] [FORMATS]   (default 5,000,000 events of each benchmark,
#        formats "csv json parquet"). DuckDB comes from PyPI: scripts/pyenv.sh installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-5000000}
formats=${2:-csv json parquet}
data=${DARWIN_INGEST_DATA:-/tmp/darwin-ingest-$events}
cargo build --release -q -p darwin-cli
darwin=target/release/darwin
for fmt in $formats; do
  [ -s "$data/bid.$fmt" ] || "$darwin" gen nexmark --events "$events" --format "$fmt" --out "$data" 2>/dev/null
  [ -s "$data/ysb/events.$fmt" ] || "$darwin" gen ysb --events "$events" --format "$fmt" --out "$data/ysb" 2>/dev/null
done
python=$(scripts/pyenv.sh)
bid="auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP(3), extra VARCHAR"
ysb="user_id BIGINT, page_id BIGINT, ad_id BIGINT, ad_type VARCHAR, event_type VARCHAR, event_time TIMESTAMP(3), ip_address VARCHAR"
results=$(mktemp)
darwin_query() { # query format path
  local with="'connector' = 'filesystem', 'path' = '$3', 'format' = '$2'"
  case $1 in
    q1) echo "CREATE TABLE bid ($bid) WITH ($with);
      CREATE TABLE o (auction BIGINT, bidder BIGINT, price DECIMAL(23, 3), date_time TIMESTAMP(3)) WITH ('connector' = 'blackhole');
      INSERT INTO o SELECT auction, bidder, 0.908 * price, date_time FROM bid;" ;;
    ysb) echo "CREATE TABLE ev ($ysb, WATERMARK FOR event_time AS event_time) WITH ($with);
      CREATE TABLE o (ad_id BIGINT, w TIMESTAMP(3), n BIGINT) WITH ('connector' = 'blackhole');
      INSERT INTO o SELECT ad_id, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(event_time), INTERVAL '10' SECOND))
        WHERE event_type = 'view' GROUP BY ad_id, window_start, window_end;" ;;
  esac
}
for q in q1 ysb; do
  for fmt in $formats; do
    path=$data/bid.$fmt
    [ "$q" = ysb ] && path=$data/ysb/events.$fmt
    for p in 1 2; do
      secs=$("$darwin" run -e "$(darwin_query "$q" "$fmt" "$path")" --parallelism "$p" 2>&1 | sed -n 's/^elapsed: \([0-9.]*\) s.*/\1/p')
      echo "$q darwin $fmt $p $secs $path" >> "$results"
    done
    for t in 1 2; do
      secs=$("$python" - "$path" "$fmt" "$t" "$q" <<'PY'
import duckdb, sys, time
path, fmt, threads, q = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
if q == "q1":
    cols = {"auction": "BIGINT", "bidder": "BIGINT", "price": "BIGINT", "channel": "VARCHAR", "url": "VARCHAR",
            "date_time": "TIMESTAMP", "extra": "VARCHAR"}
else:
    cols = {"user_id": "BIGINT", "page_id": "BIGINT", "ad_id": "BIGINT", "ad_type": "VARCHAR", "event_type": "VARCHAR",
            "event_time": "TIMESTAMP", "ip_address": "VARCHAR"}
src = {"csv": f"read_csv('{path}', header = false, columns = {cols})",
       "json": f"read_json('{path}', format = 'newline_delimited', columns = {cols})",
       "parquet": f"read_parquet('{path}')"}[fmt]
sql = ("SELECT count(*), sum(auction), sum(bidder), sum(0.908 * price), max(date_time) FROM " + src if q == "q1" else
       "SELECT count(*), sum(n) FROM (SELECT ad_id, time_bucket(INTERVAL 10 SECOND, event_time) AS w, count(*) AS n FROM "
       + src + " WHERE event_type = 'view' GROUP BY ALL)")
start = time.time()
con.execute(sql).fetchall()
print(f"{time.time() - start:.3f}")
PY
)
      echo "$q duckdb $fmt $t $secs $path" >> "$results"
    done
  done
done
python3 - "$results" <<'PY'
import os, sys
rows = {}
def count(path):
    if path not in rows:
        fmt = path.rsplit(".", 1)[1]
        if fmt == "parquet":
            # As many rows as the CSV beside it.
            return count(path[:-len("parquet")] + "csv") if os.path.exists(path[:-len("parquet")] + "csv") else 0
        with open(path, "rb") as f:
            rows[path] = sum(1 for _ in f)
    return rows[path]
print("| query | engine | format | workers/threads | s | rows/s | MB/s |")
print("|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    q, engine, fmt, p, secs, path = line.split()
    n, mb, s = count(path), os.path.getsize(path) / 1e6, float(secs)
    print(f"| {q} | {engine} | {fmt} | {p} | {s:.2f} | {n / s / 1e6:.2f}M | {mb / s:.0f} |")
PY
rm -f "$results"
