/* batch.c -- the loop side of a batch command: pool, signals, progress,
 * counters, joblog and exit status (see batch.h).  `warden run` and
 * `warden resize` differ in what an item is; how a batch starts, stops on
 * Ctrl-C, fails on a lost write and ends is the same, and lives here. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "cli.h"

double wd__cli_wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void wd__cli_batch_init(wd__cli_batch *b, const char *cmd, const char *items,
                       const wd__cli_batch_ops *ops, void *data) {
  memset(b, 0, sizeof(*b));
  b->cmd = cmd;
  b->items = items;
  b->ops = ops;
  b->data = data;
  b->logfd = -1;
}

int wd__cli_batch_open_joblog(wd__cli_batch *b, const char *path) {
  int fd = wd__cli_joblog_open(path);
  if (fd < 0)
    return fd;
  b->joblog = path;
  b->logfd = fd;
  return 0;
}

void wd__cli_batch_stop(wd__cli_batch *b, int now) {
  b->stopping = 1;
  if (b->ops->on_stop)
    b->ops->on_stop(b, now);
  if (now && b->pool)
    wd_pool_shutdown(b->pool, WD_IMMEDIATE);
}

/* Ctrl-C or SIGTERM: nothing new starts, what runs is killed and reaped,
 * and the status says which signal it was. */
static void on_signal(uv_signal_t *h, int sig) {
  wd__cli_batch *b = h->data;
  if (!b->exit_sig)
    b->exit_sig = sig;
  wd__cli_batch_stop(b, 1);
}

int wd__cli_batch_start(wd__cli_batch *b, const wd_pool_options *po) {
  b->loop = uv_default_loop();
  int err = wd_pool_new(b->loop, po, &b->pool);
  if (err)
    return err;
  uv_signal_t *hs[] = {&b->sigint, &b->sigterm};
  const int sigs[] = {SIGINT, SIGTERM};
  for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
    uv_signal_init(b->loop, hs[i]);
    hs[i]->data = b;
    uv_signal_start(hs[i], on_signal, sigs[i]);
    uv_unref((uv_handle_t *)hs[i]); /* they alone do not keep the loop running */
  }
  return 0;
}

/* On a terminal the progress line is redrawn this often, whether or not
 * a command ended: a long command must not look like a hang. */
#define PROGRESS_EVERY_MS 200

static void on_progress_tick(uv_timer_t *t) { wd__cli_batch_progress(t->data); }

void wd__cli_batch_loop(wd__cli_batch *b) {
  b->t0 = wd__cli_wall();
  if (b->show_progress) {
    uv_timer_init(b->loop, &b->progress_timer);
    b->progress_timer.data = b;
    uv_timer_start(&b->progress_timer, on_progress_tick, PROGRESS_EVERY_MS, PROGRESS_EVERY_MS);
    uv_unref((uv_handle_t *)&b->progress_timer); /* it alone keeps nothing running */
  }
  b->ops->start_more(b);
  uv_run(b->loop, UV_RUN_DEFAULT);
  if (b->show_progress) {
    uv_close((uv_handle_t *)&b->progress_timer, NULL);
    wd__cli_batch_progress(b); /* the truth at the end, after a Ctrl-C too */
    fputc('\n', stderr);
  }
}

void wd__cli_batch_write_failed(wd__cli_batch *b, int to, int err) {
  int *said = to == WD__CLI_TO_STDOUT   ? &b->stdout_said
              : to == WD__CLI_TO_STDERR ? &b->stderr_said
                                        : &b->log_said;
  if (!*said)
    fprintf(stderr, "warden %s: cannot write %s%s: %s; stopping the %s\n", b->cmd,
            to == WD__CLI_TO_STDOUT   ? "to stdout"
            : to == WD__CLI_TO_STDERR ? "to stderr"
                                      : "joblog ",
            to == WD__CLI_TO_JOBLOG ? b->joblog : "", strerror(err), b->items);
  *said = 1;
  b->broken = 1;
  /* Output that cannot be written would be lost: what runs is killed.  A
   * joblog that cannot take a line loses no output: what runs finishes,
   * and --resume reruns what the log lacks. */
  if (b->pool) /* not yet at the end (wd__cli_batch_end) */
    wd__cli_batch_stop(b, to != WD__CLI_TO_JOBLOG);
}

void wd__cli_batch_progress(const wd__cli_batch *b) {
  if (!b->show_progress)
    return;
  double el = wd__cli_wall() - b->t0;
  double eta = b->done && b->todo > b->done
                   ? el / (double)b->done * (double)(b->todo - b->done) : 0;
  fputs("\r\033[K", stderr);
  b->ops->progress(b, stderr, el, eta);
  fflush(stderr);
}

void wd__cli_batch_clear_progress(const wd__cli_batch *b) {
  if (b->show_progress)
    fputs("\r\033[K", stderr);
}

void wd__cli_batch_finished(wd__cli_batch *b, int failed) {
  b->done++;
  b->failed += failed != 0;
  wd__cli_batch_progress(b);
}

void wd__cli_batch_log(wd__cli_batch *b, size_t seq, double start, double runtime,
                      long long sent, size_t received, int exitval, int sig,
                      const char *command) {
  if (b->logfd < 0)
    return;
  int err = wd__cli_joblog_line(b->logfd, seq, start, runtime, sent, received, exitval, sig,
                               command);
  if (err) {
    wd__cli_batch_write_failed(b, WD__CLI_TO_JOBLOG, -err);
    b->unlogged++;
  }
}

int wd__cli_batch_end(wd__cli_batch *b) {
  uv_close((uv_handle_t *)&b->sigint, NULL);
  uv_close((uv_handle_t *)&b->sigterm, NULL);
  wd_pool_destroy(b->pool);
  b->pool = NULL;
  uv_run(b->loop, UV_RUN_NOWAIT);
  if (b->logfd >= 0 && close(b->logfd) != 0 && b->unlogged == 0)
    wd__cli_batch_write_failed(b, WD__CLI_TO_JOBLOG, errno);
  if (b->unlogged > 1 && b->resume_from_log)
    fprintf(stderr, "warden %s: %zu finished %s are not in the joblog; "
            "--resume will run them again\n", b->cmd, b->unlogged, b->items);
  if (!b->stdout_said && fflush(stdout) != 0)
    wd__cli_batch_write_failed(b, WD__CLI_TO_STDOUT, errno);
  if (!b->stderr_said && (fflush(stderr) != 0 || ferror(stderr)))
    wd__cli_batch_write_failed(b, WD__CLI_TO_STDERR, errno ? errno : EIO);
  if (b->exit_sig > 0)
    return WD_EXIT_SIGNAL_BASE + b->exit_sig;
  if (b->broken)
    return WD_EXIT_FAILURE;
  if (b->failed > WD_EXIT_MAX_COUNTED)
    return WD_EXIT_MANY_FAILED;
  return (int)b->failed;
}
