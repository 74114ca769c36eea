#!/usr/bin/env bash
# CPU work of a replayed run on 1 and on 2 workers, counted by callgrind: the instructions executed
# in the worker threads. Unlike events/s, which drifts by up to 2x between runs on this VM, the
# count repeats (1 worker: to 0.001%; 2 workers: to ~0.1%), so it shows what parallelism adds.
# 2 / (work on 2 workers / work on 1) bounds the scaling from 1 to 2 cores at equal instructions
# per cycle. The work of a run is its count minus that of a run of a tenth of the events: what
# the events cost, without the result check's small run (generated events, much more work than
# replayed ones) and other fixed costs. Idle workers sleep at once (`--idle sleep`):
# callgrind runs the threads one at a time, and a worker spinning until the other's rows arrive
# would count its polling as work (q7: 2.6x the work on 2 workers with spinning, see
# BENCHMARKS.md).
#   bench/work.sh [query ...]      queries: ysb q0 q1 q2 q5 q7 q8 (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
cargo build --release -q
d=target/release/darwin
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
source bench/args.sh
# Smaller runs than the timed scripts': callgrind runs some 50x slower.
events_of() {
  case $1 in
    q0 | q1 | q2) echo 5000000 ;;
    q8) echo 50000000 ;;
    *) echo 20000000 ;;
  esac
}
count() {
  valgrind --tool=callgrind --toggle-collect='darwin_runtime::driver::worker::run_worker*' \
    --callgrind-out-file="$out/cg" "$d" bench "$@" --replay-only --idle sleep >/dev/null 2>&1
  grep -h '^summary:' "$out/cg" | cut -d' ' -f2
}
# The work of `$1` (a benchmark's arguments ending in `--events N`) on `$2` workers.
work() {
  local -a a
  read -ra a <<<"$1"
  local n=${a[-1]}
  local all tenth
  all=$(count "${a[@]}" --parallelism "$2")
  a[-1]=$((n / 10))
  tenth=$(count "${a[@]}" --parallelism "$2")
  echo $((all - tenth))
}
echo "query | instructions for 9/10 of the events, 1 worker | 2 workers | ratio | scaling bound"
for q in "${@:-ysb q0 q1 q2 q5 q7 q8}"; do
  for one in $q; do
    w1=$(work "$(args_of "$one" "$(events_of "$one")")" 1)
    w2=$(work "$(args_of "$one" "$(events_of "$one")")" 2)
    awk -v q="$one" -v a="$w1" -v b="$w2" 'BEGIN { printf "%s | %.0fM | %.0fM | %.2f | %.2fx\n", q, a / 1e6, b / 1e6, b / a, 2 * a / b }'
  done
done
