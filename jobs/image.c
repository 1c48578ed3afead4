/* image.c -- the "resize" job (warden-image.h): one image in, checked,
 * decoded, fitted, oriented and encoded, all in the worker's memory.
 *
 * Dimensions are checked from the header (libspng's for PNG, libjpeg's
 * for JPEG, stbi_info for the rest) before any pixel is decoded.  JPEG
 * goes through libjpeg-turbo, scaled while decoding (image_jpeg.c); PNG
 * through libspng a row at a time into the shrinker (image_png.c); every
 * other format -- and a CMYK JPEG -- through stb_image, then the same
 * shrink (image_shrink.c).  Then stb_image_resize (sRGB-correct,
 * alpha-aware) to the exact size, EXIF orientation for JPEG and PNG
 * (image_exif.c), the crop of --fit cover (image_attention.c says where
 * for --crop attention), and stb_image_write
 * into the output.  The first task
 * warms the heap and locks the worker down for good (image_sandbox.c).
 * The stb functions come from Debian's libstb: no file here defines the
 * STB_*_IMPLEMENTATION macros. */
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include "image.h"
#include "jobs.h"

#define JPEG_QUALITY_DEFAULT 85

int wd__img_fail(wd__img_err *e, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
  va_end(ap);
  e->code = code;
  return code == WD_IMG_NOMEM ? UV_ENOMEM : UV_EINVAL;
}

void wd__image_free(wd__image *im) {
  if (im->from_stb)
    stbi_image_free(im->px);
  else
    free(im->px);
  im->px = NULL;
}

/* One image on its way through the job. */
typedef struct {
  wd_img_req req;
  const unsigned char *p; /* the file */
  size_t n;
  const char *kind;  /* wd_img_sniff()'s name, or NULL */
  int is_jpeg, is_png;
  int orientation;   /* EXIF (JPEG APP1, PNG eXIf), 1-8 */
  wd__image im;
  wd__img_err err;
  wd__img_wire w;    /* the answer's header, filled as it goes */
} resize_task;

/* ---- before decoding ----------------------------------------------------- */

/* The size as stored of an image stb_image decodes. */
static int stb_info(resize_task *t, int *iw, int *ih) {
  int ch;
  if (stbi_info_from_memory(t->p, (int)t->n, iw, ih, &ch))
    return 0;
  const char *why = stbi_failure_reason();
  if (t->kind == NULL)
    return wd__img_fail(&t->err, WD_IMG_UNSUPPORTED, "not an image this decoder reads");
  return wd__img_fail(&t->err, WD_IMG_CORRUPT, "%s",
                      why && *why ? why : "truncated or corrupt header");
}

/* Refuses what cannot or must not be decoded, from the header alone; sets
 * the size as stored in (*iw, *ih).  A PNG's or a JPEG's header is read by
 * the decoder that decodes it: stb only gates the formats it decodes. */
static int check_header(resize_task *t, int *iw, int *ih) {
  if (t->n == 0)
    return wd__img_fail(&t->err, WD_IMG_CORRUPT, "empty file");
  if (t->n > INT32_MAX)
    return wd__img_fail(&t->err, WD_IMG_TOO_LARGE, "file of %zu bytes", t->n);
  int rc = t->is_png    ? wd__img_png_info(t->p, t->n, iw, ih, &t->err)
           : t->is_jpeg ? wd__img_jpeg_info(t->p, t->n, iw, ih, &t->err)
                        : stb_info(t, iw, ih);
  if (rc != 0)
    return rc;
  uint64_t max = t->req.max_pixels ? t->req.max_pixels : WD_IMG_MAX_PIXELS;
  if ((uint64_t)*iw * (uint64_t)*ih > max)
    return wd__img_fail(&t->err, WD_IMG_TOO_LARGE, "%dx%d is more than %llu pixels", *iw,
                        *ih, (unsigned long long)max);
  return 0;
}

/* The scale that fits (w, h) in the box (contain) or fills it (cover);
 * 1 without a box, or where it would enlarge without --upscale. */
static double fit_scale(const wd_img_req *r, int w, int h, int cover) {
  double s = 0;
  if (r->width)
    s = (double)r->width / w;
  if (r->height && (s == 0 || ((double)r->height / h < s) != cover))
    s = (double)r->height / h;
  if (s == 0 || (s > 1 && !r->upscale))
    s = 1;
  return s;
}

static int at_least_1(int v) { return v < 1 ? 1 : v; }

/* The size to resize (w, h) to, as seen, in (*ow, *oh); and the part of it
 * to keep, its centre, in (*cw, *ch): all of it but with cover.  cover and
 * fill without both sides of the box contain. */
static void fit(const wd_img_req *r, int w, int h, int *ow, int *oh, int *cw, int *ch) {
  int box = r->width && r->height;
  if (box && r->fit == WD_IMG_FILL) {
    *ow = *cw = (int)r->width;
    *oh = *ch = (int)r->height;
    return;
  }
  double s = fit_scale(r, w, h, box && r->fit == WD_IMG_COVER);
  *cw = *ow = at_least_1((int)(w * s + 0.5));
  *ch = *oh = at_least_1((int)(h * s + 0.5));
  if (box && r->fit == WD_IMG_COVER) {
    *cw = *ow < (int)r->width ? *ow : (int)r->width;
    *ch = *oh < (int)r->height ? *oh : (int)r->height;
  }
}

/* ---- decoding and resizing ----------------------------------------------- */

/* stb_image's reasons that say more than "corrupt". */
static const struct {
  const char *reason;
  int code;
} stb_reasons[] = {{"outofmem", WD_IMG_NOMEM},
                   {"too large", WD_IMG_TOO_LARGE},
                   {"unknown image type", WD_IMG_UNSUPPORTED}};

static int decode_stb(const unsigned char *p, size_t n, wd__image *im, wd__img_err *e) {
  int w, h, ch;
  im->px = stbi_load_from_memory(p, (int)n, &w, &h, &ch, 0);
  if (im->px == NULL) {
    const char *why = stbi_failure_reason();
    int code = WD_IMG_CORRUPT;
    why = why && *why ? why : "truncated or corrupt data";
    for (size_t i = 0; i < WD__ARRAY_SIZE(stb_reasons); i++)
      if (strcmp(why, stb_reasons[i].reason) == 0)
        code = stb_reasons[i].code;
    return wd__img_fail(e, code, "%s", why);
  }
  im->w = w, im->h = h, im->ch = ch, im->from_stb = 1;
  return 0;
}

/* Decodes the file, shrunk on the way where the decoder can, for a
 * target of (sw, sh) pixels as stored. */
static int decode(resize_task *t, int sw, int sh) {
  int rc = UV_ENOTSUP;
  if (t->is_png)
    rc = wd__img_decode_png(t->p, t->n, sw, sh, &t->im, &t->err);
  else if (t->is_jpeg)
    rc = wd__img_decode_jpeg(t->p, t->n, sw, sh, &t->im, &t->err);
  if (rc == UV_ENOTSUP)
    rc = decode_stb(t->p, t->n, &t->im, &t->err);
  if (rc == 0 && (t->im.w < 1 || t->im.h < 1)) /* the fuzzer's GIF */
    rc = wd__img_fail(&t->err, WD_IMG_CORRUPT, "decodes to %dx%d pixels", t->im.w, t->im.h);
  return rc;
}

/* The decoded image to exactly (sw, sh): a whole-factor shrink first,
 * then stb_image_resize in linear light, colour weighted by alpha, edges
 * clamped, over the span the source covers.  Catmull-Rom, not stb's
 * default Mitchell: Mitchell keeps about 80% of a linear-light Lanczos3
 * reference's edge energy and its thumbnails look soft; Catmull-Rom
 * scores above vipsthumbnail and Pillow against that reference
 * (docs/figures.md, "Fidelity"). */
static int resize_exact(resize_task *t, int sw, int sh) {
  wd__image *im = &t->im;
  if (wd__shrink_image(im, sw, sh) != 0)
    return wd__img_fail(&t->err, WD_IMG_NOMEM, "out of memory shrinking %dx%d", im->w, im->h);
  unsigned char *dst = malloc((size_t)sw * sh * im->ch);
  int alpha = im->ch == 4 ? 3 : im->ch == 2 ? 1 : STBIR_ALPHA_CHANNEL_NONE;
  float s1 = im->span_w > 0 ? (float)(im->span_w / im->w) : 1;
  float t1 = im->span_h > 0 ? (float)(im->span_h / im->h) : 1;
  if (dst == NULL ||
      !stbir_resize_region(im->px, im->w, im->h, 0, dst, sw, sh, 0, STBIR_TYPE_UINT8, im->ch,
                           alpha, 0, STBIR_EDGE_CLAMP, STBIR_EDGE_CLAMP, STBIR_FILTER_CATMULLROM,
                           STBIR_FILTER_CATMULLROM, STBIR_COLORSPACE_SRGB, NULL, 0, 0, s1, t1)) {
    free(dst);
    return wd__img_fail(&t->err, WD_IMG_NOMEM, "cannot resize to %dx%d", sw, sh);
  }
  wd__image_free(im);
  im->px = dst, im->w = sw, im->h = sh, im->from_stb = 0, im->span_w = 0, im->span_h = 0;
  return 0;
}

static int orient_image(resize_task *t) {
  wd__image *im = &t->im;
  int ow, oh;
  if (t->orientation == 1)
    return 0;
  unsigned char *rot = wd__orient(im->px, im->w, im->h, im->ch, t->orientation, &ow, &oh);
  if (rot == NULL)
    return wd__img_fail(&t->err, WD_IMG_NOMEM, "out of memory");
  wd__image_free(im);
  im->px = rot, im->w = ow, im->h = oh;
  return 0;
}

/* Keeps a (cw, ch) window of the image (as seen), where req.crop says
 * (the centre, or image_attention.c's choice), in place: each row moves
 * to an address no later than its own. */
static int crop(resize_task *t, int cw, int ch) {
  wd__image *im = &t->im;
  if (cw == im->w && ch == im->h)
    return 0;
  size_t row = (size_t)cw * im->ch;
  int x0 = (im->w - cw) / 2, y0 = (im->h - ch) / 2;
  if (t->req.crop == WD_IMG_CROP_ATTENTION && wd__attention(im, cw, ch, &x0, &y0) != 0)
    return wd__img_fail(&t->err, WD_IMG_NOMEM, "out of memory choosing the crop");
  for (int y = 0; y < ch; y++)
    memmove(im->px + (size_t)y * row,
            im->px + ((size_t)(y0 + y) * im->w + x0) * im->ch, row);
  im->w = cw, im->h = ch;
  return 0;
}

/* Header check, decode, resize, orient, crop: the pixels to encode, as
 * seen. */
static int make_pixels(resize_task *t) {
  int iw = 0, ih = 0, tw = 0, th = 0, cw = 0, ch = 0;
  int rc = check_header(t, &iw, &ih);
  if (rc != 0)
    return rc;
  int o = t->orientation = t->is_jpeg  ? wd__exif_orientation(t->p, t->n)
                           : t->is_png ? wd__png_orientation(t->p, t->n)
                                       : 1;
  t->w.in_w = (uint32_t)(o >= 5 ? ih : iw);
  t->w.in_h = (uint32_t)(o >= 5 ? iw : ih);
  fit(&t->req, (int)t->w.in_w, (int)t->w.in_h, &tw, &th, &cw, &ch); /* as seen */
  int sw = o >= 5 ? th : tw, sh = o >= 5 ? tw : th;                 /* as stored */
  if ((rc = decode(t, sw, sh)) == 0 && (rc = resize_exact(t, sw, sh)) == 0 &&
      (rc = orient_image(t)) == 0)
    rc = crop(t, cw, ch);
  return rc;
}

/* ---- encoding and answering ---------------------------------------------- */

/* JPEG has no alpha: composite over white. */
static void flatten(wd__image *im) {
  if (im->ch != 2 && im->ch != 4)
    return;
  int c = im->ch - 1;
  size_t npx = (size_t)im->w * im->h;
  for (size_t i = 0; i < npx; i++) {
    const unsigned char *s = im->px + i * im->ch;
    unsigned a = s[c];
    for (int k = 0; k < c; k++)
      im->px[i * c + k] = (unsigned char)((s[k] * a + 255 * (255 - a) + 127) / 255);
  }
  im->ch = c;
}

/* Where stb_image_write hands its output, a few bytes at a time; it has
 * no way to hear of a failed append, so the sink remembers it. */
typedef struct {
  wd_out *out;
  int failed;
} sink;

static void put(void *ctx, void *data, int size) {
  sink *k = ctx;
  if (wd_out_append(k->out, data, (size_t)size) != 0)
    k->failed = 1;
}

/* Appends the image, encoded; w.len says how much. */
static int encode(resize_task *t, wd_out *out) {
  wd__image *im = &t->im;
  const wd_img_req *r = &t->req;
  t->w.format = r->format == WD_IMG_SAME ? (t->is_jpeg ? WD_IMG_JPG : WD_IMG_PNG) : r->format;
  t->w.out_w = (uint32_t)im->w;
  t->w.out_h = (uint32_t)im->h;
  size_t before = out->len;
  sink k = {out, 0};
  int ok;
  if (t->w.format == WD_IMG_JPG) {
    flatten(im);
    ok = stbi_write_jpg_to_func(put, &k, im->w, im->h, im->ch, im->px,
                                r->quality ? (int)r->quality : JPEG_QUALITY_DEFAULT);
  } else {
    ok = stbi_write_png_to_func(put, &k, im->w, im->h, im->ch, im->px, 0);
  }
  if (!ok || k.failed) {
    out->len = before;
    if (k.failed) /* a thumbnail with bytes missing is no success */
      return wd__img_fail(&t->err, WD_IMG_NOMEM, "out of memory for the encoded image");
    return wd__img_fail(&t->err, WD_IMG_ENCODE, "cannot encode");
  }
  t->w.len = out->len - before;
  return 0;
}

/* Completes the answer whose header was reserved at out->p + at: on an
 * error the message replaces whatever was encoded. */
static void answer(resize_task *t, wd_out *out, size_t at) {
  if (t->err.code != WD_IMG_OK) {
    t->w.len = 0;
    out->len = at + sizeof(t->w);
    t->w.message_len = (uint32_t)strlen(t->err.msg);
    if (wd_out_append(out, t->err.msg, t->w.message_len) != 0)
      t->w.message_len = 0; /* the error, without its words, still decodes */
  }
  t->w.error = t->err.code;
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    t->w.peak_rss_kb = (uint32_t)ru.ru_maxrss;
  memcpy(out->p + at, &t->w, sizeof(t->w));
}

/* ---- the job ------------------------------------------------------------- */

/* Warm buffers: freed memory stays in the heap for the next image, and
 * the heap is backed by huge pages where the kernel allows them (THP
 * "madvise" mode).  A decoder's big buffers -- libjpeg zeroes an 88 MB
 * coefficient array for a progressive 5120x2880 JPEG decoded at 1/4 --
 * then cost a few dozen page faults instead of twenty thousand.  The
 * heap is grown once (address space only: nothing is touched) so the
 * advice covers it; under a small --memory the growth fails and this is
 * skipped. */
static void warm_heap(void) {
  enum { RESERVE = 192 << 20, HUGE_PAGE = 2 << 20, PAD = 4 << 20, PROBE = 1 << 20 };
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, RESERVE * 2);
  mallopt(M_TOP_PAD, RESERVE);
  void *p = malloc(PROBE);
  /* At once, whether or not the growth worked: left at RESERVE, every
   * later growth of the heap would ask for 192 MB more and fail under a
   * small --memory (zlib's state then, and a PNG said to be corrupt). */
  mallopt(M_TOP_PAD, PAD);
  if (p == NULL)
    return;
  uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
  uintptr_t hi = (uintptr_t)sbrk(0) & ~(uintptr_t)(HUGE_PAGE - 1);
  if (hi > lo)
    madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
  free(p);
}

static int job_resize(const void *arg, size_t len, wd_out *out) {
  static int locked;
  if (!locked) {
    warm_heap();
    wd__shrink_tables();
    if (wd__img_lock_down() != 0) {
      wd_out_printf(out, "resize: cannot install the sandbox");
      return WD__JOB_FAILED;
    }
    locked = 1;
  }
  resize_task t = {0};
  if (len < sizeof(t.req)) {
    wd_out_printf(out, "resize: malformed request");
    return WD__JOB_FAILED;
  }
  memcpy(&t.req, arg, sizeof(t.req));
  t.p = (const unsigned char *)arg + sizeof(t.req);
  t.n = len - sizeof(t.req);
  t.kind = wd_img_sniff(t.p, t.n);
  t.is_jpeg = t.kind && strcmp(t.kind, "jpeg") == 0;
  t.is_png = t.kind && strcmp(t.kind, "png") == 0;
  size_t at = out->len;
  if (wd_out_reserve(out, sizeof(t.w)) == NULL)
    return WD__JOB_FAILED;
  if (make_pixels(&t) == 0)
    encode(&t, out);
  if (t.im.px)
    wd__image_free(&t.im);
  answer(&t, out, at);
  return WD__JOB_ANSWERED;
}

int wd_register_resize_job(void) {
  int err = wd_register("resize", job_resize);
  return err == UV_EEXIST ? 0 : err;
}
