/* builtin.c -- the small jobs every pool has: for tests, examples, and
 * users who want to see the pool keep its promises.
 *
 *   echo    returns its argument
 *   fail    returns its argument as an error (WD_ERROR)
 *   sleep   MS: sleeps that long, returns "slept MS"
 *   spin    MS: burns CPU that long
 *   crash   [SIG]: dies of a signal (default SEGV, by a real NULL write)
 *   exit    CODE: the worker calls _exit(CODE)
 *   alloc   BYTES: allocates and touches that much memory
 *   command see command.c: runs a program as the worker's guarded child
 *   spawn   MODE MS: starts a child ("child"), or a grandchild that calls
 *           setsid() ("setsid"), that sleeps; prints "pid N" for each to
 *           stderr; then the job itself sleeps MS -- to prove tree kills
 */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../proc/proc.h"
#include "../worker/job.h"
#include "jobs.h"

/* Jobs write stderr with dprintf(STDERR_FILENO, ...): unbuffered whatever
 * the host program did to stdio's stderr, so nothing is lost when the job
 * dies. */

/* Fails the task with a message. */
static int job_failed(wd_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int job_failed(wd_out *out, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char msg[256];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  wd_out_printf(out, "%s", msg);
  return WD__JOB_FAILED;
}

/* The answer is the output, if it could be written. */
static int answered(int append_err) {
  return append_err == 0 ? WD__JOB_ANSWERED : WD__JOB_FAILED;
}

/* Arguments are short decimal strings; copy to parse them NUL-terminated. */
static long long arg_num(const void *arg, size_t len, long long dflt) {
  char s[32];
  if (len == 0 || len >= sizeof(s))
    return dflt;
  memcpy(s, arg, len);
  s[len] = '\0';
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  return (errno || end == s) ? dflt : v;
}

static void sleep_ms(long long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

static int job_echo(const void *arg, size_t len, wd_out *out) {
  return answered(wd_out_append(out, arg, len));
}

static int job_fail(const void *arg, size_t len, wd_out *out) {
  wd_out_append(out, arg, len);
  return WD__JOB_FAILED;
}

static int job_sleep(const void *arg, size_t len, wd_out *out) {
  long long ms = arg_num(arg, len, 0);
  sleep_ms(ms);
  return answered(wd_out_printf(out, "slept %lld", ms));
}

static int job_spin(const void *arg, size_t len, wd_out *out) {
  long long ms = arg_num(arg, len, 0);
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  volatile unsigned long x = 0;
  do {
    for (int i = 0; i < 10000; i++)
      x += (unsigned long)i * 2654435761u;
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while ((t.tv_sec - t0.tv_sec) * 1000 +
               (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
  return answered(wd_out_printf(out, "spun %lld", ms));
}

/* The NULL write is the point: UBSan must not turn it into an exit. */
__attribute__((no_sanitize("undefined"))) static int job_crash(const void *arg, size_t len,
                                                             wd_out *out) {
  int sig = (int)arg_num(arg, len, SIGSEGV);
  (void)out;
  dprintf(STDERR_FILENO, "crash: about to die of signal %d\n", sig);
  if (sig == SIGSEGV)
    *(volatile int *)NULL = 1; /* a real fault, not a polite raise() */
  raise(sig);
  abort();
}

static int job_exit(const void *arg, size_t len, wd_out *out) {
  long long code = arg_num(arg, len, EXIT_FAILURE);
  (void)out;
  dprintf(STDERR_FILENO, "exit: leaving with code %lld\n", code);
  _exit((int)code);
}

static int job_alloc(const void *arg, size_t len, wd_out *out) {
  long long n = arg_num(arg, len, 0);
  if (n < 0)
    return job_failed(out, "alloc: negative size");
  char *p = malloc((size_t)n);
  if (p == NULL && n > 0)
    return job_failed(out, "alloc: cannot allocate %lld bytes", n);
  for (long long i = 0; i < n; i += 4096)
    p[i] = 1; /* touch every page: RSS, not just address space */
  free(p);
  return answered(wd_out_printf(out, "allocated %lld", n));
}

/* Tells the job its pid through fd, then sleeps until killed. */
static _Noreturn void report_and_wait(int fd) {
  pid_t me = getpid();
  if (write(fd, &me, sizeof(me)) < 0)
    _exit(EXIT_FAILURE);
  close(fd);
  for (;;)
    pause();
}

/* The spawned child, writing to fd: it waits itself ("child"), or leaves a
 * grandchild that calls setsid() and exits ("setsid"). */
static _Noreturn void spawned_child(const char *mode, int fd) {
  if (strcmp(mode, "setsid") != 0)
    report_and_wait(fd);
  /* Double fork: the grandchild leaves the group and loses its parent,
   * as a daemon does; only a subreaper can still find it. */
  pid_t g = fork();
  if (g == 0) {
    setsid();
    report_and_wait(fd);
  }
  _exit(g < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

static int job_spawn(const void *arg, size_t len, wd_out *out) {
  char s[64];
  if (len >= sizeof(s))
    return job_failed(out, "spawn: argument too long");
  memcpy(s, arg, len);
  s[len] = '\0';
  char mode[16] = "child";
  long long ms = 0;
  sscanf(s, "%15s %lld", mode, &ms);
  int pfd[2];
  if (pipe(pfd) != 0)
    return job_failed(out, "spawn: pipe: %s", strerror(errno));
  /* Plain fork(), as a user's job would: libuv's atfork handler runs in
   * the child, and zygote.c's reserved descriptors keep it harmless. */
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(pfd[0]);
    close(pfd[1]);
    return job_failed(out, "spawn: fork: %s", strerror(err));
  }
  if (pid == 0) {
    close(pfd[0]);
    spawned_child(mode, pfd[1]);
  }
  close(pfd[1]);
  pid_t got;
  while (read(pfd[0], &got, sizeof(got)) == (ssize_t)sizeof(got))
    dprintf(STDERR_FILENO, "pid %d\n", (int)got);
  close(pfd[0]);
  sleep_ms(ms);
  return answered(wd_out_printf(out, "spawned %s", mode));
}

int wd_register_builtins(void) {
  static const struct {
    const char *name;
    wd_job_fn fn;
  } b[] = {{"echo", job_echo},   {"fail", job_fail},   {"sleep", job_sleep},
           {"spin", job_spin},   {"crash", job_crash}, {"exit", job_exit},
           {"alloc", job_alloc}, {"spawn", job_spawn}};
  for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
    int err = wd_register(b[i].name, b[i].fn);
    if (err != 0 && err != UV_EEXIST)
      return err;
  }
  return wd__register_command_job();
}
