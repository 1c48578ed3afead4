/* fuzz_resize.c -- the image decode path: the resize job as a worker runs
 * it (request header + file bytes in, result out), JPEG, PNG and every
 * stb_image format.  Built with WD_NO_SANDBOX: a fuzzer runs the job in
 * its own process, where the seccomp filter would kill it.  The answer
 * must always decode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "warden-image.h"
#include "../worker/worker.h" /* wd__job_lookup: the job as a worker runs it */

static wd_job_fn job;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (job == NULL) {
    wd_register_resize_job();
    job = wd__job_fn((unsigned)wd__job_lookup("resize"));
  }
  /* The first byte picks the box and format, the rest is the file. */
  uint8_t k = size ? data[0] : 0;
  wd_img_req r = {.width = 8u + (k & 63u), .height = (k & 64) ? 40 : 0,
                  .format = (uint32_t)(k >> 7) + 1, .quality = 80,
                  .max_pixels = 4000000};
  size_t n = size ? size - 1 : 0;
  char *req = malloc(sizeof(r) + n + 1);
  memcpy(req, &r, sizeof(r));
  if (n)
    memcpy(req + sizeof(r), data + 1, n);
  wd_out out = {0};
  if (job(req, sizeof(r) + n, &out) == 0) {
    wd_img_res res;
    if (wd_img_decode(out.p, out.len, &res) != 0)
      __builtin_trap();
  }
  wd__buf_free(&out);
  free(req);
  return 0;
}
