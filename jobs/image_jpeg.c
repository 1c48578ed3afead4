/* image_jpeg.c -- JPEG through libjpeg-turbo, scaled while decoding.
 *
 * libjpeg-turbo decodes straight to a reduced size with DCT scaling (N/8):
 * the smallest size at least twice the target, so the final filter still
 * has pixels to work with.  A scaled decode uses only the low-frequency
 * coefficients, so a progressive JPEG is read only until those are
 * complete (buffered-image mode) and its later scans, most of the file,
 * are skipped -- unless the file does not end properly, where reading to
 * the end is what tells a truncated file.  At 1/8 the AC scans are not
 * even kept (image_jpeg_dc.c).  Arithmetic-coded JPEGs, sequential or
 * progressive, go the same way: the header is read by libjpeg too
 * (wd__img_jpeg_info), never by stb, which refuses them.  A CMYK JPEG is
 * left to stb_image. */
#include <setjmp.h>
#include <stdlib.h>

#include <jerror.h>

#include "image.h"
#include "image_jpeg.h"

#define JPEG_SCALE_DENOM 8

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  int truncated; /* the data ended before the image did */
} jpeg_err;

static void jpeg_fail(j_common_ptr c) { longjmp(((jpeg_err *)c->err)->jump, 1); }

/* Warnings (stray bytes, a bad marker) leave a usable image, except a
 * file that simply ends: that one is corrupt. */
static void jpeg_note(j_common_ptr c, int level) {
  if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF)
    ((jpeg_err *)c->err)->truncated = 1;
}

/* Whether every coefficient the scaled decode will use has arrived in
 * full.  At scale N/8 a component is inverse-transformed at S x S (S is
 * its DCT_scaled_size: 1 for luma at 1/8, 2 for 2x-subsampled chroma), which
 * reads only the coefficients of rows and columns below S; a progressive
 * JPEG may send those in several scans of successive approximation, and
 * coef_bits says, per coefficient in zigzag order, how far each got. */
static int needed_complete(j_decompress_ptr d) {
  static signed char row[DCTSIZE2], col[DCTSIZE2]; /* of zigzag position k */
  if (d->coef_bits == NULL) /* only progressive JPEGs have it */
    return 0;
  if (row[DCTSIZE2 - 1] == 0)
    for (int k = 0, r = 0, c = 0; k < DCTSIZE2; k++) {
      row[k] = (signed char)r, col[k] = (signed char)c;
      if ((r + c) % 2 == 0) /* going up and right */
        c == DCTSIZE - 1 ? r++ : r == 0 ? c++ : (r--, c++);
      else
        r == DCTSIZE - 1 ? c++ : c == 0 ? r++ : (r++, c--);
    }
  for (int i = 0; i < d->num_components; i++) {
    int sz = d->comp_info[i].DCT_scaled_size;
    for (int k = 0; k < DCTSIZE2; k++)
      if (row[k] < sz && col[k] < sz && d->coef_bits[i][k] != 0)
        return 0;
  }
  return 1;
}

/* Whether the data ends with the EOI marker (trailing padding allowed). */
static int has_eoi(const unsigned char *p, size_t n) {
  while (n > 2 && (p[n - 1] == 0 || p[n - 1] == '\n' || p[n - 1] == '\r'))
    n--;
  return n >= 4 && p[n - 2] == 0xFF && p[n - 1] == 0xD9;
}

/* A size at scale num/8, as libjpeg rounds it. */
static unsigned scaled(JDIMENSION size, unsigned num) {
  return (size * num + JPEG_SCALE_DENOM - 1) / JPEG_SCALE_DENOM;
}

/* The smallest N for a scale of N/8 that leaves at least twice (tw, th). */
static unsigned scale_for(j_decompress_ptr d, int tw, int th) {
  unsigned num = 1;
  while (num < JPEG_SCALE_DENOM && (scaled(d->image_width, num) < 2u * (unsigned)tw ||
                                    scaled(d->image_height, num) < 2u * (unsigned)th))
    num++;
  return num;
}

/* Reads a progressive JPEG's scans only until the coefficients the scale
 * uses are complete, and starts output from what has arrived. */
static void read_needed_scans(j_decompress_ptr d) {
  int r;
  do
    r = jpeg_consume_input(d);
  while (r != JPEG_SUSPENDED && r != JPEG_REACHED_EOI &&
         !(r == JPEG_SCAN_COMPLETED && needed_complete(d)));
  jpeg_start_output(d, d->input_scan_number);
}

static void read_rows(j_decompress_ptr d, unsigned char *px, size_t stride) {
  while (d->output_scanline < d->output_height) {
    JSAMPROW row = px + stride * d->output_scanline;
    jpeg_read_scanlines(d, &row, 1);
  }
}

static int jpeg_failed(j_decompress_ptr d, jpeg_err *e, wd__img_err *err) {
  char why[JMSG_LENGTH_MAX];
  e->pub.format_message((j_common_ptr)d, why);
  int code = e->pub.msg_code == JERR_OUT_OF_MEMORY ? WD_IMG_NOMEM : WD_IMG_CORRUPT;
  return wd__img_fail(err, code, "%s", why);
}

/* A decompressor whose errors longjmp to e->jump (set by the caller). */
static void jpeg_begin(j_decompress_ptr d, jpeg_err *e) {
  d->err = jpeg_std_error(&e->pub);
  e->pub.error_exit = jpeg_fail;
  e->pub.emit_message = jpeg_note;
  jpeg_create_decompress(d);
}

int wd__img_jpeg_info(const unsigned char *p, size_t n, int *w, int *h, wd__img_err *err) {
  struct jpeg_decompress_struct d;
  jpeg_err e = {0};
  volatile int rc = 0;
  jpeg_begin(&d, &e);
  if (setjmp(e.jump)) {
    rc = jpeg_failed(&d, &e, err);
  } else {
    jpeg_mem_src(&d, p, (unsigned long)n);
    jpeg_read_header(&d, TRUE);
    *w = (int)d.image_width;
    *h = (int)d.image_height;
  }
  jpeg_destroy_decompress(&d);
  return rc;
}

/* One function, not steps of their own: every libjpeg call that may fail
 * must run under the setjmp() below. */
int wd__img_decode_jpeg(const unsigned char *p, size_t n, int tw, int th,
                        wd__image *im, wd__img_err *err) {
  struct jpeg_decompress_struct d;
  jpeg_err e = {0};
  wd__jpeg_dc dc = {0};
  /* Set after setjmp and read after a longjmp: volatile. */
  unsigned char *volatile px = NULL;
  unsigned char *volatile kept = NULL; /* the data less its dropped scans */
  volatile int rc = 0;
  jpeg_begin(&d, &e);
  if (setjmp(e.jump)) {
    rc = jpeg_failed(&d, &e, err);
    goto done;
  }
  jpeg_mem_src(&d, p, (unsigned long)n);
  jpeg_read_header(&d, TRUE);
  if (d.jpeg_color_space == JCS_CMYK || d.jpeg_color_space == JCS_YCCK) {
    rc = UV_ENOTSUP;
    goto done;
  }
  unsigned num = scale_for(&d, tw, th);
  d.scale_num = num, d.scale_denom = JPEG_SCALE_DENOM;
  d.dct_method = JDCT_IFAST;
  d.out_color_space = d.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  /* (A sequential JPEG may have several scans too: read it all.  The
   * fuzzer found that one: coef_bits is NULL there.) */
  int early = num < JPEG_SCALE_DENOM && d.progressive_mode && has_eoi(p, n);
  d.buffered_image = (boolean)early;
  d.do_block_smoothing = FALSE; /* it guesses coefficients not yet read */
  if (early && num == 1)
    kept = wd__jpeg_dc_setup(&d, &dc, p, n);
  jpeg_start_decompress(&d);
  if (early)
    read_needed_scans(&d);
  size_t stride = (size_t)d.output_width * d.output_components;
  px = malloc(stride * d.output_height);
  if (px == NULL) {
    rc = wd__img_fail(err, WD_IMG_NOMEM, "out of memory for %ux%u pixels", d.output_width,
                      d.output_height);
    goto done;
  }
  read_rows(&d, px, stride);
  if (e.truncated) {
    rc = wd__img_fail(err, WD_IMG_CORRUPT, "premature end of JPEG data");
    goto done;
  }
  im->px = px, im->w = (int)d.output_width, im->h = (int)d.output_height;
  im->ch = d.output_components, im->from_stb = 0;
  px = NULL; /* the image's now */
done: /* one exit; destroying the decompressor abandons what was not read */
  free(px);
  jpeg_destroy_decompress(&d);
  free(kept);
  return rc;
}
