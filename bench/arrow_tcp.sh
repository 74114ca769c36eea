#!/usr/bin/env bash
# The arrow-tcp source's rate from real clients: pyarrow processes send Arrow IPC streams over
# 127.0.0.1 to Darwin, which reads them into a blackhole (columns converted to Darwin's, nothing
# else). Each sender sends the same record batch of 65,536 rows (four BIGINTs, a DOUBLE, a short
# VARCHAR: 46 bytes a row) over and over; the rate is the senders' bytes over Darwin's elapsed
# time (which starts before the first connection, so slightly under the true rate).
# usage: bench/arrow_tcp.sh [GB_PER_SENDER] [SENDERS]   (default 2 GB, 1 and 2 senders)
set -euo pipefail
cd "$(dirname "$0")/.."
gb=${1:-2}
cargo build --release -q -p darwin-cli
darwin=target/release/darwin
python=$(scripts/pyenv.sh)
send=$(mktemp)
cat > "$send" <<'PY'
import pyarrow as pa, pyarrow.ipc as ipc, socket, sys, time
port, gb = int(sys.argv[1]), float(sys.argv[2])
n = 65536
b = pa.record_batch({"a": pa.array(range(n), pa.int64()), "b": pa.array(range(n), pa.int64()),
                     "c": pa.array(range(n), pa.int64()), "d": pa.array(range(n), pa.int64()),
                     "x": pa.array([0.5] * n, pa.float64()), "s": pa.array(["s%05d" % (i % 1000) for i in range(n)])})
for _ in range(600):
    try:
        sock = socket.create_connection(("127.0.0.1", port)); break
    except OSError:
        time.sleep(0.02)
sent = 0
with sock.makefile("wb", buffering=1 << 20) as f, ipc.new_stream(f, b.schema) as w:
    while sent < gb * 1e9:
        w.write_batch(b)
        sent += b.nbytes
print(sent)
PY
for senders in ${2:-1 2}; do
  port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  q="CREATE TABLE t (a BIGINT, b BIGINT, c BIGINT, d BIGINT, x DOUBLE, s VARCHAR) WITH ('connector' = 'arrow-tcp', 'port' = '$port', 'streams' = '$senders');
     CREATE TABLE o (a BIGINT, b BIGINT, c BIGINT, d BIGINT, x DOUBLE, s VARCHAR) WITH ('connector' = 'blackhole');
     INSERT INTO o SELECT * FROM t;"
  log=$(mktemp)
  "$darwin" run -e "$q" --parallelism 2 2> "$log" &
  pid=$!
  total=0
  pids=()
  outs=()
  for i in $(seq "$senders"); do
    out=$(mktemp); outs+=("$out")
    "$python" "$send" "$port" "$(python3 -c "print($gb / $senders)")" > "$out" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  wait "$pid"
  for o in "${outs[@]}"; do total=$((total + $(cat "$o"))); done
  secs=$(sed -n 's/^elapsed: \([0-9.]*\) s.*/\1/p' "$log")
  rows=$(sed -n 's/^source t: \([0-9]*\) records read.*/\1/p' "$log")
  python3 -c "print(f'| {$senders} | {$total/1e9:.2f} GB | {$rows/1e6:.1f}M rows | {$secs:.2f} s | {$total/1e9/$secs:.2f} GB/s | {$rows/1e6/$secs:.1f}M rows/s |')"
done
