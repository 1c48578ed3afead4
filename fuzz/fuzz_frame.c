/* fuzz_frame.c -- the pipe frame parser: whatever bytes arrive on a
 * worker's socket, wd__frame_parse must either ask for more, reject them,
 * or return a frame that fits; the item walker must stay inside a body. */
#include <stdint.h>
#include <string.h>

#include "../worker/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data;
  size_t off = 0;
  while (off < size) {
    wd__hdr h;
    long n = wd__frame_parse(p + off, size - off, &h);
    if (n <= 0)
      break;
    if ((size_t)n > size - off || (size_t)n < WD__HDR_SIZE)
      __builtin_trap(); /* a frame longer than the bytes, or shorter than a header */
    const char *body = p + off + WD__HDR_SIZE;
    size_t len = (size_t)n - WD__HDR_SIZE;
    wd__item it;
    const char *d;
    for (long at = 0; at >= 0 && (size_t)at < len;) {
      long next = wd__item_next(body, len, (size_t)at, &it, &d);
      if (next < 0)
        break;
      if (next <= at || (size_t)next > len || d < body || d + it.len > body + len)
        __builtin_trap();
      at = next;
    }
    off += (size_t)n;
  }
  return 0;
}
