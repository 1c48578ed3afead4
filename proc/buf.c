/* buf.c -- the growable byte buffer behind socket I/O and a job's output.
 * Buffers keep their memory between uses: a warm worker does not return
 * memory to the kernel after every task. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

int wd__buf_reserve(wd__buf *b, size_t extra) {
  if (b->off > 0 && b->off == b->len) /* fully consumed: start over */
    b->off = b->len = 0;
  if (b->cap - b->len >= extra)
    return 0;
  if (b->off > 0 && b->cap - (b->len - b->off) >= extra) {
    memmove(b->p, b->p + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
    return 0;
  }
  size_t need = b->len + extra;
  if (need < extra)
    return UV_ENOMEM;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) {
    if (cap > SIZE_MAX / 2)
      return UV_ENOMEM;
    cap *= 2;
  }
  char *p = realloc(b->p, cap);
  if (p == NULL)
    return UV_ENOMEM;
  b->p = p;
  b->cap = cap;
  return 0;
}

void wd__buf_consume(wd__buf *b, size_t n) {
  b->off += n;
  if (b->off >= b->len)
    b->off = b->len = 0;
}

void wd__buf_free(wd__buf *b) {
  free(b->p);
  memset(b, 0, sizeof(*b));
}

void wd_out_free(wd_out *out) { wd__buf_free(out); }

int wd_out_append(wd_out *out, const void *p, size_t n) {
  if (n == 0)
    return 0;
  if (wd__buf_reserve(out, n) != 0)
    return UV_ENOMEM;
  memcpy(out->p + out->len, p, n);
  out->len += n;
  return 0;
}

void *wd_out_reserve(wd_out *out, size_t n) {
  if (wd__buf_reserve(out, n) != 0)
    return NULL;
  void *p = out->p + out->len;
  out->len += n;
  return p;
}

int wd_out_printf(wd_out *out, const char *fmt, ...) {
  va_list ap;
  char small[256];
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0)
    return UV_EINVAL;
  if ((size_t)n < sizeof(small))
    return wd_out_append(out, small, (size_t)n);
  char *p = wd_out_reserve(out, (size_t)n + 1);
  if (p == NULL)
    return UV_ENOMEM;
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  out->len--; /* the NUL is not output */
  return 0;
}
