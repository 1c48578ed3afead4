/* test_cmd_job.c -- the command job's request, through a pool: the
 * environment, directory, niceness and input a wd_cmd gives its command,
 * and a captured stream that outgrows memory spilling to the spool, whole.
 * (What `warden run` makes of them is test_run_output's.) */
#include <sys/stat.h>

#include "helpers.h"

typedef struct {
  uv_loop_t loop;
  wd_pool *pool;
  wd_future *f;
  wd_cmd_result r;
} job;

static void job_open(job *j) {
  ck_assert_int_eq(uv_loop_init(&j->loop), 0);
  wd_register_builtins();
  wd_pool_options o = {.workers = 1};
  ck_assert_int_eq(wd_pool_new(&j->loop, &o, &j->pool), 0);
}

/* Runs c to its end; j->r is its answer. */
static void job_run(job *j, wd_cmd *c) {
  wd_out b = {0};
  c->flags |= WD_CMD_CAPTURE;
  if (c->max_output == 0)
    c->max_output = UINT64_MAX;
  ck_assert_int_eq(wd_cmd_encode(&b, c), 0);
  ck_assert_int_eq(wd_submit(j->pool, "command", b.p, b.len, NULL, &j->f), 0);
  wd_out_free(&b);
  ck_assert_int_eq(wd_await(j->f), 0);
  const wd_result *res = wd_future_result(j->f);
  ck_assert_int_eq(res->status, WD_OK);
  ck_assert_int_eq(wd_cmd_decode(res->data, res->len, &j->r), 0);
}

static void job_close(job *j) {
  if (j->f)
    wd_future_release(j->f);
  ck_assert_int_eq(wd_pool_destroy(j->pool), 0);
  ck_assert_int_eq(uv_loop_close(&j->loop), 0);
}

static void out_is(const job *j, const char *want) {
  ck_assert_ptr_null(j->r.out_file);
  ck_assert_int_eq((int)j->r.out_len, (int)strlen(want));
  ck_assert_int_eq(memcmp(j->r.out, want, strlen(want)), 0);
}

START_TEST(env_is_set_over_ours) {
  setenv("WD_TEST_KEPT", "kept", 1);
  setenv("WD_TEST_GONE", "there", 1);
  job j = {0};
  job_open(&j);
  char *argv[] = {"sh", "-c", "echo $WD_TEST_SET.$WD_TEST_KEPT.${WD_TEST_GONE-unset}.$HOME",
                  NULL};
  char *env[] = {"WD_TEST_SET=a b", "WD_TEST_GONE", "HOME=/nowhere", NULL};
  wd_cmd c = {.argv = argv, .env = env};
  job_run(&j, &c);
  out_is(&j, "a b.kept.unset./nowhere\n");
  job_close(&j);
}
END_TEST

START_TEST(cwd_and_missing_cwd) {
  job j = {0};
  job_open(&j);
  char *argv[] = {"pwd", NULL};
  wd_cmd c = {.argv = argv, .cwd = "/usr/share"};
  job_run(&j, &c);
  out_is(&j, "/usr/share\n");
  wd_future_release(j.f);
  c = (wd_cmd){.argv = argv, .cwd = "/nonexistent-wd-5171"};
  job_run(&j, &c);
  ck_assert_int_eq(j.r.exit_code, 126);
  ck_assert_int_eq(j.r.exec_errno, ENOENT);
  ck_assert_int_eq(j.r.cwd_failed, 1);
  ck_assert_ptr_nonnull(strstr(j.r.err, "cannot chdir to /nonexistent-wd-5171"));
  job_close(&j);
}
END_TEST

START_TEST(nice_is_added) {
  job j = {0};
  job_open(&j);
  char *argv[] = {"nice", NULL};
  wd_cmd c = {.argv = argv, .nice = 7};
  job_run(&j, &c);
  char want[16];
  snprintf(want, sizeof(want), "%d\n", 7 + nice(0));
  out_is(&j, want);
  job_close(&j);
}
END_TEST

/* 3 MiB in, more than a pipe holds, and counted on the other side. */
START_TEST(input_reaches_stdin) {
  job j = {0};
  job_open(&j);
  size_t n = 3u << 20;
  char *in = malloc(n);
  for (size_t i = 0; i < n; i++)
    in[i] = i % 64 == 63 ? '\n' : 'a' + (char)(i % 26);
  char *argv[] = {"wc", "-c", NULL};
  wd_cmd c = {.flags = WD_CMD_INPUT, .argv = argv, .input = in, .input_len = n};
  job_run(&j, &c);
  out_is(&j, "3145728\n");
  free(in);
  job_close(&j);
}
END_TEST

/* A command that never reads its stdin: no deadlock, no SIGPIPE death of
 * the worker; one that reads a little and leaves, the same. */
START_TEST(input_not_read) {
  job j = {0};
  job_open(&j);
  size_t n = 1u << 20;
  char *in = calloc(1, n);
  char *argv[] = {"echo", "ignored", NULL};
  wd_cmd c = {.flags = WD_CMD_INPUT, .argv = argv, .input = in, .input_len = n};
  job_run(&j, &c);
  out_is(&j, "ignored\n");
  wd_future_release(j.f);
  char *argv2[] = {"head", "-c", "3", NULL};
  c = (wd_cmd){.flags = WD_CMD_INPUT, .argv = argv2, .input = "abcdef", .input_len = 6};
  job_run(&j, &c);
  out_is(&j, "abc");
  free(in);
  job_close(&j);
}
END_TEST

/* 5 MiB of stdout with a spool: in a file, whole; a little stderr stays
 * in the answer. */
START_TEST(spill_to_spool) {
  char dir[] = "/tmp/wd-spool-test-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  job j = {0};
  job_open(&j);
  char *argv[] = {"sh", "-c", "head -c 5242880 /dev/zero; echo err >&2", NULL};
  wd_cmd c = {.argv = argv, .spool = dir};
  job_run(&j, &c);
  ck_assert_ptr_null(j.r.out);
  ck_assert_ptr_nonnull(j.r.out_file);
  ck_assert_int_eq((int)j.r.out_len, 5 << 20);
  struct stat st;
  ck_assert_int_eq(stat(j.r.out_file, &st), 0);
  ck_assert_int_eq((int)st.st_size, 5 << 20);
  ck_assert_int_eq(st.st_mode & 0777, 0600);
  ck_assert_ptr_null(j.r.err_file);
  ck_assert_int_eq((int)j.r.err_len, 4);
  ck_assert_int_eq(unlink(j.r.out_file), 0);
  ck_assert_int_eq(rmdir(dir), 0);
  job_close(&j);
}
END_TEST

/* Past max_output, the kept part ends at its last line end. */
START_TEST(cut_at_line_end) {
  job j = {0};
  job_open(&j);
  char *argv[] = {"sh", "-c", "printf 'one\\ntwo\\nthree\\n'", NULL};
  wd_cmd c = {.argv = argv, .max_output = 10};
  job_run(&j, &c);
  out_is(&j, "one\ntwo\n");
  ck_assert_int_eq(j.r.truncated, 1);
  job_close(&j);
}
END_TEST

/* stdout to a path (a FIFO for --line-buffer; a file here), stderr still
 * captured; a path that cannot be opened is said. */
START_TEST(stdout_to_a_path) {
  char path[] = "/tmp/wd-cmd-out-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  job j = {0};
  job_open(&j);
  char *argv[] = {"sh", "-c", "echo to-file; echo to-answer >&2", NULL};
  wd_cmd c = {.argv = argv, .stdout_path = path};
  job_run(&j, &c);
  ck_assert_int_eq((int)j.r.out_len, 0);
  ck_assert_int_eq((int)j.r.err_len, 10);
  ck_assert_int_eq(sh("grep -qx to-file %s", path), 0);
  wd_future_release(j.f);
  j.f = NULL;
  unlink(path);
  wd_out b = {0};
  c.flags |= WD_CMD_CAPTURE;
  ck_assert_int_eq(wd_cmd_encode(&b, &c), 0);
  ck_assert_int_eq(wd_submit(j.pool, "command", b.p, b.len, NULL, &j.f), 0);
  wd_out_free(&b);
  ck_assert_int_eq(wd_await(j.f), 0);
  ck_assert_int_eq(wd_future_result(j.f)->status, WD_ERROR);
  job_close(&j);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cmd_job");
  TCase *tc = wd_test_case(s, "request", 60, NULL, NULL);
  tcase_add_test(tc, env_is_set_over_ours);
  tcase_add_test(tc, cwd_and_missing_cwd);
  tcase_add_test(tc, nice_is_added);
  tcase_add_test(tc, input_reaches_stdin);
  tcase_add_test(tc, input_not_read);
  tcase_add_test(tc, stdout_to_a_path);
  tc = wd_test_case(s, "spill", 60, NULL, NULL);
  tcase_add_test(tc, spill_to_spool);
  tcase_add_test(tc, cut_at_line_end);
  return run_suite(s);
}
