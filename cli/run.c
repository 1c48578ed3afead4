/* run.c -- `warden run`: many commands, N at a time (xargs -P / GNU
 * parallel), each guarded by a pool worker so that a deadline, a halt or a
 * Ctrl-C kills its whole tree.  Commands are started one by one as slots
 * free up (run_sched.c), each finished command's output is printed whole,
 * and its joblog line is written with one append as soon as that output is
 * out (run_output.c): a SIGKILLed run loses no finished line, a logged
 * command never lost its output, and --resume reruns exactly what has
 * none.  A write that fails (the joblog, stdout) fails the run: it is said
 * once, nothing new starts, the status is 125 (batch.c).  This file puts
 * the parts together: options, inputs, descriptors, the batch. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"

/* What -j N costs in descriptors, measured (ls /proc/PID/fd at -j 1, 10,
 * 20): the supervisor holds 13 + N (stdio, the loop's epoll, signal and
 * async fds, the zygote's socket and pidfd; a socket per worker, two while
 * it is being spawned) and the zygote 8 + 2N (each worker's pidfd and
 * stderr memfd, more while it forks one).  Each has its own table under
 * the same limit.  Three per command leaves room for a third per worker
 * (a cgroup's cgroup.events), and FDS_FIXED for the joblog, the files a
 * spawn in flight holds and a few inherited fds.  (At ulimit -n 40 with
 * two per worker, 14 ran and the 15th crashed; this lets 6 run.)  Keep
 * these in step with pool/slot.c and worker/zygote.c. */
#define FDS_PER_COMMAND 3
#define FDS_FIXED 20
#define WORKDIR_MODE 0777 /* less the umask, as mkdir(1) */

/* Raises the soft RLIMIT_NOFILE to the hard one (the zygote and the
 * workers inherit it), then, like GNU parallel ("Only enough file handles
 * to run N jobs in parallel"), lowers -j with a warning if it still does
 * not fit.  0, or WD_EXIT_FAILURE when not even one command fits. */
static int fit_fd_limit(long *jobs) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit up = {rl.rlim_max, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0)
      rl = up;
  }
  if (rl.rlim_cur == RLIM_INFINITY ||
      rl.rlim_cur >= (rlim_t)*jobs * FDS_PER_COMMAND + FDS_FIXED)
    return 0;
  long fit = rl.rlim_cur > FDS_FIXED ? (long)(rl.rlim_cur - FDS_FIXED) / FDS_PER_COMMAND : 0;
  if (fit < 1)
    return wd__cli_fail("run", "too few file descriptors (ulimit -n %llu) to run a command: "
                       "it needs %d", (unsigned long long)rl.rlim_cur,
                       FDS_PER_COMMAND + FDS_FIXED);
  fprintf(stderr, "warden run: warning: only enough file descriptors (ulimit -n %llu) to "
          "run %ld commands at once, not %ld\n", (unsigned long long)rl.rlim_cur, fit, *jobs);
  *jobs = fit;
  return 0;
}

/* --wd DIR: made with its parents if missing, as GNU parallel does
 * (`mkdir -p`), once, before any command runs in it.  0 or a negative
 * errno. */
static int make_workdir(const char *dir) {
  char path[PATH_MAX];
  size_t n = strlen(dir);
  if (n >= sizeof(path))
    return UV_ENAMETOOLONG;
  memcpy(path, dir, n + 1);
  for (char *p = path + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char c = *p;
    *p = '\0';
    if (mkdir(path, WORKDIR_MODE) != 0 && errno != EEXIST)
      return -errno;
    *p = c;
    if (c == '\0')
      return 0;
  }
}

/* Everything before the pool: inputs, the joblog, the counts.  Sets *go
 * when there is something to run; else returns the exit status (0 when
 * the joblog has everything finished already). */
static int prepare(wd_run *r, int *go) {
  wd__cli_batch *b = &r->batch;
  if (wd__cli_run_inputs(r) != 0)
    return WD_EXIT_FAILURE;
  if (r->o.dry_run)
    return wd__cli_run_dry(r);
  int werr = r->o.workdir ? make_workdir(r->o.workdir) : 0;
  if (werr)
    return wd__cli_fail("run", "--wd %s: %s", r->o.workdir, wd_strerror(werr));
  int err = r->o.joblog ? wd__cli_batch_open_joblog(b, r->o.joblog) : 0;
  if (err)
    return wd__cli_fail("run", "joblog %s: %s", r->o.joblog, wd_strerror(err));
  if (b->todo == 0)
    return 0; /* no input, or everything finished already */
  /* A retry waits for a start: never more of them than commands run. */
  r->retry = malloc((size_t)r->o.jobs * sizeof(*r->retry));
  if (r->retry == NULL)
    return wd__cli_fail("run", "out of memory");
  if (fit_fd_limit(&r->o.jobs))
    return WD_EXIT_FAILURE;
  *go = 1;
  return 0;
}

/* The batch itself; its exit status. */
static int run_batch(wd_run *r) {
  wd__cli_batch *b = &r->batch;
  wd_register_builtins();
  int err = wd__cli_spool_open(r->spool, sizeof(r->spool));
  if (err)
    return wd__cli_fail("run", "cannot make a spool directory for output: %s",
                        wd_strerror(err));
  wd_pool_options po = {.workers = (unsigned)r->o.jobs};
  err = wd__cli_batch_start(b, &po);
  if (err)
    return wd__cli_fail("run", "cannot start workers: %s", wd_strerror(err));
  r->containment = wd_pool_containment(b->pool);
  uv_timer_init(b->loop, &r->delay_timer);
  r->delay_timer.data = r;
  wd__cli_run_watch(r);
  wd__cli_batch_loop(b);
  if (r->o.keep_order) /* after a stop, print what finished */
    for (; r->printed < r->nitems; r->printed++)
      if (wd__cli_run_item(r, r->printed)->f &&
          wd_future_done(wd__cli_run_item(r, r->printed)->f))
        wd__cli_run_report(r, r->printed);
  uv_close((uv_handle_t *)&r->delay_timer, NULL);
  wd__cli_run_unwatch(r, 1);
  return wd__cli_run_status(r, wd__cli_batch_end(b));
}

/* Futures a stop left unresolved or unprinted. */
static void release_items(wd_run *r) {
  for (size_t i = r->base; i < r->nitems; i++)
    if (wd__cli_run_item(r, i) && wd__cli_run_item(r, i)->f)
      wd_future_release(wd__cli_run_item(r, i)->f);
}

int wd__cli_run(int argc, char **argv) {
  wd_run *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return wd__cli_fail("run", "out of memory");
  wd__cli_policy_init(&r->policy);
  wd__cli_msg msg;
  int rc = wd__cli_run_parse(argc, argv, &r->o, &msg);
  if (wd__cli_parse_ends(rc, "run", wd__cli_run_usage, &msg, &rc))
    goto done;
  wd__cli_batch_init(&r->batch, "run", "commands", &wd__cli_run_ops, r);
  r->batch.show_progress = r->o.progress && isatty(2);
  r->batch.resume_from_log = 1;
  if (r->o.tagstring && wd__cli_run_tag_compile(r)) {
    rc = WD_EXIT_FAILURE;
    goto done;
  }
  if (r->o.pipe) { /* stdin is the commands' input, not their arguments */
    rc = wd__cli_run_pipe(r);
    goto done;
  }
  int go = 0;
  rc = prepare(r, &go);
  if (go)
    rc = run_batch(r);
  else if (r->batch.logfd >= 0)
    close(r->batch.logfd);
  release_items(r);
done:
  wd__cli_spool_close(r->spool); /* after the workers: none writes to it now */
  wd__cli_run_free_inputs(r);
  wd__cli_template_destroy(r->tag_tmpl);
  free(r->retry);
  free(r);
  return rc;
}
