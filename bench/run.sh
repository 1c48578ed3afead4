#!/usr/bin/env bash
# run.sh -- warden against its peers, side by side (see shared/BENCH.md).
# Each pair runs alternately, A B A B, ROUNDS times; the table quotes
# medians and their ratio ("x better": higher is better for warden).
# Usage: bench/run.sh [ROUNDS]      (default 5)
#        SECTIONS="pool commands images fidelity compat" bench/run.sh
#        (default: all five; "exec" alone: the one-command rows of "commands")
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-${ROUNDS:-5}}
W=build/bench/bench_pool
PY=/usr/bin/python3
[ -x "$W" ] || { echo "run.sh: build first: make bench" >&2; exit 2; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

secs() { # secs CMD: wall seconds of a shell command, its output dropped
  local t0=$EPOCHREALTIME
  eval "$1" >/dev/null 2>&1 || true
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.4f", b-a}'
}

rows=()
# row NAME PEER_LABEL UNIT HIGHER_IS_BETTER "PEER_VALUES" "WARDEN_VALUES":
# one table row, the medians of the values and their ratio
row() {
  local name=$1 peer=$2 unit=$3 higher=$4 pm wm ratio
  pm=$(printf '%s\n' $5 | median)
  wm=$(printf '%s\n' $6 | median)
  if [ "$higher" = 1 ]; then ratio=$(awk -v a="$wm" -v b="$pm" 'BEGIN{printf "%.1f", a/b}')
  else ratio=$(awk -v a="$pm" -v b="$wm" 'BEGIN{printf "%.2f", a/b}'); fi
  LAST_WM=$wm
  rows+=("$(printf '%-44s %-34s %12s %12s %8sx  %s' "$name" "$peer" "$pm" "$wm" "$ratio" "$unit")")
  echo "${rows[-1]}" >&2
}
# pair NAME PEER_LABEL UNIT HIGHER_IS_BETTER PEER_CMD WARDEN_CMD
pair() {
  local ps=() ws=()
  for ((i = 0; i < ROUNDS; i++)); do
    ps+=("$(eval "$5")")
    ws+=("$(eval "$6")")
  done
  row "$1" "$2" "$3" "$4" "${ps[*]}" "${ws[*]}"
}
TMPS=()
trap 'rm -rf "${TMPS[@]}"' EXIT

SECTIONS=${SECTIONS:-pool commands images fidelity compat}
want() { case " $SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }

echo "warden bench: $ROUNDS rounds each, alternating, medians ($(nproc) cores)" >&2
gp="(not run)" ovline="(not run)" ROUNDS_EXEC=20
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
fi
# (SECTIONS=exec runs these rows alone.)
if want commands || want exec; then
WD=build/warden
# Overshoot of one command's deadline, seen from the caller: wall time
# past 200 ms, start-up and exit included, 20 alternating runs each.
exec_over() { awk -v s="$(secs "$1")" 'BEGIN{printf "%.2f", s*1000-200}'; }
ROUNDS_SAVED=$ROUNDS; ROUNDS=20; ROUNDS_EXEC=20
pair "one command, 200 ms deadline: wall - 200 ms" "timeout 0.2 sleep 10" "ms" 0 \
  "exec_over 'timeout 0.2 sleep 10'" "exec_over '$WD exec -t 200ms -- sleep 10'"
pair "the same with a setsid grandchild" "timeout 0.2 (grandchild survives)" "ms" 0 \
  "exec_over 'timeout 0.2 sh -c \"setsid sleep 10 & sleep 10\"'" \
  "exec_over '$WD exec -t 200ms -- sh -c \"setsid sleep 10 & sleep 10\"'"
# The overshoot proper: from the command's own start (bench/stamp.c prints
# it) to the caller getting control back, less the 200 ms.  No ratio:
# timeout(1) arms its timer before it forks, so its command starts after
# its clock did, and its figure is short by that.
S=build/bench/stamp
over() { local t; t=$(eval "$1" 2>/dev/null); awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", (b-a)*1000-200}'; }
os_w=() os_t=()
for ((i = 0; i < ROUNDS; i++)); do
  os_t+=("$(over "timeout 0.2 $S")")
  os_w+=("$(over "$WD exec -t 200ms -- $S")")
done
ovline="warden exec $(printf '%s\n' "${os_w[@]}" | median) ms, timeout(1) $(printf '%s\n' "${os_t[@]}" | median) ms"
echo "command start -> caller back, less 200 ms: $ovline" >&2
ROUNDS=$ROUNDS_SAVED
pkill -x -f 'sleep 10' 2>/dev/null || true # what timeout(1) left running
fi

# ---- images (warden resize against vipsthumbnail, ImageMagick, Pillow) ----
# The folder: bench/photos.sh.  Every tool gets 2 processes, the largest
# files first, 256 px wide JPEG at quality 85, a fresh output directory;
# a tool that writes fewer outputs than inputs is reported, not hidden.
imgline="(not run)"
if want images; then
WD=build/warden
PH=$(bench/photos.sh)
IO=$(mktemp -d)
TMPS+=("$IO")
big_first() { ls -SL "$PH"/$1; }
vips_() { big_first "$1" | VIPS_CONCURRENCY=1 xargs -P2 -n8 vipsthumbnail -s 256x -o "$IO/o/%s.jpg[Q=85]"; }
magick_() { big_first "$1" | MAGICK_THREAD_LIMIT=1 xargs -P2 -n8 /usr/bin/mogrify -path "$IO/o" -format jpg -quality 85 -thumbnail 256x; }
pil_() { $PY bench/thumbs.py 2 256 85 "$IO/o" $(big_first "$1"); }
pildraft_() { $PY bench/thumbs.py --draft 2 256 85 "$IO/o" $(big_first "$1"); }
warden_() { big_first "$1" | $WD resize -j2 -w 256 -q 85 -f jpg -o "$IO/o" -; }
thumbs() { # thumbs TOOL GLOB: wall seconds, into a fresh directory
  rm -rf "$IO/o" && mkdir -p "$IO/o"
  local s n want
  s=$(secs "$1 '$2'")
  n=$(find "$IO/o" -name '*.jpg' | wc -l) want=$(big_first "$2" | wc -l)
  [ "$n" = "$want" ] || echo "bench: $1 wrote $n of $want thumbnails" >&2
  echo "$s"
}
N=$(big_first '*' | wc -l) NJ=$(big_first '*.jpg' | wc -l)
all="$N photos (JPEG+PNG) -> 256 px JPEG, 2 jobs"
pair "$all" "vipsthumbnail (xargs -P2 -n8)" "s" 0 "thumbs vips_ '*'" "thumbs warden_ '*'"
pair "$all" "Pillow + mp.Pool(2), draft()" "s" 0 "thumbs pildraft_ '*'" "thumbs warden_ '*'"
pair "$all" "Pillow + mp.Pool(2), no draft" "s" 0 "thumbs pil_ '*'" "thumbs warden_ '*'"
pair "$all" "ImageMagick mogrify (xargs -P2 -n8)" "s" 0 "thumbs magick_ '*'" "thumbs warden_ '*'"
wall_all=$LAST_WM
pair "the $NJ JPEGs only" "vipsthumbnail (xargs -P2 -n8)" "s" 0 "thumbs vips_ '*.jpg'" "thumbs warden_ '*.jpg'"
pair "the $NJ JPEGs only" "Pillow + mp.Pool(2), draft()" "s" 0 "thumbs pildraft_ '*.jpg'" "thumbs warden_ '*.jpg'"
# Throughput from the last median; memory from one --json run: the worst
# worker's peak RSS against the largest image decoded whole (w x h x bands).
rm -rf "$IO/o"
$WD resize -j2 -w 256 -f jpg --json -o "$IO/o" "$PH" > "$IO/rows.json" 2>/dev/null || true
imgline=$($PY - "$IO/rows.json" "$wall_all" <<'PYEOF'
import json, sys
from PIL import Image
rows = [json.loads(l) for l in open(sys.argv[1])]
wall = float(sys.argv[2])
mp = sum(r["width_in"] * r["height_in"] for r in rows) / 1e6
rss = max(r["worker_peak_rss_kb"] for r in rows) / 1024
def decoded(p):
    with Image.open(p) as im:
        return im.size[0] * im.size[1] * len(im.getbands()), p
big, name = max(decoded(r["input"]) for r in rows)
big /= 1 << 20
print(f"{len(rows)} images, {mp:.0f} MP in {wall:.2f} s (median): {len(rows) / wall:.1f} images/s, "
      f"{mp / wall:.0f} MP/s; worker peak RSS {rss:.0f} MiB = {rss / big:.2f}x the largest "
      f"decoded image ({big:.0f} MiB, {name.rsplit('/', 1)[-1]})")
PYEOF
)
echo "warden resize: $imgline" >&2
fi

# ---- fidelity (how close each tool's thumbnails come to a fair reference) ----
# The first 12 JPEGs of the photo folder, 256 px wide PNG from warden,
# vipsthumbnail and Pillow, scored against a float Lanczos3 resize in linear
# light (bench/fidelity.py says how): mean PSNR and SSIM, higher is better.
fidelity=()
if want fidelity; then
PH=$(bench/photos.sh)
while IFS=$'\t' read -r tool p s; do
  fidelity+=("$(printf '%-14s %6s dB  SSIM %s' "$tool" "$p" "$s")")
  echo "fidelity: ${fidelity[-1]}" >&2
done < <($PY bench/fidelity.py build/warden 256 $(ls "$PH"/*.jpg | head -12) 2>/dev/null)
fi

# ---- compat (warden run against GNU parallel at its own game) ----
# Each pair is timed and its peak RSS taken in the same runs: /usr/bin/time
# -f %M, the largest process of the run, descendants included.  Before the
# timing, each pair's outputs are checked to agree once (a summary: line
# sums, byte counts, the dry-run text, sorted: GNU parallel prints it in
# the order its -j2 slots "finish"); a mismatch is reported, not hidden.
compatline="(not run)"
if want compat; then
WD=build/warden
CD=$(mktemp -d)
TMPS+=("$CD")
seq 23000000 > "$CD/big" # 196 MB of lines
seq 1000000 > "$CD/in1m"
seq 10000 > "$CD/in10k"  # GNU parallel's --dry-run takes 2-4 ms an input
MB=$(stat -c %s "$CD/big" | awk '{printf "%.0f", $1 / 1e6}')
timed() { # timed CMD: "SECONDS RSS_MIB" of one run, its output dropped
  local t0=$EPOCHREALTIME
  eval "/usr/bin/time -f %M -o $CD/rss $1" >/dev/null 2>&1 || true
  awk -v a="$t0" -v b="$EPOCHREALTIME" -v k="$(tail -1 "$CD/rss")" \
    'BEGIN{printf "%.4f %.1f", b - a, k / 1024}'
}
# pair_tm NAME PEER PEER_CMD WARDEN_CMD [PEER_N WARDEN_N]: a time row and a
# peak-RSS row from the same alternating runs; with the inputs each tool was
# given, the time row is a rate (inputs/s), for a peer run on fewer.
pair_tm() {
  local pt=() pr=() wt=() wr=() t r
  for ((i = 0; i < ROUNDS; i++)); do
    read -r t r <<<"$(timed "$3")"; pt+=("$t"); pr+=("$r")
    read -r t r <<<"$(timed "$4")"; wt+=("$t"); wr+=("$r")
  done
  if [ $# -ge 6 ]; then
    row "$1" "$2" "inputs/s" 1 "$(perrate "$5" "${pt[@]}")" "$(perrate "$6" "${wt[@]}")"
  else
    row "$1" "$2" "s" 0 "${pt[*]}" "${wt[*]}"
  fi
  row "  the same: peak RSS" "$2" "MiB" 0 "${pr[*]}" "${wr[*]}"
}
perrate() { for t in "${@:2}"; do awk -v n="$1" -v s="$t" 'BEGIN{printf "%.0f ", n / s}'; done; }
checked=() # check WHAT PEER_CMD WARDEN_CMD: the two summaries agree, once
check() {
  local p w
  p=$(eval "$2" 2>/dev/null) w=$(eval "$3" 2>/dev/null)
  if [ "$p" = "$w" ]; then checked+=("$1 ok"); else checked+=("$1 DIFFER ($p / $w)"); fi
  echo "bench: outputs of $1: ${checked[-1]}" >&2
}
GP="parallel --will-cite"
sum='| awk "{s += \$1} END {print s}"'
check "--pipe" "$GP --pipe --block 1M -j2 wc -l < $CD/big $sum" \
  "$WD run --pipe --block 1M -j2 -- wc -l < $CD/big $sum"
check "--dry-run" "head -2000 $CD/in10k | $GP --dry-run echo {} | sort | md5sum" \
  "head -2000 $CD/in10k | $WD run --dry-run -- echo {} | sort | md5sum"
check "one command's output" "$GP cat ::: $CD/big | wc -c" "$WD run -- cat ::: $CD/big | wc -c"
pair_tm "--pipe --block 1M -j2 wc -l, $MB MB stdin" "GNU parallel" \
  "$GP --pipe --block 1M -j2 wc -l < $CD/big" "$WD run --pipe --block 1M -j2 -- wc -l < $CD/big"
pair_tm "--dry-run, 1M inputs (GNU parallel: 10,000)" "GNU parallel" \
  "$GP --dry-run echo {} < $CD/in10k" "$WD run --dry-run -- echo {} < $CD/in1m" 10000 1000000
pair_tm "one command printing $MB MB (cat), to a pipe" "GNU parallel" \
  "$GP cat ::: $CD/big | cat" "$WD run -- cat ::: $CD/big | cat"
compatline="${checked[*]}"
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
echo "200 ms deadline, from the command's start to the caller back, less 200 ms (medians of $ROUNDS_EXEC): $ovline"
echo
echo "deadline overshoot (200 ms deadline -> future resolved, whole tree reaped), 50 each:"
printf '  %s\n' "${over[@]}"
echo "supervisor after 10k / 50k / 100k tasks: RSS (KiB) and open fds: $mem"
echo "warden resize: $imgline"
echo "fidelity, 12 JPEGs -> 256 px PNG, mean against linear-light float Lanczos3 (PSNR, SSIM on luma):"
printf '  %s\n' "${fidelity[@]:-(not run)}"
echo "warden run and GNU parallel, outputs compared once: $compatline"
