/* image_attention.c -- where --crop attention puts the window of --fit
 * cover: over the part of the image with the most edges and colour, as
 * libvips's "attention" crop looks for the interesting part.
 *
 * The measure is deliberately simple: each pixel of the resized image
 * (already the small copy: the thumbnail before its crop) scores its
 * gradient magnitude -- the absolute differences of its luma to the right
 * and below -- plus its saturation (the largest RGB channel minus the
 * smallest; 0 for grey).  The scores are summed per column and per row,
 * and the window starts where the column (row) sums under it are largest:
 * cover crops along one axis (the other is the box's, and the image's),
 * so one dimension at a time is the whole search.  Ties, a flat image
 * among them, go to the window nearest the centre.  vips also weighs skin
 * tones and blurs first; this does neither. */
#include <stdlib.h>

#include "image.h"

/* Luma, in bytes: Rec. 601 weights out of 256. */
static int luma(const unsigned char *p, int ch) {
  if (ch < 3)
    return p[0];
  return (77 * p[0] + 150 * p[1] + 29 * p[2]) >> 8;
}

static int saturation(const unsigned char *p, int ch) {
  if (ch < 3)
    return 0;
  int lo = p[0], hi = p[0];
  for (int k = 1; k < 3; k++) {
    lo = p[k] < lo ? p[k] : lo;
    hi = p[k] > hi ? p[k] : hi;
  }
  return hi - lo;
}

/* Each pixel's score, summed into cols[x] and rows[y]. */
static void score(const wd__image *im, uint64_t *cols, uint64_t *rows) {
  for (int y = 0; y < im->h; y++)
    for (int x = 0; x < im->w; x++) {
      const unsigned char *p = im->px + ((size_t)y * im->w + x) * im->ch;
      int l = luma(p, im->ch), s = saturation(p, im->ch);
      if (x + 1 < im->w)
        s += abs(luma(p + im->ch, im->ch) - l);
      if (y + 1 < im->h)
        s += abs(luma(p + (size_t)im->w * im->ch, im->ch) - l);
      cols[x] += (uint64_t)s;
      rows[y] += (uint64_t)s;
    }
}

/* The start of the window of n of the len sums with the largest total;
 * of equal ones, the nearest the centre. */
static int best_window(const uint64_t *sum, int len, int n) {
  uint64_t total = 0, best = 0;
  int centre = (len - n) / 2, at = centre;
  for (int i = 0; i < n; i++)
    total += sum[i];
  for (int x0 = 0; x0 + n <= len; x0++) {
    if (x0 > 0)
      total += sum[x0 + n - 1] - sum[x0 - 1];
    if (total > best || (total == best && abs(x0 - centre) < abs(at - centre))) {
      best = total;
      at = x0;
    }
  }
  return at;
}

int wd__attention(const wd__image *im, int cw, int ch, int *x0, int *y0) {
  uint64_t *cols = calloc((size_t)im->w, sizeof(*cols));
  uint64_t *rows = calloc((size_t)im->h, sizeof(*rows));
  int rc = UV_ENOMEM;
  if (cols && rows) {
    score(im, cols, rows);
    *x0 = best_window(cols, im->w, cw);
    *y0 = best_window(rows, im->h, ch);
    rc = 0;
  }
  free(cols);
  free(rows);
  return rc;
}
