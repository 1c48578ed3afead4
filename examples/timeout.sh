#!/bin/sh
# timeout.sh -- "Wrap a shell command with a timeout", from a script, and
# branch on what happened.
#
# `warden exec` is timeout(1) that keeps its promise: when the deadline
# passes, the command *and everything it started* is killed -- children,
# grandchildren, and daemons that called setsid() or double-forked, which
# timeout(1) leaves running.  Its exit status is timeout(1)'s, so a script
# can tell the cases apart:
#
#   0        the command succeeded
#   1-123    the command failed with that status
#   124      the deadline passed; nothing the command started is left
#   125      warden itself failed (a bad option, say)
#   126      the command exists but cannot be executed
#   127      the command was not found
#   128+N    the command was killed by signal N
#
#   examples/timeout.sh          (WARDEN=path/to/warden to pick a binary)

case $1 in # the header above is the help
-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
?*) sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
here=$(dirname "$0")
WARDEN=${WARDEN:-$(command -v warden || echo "$here/../build/warden")}

# run DEADLINE COMMAND [ARG]...: runs the command under the deadline and
# says what happened.
run() {
	deadline=$1
	shift
	"$WARDEN" exec --timeout "$deadline" -- "$@" 2>/dev/null
	status=$?
	case $status in
	0) what="succeeded" ;;
	124) what="timed out after $deadline: killed, with everything it started" ;;
	125) what="warden could not run it" ;;
	126) what="cannot be executed" ;;
	127) what="not found" ;;
	12[89] | 1[3-9][0-9] | 2[0-5][0-9])
		what="killed by signal $((status - 128)) (SIG$(kill -l $((status - 128))))" ;;
	*) what="failed with status $status" ;;
	esac
	printf '%-36.36s -> %3d  %s\n' "$*" "$status" "$what"
}

run 2s sh -c 'sleep 0.1'
run 2s sh -c 'exit 3'
run 2s /no/such/command
run 2s /etc/passwd # a file, not a program
run 2s sh -c 'kill -SEGV $$'
run 'ten seconds' true # not a duration warden reads

# A command that leaves a daemon behind (setsid + background: the way a
# service "detaches"), then hangs.  timeout(1) kills its process group; the
# daemon has left that group and runs on.
# (Its sleeps last a number of seconds no other process uses: 3$$.)
long=3$$
run 500ms sh -c "setsid sh -c 'sleep $long' & sleep $long"
if pgrep -f "sleep $long" >/dev/null; then
	echo "the daemon survived the deadline" >&2
	pkill -f "sleep $long"
	exit 1
fi
echo "after the timeout: no process of that command is left"

# The same command under coreutils' timeout(1), for comparison.
if command -v timeout >/dev/null; then
	timeout 0.5 sh -c "setsid sh -c 'sleep $long' & sleep $long"
	echo "timeout(1), the same command: status $?," \
		"$(pgrep -fc "sleep $long") of its processes still running (killed now)"
	pkill -f "sleep $long"
fi
exit 0
