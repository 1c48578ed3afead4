#!/bin/sh
# crawl.sh -- "Avoid overloading a server when crawling": fetch many pages
# with curl, N at a time and at most R per second, and ask the server what
# it saw.  The server (slow_httpd, started here on 127.0.0.1) answers each
# request after 200 ms and counts the requests it had in flight at once
# and how fast they arrived.
#
#   -j N          never more than N requests in flight: the server's most
#                 at once is N, however many pages are queued;
#   --rate R/s    never more than R starts in a second, whatever -j is;
#   --timeout, --retries: a page that hangs is killed and tried again
#                 (--retries 3: three runs in all, as GNU parallel counts).
#
#   examples/crawl.sh        (PAGES=40 JOBS=4 RATE=10 by default)

case $1 in # the header above is the help
-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
?*) sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
here=$(dirname "$0")
WARDEN=${WARDEN:-$(command -v warden || echo "$here/../build/warden")}
HTTPD=${HTTPD:-$here/../build/examples/slow_httpd}
PAGES=${PAGES:-40}
JOBS=${JOBS:-4}
RATE=${RATE:-10}

command -v curl >/dev/null || { echo "crawl.sh: needs curl" >&2; exit 2; }
dir=$(mktemp -d) || exit 1
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
"$HTTPD" 200 >"$dir/port" &
server=$!
while ! grep -q port "$dir/port" 2>/dev/null; do # until it listens
	kill -0 $server 2>/dev/null || { echo "crawl.sh: no server" >&2; exit 1; }
	sleep 0.05
done
site="http://127.0.0.1:$(cut -d' ' -f2 "$dir/port")"

# crawl WARDEN-OPTIONS...: fetches pages 1..PAGES, then prints what the
# server saw (asking resets its counts).
crawl() {
	start=$(date +%s.%N)
	seq "$PAGES" | "$WARDEN" run "$@" --timeout 10s --retries 3 -- \
		curl -fsS -o /dev/null "$site/page/{}"
	status=$?
	took=$(echo "$(date +%s.%N) $start" | awk '{printf "%.1f", $1 - $2}')
	seen=$(curl -fsS "$site/stats")
	printf '%-22s %s pages in %4s s, status %d; the server saw: %s\n' \
		"$*" "$PAGES" "$took" "$status" "$seen"
	[ "$status" -eq 0 ] || failed=1
}

failed=0
crawl -j "$JOBS"
crawl -j 100 --rate "$RATE/s"
exit $failed
