#!/bin/sh
# sleep_8h.sh -- "Sleep for 8 hours in 10 seconds": 3,600 commands that
# each wait 8 s, all at once: 8 hours of waiting done in the wall time of
# one wait plus what it costs this machine to start 3,600 processes.
#
# The tutorial version of this uses threads or asyncio; these are real
# processes, each under its own guardian: every one has a deadline (here
# four times its length), and when warden exits none of them is left.
# `-N0` reads one input line per command and passes none to it (GNU
# parallel's -N0): "run this 3,600 times".
#
#   examples/sleep_8h.sh             (N=3600 SECS=8 by default)
#   N=200 SECS=1 examples/sleep_8h.sh
#   COMPARE=1 examples/sleep_8h.sh   (also time xargs -P doing the same)

case $1 in # the header above is the help
-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
?*) sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
here=$(dirname "$0")
WARDEN=${WARDEN:-$(command -v warden || echo "$here/../build/warden")}
N=${N:-3600}
SECS=${SECS:-8}

now() { date +%s.%N; }
elapsed() { echo "$(now) $1" | awk '{printf "%.1f", $1 - $2}'; }

start=$(now)
seq "$N" | "$WARDEN" run -j "$N" -N0 --timeout "$((SECS * 4))s" -- sleep "$SECS"
status=$?
took=$(elapsed "$start")
echo "$N x sleep $SECS: $(echo "$N $SECS" | awk '{printf "%.1f", $1 * $2 / 3600}') hours" \
	"of sleeping in $took s of wall time with warden run (exit status $status)"

if [ -n "$COMPARE" ]; then
	start=$(now)
	seq "$N" | xargs -P "$N" -I{} sleep "$SECS"
	echo "the same with xargs -P $N: $(elapsed "$start") s"
fi
exit $status
