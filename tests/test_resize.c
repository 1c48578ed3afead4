/* test_resize.c -- `warden resize` and the resize job: sizes and formats
 * come out right (alpha, grayscale, 16-bit, EXIF rotation), hostile files
 * cost one row each with the right error, the worker is sandboxed, a
 * looping task is cut off while the batch completes, outputs appear whole
 * or not at all, and --resume does only what is missing. */
#include <dirent.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "../jobs/resize.h"
#include "helpers.h"
#include "images.h"

#include <stb_image.h>

static char dir[64], in[128], out[128];


static void setup(void) {
  strcpy(dir, "/tmp/wd-resize-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(in, sizeof(in), "%s/in", dir);
  snprintf(out, sizeof(out), "%s/out", dir);
  ck_assert_int_eq(mkdir(in, 0777), 0);
}

static void teardown(void) { sh("rm -rf %s", dir); }

static char *path(const char *base, const char *name) {
  static char p[8][256];
  static int k;
  k = (k + 1) % 8;
  snprintf(p[k], sizeof(p[k]), "%s/%s", base, name);
  return p[k];
}

/* Width, height and channels of an output file, decoded by stb. */
static void dims(const char *file, int *w, int *h, int *ch) {
  ck_assert_msg(stbi_info(file, w, h, ch), "%s: not an image", file);
}

/* The status of the JSON row whose input ends with `name`. */
static const char *status_of(const char *rows, const char *name) {
  static char st[64];
  char key[300];
  snprintf(key, sizeof(key), "/%s\",", name);
  const char *r = strstr(rows, key);
  if (r == NULL)
    return "(no row)";
  const char *s = strstr(r, "\"status\":\"");
  const char *e = s ? strchr(s + 10, '"') : NULL;
  if (e == NULL)
    return "(no status)";
  snprintf(st, sizeof(st), "%.*s", (int)(e - s - 10), s + 10);
  return st;
}

static int count_rows(const char *rows) {
  int n = 0;
  for (const char *p = rows; (p = strstr(p, "{\"input\"")) != NULL; p++)
    n++;
  return n;
}

/* No file in the output tree may be a temporary one. */
static void assert_no_temporaries(void) {
  ck_assert_int_eq(sh("find %s -name '*.warden-*' | grep -q .", out), 1);
}

START_TEST(sizes_formats_and_orientation) {
  make_jpeg(path(in, "photo.jpg"), 1600, 1200, 3, 90);
  make_jpeg_rotated(path(in, "rotated.jpg"), 1200, 800);
  make_png(path(in, "alpha.png"), 500, 1000, 4);
  make_png(path(in, "gray.png"), 300, 200, 1);
  make_png16(path(in, "deep.png"), 640, 480);
  make_jpeg(path(in, "small.jpg"), 100, 50, 3, 90);
  unsigned char *px = pattern(320, 240, 3, 1); /* BMP: found by content too */
  ck_assert(stbi_write_bmp(path(in, "old.bmp"), 320, 240, 3, px));
  free(px);
  ck_assert_int_eq(mkdir(path(in, "sub"), 0777), 0);
  make_png(path(in, "sub/nested.png"), 400, 400, 3);
  ck_assert_int_eq(sh("build/warden resize -w 256 -H 256 %s -o %s 2>/dev/null", in, out), 0);
  int w, h, ch;
  dims(path(out, "photo.jpg"), &w, &h, &ch);
  ck_assert(w == 256 && h == 192 && ch == 3);
  /* Stored 1200x800 with "rotate 90": seen as 800x1200, so 171x256. */
  dims(path(out, "rotated.jpg"), &w, &h, &ch);
  ck_assert_msg(w == 171 && h == 256, "rotated: %dx%d", w, h);
  dims(path(out, "alpha.png"), &w, &h, &ch);
  ck_assert(w == 128 && h == 256 && ch == 4); /* alpha kept for PNG */
  dims(path(out, "gray.png"), &w, &h, &ch);
  ck_assert(w == 256 && h == 171 && ch == 1);
  dims(path(out, "deep.png"), &w, &h, &ch);
  ck_assert(w == 256 && h == 192 && ch == 3);
  dims(path(out, "small.jpg"), &w, &h, &ch); /* never upscaled */
  ck_assert(w == 100 && h == 50);
  dims(path(out, "old.png"), &w, &h, &ch);
  ck_assert(w == 256 && h == 192);
  dims(path(out, "sub/nested.png"), &w, &h, &ch); /* relative path kept */
  ck_assert(w == 256 && h == 256);
  /* --upscale, and --format jpg from a PNG with alpha (flattened). */
  ck_assert_int_eq(sh("build/warden resize --upscale -w 300 -f jpg %s %s -o %s 2>/dev/null",
                      path(in, "small.jpg"), path(in, "alpha.png"), path(dir, "o2")), 0);
  dims(path(dir, "o2/small.jpg"), &w, &h, &ch);
  ck_assert(w == 300 && h == 150);
  dims(path(dir, "o2/alpha.jpg"), &w, &h, &ch);
  ck_assert(w == 300 && h == 600 && ch == 3);
  assert_no_temporaries();
}
END_TEST

START_TEST(hostile_inputs_cost_one_row_each) {
  make_jpeg(path(in, "good.jpg"), 800, 600, 3, 90);
  make_png(path(in, "good.png"), 640, 480, 3);
  make_damaged(path(in, "good.jpg"), path(in, "truncated.jpg"), 3000, 0);
  make_damaged(path(in, "good.png"), path(in, "truncated.png"), 2000, 0);
  make_damaged(path(in, "good.png"), path(in, "flipped.png"), 0, 97);
  make_tga_bomb(path(in, "bomb.tga"));
  make_gif_bomb(path(in, "bomb.gif"));
  write_file(path(in, "empty.png"), "", 0);
  write_file(path(in, "notes.txt"), "not an image\n", 13);
  int rc = sh("build/warden resize --json -w 128 %s/* -o %s > %s 2>/dev/null", in, out,
              path(dir, "rows.json"));
  size_t n = 0;
  char *all = read_file(path(dir, "rows.json"), &n);
  ck_assert_int_eq(count_rows(all), 9);
  ck_assert_str_eq(status_of(all, "good.jpg"), "ok");
  ck_assert_str_eq(status_of(all, "good.png"), "ok");
  ck_assert_str_eq(status_of(all, "truncated.jpg"), "corrupt");
  ck_assert_str_eq(status_of(all, "truncated.png"), "corrupt");
  ck_assert_str_eq(status_of(all, "flipped.png"), "corrupt");
  ck_assert_str_eq(status_of(all, "bomb.tga"), "too large");
  ck_assert_str_eq(status_of(all, "bomb.gif"), "too large");
  ck_assert_str_eq(status_of(all, "empty.png"), "corrupt");
  ck_assert_str_eq(status_of(all, "notes.txt"), "unsupported");
  ck_assert_int_eq(rc, 7); /* the exit status counts the failures */
  free(all);
  /* Failed images leave no output, not even a partial one. */
  struct stat st;
  ck_assert_int_ne(stat(path(out, "truncated.jpg"), &st), 0);
  ck_assert_int_eq(stat(path(out, "good.jpg"), &st), 0);
  assert_no_temporaries();
}
END_TEST

START_TEST(resume_and_bad_usage) {
  for (int i = 0; i < 6; i++) {
    char name[32];
    snprintf(name, sizeof(name), "p%d.png", i);
    make_png(path(in, name), 300 + i, 200, 3);
  }
  ck_assert_int_eq(sh("build/warden resize -w 64 %s -o %s 2>/dev/null", in, out), 0);
  unlink(path(out, "p2.png"));
  unlink(path(out, "p4.png"));
  ck_assert_int_eq(sh("build/warden resize --resume --json -w 64 %s -o %s > %s 2>/dev/null", in,
                      out, path(dir, "rows.json")), 0);
  size_t n = 0;
  char *all = read_file(path(dir, "rows.json"), &n);
  ck_assert_int_eq(count_rows(all), 2); /* exactly the missing ones */
  ck_assert_str_eq(status_of(all, "p2.png"), "ok");
  ck_assert_str_eq(status_of(all, "p4.png"), "ok");
  free(all);
  /* Inputs from stdin with '-'. */
  ck_assert_int_eq(sh("ls %s/p1.png %s/p3.png | build/warden resize -w 32 - -o %s 2>/dev/null",
                      in, in, path(dir, "o3")), 0);
  struct stat st;
  ck_assert_int_eq(stat(path(dir, "o3/p3.png"), &st), 0);
  /* Bad usage: a clear message and 125, never a crash. */
  ck_assert_int_eq(sh("build/warden resize -w 64 %s 2>/dev/null", in), 125);
  ck_assert_int_eq(sh("build/warden resize -w 0 %s -o %s 2>/dev/null", in, out), 125);
  ck_assert_int_eq(sh("build/warden resize -f tiff %s -o %s 2>/dev/null", in, out), 125);
  ck_assert_int_eq(sh("build/warden resize %s/nonexistent -o %s 2>/dev/null", in, out), 125);
  ck_assert_int_eq(sh("build/warden resize --max-pixels lots %s -o %s 2>/dev/null", in, out), 125);
  /* An output directory that cannot be made: a clear error before any work. */
  ck_assert_int_eq(sh("build/warden resize -w 64 %s -o /proc/warden-out 2>/dev/null", in), 125);
}
END_TEST

/* The job itself, through the library: the worker that ran it is under a
 * seccomp filter with no new privileges; a task that loops is cut off at
 * its deadline while the other images complete. */
static int job_loop(const void *arg, size_t len, wd_out *out) {
  (void)arg, (void)len, (void)out;
  for (volatile unsigned long i = 0;; i++)
    ;
  return 0;
}

START_TEST(sandboxed_and_loops_cut_off) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  wd_register_resize_job();
  wd_register("loop", job_loop);
  int fds0 = count_fds();
  wd_pool *pool;
  wd_pool_options o = {.workers = 2, .memory_limit = 1u << 30};
  ck_assert_int_eq(wd_pool_new(&loop, &o, &pool), 0);
  make_png(path(in, "a.png"), 400, 300, 3);
  size_t n = 0;
  void *file = read_file(path(in, "a.png"), &n);
  wd_img_req req = {.width = 100, .quality = 85, .max_pixels = 100000000};
  wd__buf b = {0};
  ck_assert_int_eq(wd_img_encode(&b, &req, file, n), 0);
  enum { N = 6 };
  wd_future *f[N + 1];
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(wd_submit(pool, "resize", b.p, b.len, NULL, &f[i]), 0);
  wd_task_options t = {.timeout_ms = 300};
  ck_assert_int_eq(wd_submit(pool, "loop", "", 0, &t, &f[N]), 0);
  wd_await_all(f, N + 1);
  for (int i = 0; i < N; i++) {
    const wd_result *r = wd_future_result(f[i]);
    ck_assert_int_eq(r->status, WD_OK);
    wd_img_res res;
    ck_assert_int_eq(wd_img_decode(r->data, r->len, &res), 0);
    ck_assert_int_eq(res.error, WD_IMG_OK);
    ck_assert(res.out_w == 100 && res.out_h == 75 && res.format == WD_IMG_PNG);
    int w, h, ch;
    ck_assert(stbi_info_from_memory(res.data, (int)res.len, &w, &h, &ch) && w == 100);
  }
  ck_assert_int_eq(wd_future_result(f[N])->status, WD_TIMEOUT);
  /* A worker that has run the job (and not the loop, whose worker was
   * killed) is under the filter for good. */
  pid_t sandboxed = 0;
  for (int i = 0; i < N; i++)
    if (wd_future_result(f[i])->pid != wd_future_result(f[N])->pid)
      sandboxed = wd_future_result(f[i])->pid;
  ck_assert_int_ne(sandboxed, 0);
  char statusfile[64];
  snprintf(statusfile, sizeof(statusfile), "/proc/%d/status", (int)sandboxed);
  FILE *sf = fopen(statusfile, "r");
  char line[256];
  int seccomp = -1, nnp = -1;
  while (sf && fgets(line, sizeof(line), sf)) {
    sscanf(line, "Seccomp: %d", &seccomp);
    sscanf(line, "NoNewPrivs: %d", &nnp);
  }
  if (sf)
    fclose(sf);
  ck_assert_int_eq(seccomp, 2); /* SECCOMP_MODE_FILTER */
  ck_assert_int_eq(nnp, 1);
  for (int i = 0; i <= N; i++)
    wd_future_release(f[i]);
  wd__buf_free(&b);
  free(file);
  wd_pool_destroy(pool);
  assert_clean(fds0);
  uv_loop_close(&loop);
}
END_TEST

int main(void) {
  TCase *tc = tcase_create("resize");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, sizes_formats_and_orientation);
  tcase_add_test(tc, hostile_inputs_cost_one_row_each);
  tcase_add_test(tc, resume_and_bad_usage);
  tcase_add_test(tc, sandboxed_and_loops_cut_off);
  return run_suite(one_case_suite("resize", tc));
}
