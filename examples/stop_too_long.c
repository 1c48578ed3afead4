/* stop_too_long.c -- "Call a function and stop it if it takes too long".
 *
 * Python cannot do this: concurrent.futures' result(timeout=...) and
 * asyncio.wait_for() stop *waiting*, but the call runs on, holding its
 * worker (a ProcessPoolExecutor cannot kill a running task; shutting the
 * pool down waits for it).  Here a task past its deadline is killed --
 * its worker process, with anything the call started -- its future
 * resolves WD_TIMEOUT, a fresh worker takes the killed one's place, and
 * the pool goes on with the next round (the pids printed show it).
 *
 * The function is a naive recursive Fibonacci: fib(30) takes milliseconds,
 * fib(60) would run for half an hour or more.
 *
 *   build/examples/stop_too_long [DEADLINE_MS]     (default 1000)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warden.h"

static unsigned long long fib(unsigned n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/* The job: its argument is n as text, its output fib(n) as text. */
static int fib_job(const void *arg, size_t len, wd_out *out) {
  char buf[16] = {0};
  memcpy(buf, arg, len < sizeof(buf) - 1 ? len : sizeof(buf) - 1);
  return wd_out_printf(out, "%llu", fib((unsigned)atoi(buf)));
}

int main(int argc, char **argv) {
  uint64_t deadline = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000;
  if (deadline == 0) {
    fprintf(stderr, "usage: stop_too_long [DEADLINE_MS > 0]\n");
    return 2;
  }
  wd_register("fib", fib_job);
  wd_pool_options o = {.workers = 2, .timeout_ms = deadline};
  wd_pool *pool;
  int err = wd_pool_new(uv_default_loop(), &o, &pool);
  if (err) {
    fprintf(stderr, "stop_too_long: %s\n", wd_strerror(err));
    return 1;
  }

  /* Round one: two quick calls and one that would run for hours.  Then
   * round two, on the same pool, once the slow one has been stopped. */
  const char *rounds[2][3] = {{"25", "60", "30"}, {"31", "32", "20"}};
  int stopped = 0, ok = 0;
  pid_t killed = 0;
  for (int r = 0; r < 2; r++) {
    wd_future *f[3];
    for (int i = 0; i < 3; i++)
      wd_submit(pool, "fib", rounds[r][i], strlen(rounds[r][i]), NULL, &f[i]);
    wd_await_all(f, 3);
    for (int i = 0; i < 3; i++) {
      const wd_result *res = wd_future_result(f[i]);
      printf("round %d  fib(%s)  %-7s after %6.1f ms  ", r + 1, rounds[r][i],
             wd_status_name(res->status), res->duration_ns / 1e6);
      if (res->status == WD_OK) {
        printf("= %-8.*s (worker %d)\n", (int)res->len, (const char *)res->data,
               (int)res->pid);
        ok += res->pid != killed; /* never on the worker that was killed */
      } else if (res->status == WD_TIMEOUT) {
        /* The worker that ran it is gone, not left computing. */
        int alive = kill(res->pid, 0) == 0 || errno != ESRCH;
        printf("stopped: worker %d %s\n", (int)res->pid,
               alive ? "STILL RUNNING" : "is gone");
        stopped += !alive;
        killed = res->pid;
      } else {
        printf("%.*s\n", (int)res->len, (const char *)res->data);
      }
      wd_future_release(f[i]);
    }
  }
  wd_pool_destroy(pool);
  printf("%d calls returned, %d stopped at the %llu ms deadline\n", ok, stopped,
         (unsigned long long)deadline);
  return ok == 5 && stopped == 1 ? 0 : 1;
}
