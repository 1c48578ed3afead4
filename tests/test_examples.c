/* test_examples.c -- every program in examples/ run small, its output and
 * its exit status checked (each example also checks itself and exits
 * non-zero when what it shows did not happen), and afterwards nothing it
 * started is left: the test is a child subreaper, so anything an example
 * leaves behind becomes its child, and the shared fixture (helpers.h)
 * fails the test for any child still alive once the dead are reaped. */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <stb_image.h>

#include "helpers.h"

#ifndef WD_EXAMPLES
#define WD_EXAMPLES "build/examples"
#endif

/* Runs a shell command line with the examples' paths in its environment;
 * returns its exit status and its stdout and stderr in *out (malloc'd). */
static int run(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...) {
  char cmd[2048], full[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  snprintf(full, sizeof(full),
           "WARDEN=%s HTTPD=%s/slow_httpd UBSAN_OPTIONS=halt_on_error=1:"
           "abort_on_error=1 %s 2>&1",
           WD_BIN, WD_EXAMPLES, cmd);
  FILE *p = popen(full, "r");
  ck_assert_ptr_nonnull(p);
  size_t cap = 1 << 16, n = 0, r;
  char *buf = malloc(cap);
  while ((r = fread(buf + n, 1, cap - 1 - n, p)) > 0)
    if ((n += r) == cap - 1)
      buf = realloc(buf, cap *= 2);
  buf[n] = '\0';
  int st = pclose(p);
  *out = buf;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define ck_assert_has(out, s) ck_assert_msg(strstr(out, s) != NULL, \
    "expected \"%s\" in:\n%s", s, out)

static void setup(void) { ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0); }

/* Reaps what was killed and re-parented to us, for up to 3 s; a child
 * still alive then is something the example started that survived it. */
static void teardown(void) { reap_orphans(3000); }

START_TEST(sleep_8h) {
  char *out;
  uint64_t t0 = uv_hrtime();
  ck_assert_int_eq(run(&out, "N=300 SECS=1 sh examples/sleep_8h.sh"), 0);
  double took = (uv_hrtime() - t0) / 1e9;
  ck_assert_has(out, "300 x sleep 1: 0.1 hours of sleeping in");
  /* 300 s of sleeps one after the other; at once, a few.  (Loose: the
   * figure for this machine is in the README, measured by make bench.) */
  ck_assert_msg(took < 100, "took %.1f s", took);
  free(out);
}
END_TEST

START_TEST(cpu_map) {
  char *out;
  ck_assert_int_eq(run(&out, "%s/cpu_map 400000 16", WD_EXAMPLES), 0);
  ck_assert_has(out, "primes below 400000: 33860 (16 slices)");
  ck_assert_has(out, "speed-up:");
  free(out);
  ck_assert_int_eq(run(&out, "%s/cpu_map --help", WD_EXAMPLES), 2);
  ck_assert_has(out, "usage: cpu_map");
  free(out);
  ck_assert_int_eq(run(&out, "%s/stop_too_long 0", WD_EXAMPLES), 2);
  free(out);
}
END_TEST

START_TEST(stop_too_long) {
  char *out;
  ck_assert_int_eq(run(&out, "%s/stop_too_long 300", WD_EXAMPLES), 0);
  ck_assert_has(out, "fib(60)  timeout");
  ck_assert_has(out, "is gone");
  ck_assert_has(out, "round 2  fib(32)  ok");
  ck_assert_has(out, "(worker "); /* the example fails if one is the killed one */
  ck_assert_has(out, "5 calls returned, 1 stopped at the 300 ms deadline");
  free(out);
}
END_TEST

START_TEST(images) {
  char dir[] = "/tmp/wd-test-images-XXXXXX", path[256], *out;
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_int_eq(run(&out, "%s/images %s", WD_EXAMPLES, dir), 0);
  ck_assert_has(out, "image 6  1920 x 1080 JPEG");
  ck_assert_has(out, "error: not an image I can read");
  ck_assert_has(out, "7 of 8 saved");
  /* The pipeline flows: with 3 files in flight, the first resize comes
   * before the fourth file is loaded (were the stages run one after the
   * other, every load would come first); and each file's steps come in
   * order, each submitted by the callback of the one before. */
  char *resized = strstr(out, " resized");
  char *late_load = strstr(out, "photo-04.jpg   loaded");
  ck_assert_ptr_nonnull(resized);
  ck_assert_ptr_nonnull(late_load);
  ck_assert_msg(resized < late_load, "a stage waited for the whole batch:\n%s", out);
  for (int i = 1; i <= 8; i++) {
    char l[64], r[64], v[64];
    snprintf(l, sizeof(l), "photo-%02d.jpg   loaded", i);
    snprintf(r, sizeof(r), "photo-%02d.jpg   resized", i);
    snprintf(v, sizeof(v), "photo-%02d.jpg   saved", i);
    char *pl = strstr(out, l), *pr = strstr(out, r), *pv = strstr(out, v);
    ck_assert_msg(pl && pr && pl < pr, "%s: loaded, then resized:\n%s", l, out);
    ck_assert_msg(i == 6 ? pv == NULL : pv && pr < pv, "%s: then saved", l);
  }
  /* Seven whole thumbnails in the box, nothing half-written. */
  for (int i = 1; i <= 8; i++) {
    int w, h, ch;
    snprintf(path, sizeof(path), "%s/out/photo-%02d.png", dir, i);
    if (i == 6) {
      ck_assert_int_ne(access(path, F_OK), 0);
      continue;
    }
    ck_assert_msg(stbi_info(path, &w, &h, &ch), "%s: %s", path,
                  stbi_failure_reason());
    ck_assert_int_le(w > h ? w : h, 256);
  }
  ck_assert_int_eq(sh("ls %s/out | grep -q tmp", dir), 1);
  sh("rm -rf %s", dir);
  free(out);
}
END_TEST

START_TEST(timeout_sh) {
  char *out;
  ck_assert_int_eq(run(&out, "sh examples/timeout.sh"), 0);
  ck_assert_has(out, "->   0  succeeded");
  ck_assert_has(out, "->   3  failed with status 3");
  ck_assert_has(out, "-> 127  not found");
  ck_assert_has(out, "-> 126  cannot be executed");
  ck_assert_has(out, "-> 139  killed by signal 11 (SIGSEGV)");
  ck_assert_has(out, "-> 125  warden could not run it");
  ck_assert_has(out, "-> 124  timed out after 500ms");
  ck_assert_has(out, "no process of that command is left");
  free(out);
  /* Its header is its --help; a word it does not take is refused. */
  ck_assert_int_eq(run(&out, "sh examples/timeout.sh --help"), 0);
  ck_assert_has(out, "124      the deadline passed");
  free(out);
  ck_assert_int_eq(run(&out, "sh examples/crawl.sh --bogus"), 2);
  free(out);
}
END_TEST

START_TEST(scheduler) {
  char *out;
  ck_assert_int_eq(run(&out, "%s/scheduler 4 200", WD_EXAMPLES), 0);
  ck_assert_has(out, "run 4: started (2000 ms of work, a 200 ms slot)");
  ck_assert_has(out, "run 4: overran its slot: killed after");
  ck_assert_has(out, "run 3: ok, done in 50 ms");
  ck_assert_has(out, "4 runs, 3 finished in their slot, 1 killed at its end");
  ck_assert_ptr_null(strstr(out, "\033[K")); /* no live clock in a pipe */
  free(out);
}
END_TEST

START_TEST(crawl) {
  char *out;
  ck_assert_int_eq(run(&out, "PAGES=31 JOBS=3 RATE=20 sh examples/crawl.sh"), 0);
  /* Line one: -j 3; line two: --rate 20/s. */
  unsigned most, requests;
  double rate;
  char *line = strstr(out, "the server saw: ");
  ck_assert_ptr_nonnull(line);
  ck_assert_int_eq(sscanf(line, "the server saw: requests %u, most at once %u",
                          &requests, &most), 2);
  ck_assert_uint_eq(requests, 31);
  ck_assert_uint_eq(most, 3); /* -j 3, not the default of one per CPU */
  line = strstr(line + 1, "the server saw: ");
  ck_assert_ptr_nonnull(line);
  ck_assert_int_eq(sscanf(line, "the server saw: requests %u, most at once %u, "
                                "%lf requests/s", &requests, &most, &rate), 3);
  ck_assert_uint_eq(requests, 31);
  /* Starts are at least 50 ms apart (30 gaps: 1.5 s); a slow machine only
   * makes it slower.  The margin is for curl's own start-up time, which
   * varies: the first request may reach the server later than the last. */
  ck_assert_msg(rate < 20 * 1.2, "%.1f requests/s", rate);
  free(out);
}
END_TEST

START_TEST(crash) {
  char *out;
  ck_assert_int_eq(run(&out, "%s/crash", WD_EXAMPLES), 0);
  ck_assert_has(out, "record 3  crashed  killed by SIG");
  if (!WD_ASAN) /* there UBSan sees the bug first, and aborts */
    ck_assert_has(out, "killed by SIGSEGV (Segmentation fault)");
  ck_assert_has(out, "    | following the null pointer...");
  ck_assert_has(out, "record 5  error    empty record");
  ck_assert_has(out, "record 6  ok       7 characters");
  ck_assert_has(out, "4 ok, 1 failed, 1 crashed: the batch completed");
  free(out);
}
END_TEST

START_TEST(demo) {
  char *out;
  ck_assert_int_eq(run(&out, "%s/demo", WD_EXAMPLES), 0);
  ck_assert_has(out, "sleep 1000 (timeout 200)");
  free(out);
}
END_TEST

int main(void) {
  Suite *s = suite_create("examples");
  TCase *tc = wd_test_case(s, "programs", 120, setup, teardown);
  tcase_add_test(tc, cpu_map);
  tcase_add_test(tc, stop_too_long);
  tcase_add_test(tc, images);
  tcase_add_test(tc, scheduler);
  tcase_add_test(tc, crash);
  tcase_add_test(tc, demo);
  tc = wd_test_case(s, "scripts", 120, setup, teardown);
  tcase_add_test(tc, sleep_8h);
  tcase_add_test(tc, timeout_sh);
  tcase_add_test(tc, crawl);
  return run_suite(s);
}
