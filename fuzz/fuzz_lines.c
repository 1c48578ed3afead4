/* fuzz_lines.c -- splitting stdin into inputs (warden run): every input
 * lies inside the buffer, none holds a separator, and together with the
 * separators they account for every byte. */
#include <stdint.h>
#include <string.h>

#include "../cli/parse.h"

typedef struct {
  const char *base;
  size_t size, bytes, count;
  char sep;
} tally;

static void emit(void *ctx, const char *p, size_t n) {
  tally *t = ctx;
  if (p < t->base || p + n > t->base + t->size || memchr(p, t->sep, n))
    __builtin_trap();
  t->bytes += n;
  t->count++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (int k = 0; k < 2; k++) {
    tally t = {(const char *)data, size, 0, 0, k ? '\0' : '\n'};
    wd__split_inputs(t.base, size, t.sep, emit, &t);
    size_t seps = 0, crs = 0; /* bytes not in any input: separators, and
                                 a '\r' dropped before a '\n' or the end */
    for (size_t i = 0; i < size; i++)
      seps += data[i] == (uint8_t)t.sep, crs += data[i] == '\r';
    if (t.bytes + seps > size || size - (t.bytes + seps) > (k ? 0 : crs))
      __builtin_trap();
  }
  return 0;
}
