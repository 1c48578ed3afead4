/* helpers.h -- what every test binary shares.
 *
 * The promise warden makes is about processes and descriptors: no zombie,
 * no orphan, no leaked fd.  So every test is checked for it the same way,
 * by a checked fixture (wd_test_setup / wd_test_teardown) that Check runs
 * in the forked test process around each test: setup notes the fds that
 * are open, teardown fails the test if a child of the test process is left
 * (a zombie or alive) or an fd is open that was not before.  A test that
 * orphans processes on purpose (as a child subreaper) reaps them itself,
 * or in its file's own teardown, which runs before the shared one.
 *
 * Tests are found by name: a binary's suite is named after its file
 * (tests/test_pool.c: "pool") and holds one TCase per area ("timeouts",
 * "crashes", ...), each built by wd_test_case with the fixture and a
 * timeout.  `make test T=name` runs one suite or every case of that name
 * (tests/run.sh); run_suite says when its binary has no such case.
 *
 * Then small tools to look at processes: state, parent, descendants. */
#ifndef WD_TEST_HELPERS_H
#define WD_TEST_HELPERS_H

/* A sanitized build (make test-asan) has no address-space limit (ASan's
 * shadow memory cannot live under one) and no seccomp filter in the
 * resize worker (ASan must be able to report): tests of those skip. */
#ifdef __SANITIZE_ADDRESS__
#define WD_ASAN 1
#else
#define WD_ASAN 0
#endif

/* The warden binary the CLI tests drive: build/warden, or the sanitized
 * build's (the Makefile passes its own). */
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

enum {
  /* A binary's exit status when CK_RUN_CASE names no case of its suite:
   * "skipped", as automake's test drivers say it. */
  WD_TEST_NOT_HERE = 77,
  /* Descriptors and children the fixture keeps track of: far more than a
   * test holds, so a list that fills up is a leak in itself. */
  WD_TEST_MAX_FDS = 1024,
  WD_TEST_MAX_CHILDREN = 256,
};

static inline int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* Open descriptors of this process, ascending, into fds (up to max);
 * returns how many there are.  The DIR's own fd is not one of them. */
static inline int list_fds(int *fds, int max) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd == dirfd(d))
      continue;
    if (n < max)
      fds[n] = fd;
    n++;
  }
  closedir(d);
  if (fds != NULL)
    qsort(fds, (size_t)(n < max ? n : max), sizeof(int), cmp_int);
  return n;
}

static inline int count_fds(void) { return list_fds(NULL, 0); }

/* Live or zombie children of this process, from the kernel's own lists:
 * one per thread, since a child is listed under the thread that forked it
 * (a threadpool thread's child is not on the main thread's list).  Up to
 * max pids into out; returns how many there are. */
static inline int list_children(pid_t *out, int max) {
  DIR *d = opendir("/proc/self/task");
  if (d == NULL)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int tid = atoi(e->d_name);
    if (tid <= 0)
      continue;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/children", tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
      continue; /* a thread that has just ended */
    int pid;
    while (fscanf(f, "%d", &pid) == 1) {
      if (n < max)
        out[n] = (pid_t)pid;
      n++;
    }
    fclose(f);
  }
  closedir(d);
  return n;
}

static inline int count_children(void) { return list_children(NULL, 0); }

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

/* Orphans re-parented to a subreaper test come back after the process
 * that left them has gone: reaps each that is dead, for up to ms, until no
 * child is left.  What is still alive then, the fixture reports. */
static inline void reap_orphans(int ms) {
  for (int i = 0; i < ms; i++) {
    while (waitpid(-1, NULL, WNOHANG) > 0)
      ;
    if (count_children() == 0)
      return;
    usleep(1000);
  }
}

/* ---- the checked fixture ----------------------------------------------- */

static int wd_test_fds[WD_TEST_MAX_FDS];
static int wd_test_nfds;

/* "pid (comm) state" of a process, for a failure message. */
static inline void describe_pid(pid_t pid, char *out, size_t size) {
  char path[64], comm[64] = "?";
  snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
  FILE *f = fopen(path, "r");
  if (f != NULL) {
    if (fgets(comm, sizeof(comm), f) != NULL)
      comm[strcspn(comm, "\n")] = '\0';
    fclose(f);
  }
  char st = state_of(pid);
  snprintf(out, size, "%d (%s) %c", (int)pid, comm, st ? st : '?');
}

static void wd_test_setup(void) __attribute__((unused));
static void wd_test_setup(void) {
  /* libuv opens a process-wide pipe at the first uv_loop_init and keeps it
   * until exit: open it now, so that a test's first loop is not a leak. */
  uv_loop_t warm;
  ck_assert_int_eq(uv_loop_init(&warm), 0);
  ck_assert_int_eq(uv_loop_close(&warm), 0);
  wd_test_nfds = list_fds(wd_test_fds, WD_TEST_MAX_FDS);
  ck_assert_msg(wd_test_nfds >= 0 && wd_test_nfds <= WD_TEST_MAX_FDS,
                "%d fds open before the test", wd_test_nfds);
}

/* Fails the test for a zombie, a live child, or an fd it opened and left
 * open, naming each (a failed test exits at its assertion: no teardown). */
static void wd_test_teardown(void) __attribute__((unused));
static void wd_test_teardown(void) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  char what[128];
  if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0) {
    describe_pid(si.si_pid, what, sizeof(what));
    ck_abort_msg("zombie left unreaped: %s", what);
  }
  pid_t kids[WD_TEST_MAX_CHILDREN];
  int nkids = list_children(kids, WD_TEST_MAX_CHILDREN);
  if (nkids > 0) {
    describe_pid(kids[0], what, sizeof(what));
    ck_abort_msg("%d children left, the first: %s", nkids, what);
  }
  int now[WD_TEST_MAX_FDS];
  int n = list_fds(now, WD_TEST_MAX_FDS);
  ck_assert_msg(n >= 0 && n <= WD_TEST_MAX_FDS, "%d fds open after the test", n);
  for (int i = 0, j = 0; i < n; i++) {
    while (j < wd_test_nfds && wd_test_fds[j] < now[i])
      j++;
    if (j < wd_test_nfds && wd_test_fds[j] == now[i])
      continue;
    char link[64], target[256] = "?";
    snprintf(link, sizeof(link), "/proc/self/fd/%d", now[i]);
    ssize_t len = readlink(link, target, sizeof(target) - 1);
    target[len > 0 ? len : 1] = '\0';
    ck_abort_msg("fd %d (%s) left open: %d fds before the test, %d after", now[i],
                 target, wd_test_nfds, n);
  }
}

/* ---- suites and cases -------------------------------------------------- */

/* Adds to s a TCase called name, with the shared fixture and a timeout in
 * seconds; the file's own setup and teardown (either may be NULL) run
 * inside it, after wd_test_setup and before wd_test_teardown. */
static TCase *wd_test_case(Suite *s, const char *name, double timeout_s, SFun setup,
                           SFun teardown) __attribute__((unused));
static TCase *wd_test_case(Suite *s, const char *name, double timeout_s, SFun setup,
                           SFun teardown) {
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, timeout_s);
  tcase_add_checked_fixture(tc, wd_test_setup, wd_test_teardown);
  if (setup != NULL || teardown != NULL)
    tcase_add_checked_fixture(tc, setup, teardown);
  suite_add_tcase(s, tc);
  return tc;
}

/* Runs s in fork mode (CK_FORK=no for a debugger or valgrind), only the
 * case CK_RUN_CASE names if it is set.  Returns 0 when every test passed,
 * 1 when one failed, WD_TEST_NOT_HERE when the selection matched nothing
 * here (tests/run.sh skips such a binary, and fails a name none has). */
static inline int run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  const char *only = getenv("CK_RUN_CASE");
  if (only != NULL && *only != '\0' && !suite_tcase(s, only)) {
    srunner_free(sr); /* frees s */
    return WD_TEST_NOT_HERE;
  }
  srunner_set_fork_status(sr, getenv("CK_FORK") ? CK_FORK_GETENV : CK_FORK);
  srunner_run_all(sr, CK_NORMAL);
  int ran = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  if (ran == 0 && (getenv("CK_RUN_SUITE") != NULL || only != NULL))
    return WD_TEST_NOT_HERE;
  return failed == 0 ? 0 : 1;
}

/* ---- the loop ---------------------------------------------------------- */

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

#endif
