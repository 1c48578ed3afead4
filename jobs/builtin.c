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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../worker/job.h"

/* Jobs write stderr with dprintf(2, ...): unbuffered whatever the host
 * program did to stdio's stderr, so nothing is lost when the job dies. */

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
  return wd_out_append(out, arg, len);
}

static int job_fail(const void *arg, size_t len, wd_out *out) {
  wd_out_append(out, arg, len);
  return 1;
}

static int job_sleep(const void *arg, size_t len, wd_out *out) {
  long long ms = arg_num(arg, len, 0);
  sleep_ms(ms);
  return wd_out_printf(out, "slept %lld", ms);
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
  return wd_out_printf(out, "spun %lld", ms);
}

/* The NULL write is the point: UBSan must not turn it into an exit. */
__attribute__((no_sanitize("undefined"))) static int job_crash(const void *arg, size_t len,
                                                             wd_out *out) {
  int sig = (int)arg_num(arg, len, SIGSEGV);
  (void)out;
  dprintf(2, "crash: about to die of signal %d\n", sig);
  if (sig == SIGSEGV)
    *(volatile int *)NULL = 1; /* a real fault, not a polite raise() */
  raise(sig);
  abort();
}

static int job_exit(const void *arg, size_t len, wd_out *out) {
  (void)out;
  dprintf(2, "exit: leaving with code %lld\n", arg_num(arg, len, 1));
  _exit((int)arg_num(arg, len, 1));
}

static int job_alloc(const void *arg, size_t len, wd_out *out) {
  long long n = arg_num(arg, len, 0);
  if (n < 0)
    return wd_out_printf(out, "alloc: negative size"), 1;
  char *p = malloc((size_t)n);
  if (p == NULL && n > 0) {
    wd_out_printf(out, "alloc: cannot allocate %lld bytes", n);
    return 1;
  }
  for (long long i = 0; i < n; i += 4096)
    p[i] = 1; /* touch every page: RSS, not just address space */
  free(p);
  return wd_out_printf(out, "allocated %lld", n);
}

static int job_spawn(const void *arg, size_t len, wd_out *out) {
  char s[64];
  if (len >= sizeof(s))
    return wd_out_printf(out, "spawn: argument too long"), 1;
  memcpy(s, arg, len);
  s[len] = '\0';
  char mode[16] = "child";
  long long ms = 0;
  sscanf(s, "%15s %lld", mode, &ms);
  int pfd[2];
  if (pipe(pfd) != 0)
    return wd_out_printf(out, "spawn: pipe: %s", strerror(errno)), 1;
  /* Plain fork(), as a user's job would: libuv's atfork handler runs in
   * the child, and zygote.c's reserved descriptors keep it harmless. */
  pid_t pid = fork();
  if (pid < 0)
    return wd_out_printf(out, "spawn: fork: %s", strerror(errno)), 1;
  if (pid == 0) {
    close(pfd[0]);
    if (strcmp(mode, "setsid") == 0) {
      /* Double fork: the grandchild leaves the group and loses its parent,
       * as a daemon does; only a subreaper can still find it. */
      pid_t g = fork();
      if (g == 0) {
        setsid();
        pid_t me = getpid();
        if (write(pfd[1], &me, sizeof(me)) < 0)
          _exit(1);
        close(pfd[1]);
        for (;;)
          pause();
      }
      _exit(g < 0);
    }
    pid_t me = getpid();
    if (write(pfd[1], &me, sizeof(me)) < 0)
      _exit(1);
    close(pfd[1]);
    for (;;)
      pause();
  }
  close(pfd[1]);
  pid_t got;
  while (read(pfd[0], &got, sizeof(got)) == (ssize_t)sizeof(got))
    dprintf(2, "pid %d\n", (int)got);
  close(pfd[0]);
  sleep_ms(ms);
  return wd_out_printf(out, "spawned %s", mode);
}

int wd_register_command_job(void);

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
  return wd_register_command_job();
}
