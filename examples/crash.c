/* crash.c -- "Exceptions handled gracefully": one task crashes, the others
 * complete, and the failure is reported with its signal and its stderr.
 *
 * In a thread pool a segfault takes the whole program down; in Python's
 * ProcessPoolExecutor a dead worker breaks the pool (BrokenProcessPool)
 * and every pending future fails with it.  Here each task runs in a worker
 * process: a task that dies costs exactly itself -- its future resolves
 * WD_CRASHED with the signal and the last lines the task wrote to stderr,
 * a new worker takes the dead one's place, and the batch completes.  A
 * task that fails the ordinary way (returns non-zero: the C spelling of
 * raising an exception) resolves WD_ERROR with its message.
 *
 *   build/examples/crash
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "warden.h"

struct record {
  int id;
  const char *text;
};

/* The job: "parses" a record.  A record it cannot parse is an error; one
 * record hits a bug -- a NULL pointer -- and the worker dies of SIGSEGV. */
static int parse_job(const void *arg, size_t len, wd_out *out) {
  char text[64] = {0};
  memcpy(text, arg, len < sizeof(text) - 1 ? len : sizeof(text) - 1);
  dprintf(2, "parsing '%s'\n", text);
  if (strcmp(text, "") == 0)
    return wd_out_printf(out, "empty record"), 1;
  if (strcmp(text, "null") == 0) {
    dprintf(2, "following the null pointer...\n");
    volatile int *p = NULL;
    *p = 42; /* the bug */
  }
  return wd_out_printf(out, "%zu characters", strlen(text));
}

static void print_indented(const char *s, size_t n) {
  while (n > 0) {
    const char *nl = memchr(s, '\n', n);
    size_t line = nl ? (size_t)(nl - s) + 1 : n;
    printf("    | %.*s%s", (int)line, s, nl ? "" : "\n");
    s += line;
    n -= line;
  }
}

int main(void) {
  const struct record recs[] = {{1, "alpha"}, {2, "bravo"}, {3, "null"},
                                {4, "delta"}, {5, ""},      {6, "foxtrot"}};
  enum { N = sizeof(recs) / sizeof(recs[0]) };
  wd_register("parse", parse_job);
  wd_pool_options o = {.workers = 2};
  wd_pool *pool;
  int err = wd_pool_new(uv_default_loop(), &o, &pool);
  if (err) {
    fprintf(stderr, "crash: %s\n", wd_strerror(err));
    return 1;
  }
  wd_future *f[N];
  for (int i = 0; i < N; i++)
    wd_submit(pool, "parse", recs[i].text, strlen(recs[i].text), NULL, &f[i]);
  wd_await_all(f, N);

  int ok = 0, crashed = 0, failed = 0;
  for (int i = 0; i < N; i++) {
    const wd_result *r = wd_future_result(f[i]);
    printf("record %d  %-8s ", recs[i].id, wd_status_name(r->status));
    switch (r->status) {
    case WD_OK:
      printf("%.*s\n", (int)r->len, (const char *)r->data);
      ok++;
      break;
    case WD_CRASHED:
      printf("killed by SIG%s (%s); its stderr:\n", sigabbrev_np(r->signal),
             strsignal(r->signal));
      print_indented(r->err_tail, r->err_len);
      crashed++;
      break;
    default:
      printf("%.*s\n", (int)r->len, (const char *)r->data);
      failed++;
    }
    wd_future_release(f[i]);
  }
  wd_pool_destroy(pool);
  printf("%d ok, %d failed, %d crashed: the batch completed\n", ok, failed,
         crashed);
  return ok == 4 && failed == 1 && crashed == 1 ? 0 : 1;
}
