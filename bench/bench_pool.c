/* bench_pool.c -- warden's side of the pool benchmarks in bench/run.sh.
 * Each mode prints one number on stdout (the figure run.sh compares):
 *
 *   submit N W      tasks/s, N trivial tasks, one wd_submit each, W workers
 *   map N W C       items/s, wd_map of N trivial items, chunks of C
 *   storm           seconds for 20 tasks sleeping 10 s, 200 ms timeout, 2 workers
 *   overshoot K     median and p99 ms past a 200 ms deadline until the future
 *                   resolved with the tree reaped (prints "median p99")
 *   memory N        supervisor RSS in KiB, then its open fds, after N/10,
 *                   N/2 and N tasks, run
 *                   1,000 at a time (steady state, not one huge burst)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warden.h"

static int job_identity(const void *arg, size_t len, wd_out *out) {
  return wd_out_append(out, arg, len);
}

static wd_pool *start(uv_loop_t *loop, unsigned workers) {
  wd_pool *p;
  wd_pool_options o = {.workers = workers};
  if (wd_pool_new(loop, &o, &p) != 0)
    exit(2);
  return p;
}

static void run_submits(wd_pool *p, size_t n) {
  wd_future **f = calloc(n, sizeof(*f));
  for (size_t i = 0; i < n; i++)
    wd_submit(p, "identity", "7", 1, NULL, &f[i]);
  wd_await_all(f, n);
  for (size_t i = 0; i < n; i++) {
    if (wd_future_result(f[i])->status != WD_OK)
      exit(3);
    wd_future_release(f[i]);
  }
  free(f);
}

static long rss_kib(void) {
  FILE *fp = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (fp && fgets(line, sizeof(line), fp))
    if (sscanf(line, "VmRSS: %ld", &kib) == 1)
      break;
  if (fp)
    fclose(fp);
  return kib;
}

static long count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  long n = -1; /* the directory's own fd */
  while (d && readdir(d))
    n++;
  if (d)
    closedir(d);
  return n - 2; /* . and .. */
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  uv_loop_t *loop = uv_default_loop();
  wd_register_builtins();
  wd_register("identity", job_identity);
  const char *mode = argc > 1 ? argv[1] : "submit";
  if (strcmp(mode, "submit") == 0) {
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
    wd_pool *p = start(loop, argc > 3 ? (unsigned)atoi(argv[3]) : 2);
    run_submits(p, 100); /* workers up and warm, as the peers' are */
    uint64_t t0 = uv_hrtime();
    run_submits(p, n);
    printf("%.0f\n", n / ((uv_hrtime() - t0) / 1e9));
    wd_pool_destroy(p);
  } else if (strcmp(mode, "map") == 0) {
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
    wd_pool *p = start(loop, argc > 3 ? (unsigned)atoi(argv[3]) : 2);
    size_t chunk = argc > 4 ? strtoul(argv[4], NULL, 10) : 256;
    wd_buf *in = malloc(n * sizeof(*in));
    for (size_t i = 0; i < n; i++)
      in[i] = (wd_buf){"7", 1};
    run_submits(p, 100);
    uint64_t t0 = uv_hrtime();
    wd_future *m;
    wd_map(p, "identity", in, n, chunk, NULL, &m);
    wd_await(m);
    double s = (uv_hrtime() - t0) / 1e9;
    if (wd_future_result(m)->status != WD_OK)
      exit(3);
    printf("%.0f\n", n / s);
    wd_future_release(m);
    free(in);
    wd_pool_destroy(p);
  } else if (strcmp(mode, "storm") == 0) {
    wd_pool *p = start(loop, 2);
    run_submits(p, 10);
    wd_future *f[20];
    wd_task_options o = {.timeout_ms = 200};
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < 20; i++)
      wd_submit(p, "sleep", "10000", 5, &o, &f[i]);
    wd_await_all(f, 20);
    printf("%.3f\n", (uv_hrtime() - t0) / 1e9);
    for (int i = 0; i < 20; i++) {
      if (wd_future_result(f[i])->status != WD_TIMEOUT)
        exit(3);
      wd_future_release(f[i]);
    }
    wd_pool_destroy(p);
  } else if (strcmp(mode, "overshoot") == 0) {
    int k = argc > 2 ? atoi(argv[2]) : 50;
    wd_pool *p = start(loop, 1);
    uint64_t *over = malloc(sizeof(*over) * (size_t)k);
    wd_task_options o = {.timeout_ms = 200};
    run_submits(p, 10);
    for (int i = 0; i < k; i++) {
      wd_future *f;
      const char *job = argc > 3 ? argv[3] : "spawn";
      const char *arg = argc > 4 ? argv[4] : "setsid 10000";
      wd_submit(p, job, arg, strlen(arg), &o, &f);
      wd_await(f);
      const wd_result *r = wd_future_result(f);
      if (r->status != WD_TIMEOUT)
        exit(3);
      over[i] = r->duration_ns - 200000000ull;
      wd_future_release(f);
    }
    qsort(over, (size_t)k, sizeof(*over), cmp_u64);
    printf("%.2f %.2f\n", over[k / 2] / 1e6, over[(k * 99) / 100] / 1e6);
    free(over);
    wd_pool_destroy(p);
  } else if (strcmp(mode, "memory") == 0) {
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
    wd_pool *p = start(loop, 2);
    long rss[3], fds[3];
    size_t marks[3] = {n / 10, n / 2, n}, done = 0;
    for (int k = 0; k < 3; k++) {
      for (; done < marks[k]; done += 1000)
        run_submits(p, 1000);
      rss[k] = rss_kib();
      fds[k] = count_fds();
    }
    printf("%ld %ld %ld %ld %ld %ld\n", rss[0], rss[1], rss[2], fds[0], fds[1], fds[2]);
    wd_pool_destroy(p);
  } else {
    fprintf(stderr, "usage: bench_pool submit|map|storm|overshoot|memory ...\n");
    return 2;
  }
  return 0;
}
