/* test_pool.c -- the pool's guarantees, each one a test that fails if the
 * guarantee breaks.  After every test the pool is destroyed and the loop
 * closed (teardown), then the shared fixture (helpers.h) asserts no
 * zombie, no child and no fd more than before the test started. */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>

#include "helpers.h"

static uv_loop_t loop;
static wd_pool *pool;

static int job_ignore_term(const void *arg, size_t len, wd_out *out) {
  (void)arg;
  (void)len;
  signal(SIGTERM, SIG_IGN);
  sleep(30);
  return wd_out_printf(out, "survived");
}

/* Fails its first run (the marker file does not exist yet), then works. */
static int job_flaky(const void *arg, size_t len, wd_out *out) {
  char path[256];
  snprintf(path, sizeof(path), "%.*s", (int)len, (const char *)arg);
  if (access(path, F_OK) != 0) {
    close(open(path, O_CREAT | O_WRONLY, 0600));
    _exit(9);
  }
  return wd_out_printf(out, "second time lucky");
}

static int job_noisy(const void *arg, size_t len, wd_out *out) {
  (void)arg;
  (void)len;
  for (int i = 0; i < 1000; i++)
    dprintf(2, "line %04d of noise............................................................................\n", i);
  dprintf(2, "THE END\n");
  return wd_out_printf(out, "done");
}

/* A barrier: appends a byte to the file named by arg, then waits (up to
 * 30 s) until it holds `want` bytes, i.e. that many tasks run at once. */
static int job_gather(const void *arg, size_t len, wd_out *out) {
  char a[300], path[256];
  unsigned want;
  snprintf(a, sizeof(a), "%.*s", (int)len, (const char *)arg);
  if (sscanf(a, "%u %255s", &want, path) != 2)
    return wd_out_printf(out, "bad argument");
  int fd = open(path, O_WRONLY | O_APPEND);
  if (fd < 0 || write(fd, "x", 1) != 1)
    return wd_out_printf(out, "cannot append");
  struct stat st;
  for (int i = 0; i < 3000 && fstat(fd, &st) == 0 && st.st_size < (off_t)want; i++)
    usleep(10000);
  close(fd);
  return 0;
}

static int cmp_pid(const void *a, const void *b) {
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
  return (x > y) - (x < y);
}

static void setup(void) {
  wd_register_builtins();
  wd_register("ignore_term", job_ignore_term);
  wd_register("flaky", job_flaky);
  wd_register("noisy", job_noisy);
  wd_register("gather", job_gather);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  pool = NULL;
}

/* The pool destroyed and the loop closed: nothing may be left on it. */
static void teardown(void) {
  if (pool)
    wd_pool_destroy(pool);
  pool = NULL;
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}

static void start(unsigned workers) {
  wd_pool_options o = {.workers = workers};
  ck_assert_int_eq(wd_pool_new(&loop, &o, &pool), 0);
}

static void start_with(wd_pool_options o) {
  ck_assert_int_eq(wd_pool_new(&loop, &o, &pool), 0);
}

static wd_future *submit(const char *job, const char *arg, uint64_t timeout) {
  wd_task_options o = {.timeout_ms = timeout};
  wd_future *f;
  ck_assert_int_eq(wd_submit(pool, job, arg, strlen(arg), &o, &f), 0);
  return f;
}

static const wd_result *run(wd_future **fp, const char *job, const char *arg,
                            uint64_t timeout) {
  *fp = submit(job, arg, timeout);
  ck_assert_int_eq(wd_await(*fp), 0);
  return wd_future_result(*fp);
}

static int has(const wd_result *r, const char *s) {
  return r->data && memmem(r->data, r->len, s, strlen(s)) != NULL;
}

START_TEST(echo_round_trip) {
  start(2);
  wd_future *f;
  const wd_result *r = run(&f, "echo", "hello", 0);
  ck_assert_int_eq(r->status, WD_OK);
  ck_assert_uint_eq(r->len, 5);
  ck_assert_int_eq(memcmp(r->data, "hello", 5), 0);
  ck_assert_int_gt(r->pid, 0);
  ck_assert_uint_eq(r->attempts, 1);
  ck_assert_int_eq(r->exit_code, -1);
  ck_assert_int_eq(r->signal, 0);
  wd_future_release(f);
}
END_TEST

START_TEST(big_payload_round_trip) {
  start(1);
  size_t n = 8u << 20;
  char *big = malloc(n);
  for (size_t i = 0; i < n; i++)
    big[i] = (char)(i * 131);
  wd_future *f;
  ck_assert_int_eq(wd_submit(pool, "echo", big, n, NULL, &f), 0);
  wd_await(f);
  const wd_result *r = wd_future_result(f);
  ck_assert_int_eq(r->status, WD_OK);
  ck_assert_uint_eq(r->len, n);
  ck_assert_int_eq(memcmp(r->data, big, n), 0);
  free(big);
  wd_future_release(f);
}
END_TEST

START_TEST(job_error_is_error) {
  start(1);
  wd_future *f;
  const wd_result *r = run(&f, "fail", "bad input", 0);
  ck_assert_int_eq(r->status, WD_ERROR);
  ck_assert(has(r, "bad input"));
  wd_future_release(f);
  wd_future *g;
  ck_assert_int_eq(wd_submit(pool, "no-such-job", "", 0, NULL, &g), UV_ENOENT);
}
END_TEST

/* The tree is dead before the future says timeout: no waiting here. */
static void timeout_kills_tree(const char *mode) {
  start(2);
  wd_future *f;
  char arg[64];
  snprintf(arg, sizeof(arg), "%s 20000", mode);
  const wd_result *r = run(&f, "spawn", arg, 200);
  ck_assert_int_eq(r->status, WD_TIMEOUT);
  ck_assert_int_eq(r->signal, SIGKILL);
  pid_t pids[4];
  int n = parse_pids(r->err_tail, r->err_len, pids, 4);
  ck_assert_int_eq(n, 1);
  ck_assert_msg(pid_gone(pids[0]), "descendant %d outlived the timeout", pids[0]);
  ck_assert_msg(pid_gone(r->pid), "worker %d outlived the timeout", r->pid);
  pid_t dead = r->pid;
  wd_future_release(f);
  /* The pool kept its size: two tasks run at once on two fresh-or-old
   * workers, neither of them the killed one. */
  wd_future *a = submit("sleep", "100", 0), *b = submit("sleep", "100", 0);
  wd_future *ab[2] = {a, b};
  wd_await_all(ab, 2);
  ck_assert_int_eq(wd_future_result(a)->status, WD_OK);
  ck_assert_int_eq(wd_future_result(b)->status, WD_OK);
  ck_assert_int_ne(wd_future_result(a)->pid, wd_future_result(b)->pid);
  ck_assert_int_ne(wd_future_result(a)->pid, dead);
  ck_assert_int_ne(wd_future_result(b)->pid, dead);
  wd_future_release(a);
  wd_future_release(b);
}

START_TEST(timeout_kills_group) { timeout_kills_tree("child"); }
END_TEST

START_TEST(timeout_kills_setsid_escapee) { timeout_kills_tree("setsid"); }
END_TEST

START_TEST(deadline_counts_from_start_not_submit) {
  start(1);
  wd_future *f[4];
  for (int i = 0; i < 4; i++)
    f[i] = submit("sleep", "150", 400); /* 600 ms queued in all */
  wd_await_all(f, 4);
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(wd_future_result(f[i])->status, WD_OK);
    wd_future_release(f[i]);
  }
}
END_TEST

START_TEST(crashes_cost_one_task) {
  start(2);
  struct {
    const char *job, *arg;
    wd_status st;
    int sig, code;
    const char *tail;
  } c[] = {{"crash", "11", WD_CRASHED, SIGSEGV, -1, "signal 11"},
           {"crash", "6", WD_CRASHED, SIGABRT, -1, "signal 6"},
           {"exit", "3", WD_EXITED, 0, 3, "code 3"}};
  for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
    wd_future *f, *ok;
    const wd_result *r = run(&f, c[i].job, c[i].arg, 0);
    ck_assert_int_eq(r->status, c[i].st);
    ck_assert_int_eq(r->signal, c[i].sig);
    ck_assert_int_eq(r->exit_code, c[i].code);
    ck_assert(memmem(r->err_tail, r->err_len, c[i].tail, strlen(c[i].tail)));
    ck_assert(pid_gone(r->pid));
    wd_future_release(f);
    r = run(&ok, "echo", "still here", 0);
    ck_assert_int_eq(r->status, WD_OK);
    wd_future_release(ok);
  }
}
END_TEST

START_TEST(worker_killed_from_outside) {
  start(1);
  wd_future *f = submit("sleep", "10000", 0);
  run_until_started(&loop, &f, 1); /* the worker runs it: shoot it */
  pid_t pids[8];
  size_t n = wd_pool_pids(pool, pids, 8);
  ck_assert_uint_eq(n, 1);
  kill(pids[0], SIGKILL);
  wd_await(f);
  const wd_result *r = wd_future_result(f);
  ck_assert_int_eq(r->status, WD_CRASHED);
  ck_assert_int_eq(r->signal, SIGKILL);
  wd_future_release(f);
  wd_future *g;
  r = run(&g, "echo", "x", 0);
  ck_assert_int_eq(r->status, WD_OK);
  wd_future_release(g);
}
END_TEST

START_TEST(other_tasks_unaffected) {
  start(2);
  wd_future *slow = submit("sleep", "5000", 150);
  wd_future *f[50];
  for (int i = 0; i < 50; i++)
    f[i] = submit("echo", "fine", 0);
  wd_await_all(f, 50);
  wd_await(slow);
  ck_assert_int_eq(wd_future_result(slow)->status, WD_TIMEOUT);
  for (int i = 0; i < 50; i++) {
    ck_assert_int_eq(wd_future_result(f[i])->status, WD_OK);
    wd_future_release(f[i]);
  }
  wd_future_release(slow);
}
END_TEST

START_TEST(grace_term_then_kill) {
  wd_pool_options o = {.workers = 1, .grace_ms = 300};
  start_with(o);
  wd_future *f;
  const wd_result *r = run(&f, "sleep", "10000", 100);
  ck_assert_int_eq(r->status, WD_TIMEOUT);
  ck_assert_int_eq(r->signal, SIGTERM); /* it obeyed the polite signal */
  wd_future_release(f);
  r = run(&f, "ignore_term", "", 100);
  ck_assert_int_eq(r->status, WD_TIMEOUT);
  ck_assert_int_eq(r->signal, SIGKILL); /* it did not: killed after grace */
  ck_assert_uint_ge(r->duration_ns, 390 * 1000000ull);
  wd_future_release(f);
}
END_TEST

START_TEST(max_tasks_recycles) {
  wd_pool_options o = {.workers = 1, .max_tasks = 3};
  start_with(o);
  pid_t pid[7];
  for (int i = 0; i < 7; i++) {
    wd_future *f;
    const wd_result *r = run(&f, "echo", "x", 0);
    ck_assert_int_eq(r->status, WD_OK);
    pid[i] = r->pid;
    wd_future_release(f);
  }
  ck_assert_int_eq(pid[0], pid[2]);
  ck_assert_int_ne(pid[2], pid[3]);
  ck_assert_int_eq(pid[3], pid[5]);
  ck_assert_int_ne(pid[5], pid[6]);
}
END_TEST

START_TEST(memory_limit) {
  if (WD_ASAN)
    return;
  wd_pool_options o = {.workers = 1, .memory_limit = 256u << 20};
  start_with(o);
  wd_future *f;
  const wd_result *r = run(&f, "alloc", "1073741824", 0);
  ck_assert_int_eq(r->status, WD_ERROR);
  ck_assert(has(r, "cannot allocate"));
  wd_future_release(f);
  r = run(&f, "alloc", "16777216", 0);
  ck_assert_int_eq(r->status, WD_OK);
  wd_future_release(f);
}
END_TEST

START_TEST(cpu_limit_per_task) {
  wd_pool_options o = {.workers = 1, .cpu_limit_s = 1};
  start_with(o);
  wd_future *f;
  /* Two tasks of 0.6 s each fit a 1 s per-task budget... */
  const wd_result *r = run(&f, "spin", "600", 0);
  ck_assert_int_eq(r->status, WD_OK);
  pid_t first = r->pid;
  wd_future_release(f);
  r = run(&f, "spin", "600", 0);
  ck_assert_int_eq(r->status, WD_OK);
  ck_assert_int_eq(r->pid, first);
  wd_future_release(f);
  /* ...one that would spin for 30 s of wall time does not: it dies once
   * its CPU budget is spent (~2 s of CPU here), however busy the machine
   * (a 5 s spin could get less CPU than the budget on a loaded one). */
  r = run(&f, "spin", "30000", 0);
  ck_assert_int_eq(r->status, WD_CRASHED);
  ck_assert_int_eq(r->signal, SIGXCPU);
  wd_future_release(f);
}
END_TEST

START_TEST(stderr_tail_is_bounded) {
  wd_pool_options o = {.workers = 1, .stderr_tail = 1024};
  start_with(o);
  wd_future *f;
  const wd_result *r = run(&f, "noisy", "", 0);
  ck_assert_int_eq(r->status, WD_OK);
  ck_assert_uint_eq(r->err_len, 1024);
  ck_assert_int_eq(memcmp(r->err_tail + 1024 - 8, "THE END\n", 8), 0);
  wd_future_release(f);
  r = run(&f, "echo", "quiet", 0); /* the next task starts with none */
  ck_assert_uint_eq(r->err_len, 0);
  wd_future_release(f);
}
END_TEST

START_TEST(cancel_queued_and_running) {
  start(1);
  wd_future *running = submit("sleep", "10000", 0);
  wd_future *queued = submit("echo", "never", 0);
  ck_assert_int_eq(wd_future_cancel(queued), 0);
  ck_assert_int_eq(wd_future_result(queued)->status, WD_CANCELLED);
  ck_assert_int_eq(wd_future_result(queued)->attempts, 0);
  /* Let the sleep start, then cancel it: its worker must die. */
  run_until_started(&loop, &running, 1);
  uint64_t t0 = uv_hrtime();
  ck_assert_int_eq(wd_future_cancel(running), 0);
  wd_await(running);
  const wd_result *r = wd_future_result(running);
  ck_assert_int_eq(r->status, WD_CANCELLED);
  ck_assert_int_eq(r->signal, SIGKILL);
  ck_assert(pid_gone(r->pid));
  ck_assert_uint_lt(uv_hrtime() - t0, 5000000000ull);
  ck_assert_int_eq(wd_future_cancel(running), UV_EALREADY);
  wd_future_release(running);
  wd_future_release(queued);
  wd_future *f;
  r = run(&f, "echo", "after", 0);
  ck_assert_int_eq(r->status, WD_OK);
  wd_future_release(f);
}
END_TEST

START_TEST(shutdown_graceful_finishes_queue) {
  start(2);
  wd_future *f[6];
  for (int i = 0; i < 6; i++)
    f[i] = submit("sleep", "50", 0);
  ck_assert_int_eq(wd_pool_shutdown(pool, WD_GRACEFUL), 0);
  wd_future *g;
  ck_assert_int_eq(wd_submit(pool, "echo", "", 0, NULL, &g), UV_ECANCELED);
  wd_await_all(f, 6);
  for (int i = 0; i < 6; i++) {
    ck_assert_int_eq(wd_future_result(f[i])->status, WD_OK);
    wd_future_release(f[i]);
  }
  uv_run(&loop, UV_RUN_DEFAULT); /* returns: the idle pool holds nothing */
}
END_TEST

/* An idle worker leaves as soon as a graceful shutdown has nothing more
 * to give it, while another task still runs. */
START_TEST(shutdown_graceful_retires_idle_workers) {
  start(2);
  wd_future *slow = submit("sleep", "3000", 0);
  wd_future *quick = submit("sleep", "1", 0);
  ck_assert_int_eq(wd_pool_shutdown(pool, WD_GRACEFUL), 0);
  ck_assert_int_eq(wd_await(quick), 0);
  ck_assert_int_eq(wd_future_result(quick)->status, WD_OK);
  pid_t idle = wd_future_result(quick)->pid;
  ck_assert(pid_dead_within(idle, 2000));
  ck_assert(!wd_future_done(slow));
  ck_assert_int_eq(wd_await(slow), 0);
  ck_assert_int_eq(wd_future_result(slow)->status, WD_OK);
  wd_future_release(slow);
  wd_future_release(quick);
}
END_TEST

/* A pool of hundreds of workers asks the zygote for all of them at once;
 * the control socket holds ten messages: none may be lost.  Each task waits
 * for all the others to have started, so every worker must be up at once. */
START_TEST(hundreds_of_workers_all_come_up) {
  enum { N = 300 };
  char path[] = "/tmp/wd-gather-XXXXXX", arg[64];
  close(mkstemp(path));
  snprintf(arg, sizeof(arg), "%d %s", N, path);
  start(N);
  wd_future *f[N];
  for (int i = 0; i < N; i++)
    f[i] = submit("gather", arg, 0);
  wd_await_all(f, N);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  unlink(path);
  ck_assert_int_eq(st.st_size, N); /* each task ran once, all at once */
  pid_t pids[N];
  for (int i = 0; i < N; i++) {
    ck_assert_int_eq(wd_future_result(f[i])->status, WD_OK);
    pids[i] = wd_future_result(f[i])->pid;
    wd_future_release(f[i]);
  }
  pid_t live[N + 1];
  ck_assert_uint_eq(wd_pool_pids(pool, live, N + 1), N);
  qsort(pids, N, sizeof(pid_t), cmp_pid);
  for (int i = 1; i < N; i++) /* all at once: one task per worker */
    ck_assert_int_ne(pids[i - 1], pids[i]);
}
END_TEST

START_TEST(shutdown_immediate_cancels_all) {
  start(2);
  wd_future *f[6];
  for (int i = 0; i < 6; i++)
    f[i] = submit("sleep", "10000", 0);
  run_until_started(&loop, f, 2);
  ck_assert_int_eq(wd_pool_shutdown(pool, WD_IMMEDIATE), 0);
  wd_await_all(f, 6);
  for (int i = 0; i < 6; i++) {
    ck_assert_int_eq(wd_future_result(f[i])->status, WD_CANCELLED);
    wd_future_release(f[i]);
  }
}
END_TEST

START_TEST(destroy_with_tasks_running) {
  start(2);
  wd_future *f[4];
  for (int i = 0; i < 4; i++)
    f[i] = submit("spawn", "setsid 20000", 0);
  run_until_started(&loop, f, 2);
  pid_t below[64];
  /* The spawn jobs fork; nothing signals when they have: look until they
   * are there (up to 10 s) -- zygote, 2 workers, their setsid children. */
  int n = 0;
  for (int i = 0; i < 1000 && (n = descendants(getpid(), below, 64)) < 5; i++)
    usleep(10000);
  ck_assert_int_ge(n, 5);
  wd_pool_destroy(pool);
  pool = NULL;
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(wd_future_result(f[i])->status, WD_CANCELLED);
    wd_future_release(f[i]);
  }
  for (int i = 0; i < n; i++)
    ck_assert_msg(pid_gone(below[i]), "pid %d outlived the pool", below[i]);
}
END_TEST

/* Tests that orphan processes on purpose take them back (as a subreaper)
 * and reap exactly those, instead of leaving zombies to init. */
static void reap_these(const pid_t *pids, int n) {
  for (int i = 0; i < n; i++)
    waitpid(pids[i], NULL, 0); /* ECHILD for those the zygote reaped */
}

START_TEST(supervisor_sigkill_kills_workers) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int pfd[2];
  ck_assert_int_eq(pipe(pfd), 0);
  pid_t sup = fork();
  if (sup == 0) {
    uv_loop_t l;
    wd_pool *p;
    uv_loop_init(&l);
    wd_pool_options o = {.workers = 2};
    wd_pool_new(&l, &o, &p);
    wd_future *f[2];
    wd_submit(p, "spawn", "setsid 60000", 12, NULL, &f[0]);
    wd_submit(p, "spawn", "child 60000", 11, NULL, &f[1]);
    run_until_started(&l, f, 2);
    if (write(pfd[1], "r", 1) != 1)
      _exit(1);
    uv_run(&l, UV_RUN_DEFAULT);
    _exit(0);
  }
  close(pfd[1]);
  char c;
  ck_assert_int_eq(read(pfd[0], &c, 1), 1);
  close(pfd[0]);
  pid_t below[64];
  /* zygote, 2 workers, a child, a setsid grandchild: the jobs fork the last
   * two after they start, so look until they are there (up to 10 s). */
  int n = 0;
  for (int i = 0; i < 1000 && (n = descendants(sup, below, 64)) < 5; i++)
    usleep(10000);
  ck_assert_int_ge(n, 5);
  kill(sup, SIGKILL);
  waitpid(sup, NULL, 0);
  for (int i = 0; i < n; i++)
    ck_assert_msg(pid_dead_within(below[i], 1000),
                  "pid %d alive a second after the supervisor died", below[i]);
  reap_these(below, n);
}
END_TEST

START_TEST(zygote_killed_pool_recovers) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  start(2);
  /* Both workers busy, so the zygote is not forking one as we look: a
   * worker forked after the snapshot would be orphaned to us unseen (a
   * flaky leftover zombie, seen once in CI). */
  wd_future *fs[2] = {submit("sleep", "10000", 0), submit("sleep", "10000", 0)};
  run_until_started(&loop, fs, 2);
  pid_t below[16];
  int n = descendants(getpid(), below, 16);
  /* The zygote is the workers' parent (the pool's other child is the
   * spare that replaces it). */
  pid_t w[2];
  ck_assert_uint_eq(wd_pool_pids(pool, w, 2), 2);
  pid_t zygote = ppid_of(w[0]);
  ck_assert_int_gt(zygote, 1);
  ck_assert_int_eq(ppid_of(zygote), getpid());
  pid_t spare = 0;
  for (int i = 0; i < n; i++)
    if (below[i] != zygote && ppid_of(below[i]) == getpid())
      spare = below[i];
  ck_assert_int_gt(spare, 1);
  kill(zygote, SIGKILL);
  wd_await_all(fs, 2);
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(wd_future_result(fs[i])->status, WD_CRASHED);
    wd_future_release(fs[i]);
  }
  wd_future *f;
  const wd_result *r = run(&f, "echo", "again", 0);
  ck_assert_int_eq(r->status, WD_OK);
  wd_future_release(f);
  for (int i = 0; i < n; i++) {
    if (below[i] == spare)
      continue; /* now the pool's zygote */
    ck_assert(pid_dead_within(below[i], 1000));
    if (below[i] != zygote) /* the pool reaped its zygote itself */
      waitpid(below[i], NULL, WNOHANG);
  }
}
END_TEST

START_TEST(retries) {
  start(1);
  wd_task_options o = {.retries = 2};
  wd_future *f;
  ck_assert_int_eq(wd_submit(pool, "exit", "3", 1, &o, &f), 0);
  wd_await(f);
  ck_assert_int_eq(wd_future_result(f)->status, WD_EXITED);
  ck_assert_uint_eq(wd_future_result(f)->attempts, 3);
  wd_future_release(f);
  char path[] = "/tmp/wd-flaky-XXXXXX";
  close(mkstemp(path));
  unlink(path);
  ck_assert_int_eq(wd_submit(pool, "flaky", path, strlen(path), &o, &f), 0);
  wd_await(f);
  ck_assert_int_eq(wd_future_result(f)->status, WD_OK);
  ck_assert_uint_eq(wd_future_result(f)->attempts, 2);
  unlink(path);
  wd_future_release(f);
}
END_TEST

static int resolved[10000];
static void count(wd_future *f, void *data) {
  (void)f;
  resolved[(intptr_t)data]++;
}

START_TEST(ten_thousand_mixed) {
  start(2);
  enum { N = 10000 };
  static wd_future *f[N];
  wd_status want[N];
  for (int i = 0; i < N; i++) {
    const char *job = "echo", *arg = "ok";
    uint64_t tmo = 0;
    want[i] = WD_OK;
    if (i % 500 == 7) {
      job = "sleep", arg = "10000", tmo = 50, want[i] = WD_TIMEOUT;
    } else if (i % 250 == 3) {
      job = "crash", arg = "11", want[i] = WD_CRASHED;
    } else if (i % 3 == 1) {
      job = "fail", arg = "no", want[i] = WD_ERROR;
    }
    f[i] = submit(job, arg, tmo);
    wd_future_on_done(f[i], count, (void *)(intptr_t)i);
  }
  wd_await_all(f, N);
  uv_run(&loop, UV_RUN_NOWAIT);
  for (int i = 0; i < N; i++) {
    ck_assert_int_eq(resolved[i], 1);
    ck_assert_msg(wd_future_result(f[i])->status == want[i], "task %d: %s", i,
                  wd_status_name(wd_future_result(f[i])->status));
    wd_future_release(f[i]);
  }
}
END_TEST

START_TEST(idle_pool_does_not_pin_the_loop) {
  start(2);
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("pool");
  TCase *tc = wd_test_case(s, "submit", 60, setup, teardown);
  tcase_add_test(tc, echo_round_trip);
  tcase_add_test(tc, big_payload_round_trip);
  tcase_add_test(tc, job_error_is_error);
  tcase_add_test(tc, stderr_tail_is_bounded);
  tcase_add_test(tc, retries);
  tcase_add_test(tc, ten_thousand_mixed);
  tcase_add_test(tc, idle_pool_does_not_pin_the_loop);
  tc = wd_test_case(s, "timeouts", 60, setup, teardown);
  tcase_add_test(tc, timeout_kills_group);
  tcase_add_test(tc, timeout_kills_setsid_escapee);
  tcase_add_test(tc, deadline_counts_from_start_not_submit);
  tcase_add_test(tc, other_tasks_unaffected);
  tcase_add_test(tc, grace_term_then_kill);
  tc = wd_test_case(s, "crashes", 60, setup, teardown);
  tcase_add_test(tc, crashes_cost_one_task);
  tcase_add_test(tc, worker_killed_from_outside);
  tcase_add_test(tc, zygote_killed_pool_recovers);
  tcase_add_test(tc, supervisor_sigkill_kills_workers);
  tc = wd_test_case(s, "workers", 60, setup, teardown);
  tcase_add_test(tc, max_tasks_recycles);
  tcase_add_test(tc, hundreds_of_workers_all_come_up);
  tc = wd_test_case(s, "limits", 60, setup, teardown);
  tcase_add_test(tc, memory_limit);
  tcase_add_test(tc, cpu_limit_per_task);
  tc = wd_test_case(s, "cancel", 60, setup, teardown);
  tcase_add_test(tc, cancel_queued_and_running);
  tc = wd_test_case(s, "shutdown", 60, setup, teardown);
  tcase_add_test(tc, shutdown_graceful_finishes_queue);
  tcase_add_test(tc, shutdown_graceful_retires_idle_workers);
  tcase_add_test(tc, shutdown_immediate_cancels_all);
  tcase_add_test(tc, destroy_with_tasks_running);
  return run_suite(s);
}
