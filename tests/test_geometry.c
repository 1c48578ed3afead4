/* test_geometry.c -- how `warden resize` meets its box: --fit contain
 * (inside it, the default), cover (fill it, the centre kept) and fill
 * (stretched to it), --crop attention keeping the busy part, the -s/--size
 * shorthand as vipsthumbnail reads it, EXIF orientation applied before the
 * fit, and the refusals (cover and fill without both sides, malformed
 * sizes and words). */
#include <sys/stat.h>

#include "helpers.h"
#include "images.h"

#include <stb_image.h>

/* How far a centre-cropped pixel may be from the centre's pure red where
 * the resampling filter reaches across the colour edge: none of the kept
 * columns is nearer the edge than this. */
#define EDGE_SLACK 3
#define RED_MIN 200
#define OTHER_MAX 60

static char dir[64], in[128], out[128];

static void setup(void) {
  strcpy(dir, "/tmp/wd-geometry-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(in, sizeof(in), "%s/in", dir);
  snprintf(out, sizeof(out), "%s/out", dir);
  ck_assert_int_eq(mkdir(in, 0777), 0);
}

static void teardown(void) { sh("rm -rf %s", dir); }

static const char *at(const char *d, const char *name) {
  static char p[2][256];
  static int i;
  i ^= 1;
  snprintf(p[i], sizeof(p[i]), "%s/%s", d, name);
  return p[i];
}

/* An RGB PNG, red where in_centre(x, y, w, h), blue elsewhere. */
static void write_rgb(const char *name, int w, int h, int (*in_centre)(int, int, int, int)) {
  unsigned char *px = malloc((size_t)w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      unsigned char *p = px + ((size_t)y * w + x) * 3;
      int red = in_centre(x, y, w, h);
      p[0] = red ? 255 : 0, p[1] = 0, p[2] = red ? 0 : 255;
    }
  ck_assert_int_eq(write_png_spng(at(in, name), px, w, h, 3, 8, 0), 0);
  free(px);
}

/* The middle third across (landscape) or down (portrait). */
static int middle_third(int x, int y, int w, int h) {
  return w >= h ? x >= w / 3 && x < 2 * w / 3 : y >= h / 3 && y < 2 * h / 3;
}

static int nowhere(int x, int y, int w, int h) {
  (void)x;
  (void)y;
  (void)w;
  (void)h;
  return 0;
}

/* Runs `warden resize OPTS` over in, fresh out; its exit status. */
static int resize(const char *opts) {
  sh("rm -rf %s", out);
  return sh(WD_BIN " resize -j1 %s %s -o %s >/dev/null 2>&1", opts, in, out);
}

static void expect_size(const char *name, int w, int h, const char *opts) {
  int gw, gh, ch;
  ck_assert_msg(stbi_info(at(out, name), &gw, &gh, &ch), "%s: no output", name);
  ck_assert_msg(gw == w && gh == h, "%s with %s: %dx%d, not %dx%d", name, opts, gw, gh, w, h);
}

/* Landscape, portrait, and stored landscape seen portrait (EXIF 6). */
static void make_shapes(void) {
  ck_assert_int_eq(make_png(at(in, "land.png"), 300, 200, 3), 0);
  ck_assert_int_eq(make_png(at(in, "port.png"), 200, 300, 3), 0);
  ck_assert_int_eq(make_jpeg_rotated(at(in, "rot.jpg"), 300, 200), 0);
}

static const struct {
  const char *opts;
  int land_w, land_h, port_w, port_h; /* rot.jpg is seen as port.png */
} shapes[] = {
    {"-w 100 -H 50", 75, 50, 33, 50},
    {"--fit contain -w 100 -H 50", 75, 50, 33, 50},
    {"--fit cover -w 100 -H 50", 100, 50, 100, 50},
    {"--fit cover --crop centre -s 40x100", 40, 100, 40, 100},
    {"--fit fill -w 100 -H 50", 100, 50, 100, 50},
    {"--fit fill -s 50x120", 50, 120, 50, 120},
    {"-s 60", 60, 40, 40, 60},
    {"-s 60x", 60, 40, 60, 90},
    {"-s x60", 90, 60, 40, 60},
    {"-s 120x60", 90, 60, 40, 60},
    /* without --upscale cover never enlarges: the part of the box it can fill */
    {"--fit cover -w 1000 -H 100", 300, 100, 200, 100},
    {"--fit cover --upscale -w 1000 -H 100", 1000, 100, 1000, 100},
};

START_TEST(each_fit_on_each_shape) {
  make_shapes();
  for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
    ck_assert_msg(resize(shapes[i].opts) == 0, "%s failed", shapes[i].opts);
    expect_size("land.png", shapes[i].land_w, shapes[i].land_h, shapes[i].opts);
    expect_size("port.png", shapes[i].port_w, shapes[i].port_h, shapes[i].opts);
    expect_size("rot.jpg", shapes[i].port_w, shapes[i].port_h, shapes[i].opts);
  }
}
END_TEST

/* Every pixel of name's w x h output, but EDGE_SLACK columns and rows
 * from each side, is red or (red == 0) blue. */
static void expect_colour(const char *name, int x0, int x1, int red) {
  int w, h, ch;
  unsigned char *px = stbi_load(at(out, name), &w, &h, &ch, 3);
  ck_assert_ptr_nonnull(px);
  for (int y = EDGE_SLACK; y < h - EDGE_SLACK; y++)
    for (int x = x0; x < x1; x++) {
      const unsigned char *p = px + ((size_t)y * w + x) * 3;
      int want = red ? p[0] >= RED_MIN && p[2] <= OTHER_MAX : p[2] >= RED_MIN && p[0] <= OTHER_MAX;
      ck_assert_msg(want, "%s (%d,%d) = %d,%d,%d", name, x, y, p[0], p[1], p[2]);
    }
  stbi_image_free(px);
}

START_TEST(cover_keeps_the_centre) {
  write_rgb("wide.png", 600, 200, middle_third);
  write_rgb("tall.png", 200, 600, middle_third);
  /* Both to 300 x 100 (or 100 x 300), then their middle 100 x 100: the red. */
  ck_assert_int_eq(resize("--fit cover -s 100"), 0);
  expect_size("wide.png", 100, 100, "cover");
  expect_size("tall.png", 100, 100, "cover");
  expect_colour("wide.png", EDGE_SLACK, 100 - EDGE_SLACK, 1);
  expect_colour("tall.png", EDGE_SLACK, 100 - EDGE_SLACK, 1);
  /* contain keeps the blue sides of the wide one; fill stretches them. */
  ck_assert_int_eq(resize("-s 100"), 0);
  expect_size("wide.png", 100, 33, "contain");
  ck_assert_int_eq(resize("--fit fill -s 90"), 0);
  expect_size("wide.png", 90, 90, "fill");
  expect_colour("wide.png", 0, 30 - EDGE_SLACK, 0);
  expect_colour("wide.png", 30 + EDGE_SLACK, 60 - EDGE_SLACK, 1);
  expect_colour("wide.png", 60 + EDGE_SLACK, 90, 0);
}
END_TEST

/* Red and white stripes 4 pixels wide in the last third (across or down),
 * flat grey elsewhere: all the edges and colour are there. */
static void busy_end(const char *name, int w, int h) {
  unsigned char *px = malloc((size_t)w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      unsigned char *p = px + ((size_t)y * w + x) * 3;
      int busy = w >= h ? x >= 2 * w / 3 : y >= 2 * h / 3;
      int red = (x / 4 + y / 4) % 2;
      p[0] = busy ? 255 : 128;
      p[1] = p[2] = busy ? (red ? 0 : 255) : 128;
    }
  ck_assert_int_eq(write_png_spng(at(in, name), px, w, h, 3, 8, 0), 0);
  free(px);
}

/* The middle pixel of name's output is grey (flat) or not. */
static int middle_is_grey(const char *name) {
  int w, h, ch;
  unsigned char *px = stbi_load(at(out, name), &w, &h, &ch, 3);
  ck_assert_ptr_nonnull(px);
  const unsigned char *p = px + ((size_t)(h / 2) * w + w / 2) * 3;
  int grey = abs(p[0] - 128) < 8 && abs(p[1] - 128) < 8 && abs(p[2] - 128) < 8;
  stbi_image_free(px);
  return grey;
}

START_TEST(attention_keeps_the_busy_part) {
  busy_end("wide.png", 600, 200);
  busy_end("tall.png", 200, 600);
  write_rgb("flat.png", 300, 200, nowhere); /* every window ties: the centre */
  ck_assert_int_eq(resize("--fit cover --crop centre -s 100"), 0);
  ck_assert(middle_is_grey("wide.png") && middle_is_grey("tall.png"));
  ck_assert_int_eq(resize("--fit cover --crop attention -s 100"), 0);
  expect_size("wide.png", 100, 100, "attention");
  expect_size("tall.png", 100, 100, "attention");
  expect_size("flat.png", 100, 100, "attention");
  ck_assert(!middle_is_grey("wide.png") && !middle_is_grey("tall.png"));
}
END_TEST

/* warden resize OPTS in -o out: 125, and stderr says `says`. */
static void refused(const char *opts, const char *says) {
  ck_assert_msg(sh(WD_BIN " resize %s %s -o %s 2>%s/err", opts, in, out, dir) == 125,
                "%s accepted", opts);
  ck_assert_msg(sh("grep -qF -- \"%s\" %s/err", says, dir) == 0, "%s: no '%s'", opts, says);
}

START_TEST(refusals) {
  make_shapes();
  refused("--fit cover -w 100", "--fit cover needs a width and a height");
  refused("--fit fill -H 100", "--fit fill needs a width and a height");
  refused("--fit cover -s 100x", "--fit cover needs a width and a height");
  refused("--fit fill -s x100", "--fit fill needs a width and a height");
  refused("--fit cover -s 100 --crop top", "invalid value 'top' for --crop");
  refused("--fit stretch -s 100", "invalid value 'stretch' for --fit");
  refused("-s x", "invalid value 'x' for --size");
  refused("-s 0x10", "invalid value '0x10' for --size");
  refused("-s 10x10x10", "invalid value '10x10x10' for --size");
  refused("-s 100!", "invalid value '100!' for --size");
  ck_assert_int_eq(sh("test -e %s", out), 1); /* nothing ran */
}
END_TEST

int main(void) {
  Suite *s = suite_create("geometry");
  TCase *tc = wd_test_case(s, "geometry", 120, setup, teardown);
  tcase_add_test(tc, each_fit_on_each_shape);
  tcase_add_test(tc, cover_keeps_the_centre);
  tcase_add_test(tc, attention_keeps_the_busy_part);
  tcase_add_test(tc, refusals);
  return run_suite(s);
}
