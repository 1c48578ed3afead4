#!/usr/bin/env bash
# soak.sh -- long runs whose memory and descriptors must stay flat
# (make soak): N trivial tasks through the library, then C commands
# through `warden run`, the supervisor sampled every second.  Prints the
# figures; fails if RSS grows by more than a quarter after warm-up or a
# descriptor leaks.
#   N=100000 C=20000 bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000} C=${C:-20000}
fail=0

read -r r1 r2 r3 f1 f2 f3 < <(build/bench/bench_pool memory "$N")
echo "library, $N trivial tasks on 2 workers: supervisor RSS $r1 / $r2 / $r3 KiB and" \
  "$f1 / $f2 / $f3 fds after 10% / 50% / 100%"
[ "$r3" -le $((r1 * 5 / 4)) ] || { echo "soak: library RSS grew" >&2; fail=1; }
[ "$f3" -eq "$f1" ] || { echo "soak: library fds changed" >&2; fail=1; }

s=$(mktemp)
t0=$EPOCHREALTIME
seq "$C" | build/warden run -j8 -- true > /dev/null &
w=$!
while kill -0 "$w" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$w/status" 2>/dev/null) || break
  fds=$(ls "/proc/$w/fd" 2>/dev/null | wc -l)
  [ -n "$rss" ] && echo "$rss $fds" >> "$s"
  sleep 1
done
wait "$w" || { echo "soak: warden run failed" >&2; fail=1; }
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
n=$(wc -l < "$s")
if [ "$n" -ge 3 ]; then
  read -r base_r base_f < <(sed -n 2p "$s") # after a second of warm-up
  read -r last_r last_f < <(sed -n "$((n - 1))p" "$s")
  max_r=$(sort -n "$s" | tail -n1 | cut -d' ' -f1)
  echo "warden run, $C commands at -j8 in $secs s: supervisor RSS $base_r KiB after 1 s," \
    "$last_r KiB near the end (max $max_r), fds $base_f -> $last_f ($n samples)"
  [ "$last_r" -le $((base_r * 5 / 4)) ] || { echo "soak: warden run RSS grew" >&2; fail=1; }
  [ "$last_f" -le "$base_f" ] || { echo "soak: warden run fds grew" >&2; fail=1; }
fi
rm -f "$s"
exit $fail
