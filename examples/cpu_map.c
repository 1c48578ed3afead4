/* cpu_map.c -- "Use all your processors": map a CPU-bound function over a
 * range on every core, and print the speed-up.
 *
 * The function counts the primes in a slice of [0, LIMIT) by trial
 * division.  It is registered as a job; wd_map() sends the slices to
 * worker processes (one per CPU) and hands the answers back in input
 * order.  The same slices are then counted in this process alone, to show
 * what the pool bought.  Workers are separate processes, so there is no
 * lock to share and no interpreter lock to fight over.
 *
 *   build/examples/cpu_map [LIMIT] [SLICES]     (default 3000000 64)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warden.h"

typedef struct {
  uint64_t lo, hi;
} slice;

static uint64_t count_primes(uint64_t lo, uint64_t hi) {
  uint64_t n = 0;
  for (uint64_t v = lo < 2 ? 2 : lo; v < hi; v++) {
    int prime = 1;
    for (uint64_t d = 2; d * d <= v; d++)
      if (v % d == 0) {
        prime = 0;
        break;
      }
    n += prime;
  }
  return n;
}

/* The job: runs in a worker.  Its argument is a slice, its output the
 * count, both as raw bytes. */
static int primes_job(const void *arg, size_t len, wd_out *out) {
  slice s;
  if (len != sizeof(s))
    return wd_out_printf(out, "expected a slice"), 1;
  memcpy(&s, arg, sizeof(s));
  uint64_t n = count_primes(s.lo, s.hi);
  return wd_out_append(out, &n, sizeof(n));
}

static double seconds_since(uint64_t t0) { return (uv_hrtime() - t0) / 1e9; }

int main(int argc, char **argv) {
  uint64_t limit = argc > 1 ? strtoull(argv[1], NULL, 10) : 3000000;
  size_t nslices = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
  if (limit < 2 || nslices == 0 || nslices > limit) {
    fprintf(stderr, "usage: cpu_map [LIMIT] [SLICES]\n");
    return 2;
  }

  /* Slices of equal width: the later ones cost more (bigger numbers), and
   * there are many more slices than cores, so the work evens out. */
  slice *s = calloc(nslices, sizeof(*s));
  wd_buf *in = calloc(nslices, sizeof(*in));
  for (size_t i = 0; i < nslices; i++) {
    s[i].lo = limit * i / nslices;
    s[i].hi = limit * (i + 1) / nslices;
    in[i] = (wd_buf){&s[i], sizeof(s[i])};
  }

  wd_register("primes", primes_job);
  wd_pool *pool;
  int err = wd_pool_new(uv_default_loop(), NULL, &pool); /* one per CPU */
  if (err) {
    fprintf(stderr, "cpu_map: %s\n", wd_strerror(err));
    return 1;
  }

  /* On the pool: chunk 1, so each slice is its own task. */
  uint64_t t0 = uv_hrtime();
  wd_future *map;
  wd_map(pool, "primes", in, nslices, 1, NULL, &map);
  wd_await(map);
  double pooled = seconds_since(t0);
  uint64_t total = 0;
  for (size_t i = 0; i < wd_map_count(map); i++) {
    const wd_result *r = wd_map_item(map, i);
    uint64_t n;
    if (r->status != WD_OK || r->len != sizeof(n)) {
      fprintf(stderr, "slice %zu: %s\n", i, wd_status_name(r->status));
      return 1;
    }
    memcpy(&n, r->data, sizeof(n));
    total += n;
  }
  wd_future_release(map);
  unsigned workers = wd_pool_size(pool);
  wd_pool_destroy(pool);

  /* The same work in this process alone. */
  t0 = uv_hrtime();
  uint64_t check = 0;
  for (size_t i = 0; i < nslices; i++)
    check += count_primes(s[i].lo, s[i].hi);
  double serial = seconds_since(t0);

  printf("primes below %llu: %llu (%zu slices)\n", (unsigned long long)limit,
         (unsigned long long)total, nslices);
  printf("one process:      %.3f s\n", serial);
  printf("pool, %u workers:  %.3f s\n", workers, pooled);
  printf("speed-up:         %.2fx on %u CPUs\n", serial / pooled,
         uv_available_parallelism());
  free(s);
  free(in);
  if (check != total) {
    fprintf(stderr, "cpu_map: the pool counted %llu, this process %llu\n",
            (unsigned long long)total, (unsigned long long)check);
    return 1;
  }
  return 0;
}
