#!/bin/sh
# deps.sh -- make sure the Debian packages the build needs are installed.
# As root it installs what is missing with apt-get; otherwise it prints the
# exact command to run and fails.  Usage: scripts/deps.sh [PACKAGE...]
set -eu
pkgs="$*"
[ -n "$pkgs" ] || pkgs="build-essential pkg-config libuv1-dev check libstb-dev libjpeg62-turbo-dev libspng-dev libseccomp-dev scdoc"
missing=""
for p in $pkgs; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$st" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "deps: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q $missing >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; }
else
  echo "deps: missing Debian packages:$missing" >&2
  echo "deps: run: sudo apt-get install -y$missing" >&2
  exit 1
fi
