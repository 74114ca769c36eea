# Sourced by the scripts here. `args_of QUERY [EVENTS]`: the `darwin bench` arguments of a
# benchmark query, events defaulting to its long run (q8 reads only persons and auctions, 8%).
args_of() {
  case $1 in
    ysb) echo "ysb --events ${2:-100000000}" ;;
    q0 | q1 | q2) echo "nexmark --query $1 --events ${2:-20000000}" ;;
    q5 | q7) echo "nexmark --query $1 --events ${2:-100000000}" ;;
    q8) echo "nexmark --query $1 --events ${2:-1000000000}" ;;
  esac
}
