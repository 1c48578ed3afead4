/* image_shrink.c -- shrinking by a whole factor, a row at a time.
 *
 * Each k x k block of input becomes one pixel: the mean in linear light
 * (colour weighted by alpha, so transparent pixels do not bleed their
 * colour).  It runs as rows arrive from the decoder, so only the shrunk
 * image is ever held -- a 5120x2880 PNG never exists whole in memory --
 * and stb_image_resize then makes the exact size from an image at least
 * twice as large, where its filter does the quality.  When k does not
 * divide the size, the last box averages only the pixels it has and the
 * image records that it spans w / k pixels, not ceil(w / k): the resize
 * then maps exactly that span, so the thumbnail is not shifted or
 * stretched by the fraction of a box that was never there. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

/* Linear light in 15 bits: sums of up to 16 x 16 alpha-weighted samples
 * (32767 x 255 x 256) fit in 32 bits, and integer sums are quicker than
 * float ones here (no chain of 4-cycle float adds per block). */
#define LIN_MAX 32767
#define SHRINK_MAX 16
static uint16_t lin_of[256];               /* sRGB byte -> linear */
static unsigned char srgb_of[LIN_MAX + 1]; /* linear -> sRGB byte */

void wd__shrink_tables(void) {
  for (int i = 0; i < 256; i++) {
    double c = i / 255.0;
    lin_of[i] = (uint16_t)(LIN_MAX * (c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)) + 0.5);
  }
  for (int i = 0; i <= LIN_MAX; i++) {
    double l = (double)i / LIN_MAX;
    double c = l <= 0.0031308 ? l * 12.92 : 1.055 * pow(l, 1 / 2.4) - 0.055;
    srgb_of[i] = (unsigned char)(c * 255 + 0.5);
  }
}

int wd__shrink_factor(int w, int h, int tw, int th) {
  int k = w / (2 * (tw > 0 ? tw : 1));
  int kh = h / (2 * (th > 0 ? th : 1));
  k = kh < k ? kh : k;
  k = k < SHRINK_MAX ? k : SHRINK_MAX; /* stb_image_resize does the rest */
  return k > 1 ? k : 1;
}

int wd__shrinker_init(wd__shrinker *s, int w, int h, int ch, int k) {
  memset(s, 0, sizeof(*s));
  s->w = w, s->h = h, s->ch = ch, s->k = k;
  s->ow = (w + k - 1) / k, s->oh = (h + k - 1) / k;
  s->px = malloc((size_t)s->ow * s->oh * ch);
  s->acc = k > 1 ? calloc((size_t)s->ow * ch, sizeof(*s->acc)) : NULL;
  if (s->px == NULL || (k > 1 && s->acc == NULL)) {
    free(s->px);
    free(s->acc);
    s->px = NULL, s->acc = NULL;
    return UV_ENOMEM;
  }
  return 0;
}

/* Turns the sums of the output row just completed into pixels. */
static void shrink_emit(wd__shrinker *s) {
  int ch = s->ch, a = ch == 2 || ch == 4 ? ch - 1 : -1, oy = (s->y - 1) / s->k;
  uint32_t rows = (uint32_t)(s->y - oy * s->k);
  unsigned char *o = s->px + (size_t)oy * s->ow * ch;
  for (int ox = 0; ox < s->ow; ox++, o += ch) {
    const uint32_t *q = s->acc + (size_t)ox * ch;
    uint32_t cols = (uint32_t)(s->w - ox * s->k < s->k ? s->w - ox * s->k : s->k);
    uint32_t n = cols * rows;
    if (a < 0) {
      for (int c = 0; c < ch; c++)
        o[c] = srgb_of[(q[c] + n / 2) / n];
    } else {
      uint32_t sa = q[a]; /* the sum of alpha, 0..255 each */
      for (int c = 0; c < a; c++)
        o[c] = sa ? srgb_of[(q[c] + sa / 2) / sa] : 0;
      o[a] = (unsigned char)((sa + n / 2) / n);
    }
  }
  memset(s->acc, 0, (size_t)s->ow * ch * sizeof(*s->acc));
}

/* Adds n pixels of ch channels (alpha at a, or -1) into one sum; inlined
 * with constant ch and a, so each case is a straight loop. */
static inline __attribute__((always_inline)) void
shrink_add(uint32_t *q, const unsigned char *p, int n, int ch, int a) {
  uint32_t t[4] = {0}; /* in registers: q may alias p, as far as C knows */
  for (int x = 0; x < n; x++, p += ch) {
    if (a < 0) {
      for (int c = 0; c < ch; c++)
        t[c] += lin_of[p[c]];
    } else {
      for (int c = 0; c < a; c++)
        t[c] += (uint32_t)lin_of[p[c]] * p[a];
      t[a] += p[a];
    }
  }
  for (int c = 0; c < ch; c++)
    q[c] += t[c];
}

void wd__shrink_row(wd__shrinker *s, const unsigned char *row) {
  int ch = s->ch, k = s->k;
  if (k == 1) {
    memcpy(s->px + (size_t)s->y++ * s->w * ch, row, (size_t)s->w * ch);
    return;
  }
  for (int ox = 0; ox < s->ow; ox++) {
    uint32_t *q = s->acc + (size_t)ox * ch;
    const unsigned char *p = row + (size_t)ox * k * ch;
    int n = s->w - ox * k < k ? s->w - ox * k : k;
    switch (ch) {
    case 1: shrink_add(q, p, n, 1, -1); break;
    case 2: shrink_add(q, p, n, 2, 1); break;
    case 3: shrink_add(q, p, n, 3, -1); break;
    default: shrink_add(q, p, n, 4, 3); break;
    }
  }
  if (++s->y % k == 0 || s->y == s->h)
    shrink_emit(s);
}

int wd__shrink_image(wd__image *im, int tw, int th) {
  int k = wd__shrink_factor(im->w, im->h, tw, th);
  wd__shrinker s;
  if (k == 1)
    return 0;
  if (wd__shrinker_init(&s, im->w, im->h, im->ch, k) != 0)
    return UV_ENOMEM;
  for (int y = 0; y < im->h; y++)
    wd__shrink_row(&s, im->px + (size_t)y * im->w * im->ch);
  free(s.acc);
  wd__image_free(im);
  wd__shrinker_take(&s, im);
  return 0;
}

void wd__shrinker_take(wd__shrinker *s, wd__image *im) {
  im->px = s->px, im->w = s->ow, im->h = s->oh, im->ch = s->ch, im->from_stb = 0;
  im->span_w = s->w % s->k ? (double)s->w / s->k : 0;
  im->span_h = s->h % s->k ? (double)s->h / s->k : 0;
  s->px = NULL;
}
