/* image_png.c -- PNG through libspng, a row at a time, each row folded at
 * once into the shrinker (image_shrink.c): a 5120x2880 PNG never exists
 * whole in memory.  An interlaced PNG is decoded whole first, since its
 * rows come in seven passes.  Grey stays grey; palette, 16-bit and tRNS
 * become 8-bit, with alpha where there is any.  Chunk CRCs are checked,
 * the zlib stream's Adler-32 is not (the CRCs already cover those bytes).
 * The size check and the eXIf orientation read the header with libspng
 * too: any size --max-pixels allows is decoded, rows streamed. */
#include <spng.h>
#include <stdlib.h>

#include "image.h"

/* Text and other ancillary chunks: more than this is refused. */
#define PNG_CHUNK_LIMIT (1 << 26)

/* How the rows come from libspng and what the shrinker takes. */
typedef struct {
  int alpha, gray;
  int fmt, fch;  /* libspng's output format and its channels: RGB8 or RGBA8 */
  int ch;        /* the shrinker's channels: grey or RGB, plus alpha */
  int w, h;
  size_t row;    /* bytes of one row as libspng writes it */
  int interlaced;
} png_layout;

static void layout_of(spng_ctx *ctx, const struct spng_ihdr *h, png_layout *l) {
  struct spng_trns t;
  l->alpha = h->color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA ||
             h->color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA ||
             spng_get_trns(ctx, &t) == 0;
  l->gray = h->color_type == SPNG_COLOR_TYPE_GRAYSCALE ||
            h->color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA;
  l->fmt = l->alpha ? SPNG_FMT_RGBA8 : SPNG_FMT_RGB8;
  l->fch = l->alpha ? 4 : 3;
  l->ch = (l->gray ? 1 : 3) + l->alpha;
  l->w = (int)h->width;
  l->h = (int)h->height;
  l->row = (size_t)l->w * l->fch;
  l->interlaced = h->interlace_method != SPNG_INTERLACE_NONE;
}

/* In place: keeps the grey (and alpha) of each RGB(A) pixel. */
static void keep_grey(unsigned char *r, const png_layout *l) {
  for (int x = 0; x < l->w; x++) {
    r[(size_t)x * l->ch] = r[(size_t)x * l->fch];
    if (l->alpha)
      r[(size_t)x * l->ch + 1] = r[(size_t)x * l->fch + 3];
  }
}

/* Decodes every row into s, through buf (one row, or the whole image when
 * interlaced).  0 or a libspng error. */
static int decode_rows(spng_ctx *ctx, const png_layout *l, unsigned char *buf,
                       wd__shrinker *s) {
  int e;
  if (l->interlaced)
    e = spng_decode_image(ctx, buf, l->row * l->h, l->fmt, SPNG_DECODE_TRNS);
  else
    e = spng_decode_image(ctx, NULL, 0, l->fmt, SPNG_DECODE_TRNS | SPNG_DECODE_PROGRESSIVE);
  for (int y = 0; y < l->h && e == 0; y++) {
    unsigned char *r = l->interlaced ? buf + l->row * y : buf;
    /* the last row comes with SPNG_EOI */
    if (!l->interlaced && (e = spng_decode_row(ctx, r, l->row)) != 0 && e != SPNG_EOI)
      break;
    e = 0;
    if (l->gray)
      keep_grey(r, l);
    wd__shrink_row(s, r);
  }
  return e;
}

static int png_failed(int e, wd__img_err *err) {
  int code = e == SPNG_EMEM                                       ? WD_IMG_NOMEM
             : e == SPNG_EUSER_WIDTH || e == SPNG_EUSER_HEIGHT ? WD_IMG_TOO_LARGE
                                                               : WD_IMG_CORRUPT;
  return wd__img_fail(err, code, "%s", spng_strerror(e));
}

int wd__img_decode_png(const unsigned char *p, size_t n, int tw, int th,
                       wd__image *im, wd__img_err *err) {
  spng_ctx *ctx = spng_ctx_new(SPNG_CTX_IGNORE_ADLER32);
  struct spng_ihdr h;
  png_layout l;
  wd__shrinker s = {0};
  unsigned char *buf = NULL;
  int e = SPNG_EMEM, rc = 0;
  if (ctx == NULL)
    goto done;
  spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_DISCARD);
  spng_set_chunk_limits(ctx, PNG_CHUNK_LIMIT, PNG_CHUNK_LIMIT);
  if ((e = spng_set_png_buffer(ctx, p, n)) || (e = spng_get_ihdr(ctx, &h)))
    goto done;
  layout_of(ctx, &h, &l);
  e = SPNG_EMEM;
  if (wd__shrinker_init(&s, l.w, l.h, l.ch, wd__shrink_factor(l.w, l.h, tw, th)) != 0 ||
      (buf = malloc(l.interlaced ? l.row * l.h : l.row)) == NULL)
    goto done;
  e = decode_rows(ctx, &l, buf, &s);
done: /* one exit: the context, the row buffer and the sums go */
  if (e == 0) {
    wd__shrinker_take(&s, im);
  } else {
    rc = png_failed(e, err);
    free(s.px);
  }
  free(s.acc);
  free(buf);
  spng_ctx_free(ctx);
  return rc;
}

/* A context on p[0..n) with the same checks and limits as the decode. */
static spng_ctx *png_open(const unsigned char *p, size_t n, int *e) {
  spng_ctx *ctx = spng_ctx_new(SPNG_CTX_IGNORE_ADLER32);
  *e = SPNG_EMEM;
  if (ctx == NULL)
    return NULL;
  spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_DISCARD);
  spng_set_chunk_limits(ctx, PNG_CHUNK_LIMIT, PNG_CHUNK_LIMIT);
  *e = spng_set_png_buffer(ctx, p, n);
  return ctx;
}

int wd__img_png_info(const unsigned char *p, size_t n, int *w, int *h, wd__img_err *err) {
  struct spng_ihdr ih;
  int e;
  spng_ctx *ctx = png_open(p, n, &e);
  if (e == 0)
    e = spng_get_ihdr(ctx, &ih);
  spng_ctx_free(ctx);
  if (e != 0)
    return png_failed(e, err);
  *w = (int)ih.width, *h = (int)ih.height; /* libspng caps both at 2^31 - 1 */
  return 0;
}

int wd__png_orientation(const unsigned char *p, size_t n) {
  struct spng_exif exif;
  int e, o = 1;
  spng_ctx *ctx = png_open(p, n, &e);
  /* (A broken chunk before IDAT is the decode's to report.) */
  if (e == 0 && spng_get_exif(ctx, &exif) == 0)
    o = wd__tiff_orientation((const unsigned char *)exif.data, exif.length);
  spng_ctx_free(ctx);
  return o;
}
