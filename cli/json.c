/* json.c -- writing JSON strings from arbitrary bytes.  Valid UTF-8 passes
 * through; control characters are escaped; any byte that is not part of a
 * valid UTF-8 sequence becomes U+FFFD, so the output is valid JSON whatever
 * a command printed. */
#include <stdint.h>
#include <stdio.h>

#include "json.h"

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p, size_t n) {
  unsigned c = p[0];
  size_t len;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    len = 3;
  else if (c >= 0xF0 && c <= 0xF4)
    len = 4;
  else
    return 0;
  cp = c & (0x7Fu >> len); /* the lead byte's payload: 5, 4 or 3 bits */
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = cp << 6 | (p[i] & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0; /* overlong, out of range, or a surrogate */
  return len;
}

/* Whether p[0..n), n < 4, may be the start of a UTF-8 sequence that the
 * next chunk finishes. */
static int utf8_unfinished(const unsigned char *p, size_t n) {
  if (n >= 4 || p[0] < 0xC2 || p[0] > 0xF4)
    return 0;
  for (size_t i = 1; i < n; i++)
    if ((p[i] & 0xC0) != 0x80)
      return 0;
  return 1;
}

size_t wd__json_bytes(FILE *f, const void *data, size_t n, int final) {
  const unsigned char *p = data;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c == '"' || c == '\\') {
      fputc('\\', f);
      fputc((int)c, f);
      i++;
    } else if (c < 0x20) {
      switch (c) {
      case '\n': fputs("\\n", f); break;
      case '\t': fputs("\\t", f); break;
      case '\r': fputs("\\r", f); break;
      default: fprintf(f, "\\u%04x", c);
      }
      i++;
    } else {
      size_t len = utf8_len(p + i, n - i);
      if (len == 0 && !final && utf8_unfinished(p + i, n - i))
        return i;
      if (len == 0) {
        fputs("\\ufffd", f);
        i++;
      } else {
        fwrite(p + i, 1, len, f);
        i += len;
      }
    }
  }
  return i;
}

void wd__json_string(FILE *f, const void *data, size_t n) {
  fputc('"', f);
  wd__json_bytes(f, data, n, 1);
  fputc('"', f);
}
