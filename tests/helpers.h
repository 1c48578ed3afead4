/* helpers.h -- what every process test asserts afterwards: no zombie, no
 * child left, no fd leaked; and small tools to look at processes. */
#ifndef WD_TEST_HELPERS_H
#define WD_TEST_HELPERS_H

/* The warden binary the CLI tests drive: build/warden, or the sanitized
 * build's (the Makefile passes its own). */
/* A sanitized build (make test-asan) has no address-space limit (ASan's
 * shadow memory cannot live under one) and no seccomp filter in the
 * resize worker (ASan must be able to report): tests of those skip. */
#ifdef __SANITIZE_ADDRESS__
#define WD_ASAN 1
#else
#define WD_ASAN 0
#endif

#ifndef WD_BIN
#define WD_BIN "build/warden"
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "warden.h"

static inline int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += e->d_name[0] != '.';
  closedir(d);
  return n - 1; /* the DIR's own fd */
}

/* Runs a shell command line; its exit status (128+N if killed by N). */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static int sh(const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Live or zombie children of this process, from the kernel's own list. */
static inline int count_children(void) {
  char path[64], buf[4096];
  snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  int count = 0;
  for (ssize_t i = 0; i < n; i++)
    count += buf[i] == ' ';
  return count;
}

/* True once pid is gone altogether: not running, not a zombie. */
static inline int pid_gone(pid_t pid) {
  return kill(pid, 0) < 0 && errno == ESRCH;
}

static inline char state_of(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
  char *p = strrchr(buf, ')');
  return p && p[1] == ' ' ? p[2] : 0;
}

/* Dead: gone, or a zombie.  For orphans whose parent died with the
 * supervisor, reaping is init's job and init takes its time. */
static inline int pid_dead(pid_t pid) {
  return pid_gone(pid) || state_of(pid) == 'Z';
}

/* Waits up to ms for pid to die (polling /proc is the only way to watch a
 * process that is not ours). */
static inline int pid_dead_within(pid_t pid, int ms) {
  for (int i = 0; i < ms; i++) {
    if (pid_dead(pid))
      return 1;
    usleep(1000);
  }
  return pid_dead(pid);
}

static inline pid_t ppid_of(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  int ppid = -1;
  if (p == NULL || sscanf(p + 2, "%*c %d", &ppid) != 1)
    return -1;
  return ppid;
}

/* Every process below root, found by walking /proc. */
static inline int descendants(pid_t root, pid_t *out, int max) {
  int n = 0, grew = 1;
  while (grew) {
    grew = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
      pid_t pid = (pid_t)atoi(e->d_name);
      if (pid <= 0)
        continue;
      int known = 0;
      for (int i = 0; i < n; i++)
        known |= out[i] == pid;
      if (known)
        continue;
      pid_t pp = ppid_of(pid);
      int below = pp == root;
      for (int i = 0; i < n && !below; i++)
        below = out[i] == pp;
      if (below) {
        out[n++] = pid;
        grew = 1;
      }
    }
    closedir(d);
  }
  return n;
}

/* The three promises, asserted after every process test. */
static inline void assert_clean(int fds_before) {
  int status;
  errno = 0;
  ck_assert_int_eq(waitpid(-1, &status, WNOHANG), -1);
  ck_assert_int_eq(errno, ECHILD);
  ck_assert_int_eq(count_children(), 0);
  ck_assert_int_eq(count_fds(), fds_before);
}

/* Parses "pid N" lines (the spawn job's stderr) into pids. */
static inline int parse_pids(const char *s, size_t len, pid_t *out, int max) {
  int n = 0;
  for (size_t i = 0; i + 4 < len && n < max; i++)
    if ((i == 0 || s[i - 1] == '\n') && memcmp(s + i, "pid ", 4) == 0)
      out[n++] = (pid_t)atoi(s + i + 4);
  return n;
}

/* Runs the loop until every one of fs has been started by a worker.  An
 * idle handle keeps the loop from blocking in poll after the pool's
 * prepare phase has dispatched, so the check runs every iteration. */
typedef struct {
  wd_future *const *fs;
  size_t n;
} started_ctx;

static inline void check_started(uv_idle_t *h) {
  started_ctx *c = h->data;
  for (size_t i = 0; i < c->n; i++)
    if (wd_future_attempts(c->fs[i]) == 0)
      return;
  uv_idle_stop(h);
  uv_stop(h->loop);
}

static inline void run_until_started(uv_loop_t *loop, wd_future *const *fs,
                                     size_t n) {
  started_ctx c = {fs, n};
  uv_idle_t idle;
  uv_idle_init(loop, &idle);
  idle.data = &c;
  uv_idle_start(&idle, check_started);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&idle, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

static inline Suite *one_case_suite(const char *name, TCase *tc) {
  Suite *s = suite_create(name);
  suite_add_tcase(s, tc);
  return s;
}

static inline int run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, getenv("CK_FORK") ? CK_FORK_GETENV : CK_FORK);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}

#endif
