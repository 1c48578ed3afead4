/* test_resample.c -- the resize job's resampling, end to end through
 * `warden resize`: fine detail keeps its contrast (Catmull-Rom, not the
 * soft Mitchell filter stb_image_resize picks by default), and a whole-factor
 * shrink whose last box is partial neither shifts nor stretches the
 * thumbnail (a mirror-symmetric image gives a mirror-symmetric one).  The
 * fidelity figures themselves are bench/fidelity.py's, on real photos. */
#include <sys/stat.h>

#include "helpers.h"
#include "images.h"

#include <stb_image.h>

/* Stripes 2 output pixels wide, 8x down: Catmull-Rom gives 249 and 66
 * (a linear-light contrast of 0.89), the old Mitchell filter 243 and 90
 * (0.79, the softness bench/fidelity.py measured on photos). */
#define STRIPE_WHITE_MIN 246
#define STRIPE_BLACK_MAX 78
/* Mirror pixels may differ by a few levels of sRGB where the filter's
 * lobes ring near black (7 against 4 there is 0.002 against 0.001 of
 * light); the old mapping of the partial box put 45 levels between the
 * square's left and right edges. */
#define MIRROR_SLACK 4

static char dir[64], in[128], out[128];

static void setup(void) {
  strcpy(dir, "/tmp/wd-resample-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(in, sizeof(in), "%s/in", dir);
  snprintf(out, sizeof(out), "%s/out", dir);
  ck_assert_int_eq(mkdir(in, 0777), 0);
}

static void teardown(void) { sh("rm -rf %s", dir); }

/* A grey PNG: white where inside(x, y) says so, black elsewhere. */
static void write_grey(const char *name, int w, int h, int (*inside)(int x, int y)) {
  char p[256];
  unsigned char *g = malloc((size_t)w * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      g[(size_t)y * w + x] = inside(x, y) ? 255 : 0;
  snprintf(p, sizeof(p), "%s/%s", in, name);
  ck_assert_int_eq(write_png_spng(p, g, w, h, 1, 8, 0), 0);
  free(g);
}

/* The grey thumbnail of `name`, (w, h) wide and high. */
static unsigned char *thumb(const char *name, int width, int w, int h) {
  char p[256];
  int gw, gh, ch;
  ck_assert_int_eq(sh(WD_BIN " resize -j1 -w %d -f png %s/%s -o %s 2>/dev/null", width, in,
                      name, out),
                   0);
  snprintf(p, sizeof(p), "%s/%s", out, name);
  unsigned char *px = stbi_load(p, &gw, &gh, &ch, 1);
  ck_assert_ptr_nonnull(px);
  ck_assert_msg(gw == w && gh == h, "%s: %dx%d", name, gw, gh);
  return px;
}

/* White and black stripes 16 pixels wide, upright. */
static int stripes(int x, int y) { return (void)y, x / 16 % 2 == 1; }

START_TEST(fine_detail_keeps_its_contrast) {
  enum { W = 800, H = 64, T = W / 8 };
  write_grey("stripes.png", W, H, stripes);
  unsigned char *px = thumb("stripes.png", T, T, H / 8);
  for (int y = 0; y < H / 8; y++)
    for (int x = 4; x < T - 4; x++) { /* the edges clamp */
      int v = px[y * T + x], white = x % 4 >= 2;
      ck_assert_msg(white ? v >= STRIPE_WHITE_MIN : v <= STRIPE_BLACK_MAX,
                    "(%d,%d) = %d: stripes washed out", x, y, v);
    }
  stbi_image_free(px);
}
END_TEST

/* 81 x 81, a white square in the middle: 10 px wide is a shrink by 4,
 * whose last box holds one column of the four. */
static int square(int x, int y) { return x >= 20 && x <= 60 && y >= 20 && y <= 60; }

START_TEST(partial_last_box_neither_shifts_nor_stretches) {
  enum { S = 81, T = 10 };
  write_grey("square.png", S, S, square);
  unsigned char *px = thumb("square.png", T, T, T);
  for (int y = 0; y < T; y++)
    for (int x = 0; x < T; x++) {
      int v = px[y * T + x], m = px[y * T + T - 1 - x], f = px[(T - 1 - y) * T + x];
      ck_assert_msg(abs(v - m) <= MIRROR_SLACK && abs(v - f) <= MIRROR_SLACK,
                    "(%d,%d) = %d, mirrored %d, flipped %d", x, y, v, m, f);
    }
  stbi_image_free(px);
}
END_TEST

int main(void) {
  Suite *s = suite_create("resample");
  TCase *tc = wd_test_case(s, "resample", 60, setup, teardown);
  tcase_add_test(tc, fine_detail_keeps_its_contrast);
  tcase_add_test(tc, partial_last_box_neither_shifts_nor_stretches);
  return run_suite(s);
}
