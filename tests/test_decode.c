/* test_decode.c -- the decoders decode what they can (issue 16's four
 * bugs): arithmetic-coded JPEGs, sequential and progressive, which stb's
 * header check used to refuse before libjpeg-turbo saw them; a PNG over
 * stb's 2^30-byte cap, streamed through libspng when --max-pixels allows
 * it; a PNG's eXIf orientation; and an input that fails to decode no
 * longer pushes another input of the same stem off its output name.
 * Hostile inputs of the same kinds still get the right status. */
#include <sys/stat.h>

#include "helpers.h"
#include "images.h"
#include "warden-image.h"

#include <stb_image.h>

#include "batchdir.h"

/* Runs warden resize with args, its rows into a string (freed by the
 * caller); *rc its exit status. */
static char *resize_rows(int *rc, const char *args) {
  size_t n;
  *rc = sh(WD_BIN " resize --json %s > %s 2>%s", args, path(dir, "rows.json"),
           path(dir, "err"));
  return read_file(path(dir, "rows.json"), &n);
}

/* ---- arithmetic-coded JPEG ---------------------------------------------- */

enum { JPEG_ARITH = 1, JPEG_PROGRESSIVE = 2 };

/* The pattern as a JPEG through libjpeg: Huffman or arithmetic coding,
 * sequential or progressive.  The same coefficients whatever the coding. */
static int make_jpeg_coded(const char *file, int w, int h, int how) {
  FILE *f = fopen(file, "wb");
  if (f == NULL)
    return -1;
  unsigned char *p = pattern(w, h, 3, (unsigned)w);
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr e;
  c.err = jpeg_std_error(&e);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, f);
  c.image_width = (JDIMENSION)w, c.image_height = (JDIMENSION)h;
  c.input_components = 3, c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 90, TRUE);
  c.arith_code = (how & JPEG_ARITH) != 0;
  if (how & JPEG_PROGRESSIVE)
    jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = p + (size_t)c.next_scanline * w * 3;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  free(p);
  return fclose(f);
}

/* The largest difference of a sample between two images of one size. */
static int max_diff(const char *a, const char *b, int w, int h) {
  int aw, ah, ac, bw, bh, bc, d = 0;
  unsigned char *x = stbi_load(a, &aw, &ah, &ac, 3), *y = stbi_load(b, &bw, &bh, &bc, 3);
  ck_assert_msg(x && y, "%s or %s: not an image", a, b);
  ck_assert_msg(aw == w && ah == h && bw == w && bh == h, "%dx%d and %dx%d, not %dx%d", aw, ah,
                bw, bh, w, h);
  for (size_t i = 0; i < (size_t)w * h * 3; i++)
    d = abs(x[i] - y[i]) > d ? abs(x[i] - y[i]) : d;
  stbi_image_free(x);
  stbi_image_free(y);
  return d;
}

/* Without the fix, stbi_info refused all three arithmetic files as
 * "corrupt: unknown image type".  Each width takes another path through
 * the JPEG decoder: 1/8 with only the DC scans of a progressive file
 * (image_jpeg_dc.c), 1/4 reading the scans only as far as needed, full
 * size. */
START_TEST(arithmetic_jpegs_decode_like_huffman_ones) {
  static const struct {
    const char *name;
    int how;
  } files[] = {{"huffman.jpg", 0},
               {"arith.jpg", JPEG_ARITH},
               {"arith-prog.jpg", JPEG_ARITH | JPEG_PROGRESSIVE},
               {"huffman-prog.jpg", JPEG_PROGRESSIVE}};
  for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++)
    ck_assert_int_eq(make_jpeg_coded(path(in, files[k].name), 1600, 1200, files[k].how), 0);
  static const int widths[] = {40, 160, 1600};
  for (size_t j = 0; j < sizeof(widths) / sizeof(widths[0]); j++) {
    int rc, w = widths[j], h = w * 3 / 4;
    char args[512], o[160];
    snprintf(o, sizeof(o), "%s/w%d", dir, w);
    snprintf(args, sizeof(args), "-w %d -f png %s -o %s", w, in, o);
    char *rows = resize_rows(&rc, args);
    ck_assert_int_eq(rc, 0);
    for (size_t k = 1; k < sizeof(files) / sizeof(files[0]); k++) {
      char stem[64];
      ck_assert_str_eq(status_of(rows, files[k].name), "ok");
      snprintf(stem, sizeof(stem), "%.*s.png", (int)strlen(files[k].name) - 4, files[k].name);
      int d = max_diff(path(o, "huffman.png"), path(o, stem), w, h);
      ck_assert_msg(d <= 2, "%s at %d wide: off by %d", files[k].name, w, d);
    }
    free(rows);
  }
}
END_TEST

/* A truncated arithmetic JPEG is still corrupt, not a partial success. */
START_TEST(truncated_arithmetic_jpegs_are_corrupt) {
  make_jpeg_coded(path(dir, "a.jpg"), 800, 600, JPEG_ARITH);
  make_jpeg_coded(path(dir, "p.jpg"), 800, 600, JPEG_ARITH | JPEG_PROGRESSIVE);
  make_damaged(path(dir, "a.jpg"), path(in, "cut.jpg"), 3000, 0);
  make_damaged(path(dir, "p.jpg"), path(in, "cut-prog.jpg"), 3000, 0);
  make_damaged(path(dir, "a.jpg"), path(in, "header-only.jpg"), 200, 0);
  int rc;
  char args[512];
  snprintf(args, sizeof(args), "-w 100 %s -o %s", in, out);
  char *rows = resize_rows(&rc, args);
  ck_assert_str_eq(status_of(rows, "cut.jpg"), "corrupt");
  ck_assert_str_eq(status_of(rows, "cut-prog.jpg"), "corrupt");
  ck_assert_str_eq(status_of(rows, "header-only.jpg"), "corrupt");
  ck_assert_int_eq(rc, 3);
  free(rows);
}
END_TEST

/* ---- a PNG over stb's cap ----------------------------------------------- */

enum { HUGE_W = 20000, HUGE_H = 18000 };

/* An RGB HUGE_W x HUGE_H PNG (1.08 GB of pixels: RGB, since stb's cap
 * counts bytes), encoded a row at a time (it never exists whole here
 * either): mid-grey, with a black top-left quarter, so a wrong
 * orientation or a stretched thumbnail shows. */
static int make_huge_png(const char *file) {
  struct spng_ihdr ihdr = {.width = HUGE_W, .height = HUGE_H, .bit_depth = 8,
                           .color_type = SPNG_COLOR_TYPE_TRUECOLOR};
  spng_ctx *c = spng_ctx_new(SPNG_CTX_ENCODER);
  unsigned char *row = malloc(HUGE_W * 3);
  FILE *f = fopen(file, "wb");
  int e = c && row && f ? 0 : -1;
  if (e == 0 && ((e = spng_set_png_file(c, f)) || (e = spng_set_ihdr(c, &ihdr)) ||
                 (e = spng_encode_image(c, NULL, 0, SPNG_FMT_PNG, SPNG_ENCODE_PROGRESSIVE))))
    goto done;
  for (int y = 0; y < HUGE_H && e == 0; y++) {
    memset(row, 128, HUGE_W * 3);
    if (y < HUGE_H / 2)
      memset(row, 0, HUGE_W / 2 * 3);
    e = spng_encode_row(c, row, HUGE_W * 3);
  }
  if (e == SPNG_EOI)
    e = spng_encode_chunks(c);
done:
  spng_ctx_free(c);
  free(row);
  if (f && fclose(f) != 0)
    e = -1;
  return e;
}

/* A PNG header that says w x h, with no image data after it. */
static int make_png_header_only(const char *file, uint32_t w, uint32_t h) {
  struct spng_ihdr ihdr = {.width = w, .height = h, .bit_depth = 8,
                           .color_type = SPNG_COLOR_TYPE_TRUECOLOR};
  spng_ctx *c = spng_ctx_new(SPNG_CTX_ENCODER);
  FILE *f = fopen(file, "wb");
  int e = c && f ? 0 : -1;
  if (e == 0 && !(e = spng_set_png_file(c, f)) && !(e = spng_set_ihdr(c, &ihdr)))
    e = spng_encode_chunks(c); /* signature and IHDR: no IDAT, no IEND */
  spng_ctx_free(c);
  if (f && fclose(f) != 0)
    e = -1;
  return e;
}

/* 360 million pixels: stb's header check said "too large" (its 2^30-byte
 * cap) whatever --max-pixels said; libspng decodes it a row at a time. */
START_TEST(png_over_stb_cap_streams_under_max_pixels) {
  ck_assert_int_eq(make_huge_png(path(in, "huge.png")), 0);
  make_png_header_only(path(in, "bomb.png"), 65535, 65535);
  int rc, w, h, ch;
  char args[512];
  snprintf(args, sizeof(args), "--max-pixels 2G -w 256 %s -o %s", path(in, "huge.png"), out);
  char *rows = resize_rows(&rc, args);
  ck_assert_msg(rc == 0, "%s", rows);
  ck_assert_str_eq(status_of(rows, "huge.png"), "ok");
  free(rows);
  unsigned char *px = stbi_load(path(out, "huge.png"), &w, &h, &ch, 1);
  ck_assert_ptr_nonnull(px);
  ck_assert(w == 256 && h == 230 && ch == 3);
  ck_assert_int_lt(px[(size_t)h / 4 * w + w / 4], 8);           /* the black quarter */
  ck_assert_int_gt(px[(size_t)h * 3 / 4 * w + w * 3 / 4], 120); /* grey elsewhere */
  stbi_image_free(px);
  /* The default limit (100M pixels) refuses it before decoding, and a
   * header without data is too large by default, corrupt when allowed. */
  snprintf(args, sizeof(args), "-w 256 %s -o %s", in, path(dir, "o2"));
  rows = resize_rows(&rc, args);
  ck_assert_str_eq(status_of(rows, "huge.png"), "too large");
  ck_assert_str_eq(status_of(rows, "bomb.png"), "too large");
  free(rows);
  snprintf(args, sizeof(args), "--max-pixels 5G -w 256 %s -o %s", path(in, "bomb.png"),
           path(dir, "o3"));
  rows = resize_rows(&rc, args);
  ck_assert_str_eq(status_of(rows, "bomb.png"), "corrupt");
  ck_assert_int_eq(rc, 1);
  free(rows);
}
END_TEST

/* ---- a PNG's eXIf orientation ------------------------------------------- */

/* A 300 x 200 RGB PNG, blue with a red top-left corner, whose eXIf chunk
 * says orientation o (a big-endian TIFF, as make_jpeg_rotated's APP1). */
static int make_png_oriented(const char *file, int o) {
  enum { W = 300, H = 200 };
  unsigned char tiff[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1,
                          0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (unsigned char)o, 0, 0,
                          0, 0, 0, 0};
  struct spng_ihdr ihdr = {.width = W, .height = H, .bit_depth = 8,
                           .color_type = SPNG_COLOR_TYPE_TRUECOLOR};
  struct spng_exif exif = {.length = sizeof(tiff), .data = (char *)tiff};
  unsigned char *px = malloc((size_t)W * H * 3);
  for (int i = 0; i < W * H; i++) {
    int corner = i % W < W / 4 && i / W < H / 4;
    px[i * 3] = corner ? 255 : 0, px[i * 3 + 1] = 0, px[i * 3 + 2] = corner ? 0 : 255;
  }
  spng_ctx *c = spng_ctx_new(SPNG_CTX_ENCODER);
  FILE *f = fopen(file, "wb");
  int e = c && f ? 0 : -1;
  if (e == 0 && !(e = spng_set_png_file(c, f)) && !(e = spng_set_ihdr(c, &ihdr)) &&
      !(e = spng_set_exif(c, &exif)))
    e = spng_encode_image(c, px, (size_t)W * H * 3, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
  spng_ctx_free(c);
  free(px);
  if (f && fclose(f) != 0)
    e = -1;
  return e;
}

/* Orientation 6 ("rotate 90 degrees clockwise to display"): stored
 * 300x200, seen 200x300, the stored top-left corner at the top right --
 * as the JPEG case of test_resize.  Before the fix the eXIf chunk was
 * ignored and the output stayed 150x100. */
START_TEST(png_exif_orientation_turns_the_output) {
  ck_assert_int_eq(make_png_oriented(path(in, "turned.png"), 6), 0);
  ck_assert_int_eq(make_png_oriented(path(in, "upright.png"), 1), 0);
  int rc, w, h, ch;
  char args[512];
  snprintf(args, sizeof(args), "-H 150 %s -o %s", in, out);
  char *rows = resize_rows(&rc, args);
  ck_assert_int_eq(rc, 0);
  ck_assert_msg(strstr(rows, "\"width_in\":200,\"height_in\":300"), "%s", rows);
  free(rows);
  unsigned char *px = stbi_load(path(out, "turned.png"), &w, &h, &ch, 3);
  ck_assert_ptr_nonnull(px);
  ck_assert_msg(w == 100 && h == 150, "turned: %dx%d", w, h);
  const unsigned char *tr = px + ((size_t)5 * w + (w - 5)) * 3, *tl = px + (size_t)5 * w * 3;
  ck_assert_msg(tr[0] > 200 && tr[2] < 50, "top right %d,%d,%d", tr[0], tr[1], tr[2]);
  ck_assert_msg(tl[0] < 50 && tl[2] > 200, "top left %d,%d,%d", tl[0], tl[1], tl[2]);
  stbi_image_free(px);
  px = stbi_load(path(out, "upright.png"), &w, &h, &ch, 3);
  ck_assert(px && w == 225 && h == 150 && px[15 * 3] > 200); /* as stored */
  stbi_image_free(px);
}
END_TEST

/* ---- output names go to images that decode ------------------------------ */

static int exists(const char *file) {
  struct stat st;
  return stat(file, &st) == 0;
}

/* photo.avif (no decoder reads it) and photo.bmp both make photo.png;
 * the AVIF was named first, so it held the name and the BMP was written
 * as photo.bmp.png next to nothing.  Now the name goes to the first of
 * them that decodes.  Likewise a broken pic.png, which outranks pic.tga
 * by its extension, leaves pic.png to the TGA; when both decode the rule
 * is as before (test_resize's output_name_collisions). */
START_TEST(failed_input_leaves_its_name_to_the_next) {
  write_file(path(in, "photo.avif"), "\0\0\0\034ftypavif not really", 24);
  unsigned char *px = pattern(200, 300, 3, 9);
  ck_assert(stbi_write_bmp(path(in, "photo.bmp"), 200, 300, 3, px));
  ck_assert_int_eq(mkdir(path(dir, "in2"), 0777), 0);
  ck_assert(stbi_write_tga(path(dir, "in2/pic.tga"), 200, 300, 3, px));
  free(px);
  make_png(path(dir, "good.png"), 300, 200, 3);
  make_damaged(path(dir, "good.png"), path(dir, "in2/pic.png"), 2000, 0);
  int rc, w, h, ch;
  char args[512];
  snprintf(args, sizeof(args), "-w 100 %s %s %s -o %s", path(in, "photo.avif"),
           path(in, "photo.bmp"), path(dir, "in2"), out);
  char *rows = resize_rows(&rc, args);
  ck_assert_str_eq(status_of(rows, "photo.avif"), "unsupported");
  ck_assert_str_eq(status_of(rows, "pic.png"), "corrupt");
  ck_assert_str_eq(status_of(rows, "photo.bmp"), "ok");
  ck_assert_str_eq(status_of(rows, "pic.tga"), "ok");
  ck_assert_int_eq(rc, 2);
  free(rows);
  ck_assert_msg(stbi_info(path(out, "photo.png"), &w, &h, &ch), "no photo.png");
  ck_assert(w == 100 && h == 150); /* the BMP's, portrait */
  ck_assert_msg(stbi_info(path(out, "pic.png"), &w, &h, &ch), "no pic.png");
  ck_assert(w == 100 && h == 150); /* the TGA's */
  ck_assert(!exists(path(out, "photo.bmp.png")) && !exists(path(out, "pic.tga.png")));
  ck_assert_int_eq(sh("grep -q 'written as' %s", path(dir, "err")), 1);
  /* --resume: both names are written, nothing is done again. */
  snprintf(args, sizeof(args), "--resume -w 100 %s %s %s -o %s", path(in, "photo.avif"),
           path(in, "photo.bmp"), path(dir, "in2"), out);
  rows = resize_rows(&rc, args);
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(sh("grep -q 'all 4 outputs exist already' %s", path(dir, "err")), 0);
  free(rows);
}
END_TEST

int main(void) {
  Suite *s = suite_create("decode");
  TCase *tc = wd_test_case(s, "decoders", 120, setup, teardown);
  tcase_add_test(tc, arithmetic_jpegs_decode_like_huffman_ones);
  tcase_add_test(tc, truncated_arithmetic_jpegs_are_corrupt);
  tcase_add_test(tc, png_over_stb_cap_streams_under_max_pixels);
  tcase_add_test(tc, png_exif_orientation_turns_the_output);
  tc = wd_test_case(s, "names", 60, setup, teardown);
  tcase_add_test(tc, failed_input_leaves_its_name_to_the_next);
  return run_suite(s);
}
