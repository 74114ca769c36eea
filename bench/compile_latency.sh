#!/usr/bin/env bash
# Compile latency of `--mode compiled` for YSB and the Nexmark examples, as `darwin` reports it:
# cold (empty cache: Darwin's runtime crates are built too), warm (runtime built, query not yet
# cached) and cache hit (the binary is reused). Usage: bench/compile_latency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
darwin=target/release/darwin
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
note() { grep -o 'executor: compiled ([^:]*' | sed 's/executor: compiled (//'; }
echo "cold: $("$darwin" run examples/ysb.sql --mode compiled --cache-dir "$cache" 2>&1 >/dev/null | note)"
for q in ysb nexmark_q0 nexmark_q1 nexmark_q2 nexmark_q5 nexmark_q7 nexmark_q8 nexmark_q11; do
  rm -rf "$cache/bin"
  warm=$("$darwin" run "examples/$q.sql" --mode compiled --cache-dir "$cache" 2>&1 >/dev/null | note)
  hit=$("$darwin" run "examples/$q.sql" --mode compiled --cache-dir "$cache" 2>&1 >/dev/null | note)
  printf '%-12s %-24s %s\n' "$q" "$warm" "$hit"
done
