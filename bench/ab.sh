#!/usr/bin/env bash
# ab.sh -- one build of warden against another, in the same run: a change
# that should not cost speed (a restructuring) is checked here.  Each row
# runs A B A B ... ROUNDS times and quotes both medians and B/A (for a rate,
# above 1 is faster; for a time, below 1 is faster).
# Usage: bench/ab.sh A_BUILD_DIR B_BUILD_DIR [ROUNDS]
#   e.g. git worktree add /tmp/old HEAD~5 && make -C /tmp/old build/warden \
#        build/bench/bench_pool && bench/ab.sh /tmp/old/build build 11
# Each build dir needs warden and bench/bench_pool built.
set -euo pipefail
A=${1:?usage: bench/ab.sh A_BUILD_DIR B_BUILD_DIR [ROUNDS]}
B=${2:?usage: bench/ab.sh A_BUILD_DIR B_BUILD_DIR [ROUNDS]}
ROUNDS=${3:-11}
for d in "$A" "$B"; do
  for f in warden bench/bench_pool; do
    [ -x "$d/$f" ] || { echo "ab.sh: $d/$f is missing (make B=$d $d/$f)" >&2; exit 2; }
  done
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
secs() { # secs CMD: wall seconds of a shell command, its output dropped
  local t0=$EPOCHREALTIME
  eval "$1" >/dev/null 2>&1 || true
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.4f", b-a}'
}
# row NAME UNIT CMD: CMD uses $D, the build dir under test.
row() {
  local name=$1 unit=$2 cmd=$3 as=() bs=() D
  for ((i = 0; i < ROUNDS; i++)); do
    D=$A; as+=("$(eval "$cmd")")
    D=$B; bs+=("$(eval "$cmd")")
  done
  local am bm
  am=$(printf '%s\n' "${as[@]}" | median)
  bm=$(printf '%s\n' "${bs[@]}" | median)
  printf '%-46s %12s %12s %7s  %s\n' "$name" "$am" "$bm" \
    "$(awk -v a="$am" -v b="$bm" 'BEGIN{printf "%.3f", b/a}')" "$unit"
}

echo "ab.sh: A=$A B=$B, $ROUNDS rounds alternating, medians ($(nproc) cores, $(date -u +%F))"
printf '%-46s %12s %12s %7s  %s\n' "row" "A" "B" "B/A" "unit"
row "pool dispatch: 20k trivial tasks, 2 workers" "tasks/s" '$D/bench/bench_pool submit 20000 2'
row "wd_map: 20k items, chunks of 256, 2 workers" "items/s" '$D/bench/bench_pool map 20000 2 256'
row "warden run -j2 -- true, 1,000 commands" "s" "secs 'seq 1000 | \$D/warden run -j2 -- true'"
row "warden exec -t 200ms sleep 10: wall - 200 ms" "ms" \
  "awk -v s=\"\$(secs '\$D/warden exec -t 200ms -- sleep 10')\" 'BEGIN{printf \"%.2f\", s*1000-200}'"
