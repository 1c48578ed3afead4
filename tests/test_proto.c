/* test_proto.c -- the frame parser refuses what it cannot trust. */
#include <stdint.h>

#include "../worker/worker.h"
#include "../worker/proto.h"
#include "helpers.h"

static size_t put(char *buf, uint32_t type, uint32_t len, uint32_t a) {
  wd__hdr h = {type, len, 7, a, 0};
  memcpy(buf, &h, sizeof(h));
  memset(buf + WD__HDR_SIZE, 'x', len);
  return WD__HDR_SIZE + len;
}

START_TEST(complete_frame) {
  char buf[64];
  size_t n = put(buf, WD__F_TASK, 5, 0);
  wd__hdr h;
  ck_assert_int_eq(wd__frame_parse(buf, n, &h), (long)n);
  ck_assert_uint_eq(h.id, 7);
  ck_assert_uint_eq(h.len, 5);
}
END_TEST

START_TEST(incomplete_frame) {
  char buf[64];
  size_t n = put(buf, WD__F_OK, 5, 0);
  wd__hdr h;
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(wd__frame_parse(buf, i, &h), 0);
}
END_TEST

START_TEST(bad_frames) {
  char buf[64];
  wd__hdr h;
  put(buf, 0, 0, 0);
  ck_assert_int_eq(wd__frame_parse(buf, 24, &h), UV_EPROTO);
  put(buf, 99, 0, 0);
  ck_assert_int_eq(wd__frame_parse(buf, 24, &h), UV_EPROTO);
  wd__hdr big = {WD__F_TASK, WD__FRAME_MAX + 1u, 1, 0, 0};
  memcpy(buf, &big, sizeof(big));
  ck_assert_int_eq(wd__frame_parse(buf, 24, &h), UV_EPROTO);
  put(buf, WD__F_OK, 4, 5); /* a stderr tail longer than the body */
  ck_assert_int_eq(wd__frame_parse(buf, 28, &h), UV_EPROTO);
}
END_TEST

START_TEST(items) {
  char body[64];
  wd__item a = {3, WD__F_OK}, b = {0, WD__F_ERR};
  memcpy(body, &a, 8);
  memcpy(body + 8, "abc", 3);
  memcpy(body + 11, &b, 8);
  wd__item it;
  const char *d;
  long off = wd__item_next(body, 19, 0, &it, &d);
  ck_assert_int_eq(off, 11);
  ck_assert_int_eq(memcmp(d, "abc", 3), 0);
  off = wd__item_next(body, 19, (size_t)off, &it, &d);
  ck_assert_int_eq(off, 19);
  ck_assert_uint_eq(it.status, WD__F_ERR);
  ck_assert_int_eq(wd__item_next(body, 19, 19, &it, &d), UV_EPROTO);
  ck_assert_int_eq(wd__item_next(body, 10, 0, &it, &d), UV_EPROTO);
}
END_TEST

START_TEST(buffers_grow_and_keep_memory) {
  wd__buf b = {0};
  for (int i = 0; i < 1000; i++)
    ck_assert_int_eq(wd_out_printf(&b, "%04d", i), 0);
  ck_assert_uint_eq(b.len, 4000);
  ck_assert_int_eq(memcmp(b.p + 3996, "0999", 4), 0);
  char big[1000];
  memset(big, 'z', sizeof(big));
  ck_assert_int_eq(wd_out_printf(&b, "%.*s", 1000, big), 0);
  ck_assert_uint_eq(b.len, 5000);
  size_t cap = b.cap;
  wd__buf_consume(&b, b.len);
  ck_assert_uint_eq(b.len, 0);
  ck_assert_uint_eq(b.cap, cap);
  wd__buf_free(&b);
}
END_TEST

START_TEST(registry) {
  ck_assert_int_eq(wd_register_builtins(), 0);
  ck_assert_int_eq(wd_register_builtins(), 0); /* idempotent */
  ck_assert_int_ge(wd__job_lookup("echo"), 0);
  ck_assert_int_eq(wd__job_lookup("nope"), UV_ENOENT);
  ck_assert_int_eq(wd_register("echo", wd__job_fn(0)), UV_EEXIST);
  char longname[80];
  memset(longname, 'a', sizeof(longname) - 1);
  longname[79] = '\0';
  ck_assert_int_eq(wd_register(longname, wd__job_fn(0)), UV_EINVAL);
  ck_assert_int_eq(wd_register("", wd__job_fn(0)), UV_EINVAL);
  ck_assert_ptr_null(wd__job_fn(9999));
}
END_TEST

START_TEST(names) {
  ck_assert_str_eq(wd_status_name(WD_TIMEOUT), "timeout");
  ck_assert_str_eq(wd_status_name((wd_status)42), "unknown");
  ck_assert_str_eq(wd_strerror(UV_ENOENT), uv_strerror(UV_ENOENT));
  ck_assert_str_eq(wd_strerror(-EDEADLK), strerror(EDEADLK));
}
END_TEST

int main(void) {
  Suite *s = suite_create("proto");
  TCase *tc = wd_test_case(s, "frames", 10, NULL, NULL);
  tcase_add_test(tc, complete_frame);
  tcase_add_test(tc, incomplete_frame);
  tcase_add_test(tc, bad_frames);
  tcase_add_test(tc, items);
  tc = wd_test_case(s, "buffers", 10, NULL, NULL);
  tcase_add_test(tc, buffers_grow_and_keep_memory);
  tc = wd_test_case(s, "registry", 10, NULL, NULL);
  tcase_add_test(tc, registry);
  tcase_add_test(tc, names);
  return run_suite(s);
}
