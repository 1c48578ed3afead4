#!/usr/bin/env bash
# run.sh -- warden against its peers, side by side (see shared/BENCH.md).
# Each pair runs alternately, A B A B, ROUNDS times; the table quotes
# medians and their ratio ("x better": higher is better for warden).
# Usage: bench/run.sh [ROUNDS]      (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-${ROUNDS:-5}}
W=build/bench/bench_pool
PY=/usr/bin/python3
[ -x "$W" ] || { echo "run.sh: build first: make bench" >&2; exit 2; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

rows=()
# pair NAME PEER_LABEL UNIT HIGHER_IS_BETTER PEER_CMD WARDEN_CMD
pair() {
  local name=$1 peer=$2 unit=$3 higher=$4 pcmd=$5 wcmd=$6 ps=() ws=()
  for ((i = 0; i < ROUNDS; i++)); do
    ps+=("$(eval "$pcmd")")
    ws+=("$(eval "$wcmd")")
  done
  local pm wm ratio
  pm=$(printf '%s\n' "${ps[@]}" | median)
  wm=$(printf '%s\n' "${ws[@]}" | median)
  if [ "$higher" = 1 ]; then ratio=$(awk -v a="$wm" -v b="$pm" 'BEGIN{printf "%.1f", a/b}')
  else ratio=$(awk -v a="$pm" -v b="$wm" 'BEGIN{printf "%.2f", a/b}'); fi
  rows+=("$(printf '%-44s %-34s %12s %12s %8sx  %s' "$name" "$peer" "$pm" "$wm" "$ratio" "$unit")")
  echo "${rows[-1]}" >&2
}

echo "warden bench: $ROUNDS rounds each, alternating, medians ($(nproc) cores)" >&2
pair "trivial tasks, 1 submit each, 2 workers, 20k" "pebble.ProcessPool.schedule" "tasks/s" 1 \
  "$PY bench/peers.py submit pebble 20000 2" "$W submit 20000 2"
pair "trivial tasks, 1 submit each, 2 workers, 20k" "ProcessPoolExecutor.submit" "tasks/s" 1 \
  "$PY bench/peers.py submit ppe 20000 2" "$W submit 20000 2"
pair "trivial tasks, 1 submit each, 2 workers, 20k" "multiprocessing.Pool.apply_async" "tasks/s" 1 \
  "$PY bench/peers.py submit mp 20000 2" "$W submit 20000 2"
pair "map, chunks of 256, 2 workers, 20k" "ProcessPoolExecutor.map(chunksize=256)" "items/s" 1 \
  "$PY bench/peers.py map 20000 2 256" "$W map 20000 2 256"
pair "timeout storm: 20 x sleep 10s, 200ms, 2 wkrs" "pebble timeout=0.2 (ideal 2.0 s)" "s" 0 \
  "$PY bench/peers.py storm" "$W storm"

over=()
for job in "sleep 10000" "spawn child 10000" "spawn setsid 10000"; do
  set -- $job
  arg=${*:2}
  o=$($W overshoot 50 "$1" "$arg")
  over+=("$(printf '%-28s median %6s ms   p99 %6s ms' "$job" $o)")
done
mem=$($W memory 100000)

echo
printf '%-44s %-34s %12s %12s %9s  %s\n' workload peer "peer median" "warden med." ratio unit
printf '%s\n' "${rows[@]}"
echo
echo "deadline overshoot (200 ms deadline -> future resolved, whole tree reaped), 50 each:"
printf '  %s\n' "${over[@]}"
echo "supervisor RSS after 10k / 50k / 100k tasks (KiB): $mem"
