#!/bin/sh
# photos.sh -- the folder of real photographs the image benchmark runs on:
# Debian's KDE wallpapers (plasma-workspace-wallpapers, 43 JPEG and PNG
# images up to 5120x2880), unpacked once into a cache outside the repo and
# linked flat into $CACHE/photos.  Prints that directory.
#   bench/photos.sh [CACHE]        (default /var/cache/warden-bench)
set -eu
cache=${1:-/var/cache/warden-bench}
dir=$cache/photos
if [ ! -d "$dir" ] || [ -z "$(ls -A "$dir")" ]; then
  walls=$cache/usr/share/wallpapers
  if [ ! -d "$walls" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download plasma-workspace-wallpapers >/dev/null 2>&1) || {
      echo "photos.sh: cannot download plasma-workspace-wallpapers (apt-get download)" >&2
      exit 1
    }
    mkdir -p "$cache"
    dpkg -x "$tmp"/plasma-workspace-wallpapers_*.deb "$cache"
    rm -rf "$tmp"
  fi
  mkdir -p "$dir"
  # Each wallpaper's full images (not the screenshots), one flat name each:
  # Altai/contents/images/5120x2880.png -> Altai-images-5120x2880.png
  (cd "$walls" && find . -path '*/contents/images*' -type f \
    \( -name '*.jpg' -o -name '*.png' \)) | while read -r f; do
    n=$(echo "${f#./}" | sed 's,/contents/,-,; s,/,-,g')
    ln -sf "$walls/${f#./}" "$dir/$n"
  done
fi
echo "$dir"
