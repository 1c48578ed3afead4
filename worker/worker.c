/* worker.c -- the loop a worker process runs.
 *
 * Reads task frames from its socket (fd 3), runs each job, and answers with
 * one result frame per task in order.  Input is batched -- one recv brings
 * every task the supervisor sent ahead -- but each result is sent before the
 * next task starts, for two reasons.  The supervisor starts the next task's
 * deadline clock when the previous result arrives: a held result would eat
 * into a neighbour's time.  And when a worker dies, the supervisor blames
 * the oldest task without a result: a held result would make a finished
 * task pay for the crash of the one after it.
 *
 * A job's stderr goes to a memfd on fd 2 (shared with the zygote, which
 * reads it if the worker dies); after each task its tail is appended to the
 * result and the memfd is emptied.  After each task the worker also kills
 * and reaps whatever the job left running: a task is finished only when
 * nothing it started is alive. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"
#include "proto.h"

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void flush_or_die(wd__buf *out) {
  size_t off = 0;
  while (off < out->len) {
    ssize_t n = send(WD__FD_SOCK, out->p + off, out->len - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      _exit(WD__WORKER_DONE); /* the supervisor is gone: nobody wants the result */
    off += (size_t)n;
  }
  out->len = 0;
  if (out->cap > (64u << 20)) /* keep warm buffers, but not huge ones */
    wd__buf_free(out);
}

/* Sets the soft CPU limit to what this process has used plus the per-task
 * allowance, so RLIMIT_CPU (a whole-process budget) acts per task.  The
 * hard limit is left alone: lowering it could not be undone unprivileged. */
static void arm_cpu_limit(uint64_t limit_s) {
  struct rusage ru;
  struct rlimit rl;
  if (getrusage(RUSAGE_SELF, &ru) != 0 || getrlimit(RLIMIT_CPU, &rl) != 0)
    return;
  rlim_t used = (rlim_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1);
  rl.rlim_cur = used + (rlim_t)limit_s;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
    rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_CPU, &rl);
}

/* ---- the task's tree --------------------------------------------------- */

/* The supervisor's requests for the running task arrive as WD__SIG_TASK
 * (see job.h): blocked, except while a guardian job waits in ppoll()
 * under wd__task_waitmask(), so one is never lost between a check and the
 * wait.  The tag drops a request meant for a task that has already ended. */
static volatile sig_atomic_t task_tag = -1, task_sig;
static sigset_t waitmask;
static int task_procs = -1, task_kill = -1;

void wd__worker_task_cgroup(int procs, int kill) {
  task_procs = procs;
  task_kill = kill;
}

static void on_task_signal(int sig, siginfo_t *si, void *uc) {
  (void)sig, (void)uc;
  int v = si->si_value.sival_int;
  if ((v >> 8) != task_tag || task_sig == SIGKILL)
    return;
  task_sig = v & 0xff;
}

int wd__task_signal(void) {
  int s = task_sig;
  task_sig = 0;
  return s;
}

const sigset_t *wd__task_waitmask(void) { return &waitmask; }

int wd__task_procs_fd(void) { return task_procs; }

int wd__task_kill_tree(void) {
  return task_kill >= 0 ? wd__cgroup_kill_fd(task_kill) : -ENOTSUP;
}

static void task_signals_init(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_task_signal;
  sa.sa_flags = SA_SIGINFO;
  sigfillset(&sa.sa_mask);
  sigaction(WD__SIG_TASK, &sa, NULL);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, WD__SIG_TASK);
  sigprocmask(SIG_BLOCK, &block, &waitmask);
  sigdelset(&waitmask, WD__SIG_TASK);
}

/* Kills whatever the job started and left running: with a task cgroup,
 * all of it at once; then every child, re-parented to us (a subreaper) or
 * forked by an in-worker job, until none is left. */
static void sweep_children(void) {
  siginfo_t si;
  if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
    return; /* ECHILD: nothing left, the usual case */
  wd__task_kill_tree();
  wd__kill_children(NULL, NULL);
}

/* Appends the tail of what the task wrote to stderr and empties the memfd.
 * Children share the file offset, so it measures everything written. */
static uint32_t take_stderr(wd__buf *out, size_t cap) {
  off_t end = lseek(2, 0, SEEK_CUR);
  if (end <= 0)
    return 0;
  size_t n = (size_t)end < cap ? (size_t)end : cap;
  char *p = wd_out_reserve(out, n);
  ssize_t r = p ? pread(2, p, n, end - (off_t)n) : -1;
  if (r < 0)
    r = 0;
  out->len -= n - (size_t)r;
  if (ftruncate(2, 0) == 0)
    lseek(2, 0, SEEK_SET);
  return (uint32_t)r;
}

static void run_task(const wd__worker_cfg *cfg, const wd__hdr *h,
                     const char *body, wd__buf *out) {
  size_t at = out->len;
  if (wd_out_reserve(out, WD__HDR_SIZE) == NULL)
    _exit(WD__WORKER_NOMEM); /* cannot even answer: let the supervisor see the exit */
  uint64_t t0 = now_ns();
  int rc;
  wd_job_fn fn = wd__job_fn(h->a);
  task_sig = 0;
  task_tag = (sig_atomic_t)WD__TAG(h->id);
  if (cfg->cpu_limit_s)
    arm_cpu_limit(cfg->cpu_limit_s);
  if (fn != NULL) {
    rc = fn(body, h->len, out);
  } else {
    wd_out_printf(out, "unknown job %u", h->a);
    rc = 1;
  }
  sweep_children();
  task_tag = -1;
  wd__hdr r = {rc == 0 ? WD__F_OK : WD__F_ERR, 0, h->id, 0, 0};
  r.a = take_stderr(out, cfg->stderr_tail);
  r.b = (uint32_t)((now_ns() - t0) / 1000);
  r.len = (uint32_t)(out->len - at - WD__HDR_SIZE);
  memcpy(out->p + at, &r, WD__HDR_SIZE);
}

static void run_map(const wd__worker_cfg *cfg, const wd__hdr *h,
                    const char *body, wd__buf *out) {
  size_t at = out->len;
  if (wd_out_reserve(out, WD__HDR_SIZE) == NULL)
    _exit(WD__WORKER_NOMEM);
  uint64_t t0 = now_ns();
  wd_job_fn fn = wd__job_fn(h->a);
  size_t off = 0;
  if (cfg->cpu_limit_s)
    arm_cpu_limit(cfg->cpu_limit_s);
  for (uint32_t i = 0; i < h->b; i++) {
    wd__item it;
    const char *data;
    long next = wd__item_next(body, h->len, off, &it, &data);
    if (next < 0)
      break; /* the supervisor built it: cannot happen */
    off = (size_t)next;
    size_t iat = out->len;
    if (wd_out_reserve(out, sizeof(wd__item)) == NULL)
      _exit(WD__WORKER_NOMEM);
    int rc = fn ? fn(data, it.len, out) : 1;
    wd__item r = {(uint32_t)(out->len - iat - sizeof(r)),
                  rc == 0 ? WD__F_OK : WD__F_ERR};
    memcpy(out->p + iat, &r, sizeof(r));
  }
  sweep_children();
  take_stderr(out, 0);
  wd__hdr r = {WD__F_MAPRES, 0, h->id, h->b, 0};
  r.b = (uint32_t)((now_ns() - t0) / 1000);
  r.len = (uint32_t)(out->len - at - WD__HDR_SIZE);
  memcpy(out->p + at, &r, WD__HDR_SIZE);
}

void wd__worker_main(const wd__worker_cfg *cfg) {
  wd__buf in = {0}, out = {0};
  task_signals_init();
  for (;;) {
    wd__hdr h;
    long n = wd__frame_parse(in.p + in.off, in.len - in.off, &h);
    if (n < 0)
      _exit(WD__WORKER_PROTO); /* a corrupt stream: the supervisor sees it */
    if (n > 0) {
      const char *body = in.p + in.off + WD__HDR_SIZE;
      if (h.type == WD__F_TASK)
        run_task(cfg, &h, body, &out);
      else if (h.type == WD__F_MAP)
        run_map(cfg, &h, body, &out);
      else
        _exit(WD__WORKER_PROTO);
      wd__buf_consume(&in, (size_t)n);
      flush_or_die(&out);
      continue;
    }
    if (wd__buf_reserve(&in, 65536) != 0)
      _exit(WD__WORKER_NOMEM);
    ssize_t r = recv(WD__FD_SOCK, in.p + in.len, in.cap - in.len, 0);
    if (r > 0) {
      in.len += (size_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR)
      continue;
    _exit(WD__WORKER_DONE); /* EOF: the supervisor retired us */
  }
}
