/* batch.h -- the loop side of a batch command (`warden run`, `warden
 * resize`, and whatever else feeds a pool items one by one): the pool, the
 * Ctrl-C and SIGTERM handling (start nothing new, kill what runs, reap,
 * exit 130/143), the progress line on a terminal, the counters, the joblog
 * and the final exit status.  A command supplies only what differs -- how
 * items start and how a result is reported -- through wd__cli_batch_ops,
 * and calls back in when an item finishes.
 *
 * A write that fails (the joblog, stdout, stderr) fails the batch: it is
 * said once, nothing new starts, what runs is killed (stdout, stderr) or
 * let finish (the joblog), the joblog keeps every whole line, and the
 * status is 125. */
#ifndef WD__CLI_BATCH_H
#define WD__CLI_BATCH_H

#include <stdio.h>

#include "warden.h"

typedef struct wd__cli_batch wd__cli_batch;

typedef struct {
  /* Starts what may start now.  Called once the pool is up, and by the
   * command itself whenever room frees up. */
  void (*start_more)(wd__cli_batch *b);
  /* The batch is stopping (a signal, a halt, a failed write): stop the
   * command's own timers.  now: what runs is being killed.  May be NULL. */
  void (*on_stop)(wd__cli_batch *b, int now);
  /* Writes one progress line (no \r, no newline) to f. */
  void (*progress)(const wd__cli_batch *b, FILE *f, double elapsed_s, double eta_s);
} wd__cli_batch_ops;

struct wd__cli_batch {
  const char *cmd;  /* "run", "resize": who speaks in messages */
  const char *items; /* "commands", "images": what it runs, in messages */
  const wd__cli_batch_ops *ops;
  void *data;       /* the command's */
  uv_loop_t *loop;
  wd_pool *pool;
  size_t todo;      /* items this batch will run (not skipped by --resume) */
  size_t running, done, failed;
  int stopping;     /* start nothing new */
  int exit_sig;     /* the signal that stopped the batch, or 0 */
  int broken;       /* warden itself failed (a write, a start): 125 */
  int show_progress;
  int resume_from_log; /* --resume reads the joblog: an unlogged item runs again */
  const char *joblog;
  int logfd;        /* -1: no joblog */
  size_t unlogged;  /* finished items the joblog could not take */
  int log_said, stdout_said, stderr_said;
  uv_signal_t sigint, sigterm;
  uv_timer_t progress_timer;
  double t0;        /* wall clock at the start */
};

/* The wall clock, in seconds: the joblog's Starttime. */
double wd__cli_wall(void);

/* Zeroes b and sets who it is; no joblog, no pool yet. */
void wd__cli_batch_init(wd__cli_batch *b, const char *cmd, const char *items,
                       const wd__cli_batch_ops *ops, void *data);

/* Opens the joblog at path for appending (wd__cli_joblog_open).  0 or a
 * negative errno. */
int wd__cli_batch_open_joblog(wd__cli_batch *b, const char *path);

/* Makes the pool on the default loop and catches SIGINT and SIGTERM.
 * 0, or wd_pool_new's error. */
int wd__cli_batch_start(wd__cli_batch *b, const wd_pool_options *po);

/* Starts the first items and runs the loop until every item is done or
 * the batch has stopped and what ran is reaped. */
void wd__cli_batch_loop(wd__cli_batch *b);

/* Starts nothing new; with now, kills what runs (their futures resolve
 * WD_CANCELLED). */
void wd__cli_batch_stop(wd__cli_batch *b, int now);

/* Where a write that failed was going. */
enum { WD__CLI_TO_JOBLOG = 0, WD__CLI_TO_STDOUT = 1, WD__CLI_TO_STDERR = 2 };

/* A write to the joblog, stdout or stderr (WD__CLI_TO_*) that failed, err a
 * positive errno: said once per kind (on stderr, if it still takes it),
 * then the batch starts nothing new -- and, for stdout or stderr, kills
 * what runs, whose output would be lost too -- and will exit 125. */
void wd__cli_batch_write_failed(wd__cli_batch *b, int to, int err);

/* Counts an item that finished (failed or not) and redraws the progress. */
void wd__cli_batch_finished(wd__cli_batch *b, int failed);

/* Redraws the progress line, if shown: after each item, every 200 ms,
 * and once more (ending the line) when the loop is done. */
void wd__cli_batch_progress(const wd__cli_batch *b);
/* Clears the progress line, if shown, before a command's output. */
void wd__cli_batch_clear_progress(const wd__cli_batch *b);

/* The joblog record of item seq (from 1); a write that fails fails the
 * batch (wd__cli_batch_write_failed) and the item is counted unlogged. */
void wd__cli_batch_log(wd__cli_batch *b, size_t seq, double start, double runtime,
                      long long sent, size_t received, int exitval, int sig,
                      const char *command);

/* Closes the signal handlers, destroys the pool, closes the joblog and
 * flushes stdout (either failing fails the batch).  Returns the exit
 * status: 128+N after signal N, 125 if warden failed, else the number of
 * failed items (0, 1-100, 101 for more). */
int wd__cli_batch_end(wd__cli_batch *b);

#endif
