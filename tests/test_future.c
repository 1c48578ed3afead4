/* test_future.c -- futures: callbacks, chains, waiting, maps.  Each test
 * has a fresh loop and a two-worker pool (setup); teardown destroys the
 * pool and closes the loop, then the shared fixture (helpers.h) asserts no
 * zombie, no child and no fd more than before the test. */
#include "helpers.h"

static uv_loop_t loop;
static wd_pool *pool;

static int job_upper(const void *arg, size_t len, wd_out *out) {
  char *p = wd_out_reserve(out, len);
  for (size_t i = 0; i < len; i++) {
    char c = ((const char *)arg)[i];
    p[i] = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
  }
  return 0;
}

static int job_square(const void *arg, size_t len, wd_out *out) {
  long long v = 0;
  for (size_t i = 0; i < len; i++)
    v = v * 10 + (((const char *)arg)[i] - '0');
  if (v == 13) {
    wd_out_printf(out, "unlucky");
    return 1;
  }
  return wd_out_printf(out, "%lld", v * v);
}

static void setup(void) {
  wd_register_builtins();
  wd_register("upper", job_upper);
  wd_register("square", job_square);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  wd_pool_options o = {.workers = 2};
  ck_assert_int_eq(wd_pool_new(&loop, &o, &pool), 0);
}

/* The pool destroyed and the loop closed: nothing may be left on it. */
static void teardown(void) {
  wd_pool_destroy(pool);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}

static wd_future *submit(const char *job, const char *arg) {
  wd_future *f;
  ck_assert_int_eq(wd_submit(pool, job, arg, strlen(arg), NULL, &f), 0);
  return f;
}

static char order[16];
static int norder;
static void mark(wd_future *f, void *data) {
  (void)f;
  order[norder++] = *(const char *)data;
}

START_TEST(callbacks_in_order_and_late_ones_at_once) {
  wd_future *f = submit("echo", "x");
  wd_future_on_done(f, mark, "a");
  wd_future_on_done(f, mark, "b");
  wd_future_on_done(f, mark, "c");
  ck_assert_int_eq(norder, 0);
  wd_await(f);
  ck_assert_int_eq(norder, 3);
  ck_assert_int_eq(memcmp(order, "abc", 3), 0);
  wd_future_on_done(f, mark, "d"); /* already resolved: runs at once */
  ck_assert_int_eq(norder, 4);
  wd_future_release(f);
}
END_TEST

static void release_in_callback(wd_future *f, void *data) {
  (void)data;
  wd_future_release(f);
  norder++;
}

START_TEST(released_before_resolution) {
  wd_future *f = submit("sleep", "50");
  wd_future_on_done(f, release_in_callback, NULL);
  wd_future *g = submit("echo", "y");
  wd_future_release(g); /* nobody waits: resolves and frees unseen */
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(norder, 1);
}
END_TEST

/* A pipeline: echo -> upper -> upper; each step submitted by the previous
 * step's callback, as load -> resize -> save would be. */
static wd_future *next_upper(wd_future *prev, void *data) {
  (void)data;
  const wd_result *r = wd_future_result(prev);
  if (r->status != WD_OK)
    return NULL;
  wd_future *f;
  if (wd_submit(pool, "upper", r->data, r->len, NULL, &f) != 0)
    return NULL;
  return f;
}

START_TEST(then_chains_a_pipeline) {
  enum { N = 40 };
  wd_future *tail[N];
  for (int i = 0; i < N; i++) {
    char arg[32];
    snprintf(arg, sizeof(arg), "item-%d", i);
    wd_future *a = submit("echo", arg);
    wd_future *b = wd_future_then(a, next_upper, NULL);
    tail[i] = wd_future_then(b, next_upper, NULL);
    wd_future_release(a);
    wd_future_release(b);
  }
  wd_await_all(tail, N);
  for (int i = 0; i < N; i++) {
    char want[32];
    snprintf(want, sizeof(want), "ITEM-%d", i);
    const wd_result *r = wd_future_result(tail[i]);
    ck_assert_int_eq(r->status, WD_OK);
    ck_assert_uint_eq(r->len, strlen(want));
    ck_assert_int_eq(memcmp(r->data, want, r->len), 0);
    wd_future_release(tail[i]);
  }
}
END_TEST

START_TEST(then_passes_failures_through) {
  wd_future *a = submit("crash", "11");
  wd_future *b = wd_future_then(a, next_upper, NULL); /* returns NULL */
  wd_await(b);
  ck_assert_int_eq(wd_future_result(b)->status, WD_CRASHED);
  ck_assert_int_eq(wd_future_result(b)->signal, SIGSEGV);
  wd_future_release(a);
  wd_future_release(b);
}
END_TEST

START_TEST(cancel_through_a_chain) {
  wd_future *a = submit("sleep", "10000");
  wd_future *b = wd_future_then(a, next_upper, NULL);
  run_until_started(&loop, &a, 1);
  ck_assert_int_eq(wd_future_cancel(b), 0);
  wd_await(b);
  ck_assert_int_eq(wd_future_result(a)->status, WD_CANCELLED);
  ck_assert_int_eq(wd_future_result(b)->status, WD_CANCELLED);
  wd_future_release(a);
  wd_future_release(b);
}
END_TEST

START_TEST(await_any_returns_the_first) {
  wd_future *f[3] = {submit("sleep", "3000"), submit("sleep", "20"),
                     submit("sleep", "3000")};
  size_t idx = 99;
  ck_assert_int_eq(wd_await_any(f, 3, &idx), 0);
  ck_assert_uint_eq(idx, 1);
  ck_assert(!wd_future_done(f[0]));
  ck_assert_int_eq(wd_await_any(NULL, 0, &idx), UV_EINVAL);
  for (int i = 0; i < 3; i++)
    wd_future_release(f[i]);
}
END_TEST

START_TEST(waitset_in_completion_order) {
  wd_waitset *ws;
  ck_assert_int_eq(wd_waitset_new(&ws), 0);
  const char *ms[4] = {"600", "100", "150", "10"};
  wd_future *f[4];
  for (int i = 0; i < 4; i++) {
    f[i] = submit("sleep", ms[i]);
    ck_assert_int_eq(wd_waitset_add(ws, f[i]), 0);
  }
  /* Two workers: 600 and 100 start; 150 follows 100, 10 follows 150 and
   * ends near 260 ms, long before the 600. */
  wd_future *got[4];
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(wd_waitset_next(ws, &got[i]), 0);
  wd_future *g;
  ck_assert_int_eq(wd_waitset_next(ws, &g), UV_EOF);
  ck_assert_ptr_eq(got[0], f[1]);
  ck_assert_ptr_eq(got[1], f[2]);
  ck_assert_ptr_eq(got[2], f[3]);
  ck_assert_ptr_eq(got[3], f[0]);
  wd_waitset_free(ws);
  for (int i = 0; i < 4; i++)
    wd_future_release(f[i]);
}
END_TEST

START_TEST(waitset_freed_with_futures_pending) {
  wd_waitset *ws;
  wd_waitset_new(&ws);
  wd_future *f = submit("sleep", "50");
  wd_waitset_add(ws, f);
  wd_waitset_free(ws); /* f still pending: must not touch freed memory */
  wd_await(f);
  wd_future_release(f);
}
END_TEST

/* A future that resolved before it was added comes back like any other,
 * and one the caller never asked for is released with the set. */
START_TEST(waitset_takes_resolved_futures) {
  wd_future *f = submit("echo", "done");
  wd_future *g = submit("echo", "also done");
  wd_await(f);
  wd_await(g);
  wd_waitset *ws;
  ck_assert_int_eq(wd_waitset_new(&ws), 0);
  ck_assert_int_eq(wd_waitset_add(ws, f), 0);
  ck_assert_int_eq(wd_waitset_add(ws, g), 0);
  wd_future *got;
  ck_assert_int_eq(wd_waitset_next(ws, &got), 0);
  ck_assert_ptr_eq(got, f);
  wd_waitset_free(ws); /* g never returned: the set lets go of it */
  wd_future_release(f);
  wd_future_release(g);
}
END_TEST

static void check_map(size_t n, size_t chunk) {
  wd_buf *in = calloc(n, sizeof(*in));
  char (*s)[24] = calloc(n, 24);
  for (size_t i = 0; i < n; i++) {
    snprintf(s[i], 24, "%zu", i);
    in[i] = (wd_buf){s[i], strlen(s[i])};
  }
  wd_future *m;
  ck_assert_int_eq(wd_map(pool, "square", in, n, chunk, NULL, &m), 0);
  wd_await(m);
  ck_assert_uint_eq(wd_map_count(m), n);
  ck_assert_int_eq(wd_future_result(m)->status, n > 13 ? WD_ERROR : WD_OK);
  for (size_t i = 0; i < n; i++) {
    const wd_result *r = wd_map_item(m, i);
    ck_assert_ptr_nonnull(r);
    if (i == 13) {
      ck_assert_int_eq(r->status, WD_ERROR);
      continue;
    }
    char want[32];
    snprintf(want, sizeof(want), "%zu", i * i);
    ck_assert_int_eq(r->status, WD_OK);
    ck_assert_uint_eq(r->len, strlen(want));
    ck_assert_int_eq(memcmp(r->data, want, r->len), 0);
  }
  ck_assert_ptr_null(wd_map_item(m, n));
  wd_future_release(m);
  free(in);
  free(s);
}

START_TEST(map_keeps_input_order) {
  check_map(1000, 0);
  check_map(1000, 1);
  check_map(1000, 7);
  check_map(5, 256);
  check_map(0, 0);
}
END_TEST

START_TEST(map_chunk_timeout_costs_the_chunk) {
  wd_buf in[6] = {{"10", 2}, {"10", 2}, {"10", 2},
                  {"10000", 5}, {"10", 2}, {"10", 2}};
  wd_task_options o = {.timeout_ms = 300};
  wd_future *m;
  ck_assert_int_eq(wd_map(pool, "sleep", in, 6, 3, &o, &m), 0);
  wd_await(m);
  ck_assert_int_eq(wd_future_result(m)->status, WD_ERROR);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(wd_map_item(m, (size_t)i)->status, WD_OK);
  for (int i = 3; i < 6; i++)
    ck_assert_int_eq(wd_map_item(m, (size_t)i)->status, WD_TIMEOUT);
  wd_future_release(m);
}
END_TEST

/* Items of a chunk that ended without results carry how it ended. */
START_TEST(map_chunk_failure_reaches_its_items) {
  wd_buf crash[2] = {{"11", 2}, {"11", 2}}, code[2] = {{"3", 1}, {"3", 1}};
  wd_future *m, *e;
  ck_assert_int_eq(wd_map(pool, "crash", crash, 2, 2, NULL, &m), 0);
  ck_assert_int_eq(wd_map(pool, "exit", code, 2, 2, NULL, &e), 0);
  wd_await(m);
  wd_await(e);
  for (size_t i = 0; i < 2; i++) {
    ck_assert_int_eq(wd_map_item(m, i)->status, WD_CRASHED);
    ck_assert_int_eq(wd_map_item(m, i)->signal, SIGSEGV);
    ck_assert_int_eq(wd_map_item(m, i)->exit_code, -1);
    ck_assert_int_eq(wd_map_item(e, i)->status, WD_EXITED);
    ck_assert_int_eq(wd_map_item(e, i)->exit_code, 3);
  }
  wd_future_release(m);
  wd_future_release(e);
}
END_TEST

START_TEST(map_released_early) {
  wd_buf in[4] = {{"20", 2}, {"20", 2}, {"20", 2}, {"20", 2}};
  wd_future *m;
  ck_assert_int_eq(wd_map(pool, "sleep", in, 4, 1, NULL, &m), 0);
  wd_future_release(m); /* the chunks keep it alive until they finish */
  uv_run(&loop, UV_RUN_DEFAULT);
}
END_TEST

int main(void) {
  Suite *s = suite_create("future");
  TCase *tc = wd_test_case(s, "callbacks", 60, setup, teardown);
  tcase_add_test(tc, callbacks_in_order_and_late_ones_at_once);
  tcase_add_test(tc, released_before_resolution);
  tc = wd_test_case(s, "then", 60, setup, teardown);
  tcase_add_test(tc, then_chains_a_pipeline);
  tcase_add_test(tc, then_passes_failures_through);
  tcase_add_test(tc, cancel_through_a_chain);
  tc = wd_test_case(s, "waitset", 60, setup, teardown);
  tcase_add_test(tc, await_any_returns_the_first);
  tcase_add_test(tc, waitset_in_completion_order);
  tcase_add_test(tc, waitset_freed_with_futures_pending);
  tcase_add_test(tc, waitset_takes_resolved_futures);
  tc = wd_test_case(s, "map", 60, setup, teardown);
  tcase_add_test(tc, map_keeps_input_order);
  tcase_add_test(tc, map_chunk_timeout_costs_the_chunk);
  tcase_add_test(tc, map_chunk_failure_reaches_its_items);
  tcase_add_test(tc, map_released_early);
  return run_suite(s);
}
