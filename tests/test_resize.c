/* test_resize.c -- `warden resize` and the resize job: sizes and formats
 * come out right (alpha, grayscale, 16-bit, EXIF rotation), hostile files
 * cost one row each with the right error, the worker is sandboxed, a
 * looping task is cut off while the batch completes, outputs appear whole
 * or not at all (and are fsynced before they are renamed into place),
 * --resume does only what is missing, and inputs that cannot be had --
 * missing, FIFOs, devices, 3 GiB -- are rows, never a hang or a refusal
 * of the batch. */
#include <dirent.h>
#include <libgen.h>
#include <stdarg.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>

#include "../proc/proc.h" /* wd__buf */
#include "helpers.h"
#include "images.h"
#include "warden-image.h"

#include <stb_image.h>
#include <stb_image_resize.h>

#include "batchdir.h"

/* Width, height and channels of an output file, decoded by stb. */
static void dims(const char *file, int *w, int *h, int *ch) {
  ck_assert_msg(stbi_info(file, w, h, ch), "%s: not an image", file);
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
  make_png16(path(in, "deep.png"), 640, 480, 3);
  make_jpeg(path(in, "small.jpg"), 100, 50, 3, 90);
  unsigned char *px = pattern(320, 240, 3, 1); /* BMP: found by content too */
  ck_assert(stbi_write_bmp(path(in, "old.bmp"), 320, 240, 3, px));
  free(px);
  ck_assert_int_eq(mkdir(path(in, "sub"), 0777), 0);
  make_png(path(in, "sub/nested.png"), 400, 400, 3);
  ck_assert_int_eq(sh(WD_BIN " resize -w 256 -H 256 %s -o %s 2>/dev/null", in, out), 0);
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
  ck_assert_int_eq(sh(WD_BIN " resize --upscale -w 300 -f jpg %s %s -o %s 2>/dev/null",
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
  make_gif_bomb(path(in, "bomb.gif"), 65535, 40000);
  write_file(path(in, "empty.png"), "", 0);
  write_file(path(in, "notes.txt"), "not an image\n", 13);
  int rc = sh(WD_BIN " resize --json -w 128 %s/* -o %s > %s 2>/dev/null", in, out,
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

/* A number field of the JSON row whose input ends with `name`, or -1. */
static long field_of(const char *rows, const char *name, const char *field) {
  char key[300];
  snprintf(key, sizeof(key), "/%s\",", name);
  const char *r = strstr(rows, key);
  const char *end = r ? strchr(r, '\n') : NULL;
  snprintf(key, sizeof(key), "\"%s\":", field);
  const char *f = r ? strstr(r, key) : NULL;
  return f && f < end ? strtol(f + strlen(key), NULL, 10) : -1;
}

/* Pixel (x, y) channel c of a decoded output. */
static int px_at(const unsigned char *p, int w, int ch, int x, int y, int c) {
  return p[((size_t)y * w + x) * ch + c];
}

START_TEST(png_is_streamed_and_shrunk_in_linear_light) {
  enum { W = 800, H = 600 };
  /* One-pixel black and white checks: their mean in light is sRGB ~188;
   * a filter that averaged the bytes would give 128. */
  unsigned char *g = malloc(W * H), *rgb = malloc(W * H * 3), *rgba = malloc(W * H * 4);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      unsigned char v = (x + y) % 2 ? 255 : 0;
      g[y * W + x] = v;
      memset(rgb + (y * W + x) * 3, v, 3);
      /* Transparent pure red left of x = 397, opaque blue right of it: no
       * red may bleed into the visible pixels. */
      unsigned char *q = rgba + (y * W + x) * 4;
      q[0] = x < 397 ? 255 : 0, q[1] = 0, q[2] = x < 397 ? 0 : 255, q[3] = x < 397 ? 0 : 255;
    }
  ck_assert_int_eq(write_png_spng(path(in, "checks.png"), g, W, H, 1, 8, 0), 0);
  ck_assert_int_eq(write_png_spng(path(in, "checks-adam7.png"), rgb, W, H, 3, 8, 1), 0);
  ck_assert_int_eq(write_png_spng(path(in, "edge.png"), rgba, W, H, 4, 8, 0), 0);
  for (int i = 0; i < W * H; i++) /* grey + alpha */
    rgba[i * 2] = g[i], rgba[i * 2 + 1] = (unsigned char)(i % W * 255 / W);
  ck_assert_int_eq(write_png_spng(path(in, "grey-alpha.png"), rgba, W, H, 2, 8, 0), 0);
  make_png16(path(in, "grey16.png"), 640, 480, 1);
  ck_assert_int_eq(make_png_palette(path(in, "palette.png"), 900, 300), 0);
  free(g), free(rgb), free(rgba);
  /* 3000 x 3000 RGBA: 36 MB decoded, a few KB on disk. */
  enum { B = 3000 };
  unsigned char *big = malloc((size_t)B * B * 4);
  for (size_t i = 0; i < (size_t)B * B * 4; i++)
    big[i] = (unsigned char)(i / 4 % B * 255 / B);
  ck_assert_int_eq(write_png_spng(path(in, "big.png"), big, B, B, 4, 8, 0), 0);
  free(big);
  ck_assert_int_eq(sh(WD_BIN " resize -j1 --json -w 100 -f png %s -o %s > %s", in, out,
                      path(dir, "rows.json")),
                   0);
  size_t n;
  char *rows = read_file(path(dir, "rows.json"), &n);
  const char *names[] = {"checks.png", "checks-adam7.png"};
  for (int k = 0; k < 2; k++) {
    int w, h, ch;
    unsigned char *p = stbi_load(path(out, names[k]), &w, &h, &ch, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(w == 100 && h == 75 && ch == (k ? 3 : 1), "%s: %dx%dx%d", names[k], w, h, ch);
    for (int y = 2; y < h - 2; y++)
      for (int x = 2; x < w - 2; x++)
        ck_assert_msg(abs(px_at(p, w, ch, x, y, 0) - 188) <= 6, "%s (%d,%d) = %d", names[k],
                      x, y, px_at(p, w, ch, x, y, 0));
    stbi_image_free(p);
  }
  int w, h, ch;
  unsigned char *p = stbi_load(path(out, "edge.png"), &w, &h, &ch, 0);
  ck_assert_ptr_nonnull(p);
  ck_assert(w == 100 && ch == 4);
  int seen = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      if (px_at(p, w, ch, x, y, 3) > 0) {
        seen++;
        ck_assert_msg(px_at(p, w, ch, x, y, 0) <= 2, "red bled in at (%d,%d): %d", x, y,
                      px_at(p, w, ch, x, y, 0));
      }
  ck_assert_int_ge(seen, 50 * h);
  stbi_image_free(p);
  dims(path(out, "grey-alpha.png"), &w, &h, &ch);
  ck_assert(w == 100 && ch == 2); /* grey stays grey, alpha kept */
  dims(path(out, "grey16.png"), &w, &h, &ch);
  ck_assert(w == 100 && h == 75 && ch == 1);
  /* Palette + tRNS: RGBA out; red, green, then transparent thirds. */
  p = stbi_load(path(out, "palette.png"), &w, &h, &ch, 0);
  ck_assert_ptr_nonnull(p);
  ck_assert(w == 100 && h == 33 && ch == 4);
  static const int want[3][4] = {{255, 0, 0, 255}, {0, 255, 0, 255}, {-1, -1, -1, 0}};
  for (int t = 0; t < 3; t++)
    for (int c = 0; c < 4; c++)
      if (want[t][c] >= 0)
        ck_assert_msg(abs(px_at(p, w, ch, 16 + 33 * t, 16, c) - want[t][c]) <= 1,
                      "palette third %d channel %d: %d", t, c, px_at(p, w, ch, 16 + 33 * t, 16, c));
  stbi_image_free(p);
  /* Streamed: the worker never held the 36 MB image. */
  long rss = field_of(rows, "big.png", "worker_peak_rss_kb");
  ck_assert_msg(rss > 0 && (WD_ASAN || rss * 1024 < (long)B * B * 4 / 2), "worker peak RSS %ld KiB", rss);
  free(rows);
}
END_TEST

/* The memory limit and the deadline, end to end through the CLI. */
START_TEST(memory_limit_and_timeout_rows) {
  if (WD_ASAN)
    return;
  make_gif_bomb(path(in, "huge.gif"), 20000, 20000); /* 1.6 GB to decode */
  make_png(path(in, "fine.png"), 300, 200, 3);
  int rc = sh(WD_BIN " resize --json -m 256M --max-pixels 500M -w 100 %s -o %s > %s "
              "2>/dev/null", in, out, path(dir, "rows.json"));
  size_t n;
  char *rows = read_file(path(dir, "rows.json"), &n);
  ck_assert_str_eq(status_of(rows, "huge.gif"), "memory limit");
  ck_assert_str_eq(status_of(rows, "fine.png"), "ok");
  ck_assert_int_eq(rc, 1);
  free(rows);
  /* A small --memory is no reason to fail a small image: the worker's
   * warm heap, which cannot reserve 192 MB under it, must not leave every
   * later malloc asking for that much (zlib failed: "corrupt"). */
  rc = sh(WD_BIN " resize --json -m 128M -w 100 %s -o %s > %s 2>/dev/null",
          path(in, "fine.png"), path(dir, "o3"), path(dir, "rows3.json"));
  rows = read_file(path(dir, "rows3.json"), &n);
  ck_assert_msg(rc == 0, "exit %d: %s", rc, rows);
  ck_assert_str_eq(status_of(rows, "fine.png"), "ok");
  free(rows);
  /* 1 ms is far less than a 2000 x 2000 PNG takes to decode. */
  make_png(path(in, "slow.png"), 2000, 2000, 3);
  rc = sh(WD_BIN " resize --json -t 1ms -w 100 %s -o %s > %s 2>/dev/null",
          path(in, "slow.png"), path(dir, "o2"), path(dir, "rows2.json"));
  rows = read_file(path(dir, "rows2.json"), &n);
  ck_assert_str_eq(status_of(rows, "slow.png"), "timeout");
  ck_assert_int_eq(rc, 1);
  struct stat st;
  ck_assert_int_ne(stat(path(dir, "o2/slow.png"), &st), 0);
  free(rows);
  assert_no_temporaries();
}
END_TEST

/* A 1/8 decode of a progressive JPEG: warden reads only the scans it
 * needs and drops the AC scans of every component inverse-transformed 1x1
 * (luma; chroma too when not subsampled), keeping one coefficient per
 * block for those.  The pixels must be, byte for byte, those of a full
 * libjpeg decode at 1/8 (PNG output, the same resize after the decode),
 * with chroma subsampled or not, with restart markers or not. */
static unsigned char *full_decode_eighth(const unsigned char *file, size_t n, int w, int h) {
  struct jpeg_decompress_struct d;
  struct jpeg_error_mgr e;
  d.err = jpeg_std_error(&e);
  jpeg_create_decompress(&d);
  jpeg_mem_src(&d, file, (unsigned long)n);
  jpeg_read_header(&d, TRUE);
  d.scale_num = 1, d.scale_denom = 8, d.dct_method = JDCT_IFAST;
  jpeg_start_decompress(&d);
  ck_assert((int)d.output_width == w && (int)d.output_height == h);
  unsigned char *full = malloc((size_t)w * h * 3);
  while (d.output_scanline < d.output_height) {
    JSAMPROW row = full + (size_t)d.output_scanline * w * 3;
    jpeg_read_scanlines(&d, &row, 1);
  }
  jpeg_finish_decompress(&d);
  jpeg_destroy_decompress(&d);
  return full;
}

START_TEST(progressive_jpeg_read_only_as_far_as_needed) {
  static const int opts[] = {0, JPEG_444, JPEG_RESTARTS, JPEG_444 | JPEG_RESTARTS};
  for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
    char name[32], png[32];
    snprintf(name, sizeof(name), "prog%zu.jpg", k);
    snprintf(png, sizeof(png), "prog%zu.png", k);
    make_jpeg_progressive(path(in, name), 1600, 1200, 90, opts[k]);
    ck_assert_int_eq(sh(WD_BIN " resize -w 100 -f png %s -o %s", path(in, name), out), 0);
    size_t n;
    unsigned char *file = read_file(path(in, name), &n);
    unsigned char *full = full_decode_eighth(file, n, 200, 150), *want = malloc(100 * 75 * 3);
    /* The job's own resize call (jobs/image.c, resize_exact): the same
     * pixels in must give the same pixels out, to the byte. */
    ck_assert(stbir_resize(full, 200, 150, 0, want, 100, 75, 0, STBIR_TYPE_UINT8, 3,
                           STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP, STBIR_EDGE_CLAMP,
                           STBIR_FILTER_CATMULLROM, STBIR_FILTER_CATMULLROM,
                           STBIR_COLORSPACE_SRGB, NULL));
    int w, h, ch;
    unsigned char *got = stbi_load(path(out, png), &w, &h, &ch, 0);
    ck_assert_ptr_nonnull(got);
    ck_assert(w == 100 && h == 75 && ch == 3);
    ck_assert_msg(memcmp(got, want, 100 * 75 * 3) == 0, "%s differs from a full decode", name);
    stbi_image_free(got);
    free(file), free(full), free(want);
  }
  /* Cut in its AC scans: no EOI, so it is read to the end -- corrupt. */
  size_t n;
  unsigned char *file = read_file(path(in, "prog1.jpg"), &n);
  ck_assert_int_eq(write_file(path(in, "cut.jpg"), file, n * 2 / 3), 0);
  ck_assert_int_eq(sh(WD_BIN " resize --json -w 100 %s -o %s > %s 2>/dev/null",
                      path(in, "cut.jpg"), path(dir, "o2"), path(dir, "rows.json")),
                   1);
  char *rows = read_file(path(dir, "rows.json"), &n);
  ck_assert_str_eq(status_of(rows, "cut.jpg"), "corrupt");
  free(rows), free(file);
}
END_TEST

/* A 4:4:4 progressive JPEG thumbnailed at 1/8 (3000 px to 128) holds one coefficient per
 * block: libjpeg's own arrays for this 3000x3000 image are 54 MB, the
 * decoded image 27 MB, and the worker must stay under half of that. */
START_TEST(progressive_jpeg_eighth_holds_dc_only) {
  enum { S = 3000 };
  make_jpeg_progressive(path(in, "big.jpg"), S, S, 90, JPEG_444);
  ck_assert_int_eq(sh(WD_BIN " resize --json -j1 -w 128 %s -o %s > %s", path(in, "big.jpg"),
                      out, path(dir, "rows.json")),
                   0);
  size_t n;
  char *rows = read_file(path(dir, "rows.json"), &n);
  ck_assert_str_eq(status_of(rows, "big.jpg"), "ok");
  long rss = field_of(rows, "big.jpg", "worker_peak_rss_kb");
  ck_assert_msg(rss > 0 && (WD_ASAN || rss * 1024 < (long)S * S * 3 / 2),
                "worker peak RSS %ld KiB", rss);
  int w, h, ch;
  dims(path(out, "big.jpg"), &w, &h, &ch);
  ck_assert(w == 128 && h == 128);
  free(rows);
}
END_TEST

START_TEST(output_name_collisions) {
  /* a.png and a.bmp would both make a.png: the PNG keeps the name. */
  make_png(path(in, "a.png"), 300, 200, 3);
  unsigned char *px = pattern(200, 300, 3, 9);
  ck_assert(stbi_write_bmp(path(in, "a.bmp"), 200, 300, 3, px));
  free(px);
  ck_assert_int_eq(sh(WD_BIN " resize -w 100 %s -o %s 2>/dev/null", in, out), 0);
  int w, h, ch;
  dims(path(out, "a.png"), &w, &h, &ch);
  ck_assert(w == 100 && h == 67); /* from a.png, landscape */
  dims(path(out, "a.bmp.png"), &w, &h, &ch);
  ck_assert(w == 100 && h == 150);
  /* The same relative path under two inputs: refused, nothing written. */
  ck_assert_int_eq(mkdir(path(dir, "in2"), 0777), 0);
  make_png(path(dir, "in2/a.png"), 300, 200, 3);
  ck_assert_int_eq(sh(WD_BIN " resize -w 100 %s/a.png %s -o %s 2>/dev/null", in,
                      path(dir, "in2"), path(dir, "o2")),
                   125);
  struct stat st;
  ck_assert_int_ne(stat(path(dir, "o2"), &st), 0);
}
END_TEST

START_TEST(resume_and_bad_usage) {
  for (int i = 0; i < 6; i++) {
    char name[32];
    snprintf(name, sizeof(name), "p%d.png", i);
    make_png(path(in, name), 300 + i, 200, 3);
  }
  ck_assert_int_eq(sh(WD_BIN " resize -w 64 %s -o %s 2>/dev/null", in, out), 0);
  unlink(path(out, "p2.png"));
  unlink(path(out, "p4.png"));
  ck_assert_int_eq(sh(WD_BIN " resize --resume --json -w 64 %s -o %s > %s 2>/dev/null", in,
                      out, path(dir, "rows.json")), 0);
  size_t n = 0;
  char *all = read_file(path(dir, "rows.json"), &n);
  ck_assert_int_eq(count_rows(all), 2); /* exactly the missing ones */
  ck_assert_str_eq(status_of(all, "p2.png"), "ok");
  ck_assert_str_eq(status_of(all, "p4.png"), "ok");
  free(all);
  /* Inputs from stdin with '-'. */
  ck_assert_int_eq(sh("ls %s/p1.png %s/p3.png | " WD_BIN " resize -w 32 - -o %s 2>/dev/null",
                      in, in, path(dir, "o3")), 0);
  struct stat st;
  ck_assert_int_eq(stat(path(dir, "o3/p3.png"), &st), 0);
  /* Bad usage: a clear message and 125, never a crash. */
  ck_assert_int_eq(sh(WD_BIN " resize -w 64 %s 2>/dev/null", in), 125);
  ck_assert_int_eq(sh(WD_BIN " resize -w 0 %s -o %s 2>/dev/null", in, out), 125);
  ck_assert_int_eq(sh(WD_BIN " resize -f tiff %s -o %s 2>/dev/null", in, out), 125);
  /* A missing input is a row, as cat and gzip go on past a missing operand. */
  ck_assert_int_eq(sh(WD_BIN " resize %s/nonexistent -o %s 2>/dev/null", in, out), 1);
  ck_assert_int_eq(sh(WD_BIN " resize --max-pixels lots %s -o %s 2>/dev/null", in, out), 125);
  /* An output directory that cannot be made: a clear error before any work. */
  ck_assert_int_eq(sh(WD_BIN " resize -w 64 %s -o /proc/warden-out 2>/dev/null", in), 125);
}
END_TEST

/* The error of the JSON row whose input ends with `name`. */
static const char *error_of(const char *rows, const char *name) {
  static char er[512];
  char key[300];
  snprintf(key, sizeof(key), "/%s\",", name);
  const char *r = strstr(rows, key);
  const char *s = r ? strstr(r, "\"error\":") : NULL;
  if (s == NULL || strncmp(s + 8, "null", 4) == 0)
    return "(none)";
  const char *e = strchr(s + 9, '"');
  snprintf(er, sizeof(er), "%.*s", e ? (int)(e - s - 9) : 0, s + 9);
  return er;
}

static int exists(const char *file) {
  struct stat st;
  return stat(file, &st) == 0;
}

/* A FIFO, a character device and a socket named as inputs: each is one
 * `unreadable` row at once, never a hang.  Before, the supervisor blocked
 * in open() on the FIFO until a writer came, with SIGTERM never handled;
 * `timeout -s KILL` bounds the run so that such a hang fails the test. */
START_TEST(non_regular_inputs_are_rows_not_hangs) {
  make_png(path(in, "good.png"), 300, 200, 3);
  ck_assert_int_eq(mkfifo(path(in, "pipe.png"), 0644), 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path(in, "sock.png"));
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  close(fd);
  /* The FIFO on the command line (as reported), the rest in a list. */
  int rc = sh("printf '%%s\\n' /dev/zero %s | timeout -s KILL 30 " WD_BIN
              " resize --json -w 64 %s %s - -o %s > %s 2>/dev/null",
              path(in, "sock.png"), path(in, "good.png"), path(in, "pipe.png"), out,
              path(dir, "rows.json"));
  size_t n;
  char *rows = read_file(path(dir, "rows.json"), &n);
  ck_assert_msg(rc == 3, "exit %d (137: killed by the 30 s guard, a hang); rows: %s", rc, rows);
  ck_assert_int_eq(count_rows(rows), 4);
  ck_assert_str_eq(status_of(rows, "good.png"), "ok");
  ck_assert_str_eq(status_of(rows, "pipe.png"), "unreadable");
  ck_assert_str_eq(error_of(rows, "pipe.png"), "not a regular file (a FIFO)");
  ck_assert_str_eq(status_of(rows, "zero"), "unreadable");
  ck_assert_str_eq(error_of(rows, "zero"), "not a regular file (a character device)");
  ck_assert_str_eq(status_of(rows, "sock.png"), "unreadable");
  ck_assert_str_eq(error_of(rows, "sock.png"), "not a regular file (a socket)");
  ck_assert(exists(path(out, "good.png")));
  ck_assert(!exists(path(out, "pipe.png")));
  free(rows);
  assert_no_temporaries();
}
END_TEST

/* Runs cmd under sh; its exit status, the peak RSS of it and every process
 * it waited for (the supervisor, which reaps its workers), and seconds. */
static int run_measured(const char *cmd, long *maxrss_kb, double *secs) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  int st;
  struct rusage ru;
  ck_assert_int_eq(wait4(pid, &st, 0, &ru), pid);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  *maxrss_kb = ru.ru_maxrss;
  *secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A sparse 3 GiB PNG (a real header, then nothing): refused with a `too
 * large` row that says the limit, from its size, before a byte is read.
 * Before, the supervisor read it whole (3.1 GB resident, 68 s) and then
 * said `unreadable: Cannot allocate memory`. */
START_TEST(huge_input_refused_before_reading) {
  make_png(path(in, "a.png"), 300, 200, 3);
  make_png(path(in, "big.png"), 300, 200, 3);
  make_jpeg(path(in, "z.jpg"), 400, 300, 3, 90);
  ck_assert_int_eq(truncate(path(in, "big.png"), 3LL << 30), 0);
  char cmd[1024];
  snprintf(cmd, sizeof(cmd),
           "timeout -s KILL 30 " WD_BIN " resize --json -w 64 %s -o %s > %s 2>/dev/null", in,
           out, path(dir, "rows.json"));
  long rss;
  double secs;
  int rc = run_measured(cmd, &rss, &secs);
  size_t n;
  char *rows = read_file(path(dir, "rows.json"), &n);
  ck_assert_msg(rc == 1, "exit %d; rows: %s", rc, rows);
  ck_assert_str_eq(status_of(rows, "big.png"), "too large");
  ck_assert_str_eq(error_of(rows, "big.png"),
                   "a file of 3.0 GiB; a worker takes at most 512.0 MiB (half of --memory)");
  ck_assert_str_eq(status_of(rows, "a.png"), "ok");
  ck_assert_str_eq(status_of(rows, "z.jpg"), "ok");
  ck_assert(exists(path(out, "a.png")) && exists(path(out, "z.jpg")));
  ck_assert(!exists(path(out, "big.png")));
  /* Reading it would take GBs and a minute; generous bounds. */
  ck_assert_msg(rss < 256 * 1024, "peak RSS %ld KiB", rss);
  ck_assert_msg(secs < 20, "%.1f s", secs);
  free(rows);
  /* The limit follows --memory: 160 MiB is too much for a 256M worker. */
  ck_assert_int_eq(truncate(path(in, "big.png"), 160 << 20), 0);
  ck_assert_int_eq(sh("timeout -s KILL 30 " WD_BIN " resize --json -m 256M -w 64 %s %s -o %s"
                      " > %s 2>/dev/null",
                      path(in, "big.png"), path(in, "a.png"), path(dir, "o2"),
                      path(dir, "rows2.json")),
                   1);
  rows = read_file(path(dir, "rows2.json"), &n);
  ck_assert_str_eq(error_of(rows, "big.png"),
                   "a file of 160.0 MiB; a worker takes at most 128.0 MiB (half of --memory)");
  ck_assert_str_eq(status_of(rows, "a.png"), "ok");
  free(rows);
}
END_TEST

/* A missing file, a dangling symlink and a symlink loop in the list on
 * stdin, and a missing file on the command line: one `unreadable` row
 * each, the rest of the batch done.  Before, any of them refused the
 * whole batch with 125 and did no work. */
START_TEST(missing_inputs_are_rows) {
  make_png(path(in, "a.png"), 300, 200, 3);
  make_jpeg(path(in, "b.jpg"), 400, 300, 3, 90);
  ck_assert_int_eq(symlink("nowhere.png", path(in, "dangling.png")), 0);
  ck_assert_int_eq(symlink("loop.png", path(in, "loop.png")), 0);
  int rc = sh("printf '%%s\\n' %s %s %s %s %s | " WD_BIN " resize --json -w 64 - -o %s > %s "
              "2>/dev/null",
              path(in, "a.png"), path(in, "gone.png"), path(in, "dangling.png"),
              path(in, "loop.png"), path(in, "b.jpg"), out, path(dir, "rows.json"));
  size_t n;
  char *rows = read_file(path(dir, "rows.json"), &n);
  ck_assert_msg(rc == 3, "exit %d; rows: %s", rc, rows);
  ck_assert_int_eq(count_rows(rows), 5);
  ck_assert_str_eq(status_of(rows, "a.png"), "ok");
  ck_assert_str_eq(status_of(rows, "b.jpg"), "ok");
  ck_assert_str_eq(status_of(rows, "gone.png"), "unreadable");
  ck_assert_str_eq(error_of(rows, "gone.png"), strerror(ENOENT));
  ck_assert_str_eq(status_of(rows, "dangling.png"), "unreadable");
  ck_assert_str_eq(error_of(rows, "dangling.png"), strerror(ENOENT));
  ck_assert_str_eq(status_of(rows, "loop.png"), "unreadable");
  ck_assert_str_eq(error_of(rows, "loop.png"), strerror(ELOOP));
  ck_assert(exists(path(out, "a.png")) && exists(path(out, "b.jpg")));
  free(rows);
  /* On the command line too, and a missing input does not take part in
   * the output names: another a.png is no collision with it. */
  ck_assert_int_eq(mkdir(path(dir, "in2"), 0777), 0);
  rc = sh(WD_BIN " resize --json -w 64 %s %s -o %s > %s 2>/dev/null", path(in, "a.png"),
          path(dir, "in2/a.png"), path(dir, "o2"), path(dir, "rows2.json"));
  rows = read_file(path(dir, "rows2.json"), &n);
  ck_assert_msg(rc == 1, "exit %d; rows: %s", rc, rows);
  ck_assert_int_eq(count_rows(rows), 2);
  ck_assert(exists(path(dir, "o2/a.png")));
  free(rows);
  /* --resume does not skip an input it cannot read, whatever exists. */
  ck_assert_int_eq(write_file(path(dir, "o2/gone.png"), "x", 1), 0);
  ck_assert_int_eq(sh(WD_BIN " resize --resume -w 64 %s %s -o %s 2>/dev/null",
                      path(in, "a.png"), path(in, "gone.png"), path(dir, "o2")),
                   1);
}
END_TEST

/* What the supervisor did, in order, seen through ptrace: "F path" for
 * an fsync (the path its fd names), "R old new" for a rename. */
static char *trace_writes(char *const argv[]) {
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    /* LeakSanitizer attaches to the process with ptrace at exit, which
     * cannot be done to a process already traced. */
    setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    execv(argv[0], argv);
    _exit(127);
  }
  size_t cap = 1 << 16, len = 0;
  char *log = calloc(1, cap);
  int st, first = 1;
  while (waitpid(pid, &st, 0) == pid && WIFSTOPPED(st)) {
    int sig = WSTOPSIG(st), inject = 0;
    if (first) { /* the stop after execve */
      first = 0;
      ck_assert_int_eq(ptrace(PTRACE_SETOPTIONS, pid, NULL,
                              (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)),
                       0);
    } else if (sig == (SIGTRAP | 0x80)) {
      struct __ptrace_syscall_info si;
      if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(si), &si) > 0 &&
          si.op == PTRACE_SYSCALL_INFO_ENTRY) {
        char a[PATH_MAX] = "", b[PATH_MAX] = "", mem[64];
        long nr = (long)si.entry.nr;
        if (nr == SYS_fsync || nr == SYS_fdatasync) {
          char fdlink[64];
          snprintf(fdlink, sizeof(fdlink), "/proc/%d/fd/%d", (int)pid, (int)si.entry.args[0]);
          ssize_t k = readlink(fdlink, a, sizeof(a) - 1);
          a[k > 0 ? k : 0] = '\0';
          len += (size_t)snprintf(log + len, cap - len, "F %s\n", a);
        } else if (nr == SYS_rename || nr == SYS_renameat || nr == SYS_renameat2) {
          int two = nr != SYS_rename; /* renameat: dirfd, old, dirfd, new */
          snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)pid);
          int m = open(mem, O_RDONLY);
          ck_assert_int_ge(m, 0);
          ck_assert_int_gt(pread(m, a, sizeof(a) - 1, (off_t)si.entry.args[two ? 1 : 0]), 0);
          ck_assert_int_gt(pread(m, b, sizeof(b) - 1, (off_t)si.entry.args[two ? 3 : 1]), 0);
          close(m);
          a[sizeof(a) - 1] = b[sizeof(b) - 1] = '\0';
          len += (size_t)snprintf(log + len, cap - len, "R %s %s\n", a, b);
        }
        ck_assert_uint_lt(len, cap - 1);
      }
    } else if (sig != SIGTRAP) {
      inject = sig; /* a signal for the tracee: deliver it */
    }
    ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)inject);
  }
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "warden-resize: status %#x", st);
  return log;
}

/* Outputs are on disk before they are trusted: each temporary file is
 * fsynced before it is renamed into place, and its directory after the
 * rename.  Before, there was no fsync at all, so a power loss could leave
 * an empty or short output that --resume would skip. */
START_TEST(outputs_fsynced_before_rename) {
  make_png(path(in, "a.png"), 300, 200, 3);
  ck_assert_int_eq(mkdir(path(in, "sub"), 0777), 0);
  make_jpeg(path(in, "sub/b.jpg"), 400, 300, 3, 90);
  char *argv[] = {WD_BIN "-resize", "-w", "64", in, "-o", out, NULL};
  char *log = trace_writes(argv);
  char dir_abs[PATH_MAX];
  ck_assert_ptr_nonnull(realpath(out, dir_abs));
  const char *outputs[] = {"a.png", "sub/b.jpg"};
  for (int k = 0; k < 2; k++) {
    char dest[PATH_MAX], want[2 * PATH_MAX], *line = NULL;
    snprintf(dest, sizeof(dest), "%s/%s", out, outputs[k]);
    ck_assert_msg(exists(dest), "%s missing", dest);
    /* The rename of this output: "R <dest>.warden-XXXXXX <dest>". */
    for (char *p = log; (p = strstr(p, "R ")) != NULL; p++) {
      char *sp = strchr(p + 2, ' '), *nl = strchr(p, '\n');
      if ((p == log || p[-1] == '\n') && sp && nl && (size_t)(nl - sp - 1) == strlen(dest) &&
          strncmp(sp + 1, dest, strlen(dest)) == 0)
        line = p;
    }
    ck_assert_msg(line != NULL, "no rename to %s in:\n%s", dest, log);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%.*s", (int)(strchr(line + 2, ' ') - line - 2), line + 2);
    ck_assert_msg(strncmp(tmp, dest, strlen(dest)) == 0 && strstr(tmp, ".warden-"),
                  "renamed from %s", tmp);
    /* Its temporary file fsynced before, by the name it had then. */
    char tmp_abs[PATH_MAX + 16];
    snprintf(tmp_abs, sizeof(tmp_abs), "%s/%s%s", dir_abs, outputs[k], strrchr(tmp, '.'));
    snprintf(want, sizeof(want), "F %s\n", tmp_abs);
    char *f = strstr(log, want);
    ck_assert_msg(f != NULL && f < line, "no fsync of %s before its rename in:\n%s", tmp_abs,
                  log);
    /* Its directory fsynced after. */
    char parent[PATH_MAX + 16];
    snprintf(parent, sizeof(parent), "%s/%s", dir_abs, outputs[k]);
    snprintf(want, sizeof(want), "F %s\n", dirname(parent));
    ck_assert_msg(strstr(line, want) != NULL, "no fsync of %s after the rename in:\n%s",
                  want + 2, log);
  }
  free(log);
  assert_no_temporaries();
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
  ck_assert_int_eq(seccomp, WD_ASAN ? 0 : 2); /* SECCOMP_MODE_FILTER */
  ck_assert_int_eq(nnp, 1);
  for (int i = 0; i <= N; i++)
    wd_future_release(f[i]);
  wd__buf_free(&b);
  free(file);
  wd_pool_destroy(pool);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* The joblog on a full disk: the run says so, starts nothing new after the
 * failed record, and exits 125 (the log lacks images --resume would do
 * again), never 0 with records lost. */
START_TEST(joblog_full_disk_fails_the_run) {
  char tiny[] = "/tmp/wd-rfull-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(tiny));
  if (sh("mount -t tmpfs -o size=16k tmpfs %s 2>/dev/null", tiny) != 0) {
    fprintf(stderr, "joblog_full_disk_fails_the_run: cannot mount a tmpfs: skipped\n");
    rmdir(tiny);
    return;
  }
  for (int i = 0; i < 80; i++) { /* ~90-byte records: 4 KiB fill at ~45 */
    char name[32];
    snprintf(name, sizeof(name), "img%02d.png", i);
    make_png(path(in, name), 16, 16, 3);
  }
  /* The header and the records share the log's one page, then the disk
   * is full. */
  int st = sh("printf 'Seq\\tHost\\tStarttime\\tJobRuntime\\tSend\\tReceive\\tExitval"
              "\\tSignal\\tCommand\\n' > %s/log && dd if=/dev/zero of=%s/fill bs=1k "
              "2>/dev/null; %s resize -j1 -w 32 --joblog %s/log %s -o %s >/dev/null 2>%s/err",
              tiny, tiny, WD_BIN, tiny, in, out, dir);
  int said = sh("grep -q 'cannot write joblog' %s/err", dir);
  int written = sh("test $(find %s -name '*.png' | wc -l) -lt 80", out);
  sh("umount %s; rmdir %s", tiny, tiny);
  ck_assert_int_eq(st, 125);
  ck_assert_int_eq(said, 0);
  ck_assert_int_eq(written, 0); /* it stopped: not all 80 were done */
  assert_no_temporaries();
}
END_TEST

int main(void) {
  Suite *s = suite_create("resize");
  TCase *tc = wd_test_case(s, "pixels", 120, setup, teardown);
  tcase_add_test(tc, sizes_formats_and_orientation);
  tcase_add_test(tc, png_is_streamed_and_shrunk_in_linear_light);
  tcase_add_test(tc, progressive_jpeg_read_only_as_far_as_needed);
  tcase_add_test(tc, progressive_jpeg_eighth_holds_dc_only);
  tc = wd_test_case(s, "hostile", 120, setup, teardown);
  tcase_add_test(tc, hostile_inputs_cost_one_row_each);
  tcase_add_test(tc, memory_limit_and_timeout_rows);
  tcase_add_test(tc, sandboxed_and_loops_cut_off);
  tc = wd_test_case(s, "inputs", 120, setup, teardown);
  tcase_add_test(tc, non_regular_inputs_are_rows_not_hangs);
  tcase_add_test(tc, huge_input_refused_before_reading);
  tcase_add_test(tc, missing_inputs_are_rows);
  tc = wd_test_case(s, "outputs", 120, setup, teardown);
  tcase_add_test(tc, output_name_collisions);
  tcase_add_test(tc, resume_and_bad_usage);
  tcase_add_test(tc, outputs_fsynced_before_rename);
  tcase_add_test(tc, joblog_full_disk_fails_the_run);
  return run_suite(s);
}
