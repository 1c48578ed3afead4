/* image.h -- the inside of the image job (warden-image.h says what it does
 * for a caller): the pieces jobs/image.c strings together, one file each.
 *
 *   image_wire.c     the request and answer as they cross the socket
 *   image_sandbox.c  no new privileges, the seccomp filter
 *   image_shrink.c   shrinking by a whole factor, a row at a time
 *   image_png.c      PNG through libspng, rows straight into the shrinker
 *   image_jpeg.c     JPEG through libjpeg-turbo, scaled while decoding
 *   image_jpeg_dc.c  a progressive JPEG at 1/8 from its DC scan alone
 *   image_exif.c     EXIF orientation (JPEG APP1, PNG eXIf)
 *   image_attention.c  where --crop attention puts cover's window
 *   image.c          the job: check, decode, shrink, resize, orient, crop,
 *                    encode
 *
 * A decoder either fills a wd__image or says why it could not in a
 * wd__img_err (a WD_IMG_* code and a message for humans). */
#ifndef WD_JOBS_IMAGE_H
#define WD_JOBS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "warden-image.h"
#include "../proc/proc.h"
#include "../worker/job.h"

/* The answer's header on the wire; the message, then the data follow. */
typedef struct {
  int32_t error;
  uint32_t in_w, in_h, out_w, out_h, format, message_len, peak_rss_kb;
  uint64_t len;
} wd__img_wire;

/* Why an image failed: a WD_IMG_* code and what to tell a human. */
typedef struct {
  int code;
  char msg[256];
} wd__img_err;

/* Sets e (code, and the message printf-style).  Returns the negative errno
 * a decoder passes up: UV_ENOMEM for WD_IMG_NOMEM, else UV_EINVAL. */
int wd__img_fail(wd__img_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Decoded pixels, 8 bits a channel: grey, grey+alpha, RGB or RGBA. */
typedef struct {
  unsigned char *px; /* malloc'd, or stb's when from_stb */
  int w, h, ch;
  int from_stb;
  /* How many of these pixels the source spans, when a shrink by k left a
   * partial last box (w / k, not w); 0 when it spans all w x h. */
  double span_w, span_h;
} wd__image;

/* Frees the pixels (with stb's allocator where they came from stb). */
void wd__image_free(wd__image *im);

/* ---- the sandbox (image_sandbox.c) ----------------------------------- */

/* Locks the calling process down for good: no new privileges, then the
 * seccomp filter.  0 or a negative errno. */
int wd__img_lock_down(void);

/* ---- shrinking by a whole factor (image_shrink.c) --------------------- */

/* Fills the sRGB <-> linear tables; once, before any shrinking. */
void wd__shrink_tables(void);

typedef struct {
  int w, h, ch, k; /* the input, its channels, the factor */
  int ow, oh;      /* the output: ceil(w / k) x ceil(h / k) */
  int y;           /* input rows taken */
  uint32_t *acc;   /* sums for the output row being built, ow * ch */
  unsigned char *px;
} wd__shrinker;

/* The largest factor that leaves at least twice (tw, th); 1 if none. */
int wd__shrink_factor(int w, int h, int tw, int th);
/* Allocates the shrunk image (s->px) and the row sums.  0 or UV_ENOMEM. */
int wd__shrinker_init(wd__shrinker *s, int w, int h, int ch, int k);
/* Takes the next input row, w * ch bytes. */
void wd__shrink_row(wd__shrinker *s, const unsigned char *row);
/* Hands the shrunk pixels (all rows taken) to im, with the span they
 * cover; s->px is then NULL.  s->acc stays the caller's to free. */
void wd__shrinker_take(wd__shrinker *s, wd__image *im);
/* Shrinks a decoded image by the largest whole factor that leaves at
 * least twice (tw, th).  0 or UV_ENOMEM (the image is then unchanged). */
int wd__shrink_image(wd__image *im, int tw, int th);

/* ---- decoders: 0, or a negative errno with the reason in *e ----------- */

/* The size as stored, from the header, read by the decoder that will
 * decode the pixels (so stb's limits and formats never gate a PNG or a
 * JPEG: an arithmetic-coded JPEG, a PNG of more than 2^30 bytes). */
int wd__img_png_info(const unsigned char *p, size_t n, int *w, int *h, wd__img_err *e);
int wd__img_jpeg_info(const unsigned char *p, size_t n, int *w, int *h, wd__img_err *e);
/* The orientation (1-8) a PNG's eXIf chunk gives; 1 without one. */
int wd__png_orientation(const unsigned char *p, size_t n);

/* PNG, shrunk on the way for a target of (tw, th). */
int wd__img_decode_png(const unsigned char *p, size_t n, int tw, int th,
                       wd__image *im, wd__img_err *e);
/* JPEG at the smallest scale N/8 that leaves at least twice (tw, th).
 * UV_ENOTSUP, with nothing in *e, for a CMYK JPEG: stb's to decode. */
int wd__img_decode_jpeg(const unsigned char *p, size_t n, int tw, int th,
                        wd__image *im, wd__img_err *e);

/* ---- EXIF orientation (image_exif.c) ---------------------------------- */

/* The Orientation tag (1-8) of a JPEG's Exif segment; 1 without one. */
int wd__exif_orientation(const unsigned char *p, size_t n);
/* The Orientation tag (1-8) of a TIFF structure (an Exif payload after
 * "Exif\0\0", a PNG's eXIf chunk); 1 without one or if malformed. */
int wd__tiff_orientation(const unsigned char *t, size_t n);
/* (w, h) pixels as stored, turned as orientation o says they are meant to
 * be seen, into a new buffer of *ow x *oh; NULL when out of memory. */
unsigned char *wd__orient(const unsigned char *src, int w, int h, int ch, int o,
                          int *ow, int *oh);

/* ---- the attention crop (image_attention.c) --------------------------- */

/* Where the (cw, ch) window over im has the most edges and saturation:
 * its top left corner in (*x0, *y0).  0 or UV_ENOMEM. */
int wd__attention(const wd__image *im, int cw, int ch, int *x0, int *y0);

#endif /* WD_JOBS_IMAGE_H */
