#!/usr/bin/env bash
# run.sh -- warden against its peers, side by side (see shared/BENCH.md).
# Each pair runs alternately, A B A B, ROUNDS times; the table quotes
# medians and their ratio ("x better": higher is better for warden).
# Usage: bench/run.sh [ROUNDS]      (default 5)
#        SECTIONS="pool commands" bench/run.sh    (default: all sections)
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

SECTIONS=${SECTIONS:-pool commands}
want() { case " $SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }

echo "warden bench: $ROUNDS rounds each, alternating, medians ($(nproc) cores)" >&2
gp="(not run)"
if want pool; then
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

fi

# ---- commands (warden run / exec against xargs, GNU parallel, timeout) ----
if want commands; then
WD=build/warden
F=build/bench/spawn_floor
secs() { # secs CMD: wall seconds of a shell command, its output dropped
  local t0=$EPOCHREALTIME
  eval "$1" >/dev/null 2>&1 || true
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.4f", b-a}'
}
rate() { awk -v n="$1" -v s="$(secs "$2")" 'BEGIN{printf "%.0f", n/s}'; } # rate N CMD
pair "2,000 x true, 2 jobs" "xargs -P2 -n1" "cmds/s" 1 \
  "rate 2000 'seq 2000 | xargs -P2 -n1 true'" "rate 2000 'seq 2000 | $WD run -j2 -- true'"
pair "2,000 x true, 2 jobs" "parallel.moreutils -j2" "cmds/s" 1 \
  "rate 2000 'parallel.moreutils -j2 true -- \$(seq 2000)'" "rate 2000 'seq 2000 | $WD run -j2 -- true'"
pair "2,000 x true, 2 jobs (GNU parallel: 200)" "GNU parallel -j2" "cmds/s" 1 \
  "rate 200 'seq 200 | parallel -j2 true'" "rate 2000 'seq 2000 | $WD run -j2 -- true'"
pair "2,000 x true, 2 jobs" "floor: posix_spawn loop, no capture" "cmds/s" 1 \
  "awk -v s=\$($F 2000 2 true 1) 'BEGIN{printf \"%.0f\", 2000/s}'" "rate 2000 'seq 2000 | $WD run -j2 -- true'"
pair "1,000 x sleep 2, all at once" "xargs -P1000" "s" 0 \
  "secs 'seq 1000 | xargs -P1000 -I{} sleep 2'" "secs 'seq 1000 | $WD run -j1000 -N0 -- sleep 2'"
pair "1,000 x sleep 2, all at once" "floor: posix_spawn loop, no capture" "s" 0 \
  "$F 1000 1000 sleep 2" "secs 'seq 1000 | $WD run -j1000 -N0 -- sleep 2'"
# GNU parallel at -j1000 takes minutes: once, cut off at 60 s.
gp=$(timeout 60 bash -c "$(declare -f secs); secs 'seq 1000 | parallel -j1000 -N0 sleep 2'" || echo ">60")
echo "GNU parallel -j1000, 1,000 x sleep 2 (one run): $gp s" >&2
# Overshoot of one command's deadline, seen from the caller: wall time
# past 200 ms, start-up and exit included, 20 alternating runs each.
exec_over() { awk -v s="$(secs "$1")" 'BEGIN{printf "%.2f", s*1000-200}'; }
ROUNDS_SAVED=$ROUNDS; ROUNDS=20
pair "one command, 200 ms deadline: wall - 200 ms" "timeout 0.2 sleep 10" "ms" 0 \
  "exec_over 'timeout 0.2 sleep 10'" "exec_over '$WD exec -t 200ms -- sleep 10'"
pair "the same with a setsid grandchild" "timeout 0.2 (grandchild survives)" "ms" 0 \
  "exec_over 'timeout 0.2 sh -c \"setsid sleep 10 & sleep 10\"'" \
  "exec_over '$WD exec -t 200ms -- sh -c \"setsid sleep 10 & sleep 10\"'"
ROUNDS=$ROUNDS_SAVED
pkill -x -f 'sleep 10' 2>/dev/null || true # what timeout(1) left running
fi

over=() mem="(not run)"
if want pool; then
for job in "sleep 10000" "spawn child 10000" "spawn setsid 10000"; do
  set -- $job
  arg=${*:2}
  o=$($W overshoot 50 "$1" "$arg")
  over+=("$(printf '%-28s median %6s ms   p99 %6s ms' "$job" $o)")
done
mem=$($W memory 100000)
fi

echo
printf '%-44s %-34s %12s %12s %9s  %s\n' workload peer "peer median" "warden med." ratio unit
printf '%s\n' "${rows[@]}"
echo "GNU parallel -j1000, 1,000 x sleep 2 (one run, cut off at 60 s): $gp s"
echo
echo "deadline overshoot (200 ms deadline -> future resolved, whole tree reaped), 50 each:"
printf '  %s\n' "${over[@]}"
echo "supervisor RSS after 10k / 50k / 100k tasks (KiB): $mem"
