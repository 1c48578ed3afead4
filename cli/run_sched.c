/* run_sched.c -- when `warden run` starts each command: one by one as
 * slots free up (so --delay, --rate and --halt act on starts), retries
 * ahead of new inputs, and the pool told to wind down as soon as nothing
 * more can start.  These are the batch driver's callbacks (batch.h). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"

#define NS_PER_MS 1000000u
#define DEFAULT_GRACE_MS 1000
#define WD__CLI_ENV_MAX 48 /* "PARALLEL_SEQ=" and a number */

static void start_more(wd__cli_batch *b);

int wd__cli_run_submit(wd_run *r, wd_run_item *it, const void *input, size_t input_len) {
  char **argv, *shown;
  wd__cli_run_take_slot(r, it);
  wd__cli_values vals = {it->args, it->nargs, it->seq, it->slot};
  int err = wd__cli_template_expand(r->tmpl, &vals, &argv, &shown);
  if (err)
    return err;
  /* GNU parallel's $PARALLEL_SEQ, $PARALLEL_JOBSLOT and $PARALLEL_PID
   * (its own pid, which scripts put in temporary names) */
  char seq_env[WD__CLI_ENV_MAX], slot_env[WD__CLI_ENV_MAX], pid_env[WD__CLI_ENV_MAX];
  snprintf(seq_env, sizeof(seq_env), "PARALLEL_SEQ=%zu", it->seq);
  snprintf(slot_env, sizeof(slot_env), "PARALLEL_JOBSLOT=%u", it->slot);
  snprintf(pid_env, sizeof(pid_env), "PARALLEL_PID=%ld", (long)getpid());
  char *env[] = {seq_env, slot_env, pid_env, NULL};
  if (it->shown == NULL)
    it->shown = shown;
  else
    free(shown);
  const char *paths[2] = {NULL, NULL};
  if (r->o.line_buffer && (err = wd__cli_lb_open(r, it, &paths[0], &paths[1])) != 0) {
    wd__cli_template_free(argv);
    return err;
  }
  wd_out req = {0};
  /* -u: the command's stdout and stderr are the worker's, which are ours. */
  wd_cmd cmd = {.flags = (r->o.ungroup ? 0 : WD_CMD_CAPTURE) |
                         (input ? WD_CMD_INPUT : WD_CMD_NULL_STDIN),
                .max_output = r->o.max_output ? r->o.max_output : UINT64_MAX,
                .memory_limit = r->o.memory, .cpu_limit_s = wd__cli_seconds_up(r->o.cpu_ms),
                .argv = argv, .spool = r->spool, .input = input, .input_len = input_len,
                .env = env, .stdout_path = paths[0], .stderr_path = paths[1],
                .nice = r->o.nice, .cwd = r->o.workdir};
  err = wd_cmd_encode(&req, &cmd);
  wd__cli_template_free(argv);
  int sig = r->o.sig;
  uint64_t deadline_ms = wd__cli_run_timeout_ms(r);
  wd_task_options to = {
      .timeout_ms = deadline_ms ? deadline_ms : WD_FOREVER,
      /* --kill-after=0: KILL right after the signal (as warden exec);
       * the pool reads a grace of 0 as "its default". */
      .grace_ms = sig && sig != SIGKILL
                      ? (r->o.have_grace ? (r->o.grace_ms ? r->o.grace_ms : 1) : DEFAULT_GRACE_MS)
                      : WD_FOREVER,
      .signal = sig ? sig : SIGKILL};
  if (!err)
    err = wd_submit(r->batch.pool, "command", req.p, req.len, &to, &it->f);
  wd_out_free(&req); /* the pool has its copy (with --pipe's block in it) */
  if (err)
    wd__cli_lb_finish(r, it);
  return err;
}

/* The request for item i's command, sent to a worker's "command" job. */
static int submit(wd_run *r, size_t i) {
  return wd__cli_run_submit(r, wd__cli_run_item(r, i), NULL, 0);
}

/* Prints what may be printed now: item i, or with -k every finished item
 * whose turn has come. */
static void report(wd_run *r, size_t i) {
  if (!r->o.keep_order) {
    wd__cli_run_report(r, i);
    return;
  }
  while (r->printed < r->nitems && wd__cli_run_item(r, r->printed)->finished) {
    wd__cli_run_report(r, r->printed);
    r->printed++;
  }
}

/* --halt N% counts against all the commands: as GNU parallel does, every
 * input is read (into items) before a halt is judged; what has not arrived
 * yet on a pipe is waited for at the next command's end. */
static void read_all_inputs(wd_run *r) {
  int more = WD__CLI_ROW;
  while (more == WD__CLI_ROW && !r->batch.stopping)
    more = wd__cli_run_more_items(r);
  r->policy.inputs_ended = more == WD__CLI_END;
}

static void on_done(wd_future *f, void *data) {
  wd_run *r = wd_future_data(f);
  size_t i = (size_t)(uintptr_t)data;
  wd_run_item *it = wd__cli_run_item(r, i);
  const wd_result *res = wd_future_result(f);
  r->batch.running--;
  wd__cli_run_give_slot(r, it);
  /* --retries N: N attempts in all (GNU parallel's); 0: no limit */
  int may_retry = r->o.tries == 0 || (long)it->attempts < r->o.tries;
  int retryable = wd__cli_run_retryable(res) || it->killed;
  it->killed = 0;
  if (retryable && may_retry && !r->batch.stopping) {
    wd__cli_run_discard(res);
    wd_future_release(it->f); /* try again, ahead of new inputs */
    it->f = NULL;
    r->retry[r->nretry++] = i;
    start_more(&r->batch);
    return;
  }
  it->finished = 1;
  int failed = wd__cli_run_failed(res);
  if (r->o.halt_pct > 0 && !r->policy.inputs_ended)
    read_all_inputs(r);
  wd__cli_run_judge(r, it, res, failed); /* --halt, --exit-codes, --timeout N% */
  report(r, i); /* may release f: res is not used after it */
  wd__cli_batch_finished(&r->batch, failed);
  start_more(&r->batch);
}

/* Starts item i; a failure to start ends the batch (125). */
static void start(wd_run *r, size_t i) {
  wd_run_item *it = wd__cli_run_item(r, i);
  int err = submit(r, i);
  if (err) {
    fprintf(stderr, "warden run: cannot start command %zu: %s\n", i + 1, wd_strerror(err));
    r->batch.stopping = 1;
    r->batch.broken = 1;
    return;
  }
  it->attempts++;
  if (r->o.print_cmds) /* -t: GNU parallel's and xargs' */
    fprintf(stderr, "%s\n", it->shown);
  it->started = wd__cli_wall();
  r->batch.running++;
  r->last_start = uv_hrtime();
  wd__cli_run_started(r, it);
  wd_future_set_data(it->f, r);
  wd_future_on_done(it->f, on_done, (void *)(uintptr_t)i);
}

static void on_delay(uv_timer_t *t) { start_more(&((wd_run *)t->data)->batch); }

/* How long until the next start may come (--delay, --rate), in ms; 0: now.
 * In nanoseconds first: the loop's millisecond clock is truncated and
 * could let two starts come a fraction of a millisecond too close. */
static uint64_t wait_ms(const wd_run *r) {
  uint64_t d = r->o.delay_ms;
  uint64_t gap = d < UINT64_MAX / (4 * NS_PER_MS) ? d * NS_PER_MS : UINT64_MAX / 4;
  uint64_t now = uv_hrtime(), due = r->last_start + gap;
  if (!d || !r->last_start || now >= due)
    return 0;
  return (due - now + NS_PER_MS - 1) / NS_PER_MS;
}

/* Starts commands while there is room, honouring --delay/--rate,
 * --memfree and --load; retries go first. */
static void start_more(wd__cli_batch *b) {
  wd_run *r = b->data;
  while (!b->stopping && b->running < (size_t)r->o.jobs) {
    int more = r->next < r->nitems ? WD__CLI_ROW : wd__cli_run_more_items(r);
    if (r->nretry == 0 && more != WD__CLI_ROW) {
      /* Every command has started and none can come back for a retry:
       * each worker may leave as soon as its command is done.  (Or the
       * next input has not arrived: its arrival calls back.) */
      r->policy.inputs_ended |= more == WD__CLI_END;
      if (more == WD__CLI_END && r->o.tries == 1)
        wd_pool_shutdown(b->pool, WD_GRACEFUL);
      return;
    }
    uint64_t ms = wait_ms(r);
    if (ms == 0)
      ms = wd__cli_run_gate_ms(r); /* --memfree, --load */
    if (ms) {
      uv_timer_start(&r->delay_timer, on_delay, ms, 0);
      return;
    }
    start(r, r->nretry ? r->retry[--r->nretry] : r->next++);
  }
}

static void on_stop(wd__cli_batch *b, int now) {
  (void)now;
  uv_timer_stop(&((wd_run *)b->data)->delay_timer);
  wd__cli_run_unwatch(b->data, 0);
  wd__cli_run_stop_inputs(b->data);
}

static void progress(const wd__cli_batch *b, FILE *f, double elapsed_s, double eta_s) {
  (void)elapsed_s;
  fprintf(f, "%zu/%zu done, %zu failed, %zu running, ETA %.0fs", b->done, b->todo, b->failed,
          b->running, eta_s);
}

const wd__cli_batch_ops wd__cli_run_ops = {start_more, on_stop, progress};
