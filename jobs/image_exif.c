/* image_exif.c -- EXIF orientation: a camera stores the pixels as the
 * sensor saw them and says in the Exif segment (a JPEG's APP1, a PNG's
 * eXIf chunk: the same TIFF structure) how they are meant to be seen.
 * The job reads that tag before decoding (the box is fitted to the image
 * as seen) and turns the pixels after resizing (fewer of them).
 * The segment is untrusted input: every read is bounds-checked, and a
 * malformed one means "as stored". */
#include <stdlib.h>
#include <string.h>

#include "image.h"

enum {
  JPEG_SOS = 0xDA,  /* start of scan: no metadata after it */
  JPEG_EOI = 0xD9,  /* end of image */
  JPEG_APP1 = 0xE1, /* where Exif lives */
  TAG_ORIENTATION = 0x0112,
  IFD_ENTRY = 12,   /* bytes of one TIFF directory entry */
  TIFF_HEADER = 8,  /* byte order, 42, the first IFD's offset */
  EXIF_MIN = 14,    /* "Exif\0\0", the TIFF header's 8 bytes */
};

static unsigned rd16(const unsigned char *p, int le) {
  return le ? p[0] | p[1] << 8 : p[0] << 8 | p[1];
}

static uint32_t rd32(const unsigned char *p, int le) {
  return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                  (uint32_t)p[3] << 24
            : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
                  (uint32_t)p[3];
}

int wd__tiff_orientation(const unsigned char *t, size_t n) {
  if (n < TIFF_HEADER)
    return 1;
  int le = t[0] == 'I' && t[1] == 'I';
  if (!le && !(t[0] == 'M' && t[1] == 'M'))
    return 1;
  uint32_t ifd = rd32(t + 4, le);
  if (ifd > n - 2)
    return 1;
  unsigned count = rd16(t + ifd, le);
  for (unsigned k = 0; k < count; k++) {
    size_t e = ifd + 2 + (size_t)k * IFD_ENTRY;
    if (e + IFD_ENTRY > n)
      return 1;
    if (rd16(t + e, le) == TAG_ORIENTATION) {
      unsigned v = rd16(t + e + 8, le);
      return v >= 1 && v <= 8 ? (int)v : 1;
    }
  }
  return 1;
}

int wd__exif_orientation(const unsigned char *p, size_t n) {
  size_t i = 2; /* after SOI */
  while (i + 4 <= n && p[i] == 0xFF) {
    unsigned marker = p[i + 1];
    size_t seg = rd16(p + i + 2, 0);
    if (marker == JPEG_SOS || marker == JPEG_EOI || seg < 2 || i + 2 + seg > n)
      break;
    const unsigned char *s = p + i + 4;
    size_t len = seg - 2;
    if (marker == JPEG_APP1 && len >= EXIF_MIN && memcmp(s, "Exif\0\0", 6) == 0)
      return wd__tiff_orientation(s + 6, len - 6);
    i += 2 + seg;
  }
  return 1;
}

/* Where the pixel seen at (dx, dy) is stored, for orientation o. */
static void source_of(int o, int w, int h, int dx, int dy, int *sx, int *sy) {
  switch (o) {
  case 2: *sx = w - 1 - dx, *sy = dy; break;
  case 3: *sx = w - 1 - dx, *sy = h - 1 - dy; break;
  case 4: *sx = dx, *sy = h - 1 - dy; break;
  case 5: *sx = dy, *sy = dx; break;
  case 6: *sx = dy, *sy = h - 1 - dx; break;
  case 7: *sx = w - 1 - dy, *sy = h - 1 - dx; break;
  case 8: *sx = w - 1 - dy, *sy = dx; break;
  default: *sx = dx, *sy = dy; break;
  }
}

unsigned char *wd__orient(const unsigned char *src, int w, int h, int ch, int o,
                          int *ow, int *oh) {
  int swap = o >= 5; /* 5-8 turn by a quarter: width and height trade */
  *ow = swap ? h : w;
  *oh = swap ? w : h;
  unsigned char *dst = malloc((size_t)w * h * ch);
  if (dst == NULL)
    return NULL;
  for (int dy = 0; dy < *oh; dy++)
    for (int dx = 0; dx < *ow; dx++) {
      int sx, sy;
      source_of(o, w, h, dx, dy, &sx, &sy);
      memcpy(dst + ((size_t)dy * *ow + dx) * ch, src + ((size_t)sy * w + sx) * ch, ch);
    }
  return dst;
}
