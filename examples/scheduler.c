/* scheduler.c -- "A scheduler without while True": a clock on the
 * terminal and a task repeated every second, both driven by timers on the
 * event loop -- no polling loop, no sleep() -- and a run of the task that
 * overruns its one-second slot is killed at the end of the slot, so runs
 * never pile up behind a stuck one.
 *
 * Each tick submits the task with a deadline equal to the period.  The
 * task (a stand-in for "fetch a feed", "rotate a log") usually takes a
 * fraction of the slot; every fourth run hangs.  The clock keeps ticking
 * while tasks run, because they run in worker processes, not on the loop.
 *
 *   build/examples/scheduler [RUNS] [PERIOD_MS]     (default 8 1000)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "warden.h"

static struct {
  wd_pool *pool;
  uv_timer_t clock, tick;
  uint64_t period_ms;
  unsigned runs, started, finished, killed;
  int tty;
} S;

/* The job: works for the number of milliseconds it is given. */
static int work_job(const void *arg, size_t len, wd_out *out) {
  char buf[24] = {0};
  memcpy(buf, arg, len < sizeof(buf) - 1 ? len : sizeof(buf) - 1);
  long ms = atol(buf);
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  return wd_out_printf(out, "done in %ld ms", ms);
}

static void now_text(char *buf, size_t n) {
  time_t t = time(NULL);
  strftime(buf, n, "%H:%M:%S", localtime(&t));
}

/* One line of log, after clearing the clock's line on a terminal. */
static void say(unsigned run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(unsigned run, const char *fmt, ...) {
  char when[16];
  now_text(when, sizeof(when));
  printf("%s%s  run %u: ", S.tty ? "\r\033[K" : "", when, run);
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
}

static void on_clock(uv_timer_t *t) {
  (void)t;
  char when[16];
  now_text(when, sizeof(when));
  printf("\r\033[K%s  (%u started, %u finished, %u killed)", when, S.started,
         S.finished, S.killed);
  fflush(stdout);
}

static void on_done(wd_future *f, void *data) {
  unsigned run = (unsigned)(uintptr_t)data;
  const wd_result *r = wd_future_result(f);
  S.finished++;
  if (r->status == WD_TIMEOUT) {
    S.killed++;
    say(run, "overran its slot: killed after %.0f ms", r->duration_ns / 1e6);
  } else {
    say(run, "%s, %.*s", wd_status_name(r->status), (int)r->len,
        (const char *)r->data);
  }
  wd_future_release(f);
  if (S.finished == S.runs) { /* the last one: stop the timers and leave */
    uv_timer_stop(&S.clock);
    wd_pool_close(S.pool, NULL, NULL);
  }
}

static void on_tick(uv_timer_t *t) {
  unsigned run = ++S.started;
  /* Usually a quarter of the slot; every fourth run hangs for ten. */
  char ms[24];
  snprintf(ms, sizeof(ms), "%llu",
           (unsigned long long)(run % 4 == 0 ? S.period_ms * 10 : S.period_ms / 4));
  wd_task_options slot = {.timeout_ms = S.period_ms};
  wd_future *f;
  say(run, "started (%s ms of work, a %llu ms slot)", ms,
      (unsigned long long)S.period_ms);
  int err = wd_submit(S.pool, "work", ms, strlen(ms), &slot, &f);
  if (err == 0)
    err = wd_future_on_done(f, on_done, (void *)(uintptr_t)run);
  if (err) {
    fprintf(stderr, "scheduler: %s\n", wd_strerror(err));
    exit(1);
  }
  if (S.started == S.runs)
    uv_timer_stop(t);
}

int main(int argc, char **argv) {
  S.runs = argc > 1 ? (unsigned)atoi(argv[1]) : 8;
  S.period_ms = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000;
  if (S.runs == 0 || S.period_ms < 10) {
    fprintf(stderr, "usage: scheduler [RUNS] [PERIOD_MS >= 10]\n");
    return 2;
  }
  S.tty = isatty(STDOUT_FILENO);
  uv_loop_t *loop = uv_default_loop();
  wd_register("work", work_job);
  /* Two workers: a run that hangs holds one until its slot ends. */
  wd_pool_options o = {.workers = 2};
  int err = wd_pool_new(loop, &o, &S.pool);
  if (err) {
    fprintf(stderr, "scheduler: %s\n", wd_strerror(err));
    return 1;
  }
  uv_timer_init(loop, &S.tick);
  uv_timer_start(&S.tick, on_tick, 0, S.period_ms); /* now, then each period */
  uv_timer_init(loop, &S.clock);
  if (S.tty) /* the live clock is for terminals; logs get the lines */
    uv_timer_start(&S.clock, on_clock, 100, 250);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&S.tick, NULL);
  uv_close((uv_handle_t *)&S.clock, NULL);
  uv_run(loop, UV_RUN_DEFAULT);
  printf("%s%u runs, %u finished in their slot, %u killed at its end\n",
         S.tty ? "\r\033[K" : "", S.runs, S.finished - S.killed, S.killed);
  return S.finished == S.runs && S.killed == S.runs / 4 ? 0 : 1;
}
