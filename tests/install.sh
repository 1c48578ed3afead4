#!/bin/sh
# install.sh -- `make install` as a C user meets it: install into a
# temporary DESTDIR with PREFIX=/usr, then build programs against the
# installed tree alone, through its pkg-config files, and run them --
# examples/demo.c against the shared library (libwarden.so.0, found by
# its soname), a small program against the static one -- and run the
# installed warden, which must find its resize helper in libexec.
# Called by `make test-install` (part of `make test`) from the repo root;
# B is the build dir, MAKE the make to call.  Exits non-zero on the first
# thing that is wrong, saying what.
set -eu
B=${B:-build}
MAKE=${MAKE:-make}
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "install.sh: $*" >&2; exit 1; }

$MAKE --no-print-directory -s B="$B" install DESTDIR="$tmp" PREFIX=/usr >"$tmp/make.log" 2>&1 ||
  { cat "$tmp/make.log" >&2; fail "make install DESTDIR=$tmp PREFIX=/usr failed"; }
root=$tmp/usr
lib=$root/lib

# pkg-config sees the installed tree (its paths under the DESTDIR) and the
# system's own .pc files for libuv -- not /usr/local, which may hold an
# older warden.
pc() {
  PKG_CONFIG_SYSROOT_DIR=$tmp \
  PKG_CONFIG_LIBDIR=$lib/pkgconfig:$(pkg-config --variable pc_path pkg-config) \
  pkg-config "$@"
}

for f in bin/warden libexec/warden/warden-resize include/warden.h \
         lib/libwarden.a lib/libwarden.so lib/libwarden.so.0 \
         lib/pkgconfig/warden.pc share/man/man1/warden.1 share/man/man1/warden-exec.1 \
         share/man/man1/warden-run.1 share/man/man1/warden-resize.1 share/man/man3/warden.3; do
  [ -e "$root/$f" ] || fail "make install did not install $f"
done
readelf -d "$lib/libwarden.so.0" | grep -q 'SONAME.*\[libwarden\.so\.0\]' ||
  fail "libwarden.so.0 has no soname libwarden.so.0"
readelf -d "$lib/libwarden-image.so.0" | grep -q 'SONAME.*\[libwarden-image\.so\.0\]' ||
  fail "libwarden-image.so.0 has no soname libwarden-image.so.0"
if nm -D --defined-only "$lib/libwarden.so.0" | awk '{print $3}' | grep -q '^wd__'; then
  fail "libwarden.so exports internal wd__ symbols"
fi
[ "$(pc --modversion warden)" = "$("$root/bin/warden" --version | cut -d' ' -f2)" ] ||
  fail "warden.pc's version is not warden --version's"

# The shared library: demo.c, exactly as a user would build it.
$CC -o "$tmp/demo" examples/demo.c $(pc --cflags --libs warden) ||
  fail "examples/demo.c does not build with pkg-config --cflags --libs warden"
readelf -d "$tmp/demo" | grep -q 'NEEDED.*\[libwarden\.so\.0\]' ||
  fail "demo is not linked against libwarden.so.0"
out=$(LD_LIBRARY_PATH=$lib "$tmp/demo") || fail "the demo built on the installed library failed"
echo "$out" | grep -q '^20000 echo tasks, one submit each: 20000 ok' ||
  fail "unexpected demo output: $out"

# The static library: the README's example, with no libwarden.so needed.
cat > "$tmp/app.c" <<'CEOF'
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <warden.h>

static int shout(const void *arg, size_t len, wd_out *out) {
  char *p = wd_out_reserve(out, len);
  if (p == NULL)
    return 1;
  for (size_t i = 0; i < len; i++)
    p[i] = (char)toupper(((const unsigned char *)arg)[i]);
  return 0;
}

int main(void) {
  uv_loop_t *loop = uv_default_loop();
  wd_register("shout", shout);
  wd_pool *pool;
  wd_pool_options o = {.workers = 2};
  if (wd_pool_new(loop, &o, &pool) != 0)
    return 1;
  wd_future *f;
  wd_task_options t = {.timeout_ms = 5000};
  if (wd_submit(pool, "shout", "hello", 5, &t, &f) != 0)
    return 1;
  wd_await(f);
  const wd_result *r = wd_future_result(f);
  printf("%s: %.*s\n", wd_status_name(r->status), (int)r->len, (const char *)r->data);
  wd_future_release(f);
  wd_pool_destroy(pool);
  return uv_loop_close(loop);
}
CEOF
$CC -Wall -Wextra -Werror -o "$tmp/app" "$tmp/app.c" $(pc --cflags warden) \
  -Wl,--as-needed "$lib/libwarden.a" $(pc --static --libs warden) ||
  fail "the example does not build against libwarden.a"
if readelf -d "$tmp/app" | grep -q 'NEEDED.*libwarden'; then
  fail "the static build needs libwarden.so"
fi
out=$("$tmp/app") || fail "the static example failed"
[ "$out" = "ok: HELLO" ] || fail "the static example printed '$out', not 'ok: HELLO'"

# The image job's library, shared, through warden-image.pc: a file that
# is no image comes back from the sandboxed worker as a row, not a crash.
if [ -e include/warden-image.h ]; then
  cat > "$tmp/img.c" <<'CEOF'
#include <stdio.h>
#include <string.h>
#include <warden-image.h>

int main(void) {
  static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  const char *kind = wd_img_sniff(png, sizeof(png));
  if (kind == NULL || strcmp(kind, "png") != 0 || wd_register_resize_job() != 0)
    return 1;
  uv_loop_t *loop = uv_default_loop();
  wd_pool *pool;
  wd_pool_options o = {.workers = 1, .memory_limit = 1u << 30};
  if (wd_pool_new(loop, &o, &pool) != 0)
    return 1;
  wd_out req = {0};
  wd_img_req r = {.width = 16, .max_pixels = 1000000};
  wd_future *f;
  if (wd_img_encode(&req, &r, "not an image", 12) != 0 ||
      wd_submit(pool, "resize", req.p, req.len, NULL, &f) != 0)
    return 1;
  wd_out_free(&req);
  wd_await(f);
  const wd_result *res = wd_future_result(f);
  wd_img_res img;
  if (res->status == WD_OK && wd_img_decode(res->data, res->len, &img) == 0)
    printf("%s\n", wd_img_error_name(img.error));
  else
    printf("%s\n", wd_status_name(res->status));
  wd_future_release(f);
  wd_pool_destroy(pool);
  return uv_loop_close(loop);
}
CEOF
  $CC -Wall -Wextra -Werror -o "$tmp/img" "$tmp/img.c" $(pc --cflags --libs warden-image) ||
    fail "a program does not build with pkg-config --cflags --libs warden-image"
  out=$(LD_LIBRARY_PATH=$lib "$tmp/img") || fail "the image program built on the installed library failed"
  [ "$out" = unsupported ] || fail "the image program printed '$out', not 'unsupported'"
fi

# The installed program finds its resize helper in ../libexec/warden/.
"$root/bin/warden" resize --help >/dev/null 2>&1 ||
  fail "the installed warden does not find libexec/warden/warden-resize"
echo "install.sh: make install DESTDIR=... PREFIX=/usr: shared and static builds run"
