#!/usr/bin/env bash
# Alternating replayed runs, for ratios on a machine whose speed drifts between runs: three
# pairs per query, the two sides of each pair run back to back. Prints each side's events/s.
#   bench/alternating.sh scaling [interpreted|compiled]   1 vs 2 workers, every benchmark query
#   bench/alternating.sh modes                            interpreted vs compiled, YSB, q5, q7,
#                                                         on 1 and on 2 workers
# Compiled runs share the default compile cache; compile first (any short run) so no timed run
# includes a compile (the replayed rate never does: events are timed after compiling).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
d=target/release/darwin
rate() { grep -o '"events_per_sec":[0-9]*' | head -1 | cut -d: -f2; }
run() { "$d" bench "$@" --replay-only --json 2>/dev/null | rate; }
source bench/args.sh
# Three pairs of runs of one benchmark (`$1`: its arguments), the sides' extra arguments `$2`
# and `$3`; prints `label | side 1's rates | side 2's rates`.
pairs() {
  local -a a s1 s2
  read -ra a <<<"$1"
  read -ra s1 <<<"$2"
  read -ra s2 <<<"$3"
  local l1="" l2=""
  for _ in 1 2 3; do
    l1+="$(run "${a[@]}" "${s1[@]}") "
    l2+="$(run "${a[@]}" "${s2[@]}") "
  done
  echo "$4 | $l1| $l2"
}
case ${1:-} in
  scaling)
    mode=${2:-interpreted}
    echo "query | $mode, 1 worker | 2 workers"
    for q in ysb q0 q1 q2 q5 q7 q8; do
      pairs "$(args_of "$q")" "--parallelism 1 --mode $mode" "--parallelism 2 --mode $mode" "$q"
    done
    ;;
  modes)
    echo "query workers | interpreted | compiled"
    for q in ysb q5 q7; do
      for p in 1 2; do
        pairs "$(args_of "$q" 200000000)" "--parallelism $p --mode interpreted" "--parallelism $p --mode compiled" "$q $p"
      done
    done
    ;;
  *)
    echo "usage: bench/alternating.sh scaling [interpreted|compiled] | modes" >&2
    exit 2
    ;;
esac
