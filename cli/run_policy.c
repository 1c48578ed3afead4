/* run_policy.c -- `warden run`'s decisions beyond free slots, as GNU
 * parallel and xargs make them (see run_policy.h): --timeout N%,
 * --memfree and --load gating starts, --halt, and the exit status.
 *
 * GNU parallel's exit status (its source, 20221122, not only its man
 * page): without --halt, the number of failed commands, 101 for more than
 * 100.  With --halt WHEN,fail=1 or done=1, the status of the command that
 * met it (128+N for a signal, 255 for --timeout); with fail=N or done=N,
 * the failures so far
 * (at most 101); with N%, the failures as a percentage of all commands,
 * rounded up; with success=..., 0.  A --halt never met ends as without
 * it, but N% gives the failures' percentage of those run.  (parallel
 * exits 101 when done=N or success=N ends with no failure at all: its
 * counter is undefined then; warden says 0.)
 *
 * xargs' (--exit-codes=xargs): 123 if a command exited 1-254; a command
 * that exited 255 (124), was killed by a signal (125: also a timeout),
 * could not be run (126) or found (127) stops the run: nothing new starts,
 * what runs finishes. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"

#define PERCENT 100.0
#define NS_PER_S 1e9
#define NS_PER_MS 1000000u
#define MS_PER_S 1e3
#define GATE_POLL_MS 200  /* --memfree, --load: look again this often */
#define PROC_BUF 4096
#define XARGS_FAILED 123
#define XARGS_EXIT_255 124
#define XARGS_SIGNALLED 125
#define XARGS_CANNOT_RUN 126
#define XARGS_NOT_FOUND 127
#define EXIT_ABORTS 255

void wd__cli_policy_init(wd__cli_policy *p) {
  memset(p, 0, sizeof(*p));
  p->status = -1;
}

/* ---- --timeout N% ------------------------------------------------------ */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* N% of the median runtime of the commands that succeeded so far, ms; 0
 * until one has (parallel has no deadline then either). */
static uint64_t pct_deadline_ms(const wd_run *r) {
  const wd__cli_policy *p = &r->policy;
  if (p->nruntimes == 0)
    return 0;
  size_t n = p->nruntimes < WD__CLI_MEDIAN_OF ? p->nruntimes : WD__CLI_MEDIAN_OF;
  double sorted[WD__CLI_MEDIAN_OF];
  memcpy(sorted, p->runtimes, n * sizeof(double));
  qsort(sorted, n, sizeof(double), cmp_double);
  double ms = ceil(sorted[(n - 1) / 2] * r->o.timeout_pct / PERCENT * MS_PER_S);
  return ms < 1 ? 1 : (uint64_t)ms;
}

uint64_t wd__cli_run_timeout_ms(const wd_run *r) {
  return r->o.timeout_pct > 0 ? 0 : r->o.timeout_ms;
}

/* Whether item it (NULL once reported) runs now and was not killed. */
static int running(const wd_run_item *it) {
  return it && it->f && !it->finished && !it->killed && !wd_future_done(it->f);
}

static void on_deadline(uv_timer_t *t);

/* GNU parallel's --timeout N% applies to every command running, whenever
 * it started, with the median as it is now: the timer is armed for the
 * earliest start plus that deadline, and again after each start, each
 * success (the median moves) and each kill. */
static void arm_deadlines(wd_run *r) {
  uint64_t d = pct_deadline_ms(r), first = UINT64_MAX;
  if (d == 0 || r->batch.stopping)
    return;
  for (size_t i = r->base; i < r->nitems; i++) {
    const wd_run_item *it = wd__cli_run_item(r, i);
    if (running(it) && it->started_ns < first)
      first = it->started_ns;
  }
  if (first == UINT64_MAX) {
    uv_timer_stop(&r->policy.pct_timer);
    return;
  }
  uint64_t due = first + d * NS_PER_MS, now = uv_hrtime();
  uv_timer_start(&r->policy.pct_timer, on_deadline,
                 due > now ? (due - now + NS_PER_MS - 1) / NS_PER_MS : 0, 0);
}

/* Kills (SIGKILL, its output kept) each command past the deadline; the
 * kill is a failure --retries may fix, as parallel's. */
static void on_deadline(uv_timer_t *t) {
  wd_run *r = t->data;
  uint64_t d = pct_deadline_ms(r), now = uv_hrtime();
  for (size_t i = r->base; i < r->nitems && d; i++) {
    wd_run_item *it = wd__cli_run_item(r, i);
    if (!running(it) || now - it->started_ns < d * NS_PER_MS)
      continue;
    fprintf(stderr, "warden run: command %zu timed out (--timeout %g%% of the median "
            "runtime: %.3f s): %s\n", it->seq, r->o.timeout_pct, (double)d / MS_PER_S,
            it->shown);
    it->killed = 1;
    wd_future_kill(it->f, SIGKILL);
  }
  arm_deadlines(r);
}

void wd__cli_run_started(wd_run *r, wd_run_item *it) {
  it->started_ns = uv_hrtime();
  if (r->o.timeout_pct > 0)
    arm_deadlines(r);
}

/* ---- --memfree, --load: starts wait; --memfree kills the youngest ------- */

/* Reads a small /proc file whole (never blocks: no user-named path). */
static int read_proc(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0)
    return UV_EIO;
  buf[n] = '\0';
  return 0;
}

/* MemAvailable, bytes; UINT64_MAX if unknown (nothing is held back). */
static uint64_t mem_available(void) {
  char buf[PROC_BUF];
  const char *p = read_proc("/proc/meminfo", buf, sizeof(buf)) ? NULL
                                                                : strstr(buf, "MemAvailable:");
  return p ? strtoull(p + strlen("MemAvailable:"), NULL, 10) * 1024 : UINT64_MAX;
}

/* Processes running now, as GNU parallel's --load counts them (state R),
 * from /proc/loadavg's "running/total", less warden itself. */
static double running_now(void) {
  char buf[PROC_BUF];
  if (read_proc("/proc/loadavg", buf, sizeof(buf)))
    return 0;
  char *p = buf;
  for (int i = 0; i < 3 && p; i++)
    p = strchr(p + 1, ' ');
  return p ? strtod(p + 1, NULL) - 1 : 0;
}

/* The command started last that runs now, or NULL. */
static wd_run_item *youngest(const wd_run *r) {
  wd_run_item *young = NULL;
  for (size_t i = r->base; i < r->nitems; i++) {
    wd_run_item *it = wd__cli_run_item(r, i);
    if (running(it) && (young == NULL || it->started_ns > young->started_ns))
      young = it;
  }
  return young;
}

/* GNU parallel's --memfree: below half of SIZE free, the youngest command
 * is killed and runs again later, as a failure --retries may fix. */
static void on_memory_tick(uv_timer_t *t) {
  wd_run *r = t->data;
  if (r->batch.stopping || mem_available() >= r->o.memfree / 2)
    return;
  wd_run_item *it = youngest(r);
  if (it == NULL)
    return;
  fprintf(stderr, "warden run: less than half of --memfree available: killing %s, "
          "to run it again later\n", it->shown);
  it->killed = 1;
  wd_future_cancel(it->f);
}

/* The commands keep the loop going: neither timer does on its own. */
void wd__cli_run_watch(wd_run *r) {
  wd__cli_policy *p = &r->policy;
  if (r->o.memfree) {
    uv_timer_init(r->batch.loop, &p->mem_timer);
    p->mem_timer.data = r;
    uv_timer_start(&p->mem_timer, on_memory_tick, GATE_POLL_MS, GATE_POLL_MS);
    uv_unref((uv_handle_t *)&p->mem_timer);
  }
  if (r->o.timeout_pct > 0) {
    uv_timer_init(r->batch.loop, &p->pct_timer);
    p->pct_timer.data = r;
    uv_unref((uv_handle_t *)&p->pct_timer);
  }
}

void wd__cli_run_unwatch(wd_run *r, int close) {
  uv_timer_t *timers[] = {r->o.memfree ? &r->policy.mem_timer : NULL,
                          r->o.timeout_pct > 0 ? &r->policy.pct_timer : NULL};
  for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
    if (timers[i] == NULL)
      continue;
    uv_timer_stop(timers[i]);
    if (close)
      uv_close((uv_handle_t *)timers[i], NULL);
  }
}

uint64_t wd__cli_run_gate_ms(const wd_run *r) {
  if (r->o.memfree && mem_available() < r->o.memfree)
    return GATE_POLL_MS;
  if (r->o.load_max > 0 && running_now() >= r->o.load_max)
    return GATE_POLL_MS;
  return 0;
}

/* ---- a command's end: --timeout N%, --exit-codes=xargs, --halt ------- */

/* How a command ended, as a shell and xargs see it. */
typedef struct {
  int status;     /* its exit code, or 128+N for signal N */
  int signalled;  /* killed by a signal, or at its deadline */
  int exec_errno; /* it could not be run */
  int timed_out;  /* killed at --timeout */
} fate;

/* --halt fail=1's status for a command killed at --timeout: GNU parallel
 * logs its exit value as -1 and exits with it, 255 (a command killed by
 * any other signal N gives 128+N in both). */
#define HALT_TIMED_OUT 255

static fate fate_of(const wd_result *res) {
  fate f = {1, 0, 0, res->status == WD_TIMEOUT};
  wd_cmd_result cr;
  if ((res->status == WD_OK || res->status == WD_TIMEOUT) &&
      wd_cmd_decode(res->data, res->len, &cr) == 0) {
    f.status = wd__cli_status(&cr);
    f.signalled = cr.signal != 0 || res->status == WD_TIMEOUT;
    f.exec_errno = cr.exec_errno;
  } else if (res->signal) {
    f.status = WD_EXIT_SIGNAL_BASE + res->signal;
    f.signalled = 1;
  }
  return f;
}

/* xargs' status for a command that ended so (0: it succeeded), and
 * whether it stops the run. */
static int xargs_status(const fate *f, int *stops) {
  *stops = 1;
  if (f->exec_errno)
    return f->exec_errno == ENOENT ? XARGS_NOT_FOUND : XARGS_CANNOT_RUN;
  if (f->signalled)
    return XARGS_SIGNALLED;
  if (f->status == EXIT_ABORTS)
    return XARGS_EXIT_255;
  *stops = 0;
  return f->status ? XARGS_FAILED : 0;
}

static void xargs_rules(wd_run *r, const fate *f, const wd_run_item *it) {
  wd__cli_policy *p = &r->policy;
  int stops, st = xargs_status(f, &stops);
  if (p->status <= XARGS_FAILED && st > p->status)
    p->status = st;
  if (stops && !r->batch.stopping) {
    fprintf(stderr, "warden run: %s: %s; starting no more commands\n", it->shown,
            st == XARGS_EXIT_255 ? "exited with status 255" : st == XARGS_SIGNALLED
                ? "killed by a signal" : "cannot be run");
    wd__cli_batch_stop(&r->batch, 0);
  }
}

/* Whether --halt's condition is met once this command is counted. */
static int halt_met(const wd_run *r, const wd__cli_policy *p, int failed) {
  const wd__cli_batch *b = &r->batch;
  size_t done = b->done + 1, nfailed = b->failed + (failed != 0);
  size_t n = r->o.halt_on == WD__HALT_FAIL      ? nfailed
             : r->o.halt_on == WD__HALT_SUCCESS ? done - nfailed
                                                : done;
  if (r->o.halt_on == WD__HALT_FAIL && !failed)
    return 0; /* parallel looks only when a command failed... */
  if (r->o.halt_on == WD__HALT_SUCCESS && failed)
    return 0; /* ...or succeeded */
  if (r->o.halt_pct <= 0)
    return (long)n >= r->o.halt_count;
  /* N% of all commands: known once every input has been read */
  return p->inputs_ended && (double)n >= (double)b->todo * r->o.halt_pct / PERCENT;
}

static void halt_rules(wd_run *r, const fate *f, int failed, const wd_run_item *it) {
  wd__cli_policy *p = &r->policy;
  const wd__cli_batch *b = &r->batch;
  if (!r->o.halt_on || p->halted || !halt_met(r, p, failed))
    return;
  p->halted = 1;
  size_t nfailed = b->failed + (failed != 0);
  if (r->o.halt_on == WD__HALT_SUCCESS)
    p->status = 0;
  else if (r->o.halt_pct > 0)
    p->status = (int)ceil((double)nfailed * PERCENT / (double)(b->todo ? b->todo : 1));
  else if (r->o.halt_count == 1)
    p->status = f->timed_out ? HALT_TIMED_OUT : f->status;
  else
    p->status = nfailed > WD_EXIT_MAX_COUNTED ? WD_EXIT_MANY_FAILED : (int)nfailed;
  fprintf(stderr, "warden run: --halt: %s %s; %s\n", it->shown,
          r->o.halt_on == WD__HALT_FAIL ? "failed" : r->o.halt_on == WD__HALT_SUCCESS
              ? "succeeded" : "finished",
          r->o.halt_now ? "killing the commands still running" : "starting no more commands");
  wd__cli_batch_stop(&r->batch, r->o.halt_now);
}

void wd__cli_run_judge(wd_run *r, const wd_run_item *it, const wd_result *res, int failed) {
  wd__cli_policy *p = &r->policy;
  fate f = fate_of(res);
  if (!failed && r->o.timeout_pct > 0) {
    p->runtimes[p->nruntimes++ % WD__CLI_MEDIAN_OF] = (double)res->duration_ns / NS_PER_S;
    arm_deadlines(r); /* the median moved */
  }
  if (res->status == WD_CANCELLED)
    return; /* killed by a halt or Ctrl-C: not the command's doing */
  if (r->o.xargs_codes)
    xargs_rules(r, &f, it);
  halt_rules(r, &f, failed, it);
}

int wd__cli_run_status(const wd_run *r, int status) {
  const wd__cli_batch *b = &r->batch;
  const wd__cli_policy *p = &r->policy;
  if (b->exit_sig || b->broken)
    return status;
  if (r->o.xargs_codes)
    return p->status > 0 ? p->status : 0;
  if (p->status >= 0)
    return p->status;
  if (r->o.halt_on && r->o.halt_pct > 0 && b->failed)
    return (int)ceil((double)b->failed * PERCENT / (double)b->done);
  return status;
}
