/* fuzz_parse.c -- the words a user types: durations, sizes, signals and
 * counts.  Each parser must accept or refuse without reading past the
 * string, and what it accepts must be in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  memcpy(s, data, size);
  s[size] = '\0';
  uint64_t v;
  int sig;
  long n;
  wd__parse_duration(s, &v);
  wd__parse_size(s, &v);
  if (wd__parse_signal(s, &sig) == 0 && (sig < 1 || sig > 64))
    __builtin_trap();
  if (wd__parse_count(s, -5, 1000, &n) == 0 && (n < -5 || n > 1000))
    __builtin_trap();
  free(s);
  return 0;
}
