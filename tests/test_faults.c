/* test_faults.c -- out of memory in the supervisor: the N-th allocation
 * fails, for every N the scenario reaches.
 *
 * The Makefile links this test with -Wl,--wrap=malloc,--wrap=calloc,
 * --wrap=realloc, so every call the library (libwarden.a, linked
 * statically) makes to them lands in the wrappers below.  libuv and libc
 * are shared libraries and keep the real allocator.  Injection happens only
 * in the process that armed it: the zygote and the workers run the same
 * code but have another pid, so they never see a failure.
 *
 * The scenario submits small and large payloads, a job that fails, a map,
 * a chain (wd_future_then) and a waitset over them all.  For each N it
 * asserts: no crash, no hang (a deadline on the loop, not a sleep), every
 * future resolved exactly once, a WD_OK result carries its whole payload,
 * anything else is the job's own error or the library saying "out of
 * memory" (WD_ERROR, exit_code UV_ENOMEM) -- or a call that returned
 * UV_ENOMEM -- and after the pool is gone no child, zombie or fd is left
 * (the shared fixture, helpers.h).
 * A loop spinning inside one callback never reaches the loop's deadline:
 * Check's per-test timeout ends it.  A second test keeps every large
 * allocation failing for the whole run, as memory that stays short would.
 * Under ASan, LeakSanitizer also checks that nothing leaked on the way (the
 * wrappers call ASan's own malloc through __real_malloc). */
#include "helpers.h"

/* ---- the allocator's fault injection -------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);

static pid_t armed_pid;      /* injection only in this process */
static unsigned long nallocs; /* allocations since arm() */
static unsigned long fail_at; /* the allocation that fails; 0 = none */
static size_t fail_from;      /* every allocation this big fails; 0 = none */
static int fired;             /* a failure was injected */
static uintptr_t fired_at;    /* where from: an offset into the executable */
extern char __executable_start; /* the linker's: where our image begins */

static int inject(size_t size, void *caller) {
  if (armed_pid == 0 || getpid() != armed_pid)
    return 0;
  if (++nallocs != fail_at && (fail_from == 0 || size < fail_from))
    return 0;
  if (!fired) /* for the failure messages: addr2line -e test_faults 0x... */
    fired_at = (uintptr_t)((char *)caller - &__executable_start);
  fired = 1;
  return 1;
}

void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n) {
  return inject(n, __builtin_return_address(0)) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n);
void *__wrap_calloc(size_t k, size_t n) {
  size_t size = n && k > SIZE_MAX / n ? SIZE_MAX : k * n;
  return inject(size, __builtin_return_address(0)) ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n) {
  return inject(n, __builtin_return_address(0)) ? NULL : __real_realloc(p, n);
}

/* Allocation n fails (the first is 1), and so does every one of at least
 * `big` bytes (0: none). */
static void arm(unsigned long n, size_t big) {
  nallocs = 0;
  fail_at = n;
  fail_from = big;
  fired = 0;
  fired_at = 0;
  armed_pid = getpid();
}

static void disarm(void) { armed_pid = 0; }

/* ---- the pool, and a loop with a deadline ---------------------------------- */

static uv_loop_t loop;
static wd_pool *pool;

static int job_upper(const void *arg, size_t len, wd_out *out) {
  char *p = wd_out_reserve(out, len);
  if (p == NULL)
    return 1;
  for (size_t i = 0; i < len; i++) {
    char c = ((const char *)arg)[i];
    p[i] = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
  }
  return 0;
}

static void setup(void) {
  wd_register_builtins();
  wd_register("upper", job_upper);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  wd_pool_options o = {.workers = 2};
  ck_assert_int_eq(wd_pool_new(&loop, &o, &pool), 0);
}

typedef int (*pred_fn)(void);

static void tick(uv_timer_t *h) { (void)h; }

/* Runs the loop until pred() holds or ms pass; returns pred().  A repeating
 * timer wakes the loop, so a pool that never answers cannot block it. */
static int run_until(pred_fn pred, uint64_t ms) {
  uv_timer_t t;
  /* No ck_assert here: Check allocates for every assertion, and this runs
   * while injection is armed. */
  if (uv_timer_init(&loop, &t) != 0 || uv_timer_start(&t, tick, 10, 10) != 0)
    abort();
  uint64_t end = uv_hrtime() + ms * 1000000;
  while (!pred() && uv_hrtime() < end)
    uv_run(&loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  return pred();
}

static int workers_up(void) {
  pid_t pids[2];
  return wd_pool_pids(pool, pids, 2) == 2;
}

/* ---- the scenario ---------------------------------------------------------- */

enum { NSUB = 3, NMAP = 12, NFUT = NSUB + 2 /* the map, the chain */ };

static const char small_arg[] = "hello, warden";
static char big_arg[200000];
static const char fail_arg[] = "bad input";
static char map_text[NMAP][24];
static wd_buf map_in[NMAP];

typedef struct {
  wd_future *f;
  int submit_err; /* what wd_submit / wd_map / wd_future_then returned */
  int resolved;   /* times the first callback ran */
  int in_waitset;
} watched;

static watched fut[NFUT]; /* 0 small echo, 1 big echo, 2 fail, 3 map, 4 chain */
static int chain_submit_err;
static int waitset_err[NFUT];

static void count_done(wd_future *f, void *data) {
  (void)f;
  ((watched *)data)->resolved++;
}

/* The chain's second step: upper-cases the first step's output. */
static wd_future *then_upper(wd_future *prev, void *data) {
  (void)data;
  const wd_result *r = wd_future_result(prev);
  if (r->status != WD_OK)
    return NULL;
  wd_future *g;
  chain_submit_err = wd_submit(pool, "upper", r->data, r->len, NULL, &g);
  return chain_submit_err ? NULL : g;
}

static int all_resolved(void) {
  for (int i = 0; i < NFUT; i++)
    if (fut[i].f && !wd_future_done(fut[i].f))
      return 0;
  return 1;
}

static int is_oom(const wd_result *r) {
  return r->status == WD_ERROR && r->exit_code == UV_ENOMEM &&
         r->len == strlen("out of memory") &&
         memcmp(r->data, "out of memory", r->len) == 0;
}

static int oom_seen; /* results that said "out of memory" */
static char where[160]; /* which allocation failed, for the messages */

/* A single result: the wanted payload, or out of memory. */
static void check_result(const char *what, const wd_result *r,
                         wd_status want_st, const void *want, size_t len) {
  if (r->status == want_st && r->len == len && r->data != NULL &&
      memcmp(r->data, want, len) == 0)
    return;
  ck_assert_msg(is_oom(r),
                "%s: status %s, %zu bytes (%.*s): neither its result nor "
                "\"out of memory\" (%s)",
                what, wd_status_name(r->status), r->len,
                (int)(r->len < 40 ? r->len : 40),
                r->data ? (const char *)r->data : "", where);
  oom_seen++;
}

/* Counts a future's resolutions with its first callback, which takes no
 * allocation and so cannot fail. */
static void watch(int i) {
  if (fut[i].submit_err)
    fut[i].f = NULL;
  if (fut[i].f && wd_future_on_done(fut[i].f, count_done, &fut[i]) != 0)
    fut[i].resolved += 100;
}

/* The whole scenario, with allocation n failing and every one of `big`
 * bytes or more (see arm()); 0 and 0 is a clean run. */
static void scenario(unsigned long n, size_t big) {
  memset(fut, 0, sizeof(fut));
  memset(waitset_err, 0, sizeof(waitset_err));
  chain_submit_err = 0;
  oom_seen = 0;
  for (size_t i = 0; i < sizeof(big_arg); i++)
    big_arg[i] = (char)('a' + i % 26);
  for (int i = 0; i < NMAP; i++) {
    snprintf(map_text[i], sizeof(map_text[i]), "item-%d", i);
    map_in[i] = (wd_buf){map_text[i], strlen(map_text[i])};
  }
  ck_assert(run_until(workers_up, 10000));
  wd_waitset *ws = NULL;

  arm(n, big); /* from here to disarm(): no ck_assert, no allocation of ours */
  int ws_err = wd_waitset_new(&ws);
  fut[0].submit_err = wd_submit(pool, "echo", small_arg, strlen(small_arg),
                                NULL, &fut[0].f);
  watch(0);
  fut[1].submit_err = wd_submit(pool, "echo", big_arg, sizeof(big_arg), NULL,
                                &fut[1].f);
  watch(1);
  fut[2].submit_err = wd_submit(pool, "fail", fail_arg, strlen(fail_arg), NULL,
                                &fut[2].f);
  watch(2);
  fut[3].submit_err = wd_map(pool, "echo", map_in, NMAP, 3, NULL, &fut[3].f);
  watch(3);
  if (fut[0].f) {
    fut[4].f = wd_future_then(fut[0].f, then_upper, NULL);
    fut[4].submit_err = fut[4].f ? 0 : UV_ENOMEM; /* NULL means ENOMEM */
    watch(4);
  }
  for (int i = 0; i < NFUT; i++)
    if (fut[i].f && ws_err == 0) {
      waitset_err[i] = wd_waitset_add(ws, fut[i].f);
      fut[i].in_waitset = waitset_err[i] == 0;
    }
  int finished = run_until(all_resolved, 10000);
  disarm();

  snprintf(where, sizeof(where), "allocation %lu of %lu failed, called from 0x%lx",
           n, nallocs, (unsigned long)fired_at);
  if (big)
    snprintf(where, sizeof(where), "allocations of %zu bytes failed, the first "
             "called from 0x%lx", big, (unsigned long)fired_at);
  ck_assert_msg(finished, "a future never resolved (%s)", where);
  if (big == 0)
    ck_assert_int_eq(fired, n > 0 && n <= nallocs);
  ck_assert(ws_err == 0 || (ws_err == UV_ENOMEM && fired));
  for (int i = 0; i < NFUT; i++) {
    ck_assert_msg(fut[i].submit_err == 0 ||
                      (fut[i].submit_err == UV_ENOMEM && fired),
                  "future %d: submit returned %s", i,
                  wd_strerror(fut[i].submit_err));
    ck_assert(waitset_err[i] == 0 || (waitset_err[i] == UV_ENOMEM && fired));
    if (fut[i].f == NULL)
      continue;
    ck_assert_msg(fut[i].resolved == 1, "future %d resolved %d times", i,
                  fut[i].resolved);
  }
  if (fut[0].f)
    check_result("small echo", wd_future_result(fut[0].f), WD_OK, small_arg,
                 strlen(small_arg));
  if (fut[1].f)
    check_result("big echo", wd_future_result(fut[1].f), WD_OK, big_arg,
                 sizeof(big_arg));
  if (fut[2].f)
    check_result("fail", wd_future_result(fut[2].f), WD_ERROR, fail_arg,
                 strlen(fail_arg));
  if (fut[3].f) {
    const wd_result *mr = wd_future_result(fut[3].f);
    ck_assert_uint_eq(wd_map_count(fut[3].f), NMAP);
    int all_ok = 1;
    for (int i = 0; i < NMAP; i++) {
      const wd_result *r = wd_map_item(fut[3].f, (size_t)i);
      ck_assert_ptr_nonnull(r);
      check_result("map item", r, WD_OK, map_text[i], strlen(map_text[i]));
      all_ok &= r->status == WD_OK;
    }
    ck_assert_int_eq(mr->status, all_ok ? WD_OK : WD_ERROR);
  }
  if (fut[4].f) {
    const wd_result *r0 = wd_future_result(fut[0].f);
    const wd_result *r = wd_future_result(fut[4].f);
    if (r0->status != WD_OK || chain_submit_err == UV_ENOMEM) {
      /* No second step: the chain resolves with the first step's result. */
      ck_assert(chain_submit_err == 0 || fired);
      ck_assert(r->status == r0->status && r->len == r0->len);
    } else {
      check_result("chain", r, WD_OK, "HELLO, WARDEN", strlen(small_arg));
    }
  }
  if (oom_seen)
    ck_assert(fired); /* never "out of memory" without a failure */
  if (big) /* the big payload cannot have made it through */
    ck_assert(fut[1].submit_err == UV_ENOMEM ||
              is_oom(wd_future_result(fut[1].f)));

  /* The waitset hands back each future it took, once. */
  if (ws) {
    int want = 0, got = 0;
    for (int i = 0; i < NFUT; i++)
      want += fut[i].in_waitset;
    wd_future *g;
    while (wd_waitset_next(ws, &g) == 0) {
      int known = 0;
      for (int i = 0; i < NFUT; i++)
        known |= fut[i].f == g && fut[i].in_waitset;
      ck_assert(known);
      got++;
    }
    ck_assert_int_eq(got, want);
    wd_waitset_free(ws);
  }
  for (int i = 0; i < NFUT; i++)
    wd_future_release(fut[i].f);
  wd_pool_destroy(pool);
  for (int i = 0; i < NFUT; i++)
    ck_assert_int_eq(fut[i].resolved, fut[i].f ? 1 : 0); /* still once */
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}

/* Enough for every allocation of the scenario (clean_run_is_counted checks
 * that it is). */
enum { MAX_N = 120 };

START_TEST(clean_run_is_counted) {
  scenario(0, 0);
  fprintf(stderr, "test_faults: the scenario makes %lu allocations\n",
          nallocs);
  ck_assert_uint_gt(nallocs, 0);
  ck_assert_uint_lt(nallocs, MAX_N);
}
END_TEST

START_TEST(allocation_n_fails) { scenario((unsigned long)_i, 0); }
END_TEST

/* Memory that stays short: every allocation of 256 KiB or more fails, for
 * as long as the scenario runs.  The big payload's frame needs one; a pool
 * that put the task back in the queue to try again would try forever. */
START_TEST(big_allocations_keep_failing) { scenario(0, 256 * 1024); }
END_TEST

int main(void) {
  Suite *s = suite_create("faults");
  /* 30 s: a livelock inside a callback ends here. */
  TCase *tc = wd_test_case(s, "alloc_n", 30, setup, NULL);
  tcase_add_test(tc, clean_run_is_counted);
  tcase_add_loop_test(tc, allocation_n_fails, 1, MAX_N);
  tc = wd_test_case(s, "alloc_big", 30, setup, NULL);
  tcase_add_test(tc, big_allocations_keep_failing);
  return run_suite(s);
}
