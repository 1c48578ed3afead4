/* demo.c -- the pool on its built-in jobs: fast tasks, a task past its
 * deadline (killed with its whole tree), a crash, and a map, with the
 * figures printed.  `make demo` runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warden.h"

static void show(const char *what, wd_future *f) {
  const wd_result *r = wd_future_result(f);
  printf("%-28s %-9s %6.1f ms  pid %-7d attempts %u  %.*s\n", what,
         wd_status_name(r->status), r->duration_ns / 1e6, (int)r->pid,
         r->attempts, (int)r->len, (const char *)r->data);
  if (r->err_len)
    printf("%28s stderr: %.*s", "", (int)r->err_len, r->err_tail);
}

int main(void) {
  uv_loop_t *loop = uv_default_loop();
  wd_pool *pool;
  wd_register_builtins();
  wd_pool_options o = {.workers = 2};
  int err = wd_pool_new(loop, &o, &pool);
  if (err) {
    fprintf(stderr, "demo: %s\n", wd_strerror(err));
    return 1;
  }
  wd_future *f[5];
  wd_task_options slow = {.timeout_ms = 200};
  wd_submit(pool, "echo", "hello", 5, NULL, &f[0]);
  wd_submit(pool, "sleep", "1000", 4, &slow, &f[1]);
  wd_submit(pool, "crash", "11", 2, NULL, &f[2]);
  wd_submit(pool, "spawn", "setsid 5000", 11, &slow, &f[3]);
  wd_submit(pool, "exit", "3", 1, NULL, &f[4]);
  wd_await_all(f, 5);
  show("echo hello", f[0]);
  show("sleep 1000 (timeout 200)", f[1]);
  show("crash SIGSEGV", f[2]);
  show("spawn setsid (timeout 200)", f[3]);
  show("exit 3", f[4]);
  for (int i = 0; i < 5; i++)
    wd_future_release(f[i]);

  enum { N = 20000 };
  uint64_t t0 = uv_hrtime();
  wd_future **many = malloc(sizeof(*many) * N);
  for (int i = 0; i < N; i++)
    wd_submit(pool, "echo", "x", 1, NULL, &many[i]);
  wd_await_all(many, N);
  double s = (uv_hrtime() - t0) / 1e9;
  int ok = 0;
  for (int i = 0; i < N; i++) {
    ok += wd_future_result(many[i])->status == WD_OK;
    wd_future_release(many[i]);
  }
  free(many);
  printf("%d echo tasks, one submit each: %d ok, %.0f tasks/s\n", N, ok, N / s);

  wd_buf *in = malloc(sizeof(*in) * N);
  for (int i = 0; i < N; i++)
    in[i] = (wd_buf){"y", 1};
  t0 = uv_hrtime();
  wd_future *m;
  wd_map(pool, "echo", in, N, 0, NULL, &m);
  wd_await(m);
  s = (uv_hrtime() - t0) / 1e9;
  printf("map of %d items: %s, %.0f items/s\n", N,
         wd_status_name(wd_future_result(m)->status), N / s);
  wd_future_release(m);
  free(in);
  wd_pool_destroy(pool);
  uv_loop_close(loop);
  return 0;
}
