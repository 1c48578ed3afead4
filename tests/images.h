/* images.h -- images made on the spot for the resize tests and the demo:
 * real encodings (stb_image_write), a 16-bit PNG written by hand (stb
 * cannot), an EXIF orientation tag spliced into a JPEG, and hostile files.
 * Nothing binary is committed. */
#ifndef WD_TESTS_IMAGES_H
#define WD_TESTS_IMAGES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  void *p = malloc(len > 0 ? (size_t)len : 1);
  *n = fread(p, 1, (size_t)len, f);
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

static inline uint32_t crc32_of(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

static inline void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static inline void chunk(FILE *f, const char *type, const unsigned char *d, uint32_t n) {
  unsigned char len[4], crc[4];
  unsigned char *buf = malloc(n + 4);
  memcpy(buf, type, 4);
  if (n)
    memcpy(buf + 4, d, n);
  put32(len, n);
  put32(crc, crc32_of(buf, n + 4));
  fwrite(len, 1, 4, f);
  fwrite(buf, 1, n + 4, f);
  fwrite(crc, 1, 4, f);
  free(buf);
}

/* A 16-bit RGB PNG, its zlib stream in stored (uncompressed) blocks. */
static inline int make_png16(const char *path, int w, int h) {
  size_t row = 1 + (size_t)w * 6, raw_n = row * h;
  unsigned char *raw = calloc(raw_n, 1);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        unsigned v = (unsigned)(x * 65535 / (w > 1 ? w - 1 : 1)) ^ (unsigned)(c * 7000 + y * 97);
        raw[y * row + 1 + (size_t)x * 6 + c * 2] = (unsigned char)(v >> 8);
        raw[y * row + 1 + (size_t)x * 6 + c * 2 + 1] = (unsigned char)v;
      }
  size_t nblocks = (raw_n + 65534) / 65535;
  unsigned char *z = malloc(2 + raw_n + nblocks * 5 + 4), *q = z;
  *q++ = 0x78, *q++ = 0x01;
  uint32_t a = 1, b = 0;
  for (size_t off = 0; off < raw_n; off += 65535) {
    size_t k = raw_n - off < 65535 ? raw_n - off : 65535;
    *q++ = off + k == raw_n;
    *q++ = (unsigned char)k, *q++ = (unsigned char)(k >> 8);
    *q++ = (unsigned char)~k, *q++ = (unsigned char)(~k >> 8);
    memcpy(q, raw + off, k);
    q += k;
  }
  for (size_t i = 0; i < raw_n; i++)
    a = (a + raw[i]) % 65521, b = (b + a) % 65521;
  put32(q, b << 16 | a);
  q += 4;
  FILE *f = fopen(path, "wb");
  if (f == NULL)
    return -1;
  fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
  unsigned char ihdr[13] = {0};
  put32(ihdr, (uint32_t)w);
  put32(ihdr + 4, (uint32_t)h);
  ihdr[8] = 16, ihdr[9] = 2; /* 16-bit, RGB */
  chunk(f, "IHDR", ihdr, 13);
  chunk(f, "IDAT", z, (uint32_t)(q - z));
  chunk(f, "IEND", NULL, 0);
  free(raw);
  free(z);
  return fclose(f);
}

/* An 18-byte TGA header that claims 65535 x 65535 pixels: 17 GB asked. */
static inline int make_tga_bomb(const char *path) {
  unsigned char t[18] = {0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 32, 8};
  return write_file(path, t, sizeof(t));
}

/* A small GIF whose logical screen and image claim 65535 x 40000. */
static inline int make_gif_bomb(const char *path) {
  unsigned char g[] = {'G', 'I', 'F', '8', '9', 'a', 0xFF, 0xFF, 0x40, 0x9C, 0x80, 0, 0,
                       0, 0, 0, 0xFF, 0xFF, 0xFF, /* 2-colour palette */
                       0x2C, 0, 0, 0, 0, 0xFF, 0xFF, 0x40, 0x9C, 0, /* image */
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
