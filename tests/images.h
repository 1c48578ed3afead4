/* images.h -- images made on the spot for the resize tests and the demo:
 * real encodings (stb_image_write; libspng for 16-bit and interlaced PNG
 * and libjpeg for progressive JPEG, which stb cannot write), an EXIF orientation tag spliced into a JPEG,
 * and hostile files.
 * Nothing binary is committed. */
#ifndef WD_TESTS_IMAGES_H
#define WD_TESTS_IMAGES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <spng.h>
#include <stb_image_write.h>

/* w x h pixels of a smooth pattern with some texture, ch channels. */
static inline unsigned char *pattern(int w, int h, int ch, unsigned seed) {
  unsigned char *p = malloc((size_t)w * h * ch);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < ch; c++) {
        seed = seed * 1103515245u + 12345u;
        int v = (x * 255 / (w > 1 ? w - 1 : 1) + y * 128 / (h > 1 ? h - 1 : 1) +
                 c * 60 + (int)(seed >> 28)) & 255;
        if (ch == 4 && c == 3)
          v = 255 * x / (w > 1 ? w - 1 : 1); /* alpha: a left-right ramp */
        p[((size_t)y * w + x) * ch + c] = (unsigned char)v;
      }
  return p;
}

static inline int write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (f == NULL)
    return -1;
  size_t k = fwrite(data, 1, n, f);
  return fclose(f) == 0 && k == n ? 0 : -1;
}

static inline void *read_file(const char *path, size_t *n) {
  *n = 0;
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = malloc(len > 0 ? (size_t)len + 1 : 1);
  *n = fread(p, 1, (size_t)len, f);
  p[*n] = '\0'; /* the tests read JSON rows as a string */
  fclose(f);
  return p;
}

static inline int make_jpeg(const char *path, int w, int h, int ch, int q) {
  unsigned char *p = pattern(w, h, ch, (unsigned)w);
  int ok = stbi_write_jpg(path, w, h, ch, p, q);
  free(p);
  return ok ? 0 : -1;
}

static inline int make_png(const char *path, int w, int h, int ch) {
  unsigned char *p = pattern(w, h, ch, (unsigned)h);
  int ok = stbi_write_png(path, w, h, ch, p, 0);
  free(p);
  return ok ? 0 : -1;
}

/* A progressive JPEG of the pattern (libjpeg's standard script: DC first,
 * with successive approximation, then the AC scans); opts: JPEG_444 (no
 * chroma subsampling), JPEG_RESTARTS (a restart marker every MCU row). */
enum { JPEG_444 = 1, JPEG_RESTARTS = 2 };
static inline int make_jpeg_progressive(const char *path, int w, int h, int q, int opts) {
  FILE *f = fopen(path, "wb");
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
  jpeg_set_quality(&c, q, TRUE);
  if (opts & JPEG_444)
    c.comp_info[0].h_samp_factor = c.comp_info[0].v_samp_factor = 1;
  if (opts & JPEG_RESTARTS)
    c.restart_in_rows = 1;
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

/* A JPEG whose EXIF says "rotate 90 degrees clockwise to display"
 * (orientation 6): an APP1 segment spliced in after SOI. */
static inline int make_jpeg_rotated(const char *path, int w, int h) {
  if (make_jpeg(path, w, h, 3, 90) != 0)
    return -1;
  size_t n;
  unsigned char *j = read_file(path, &n);
  static const unsigned char app1[] = {
      0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,   /* APP1, 34 bytes */
      'M', 'M', 0, 42, 0, 0, 0, 8,                         /* TIFF, IFD0 at 8 */
      0, 1,                                                /* one entry */
      0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0,            /* Orientation = 6 */
      0, 0, 0, 0};                                         /* no next IFD */
  unsigned char *o = malloc(n + sizeof(app1));
  memcpy(o, j, 2);
  memcpy(o + 2, app1, sizeof(app1));
  memcpy(o + 2 + sizeof(app1), j + 2, n - 2);
  int rc = write_file(path, o, n + sizeof(app1));
  free(j);
  free(o);
  return rc;
}

/* Encodes px (len bytes, the PNG's own layout) as ihdr says, with an
 * optional palette and tRNS, and writes it to path. */
static inline int spng_write(const char *path, struct spng_ihdr *ihdr, struct spng_plte *plte,
                             struct spng_trns *trns, const void *px, size_t len) {
  spng_ctx *c = spng_ctx_new(SPNG_CTX_ENCODER);
  size_t n = 0;
  int err = 0, rc = -1;
  void *png = NULL;
  if (c && !spng_set_option(c, SPNG_ENCODE_TO_BUFFER, 1) && !spng_set_ihdr(c, ihdr) &&
      (!plte || !spng_set_plte(c, plte)) && (!trns || !spng_set_trns(c, trns)) &&
      !spng_encode_image(c, px, len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE) &&
      (png = spng_get_png_buffer(c, &n, &err)) != NULL)
    rc = write_file(path, png, n);
  free(png);
  spng_ctx_free(c);
  return rc;
}

/* A PNG through libspng's encoder, for what stb_image_write cannot make:
 * 16-bit samples and Adam7 interlacing.  ch 1-4 = grey, grey+alpha, RGB,
 * RGBA; px holds w * h * ch samples of depth bits (host-endian when 16). */
static inline int write_png_spng(const char *path, const void *px, int w, int h, int ch,
                                 int depth, int interlace) {
  static const uint8_t types[] = {SPNG_COLOR_TYPE_GRAYSCALE, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA,
                                  SPNG_COLOR_TYPE_TRUECOLOR, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA};
  struct spng_ihdr ihdr = {.width = (uint32_t)w, .height = (uint32_t)h,
                           .bit_depth = (uint8_t)depth, .color_type = types[ch - 1],
                           .interlace_method = (uint8_t)interlace};
  return spng_write(path, &ihdr, NULL, NULL, px, (size_t)w * h * ch * (depth / 8));
}

/* A palette PNG of w x h: red, green and blue thirds, left to right, the
 * blue entry transparent through tRNS. */
static inline int make_png_palette(const char *path, int w, int h) {
  struct spng_ihdr ihdr = {.width = (uint32_t)w, .height = (uint32_t)h, .bit_depth = 8,
                           .color_type = SPNG_COLOR_TYPE_INDEXED};
  struct spng_plte plte = {.n_entries = 3,
                           .entries = {{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}}};
  struct spng_trns trns = {.n_type3_entries = 3, .type3_alpha = {255, 255, 0}};
  unsigned char *px = malloc((size_t)w * h);
  for (int i = 0; i < w * h; i++)
    px[i] = (unsigned char)(i % w * 3 / w);
  int rc = spng_write(path, &ihdr, &plte, &trns, px, (size_t)w * h);
  free(px);
  return rc;
}

/* A 16-bit PNG of the pattern, ch channels. */
static inline int make_png16(const char *path, int w, int h, int ch) {
  unsigned char *p = pattern(w, h, ch, 7);
  uint16_t *q = malloc((size_t)w * h * ch * sizeof(*q));
  for (size_t i = 0; i < (size_t)w * h * ch; i++)
    q[i] = (uint16_t)(p[i] * 257 ^ (i & 0xFF)); /* low bytes that differ */
  int rc = write_png_spng(path, q, w, h, ch, 16, 0);
  free(q);
  free(p);
  return rc;
}

/* An 18-byte TGA header that claims 65535 x 65535 pixels: 17 GB asked. */
static inline int make_tga_bomb(const char *path) {
  unsigned char t[18] = {0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 32, 8};
  return write_file(path, t, sizeof(t));
}

/* A small GIF whose logical screen and image claim w x h pixels. */
static inline int make_gif_bomb(const char *path, unsigned w, unsigned h) {
  unsigned char g[] = {'G', 'I', 'F', '8', '9', 'a', w & 255, w >> 8, h & 255, h >> 8, 0x80, 0, 0,
                       0, 0, 0, 0xFF, 0xFF, 0xFF, /* 2-colour palette */
                       0x2C, 0, 0, 0, 0, w & 255, w >> 8, h & 255, h >> 8, 0, /* image */
                       2, 2, 0x4C, 0x01, 0, 0x3B};
  return write_file(path, g, sizeof(g));
}

/* A copy of src cut to n bytes, or with every k-th byte flipped. */
static inline int make_damaged(const char *src, const char *dst, size_t cut, size_t every) {
  size_t n;
  unsigned char *p = read_file(src, &n);
  if (p == NULL)
    return -1;
  if (cut && cut < n)
    n = cut;
  for (size_t i = 64; every && i < n; i += every)
    p[i] ^= 0x5A;
  int rc = write_file(dst, p, n);
  free(p);
  return rc;
}

#endif
