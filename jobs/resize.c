/* resize.c -- the "resize" job (see resize.h).
 *
 * Decoding: JPEG goes through libjpeg-turbo, which decodes straight to a
 * reduced size with DCT scaling (N/8): the smallest size at least twice
 * the target, so the final filter still has pixels to work with; a
 * progressive JPEG is read only until the coefficients that scale uses
 * are complete, and at 1/8 the AC scans of components that need only
 * their DC are dropped unread and those keep one coefficient per block,
 * not 64.  PNG goes through libspng a row at a time, each row
 * folded at once into an image shrunk by a whole factor (a box filter in
 * linear light, alpha-weighted): a 5120x2880 PNG never exists whole in
 * memory.  Every other format -- and a CMYK JPEG -- goes through
 * stb_image, then the same shrink.  Dimensions are checked from the
 * header before any pixel is decoded.  Then stb_image_resize
 * (sRGB-correct, alpha-aware) to the exact size, EXIF orientation for
 * JPEG, and stb_image_write into memory.  The worker's heap stays warm
 * between images, on huge pages where the kernel allows.
 *
 * Hostile input: the first call locks the worker down for good -- no new
 * privileges, and a seccomp filter that kills the process on any system
 * call but memory management, reading its socket, writing its result and
 * stderr tail, and the pool's own bookkeeping.  A worker of a resize pool
 * runs resize tasks only.  The pool adds the memory limit (RLIMIT_AS), a
 * CPU limit and the deadline. */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <seccomp.h>
#include <setjmp.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <jerror.h>
#include <jpeglib.h>

#include "resize.h"

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

typedef struct {
  int32_t error;
  uint32_t in_w, in_h, out_w, out_h, format, message_len, peak_rss_kb;
  uint64_t len;
} res_wire;

int wd_img_encode(wd__buf *b, const wd_img_req *r, const void *file,
                  size_t len) {
  if (wd_out_append(b, r, sizeof(*r)) || wd_out_append(b, file, len))
    return UV_ENOMEM;
  return 0;
}

int wd_img_decode(const void *data, size_t len, wd_img_res *r) {
  res_wire w;
  if (len < sizeof(w))
    return UV_EPROTO;
  memcpy(&w, data, sizeof(w));
  if (w.message_len > len - sizeof(w) || w.len != len - sizeof(w) - w.message_len)
    return UV_EPROTO;
  r->error = w.error;
  r->in_w = w.in_w, r->in_h = w.in_h, r->out_w = w.out_w, r->out_h = w.out_h;
  r->format = w.format;
  r->peak_rss_kb = w.peak_rss_kb;
  r->message = (const char *)data + sizeof(w);
  r->message_len = w.message_len;
  r->data = (const unsigned char *)r->message + w.message_len;
  r->len = (size_t)w.len;
  return 0;
}

const char *wd_img_error_name(int error) {
  static const char *const names[] = {"ok", "corrupt", "unsupported",
                                      "too large", "memory limit", "encode"};
  return error >= 0 && error <= WD_IMG_ENCODE ? names[error] : "error";
}

const char *wd_img_sniff(const unsigned char *p, size_t n) {
  if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
    return "jpeg";
  if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
    return "png";
  if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
    return "gif";
  if (n >= 26 && p[0] == 'B' && p[1] == 'M')
    return "bmp";
  if (n >= 4 && memcmp(p, "8BPS", 4) == 0)
    return "psd";
  if ((n >= 10 && memcmp(p, "#?RADIANCE", 10) == 0) ||
      (n >= 6 && memcmp(p, "#?RGBE", 6) == 0))
    return "hdr";
  if (n >= 3 && p[0] == 'P' && (p[1] == '5' || p[1] == '6') &&
      (p[2] == ' ' || p[2] == '\n' || p[2] == '\r' || p[2] == '\t'))
    return "pnm";
  if (n >= 4 && memcmp(p, "\x53\x80\xF6\x34", 4) == 0)
    return "pic";
  return NULL;
}

/* ---- the sandbox ----------------------------------------------------------- */

static int lock_down(void) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return -1;
#if defined(__SANITIZE_ADDRESS__) || defined(WD_NO_SANDBOX)
  return 0; /* ASan needs the file system to report; the filter would kill it
               (and a fuzzer runs the job in its own process) */
#endif
  scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (f == NULL)
    return -1;
  static const int any_fd[] = {
      SCMP_SYS(brk),          SCMP_SYS(mmap),         SCMP_SYS(munmap),
      SCMP_SYS(mremap),       SCMP_SYS(madvise),      SCMP_SYS(mprotect),
      SCMP_SYS(exit),         SCMP_SYS(exit_group),   SCMP_SYS(rt_sigreturn),
      SCMP_SYS(rt_sigprocmask), SCMP_SYS(clock_gettime), SCMP_SYS(getpid),
      SCMP_SYS(gettid),       SCMP_SYS(futex),
      /* the worker loop: per-task CPU limit, sweeping children */
      SCMP_SYS(getrusage),    SCMP_SYS(prlimit64),    SCMP_SYS(getrlimit),
      SCMP_SYS(setrlimit),    SCMP_SYS(waitid),
  };
  int rc = 0;
  for (size_t i = 0; i < sizeof(any_fd) / sizeof(any_fd[0]); i++)
    rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, any_fd[i], 0);
  /* Its socket (fd 3) in and out; its stderr memfd (fd 2). */
  rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(recvfrom), 1,
                         SCMP_A0(SCMP_CMP_EQ, WD__FD_SOCK));
  rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(read), 1,
                         SCMP_A0(SCMP_CMP_EQ, WD__FD_SOCK));
  rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 1,
                         SCMP_A0(SCMP_CMP_EQ, WD__FD_SOCK));
  static const int stderr_calls[] = {SCMP_SYS(write), SCMP_SYS(lseek),
                                     SCMP_SYS(pread64), SCMP_SYS(ftruncate)};
  for (size_t i = 0; i < sizeof(stderr_calls) / sizeof(stderr_calls[0]); i++)
    rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, stderr_calls[i], 1,
                           SCMP_A0(SCMP_CMP_EQ, 2));
  if (rc == 0)
    rc = seccomp_load(f);
  seccomp_release(f);
  return rc;
}

/* ---- EXIF orientation (JPEG) --------------------------------------------- */

static unsigned rd16(const unsigned char *p, int le) {
  return le ? p[0] | p[1] << 8 : p[0] << 8 | p[1];
}
static uint32_t rd32(const unsigned char *p, int le) {
  return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                  (uint32_t)p[3] << 24
            : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                  (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The Orientation tag (0x0112) of IFD0 in the APP1 Exif segment: 1-8, or 1
 * when there is none or it is malformed.  Every read is bounds-checked. */
static int exif_orientation(const unsigned char *p, size_t n) {
  size_t i = 2;
  while (i + 4 <= n && p[i] == 0xFF) {
    unsigned marker = p[i + 1];
    size_t seg = rd16(p + i + 2, 0);
    if (marker == 0xDA || marker == 0xD9 || seg < 2 || i + 2 + seg > n)
      break;
    const unsigned char *s = p + i + 4;
    size_t len = seg - 2;
    if (marker == 0xE1 && len >= 14 && memcmp(s, "Exif\0\0", 6) == 0) {
      const unsigned char *t = s + 6;
      size_t tl = len - 6;
      int le = t[0] == 'I' && t[1] == 'I';
      if (!le && !(t[0] == 'M' && t[1] == 'M'))
        return 1;
      uint32_t ifd = rd32(t + 4, le);
      if (ifd > tl - 2)
        return 1;
      unsigned count = rd16(t + ifd, le);
      for (unsigned k = 0; k < count; k++) {
        size_t e = ifd + 2 + (size_t)k * 12;
        if (e + 12 > tl)
          return 1;
        if (rd16(t + e, le) == 0x0112) {
          unsigned v = rd16(t + e + 8, le);
          return v >= 1 && v <= 8 ? (int)v : 1;
        }
      }
      return 1;
    }
    i += 2 + seg;
  }
  return 1;
}

/* Turns (w, h) pixels as stored into pixels as meant to be seen. */
static unsigned char *orient(const unsigned char *src, int w, int h, int ch,
                             int o, int *ow, int *oh) {
  int swap = o >= 5;
  *ow = swap ? h : w;
  *oh = swap ? w : h;
  unsigned char *dst = malloc((size_t)w * h * ch);
  if (dst == NULL)
    return NULL;
  for (int dy = 0; dy < *oh; dy++)
    for (int dx = 0; dx < *ow; dx++) {
      int sx, sy;
      switch (o) {
      case 2: sx = w - 1 - dx, sy = dy; break;
      case 3: sx = w - 1 - dx, sy = h - 1 - dy; break;
      case 4: sx = dx, sy = h - 1 - dy; break;
      case 5: sx = dy, sy = dx; break;
      case 6: sx = dy, sy = h - 1 - dx; break;
      case 7: sx = w - 1 - dy, sy = h - 1 - dx; break;
      case 8: sx = w - 1 - dy, sy = dx; break;
      default: sx = dx, sy = dy; break;
      }
      memcpy(dst + ((size_t)dy * *ow + dx) * ch, src + ((size_t)sy * w + sx) * ch, ch);
    }
  return dst;
}

/* ---- the job ------------------------------------------------------------ */

/* The size that fits (w, h) in the box, keeping the aspect ratio. */
static void fit(const wd_img_req *r, int w, int h, int *ow, int *oh) {
  double s = 0;
  if (r->width)
    s = (double)r->width / w;
  if (r->height && (s == 0 || (double)r->height / h < s))
    s = (double)r->height / h;
  if (s == 0 || (s > 1 && !r->upscale))
    s = 1;
  *ow = (int)(w * s + 0.5);
  *oh = (int)(h * s + 0.5);
  if (*ow < 1)
    *ow = 1;
  if (*oh < 1)
    *oh = 1;
}

/* ---- shrinking by a whole factor, a row at a time -------------------------
 * Each k x k block of input becomes one pixel: the mean in linear light
 * (colour weighted by alpha, so transparent pixels do not bleed their
 * colour).  It runs as rows arrive from the decoder, so only the shrunk
 * image is ever held; stb_image_resize then makes the exact size from
 * an image at least twice as large, where its filter does the quality. */

/* Linear light in 15 bits: sums of up to 16 x 16 alpha-weighted samples
 * (32767 x 255 x 256) fit in 32 bits, and integer sums are quicker than
 * float ones here (no chain of 4-cycle float adds per block). */
#define LIN_MAX 32767
#define SHRINK_MAX 16
static uint16_t lin_of[256];            /* sRGB byte -> linear */
static unsigned char srgb_of[LIN_MAX + 1]; /* linear -> sRGB byte */

static void shrink_tables(void) {
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

typedef struct {
  int w, h, ch, k; /* the input, its channels, the factor */
  int ow, oh;      /* the output: ceil(w / k) x ceil(h / k) */
  int y;           /* input rows taken */
  uint32_t *acc;   /* sums for the output row being built, ow * ch */
  unsigned char *px;
} shrinker;

/* The largest factor that leaves at least twice (tw, th); 1 if none. */
static int shrink_factor(int w, int h, int tw, int th) {
  int k = w / (2 * (tw > 0 ? tw : 1));
  int kh = h / (2 * (th > 0 ? th : 1));
  k = kh < k ? kh : k;
  k = k < SHRINK_MAX ? k : SHRINK_MAX; /* stb_image_resize does the rest */
  return k > 1 ? k : 1;
}

static int shrinker_init(shrinker *s, int w, int h, int ch, int k) {
  memset(s, 0, sizeof(*s));
  s->w = w, s->h = h, s->ch = ch, s->k = k;
  s->ow = (w + k - 1) / k, s->oh = (h + k - 1) / k;
  s->px = malloc((size_t)s->ow * s->oh * ch);
  s->acc = k > 1 ? calloc((size_t)s->ow * ch, sizeof(*s->acc)) : NULL;
  if (s->px == NULL || (k > 1 && s->acc == NULL)) {
    free(s->px), free(s->acc);
    s->px = NULL, s->acc = NULL;
    return -1;
  }
  return 0;
}

static void shrink_emit(shrinker *s) {
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

static void shrink_row(shrinker *s, const unsigned char *row) {
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

typedef struct {
  unsigned char *px; /* malloc'd or stb's */
  int w, h, ch;
  int from_stb;
} image;

static void image_free(image *im) {
  if (im->from_stb)
    stbi_image_free(im->px);
  else
    free(im->px);
  im->px = NULL;
}

/* Shrinks a decoded image by the largest whole factor that leaves at
 * least twice (tw, th).  -1 when out of memory. */
static int shrink_image(image *im, int tw, int th) {
  int k = shrink_factor(im->w, im->h, tw, th);
  shrinker s;
  if (k == 1)
    return 0;
  if (shrinker_init(&s, im->w, im->h, im->ch, k) != 0)
    return -1;
  for (int y = 0; y < im->h; y++)
    shrink_row(&s, im->px + (size_t)y * im->w * im->ch);
  free(s.acc);
  image_free(im);
  im->px = s.px, im->w = s.ow, im->h = s.oh, im->from_stb = 0;
  return 0;
}

/* libspng, a row at a time into the shrinker (an interlaced PNG is
 * decoded whole first: its rows come in seven passes).  Grey stays grey;
 * palette, 16-bit and tRNS become 8-bit, with alpha where there is any. */
static void decode_png(const unsigned char *p, size_t n, int tw, int th,
                       image *im, int *err, char *msg, size_t msgn) {
  spng_ctx *ctx = spng_ctx_new(SPNG_CTX_IGNORE_ADLER32); /* chunk CRCs stay */
  struct spng_ihdr h;
  struct spng_trns t;
  shrinker s = {0};
  unsigned char *buf = NULL;
  int e = SPNG_EMEM;
  if (ctx == NULL)
    goto out;
  spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_DISCARD);
  spng_set_chunk_limits(ctx, 1 << 26, 1 << 26); /* text and the like */
  if ((e = spng_set_png_buffer(ctx, p, n)) || (e = spng_get_ihdr(ctx, &h)))
    goto out;
  int alpha = h.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA ||
              h.color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA ||
              spng_get_trns(ctx, &t) == 0;
  int gray = h.color_type == SPNG_COLOR_TYPE_GRAYSCALE ||
             h.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA;
  int fmt = alpha ? SPNG_FMT_RGBA8 : SPNG_FMT_RGB8, fch = alpha ? 4 : 3;
  int ch = (gray ? 1 : 3) + alpha, w = (int)h.width, hh = (int)h.height;
  size_t row = (size_t)w * fch;
  int interlaced = h.interlace_method != SPNG_INTERLACE_NONE;
  e = SPNG_EMEM;
  if (shrinker_init(&s, w, hh, ch, shrink_factor(w, hh, tw, th)) != 0 ||
      (buf = malloc(interlaced ? row * hh : row)) == NULL)
    goto out;
  if (interlaced)
    e = spng_decode_image(ctx, buf, row * hh, fmt, SPNG_DECODE_TRNS);
  else
    e = spng_decode_image(ctx, NULL, 0, fmt, SPNG_DECODE_TRNS | SPNG_DECODE_PROGRESSIVE);
  for (int y = 0; y < hh && e == 0; y++) {
    unsigned char *r = interlaced ? buf + row * y : buf;
    /* the last row comes with SPNG_EOI */
    if (!interlaced && (e = spng_decode_row(ctx, r, row)) != 0 && e != SPNG_EOI)
      break;
    e = 0;
    if (gray) /* in place: keep the grey (and alpha) of each pixel */
      for (int x = 0; x < w; x++) {
        r[(size_t)x * ch] = r[(size_t)x * fch];
        if (alpha)
          r[(size_t)x * ch + 1] = r[(size_t)x * fch + 3];
      }
    shrink_row(&s, r);
  }
out:
  if (e == 0) {
    im->px = s.px, im->w = s.ow, im->h = s.oh, im->ch = s.ch, im->from_stb = 0;
  } else {
    *err = e == SPNG_EMEM                                       ? WD_IMG_NOMEM
           : e == SPNG_EUSER_WIDTH || e == SPNG_EUSER_HEIGHT ? WD_IMG_TOO_LARGE
                                                             : WD_IMG_CORRUPT;
    snprintf(msg, msgn, "%s", spng_strerror(e));
    free(s.px);
  }
  free(s.acc);
  free(buf);
  spng_ctx_free(ctx);
}

/* ---- JPEG: libjpeg-turbo, scaled while decoding -------------------------- */

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
  static signed char row[64], col[64]; /* of zigzag position k */
  if (d->coef_bits == NULL) /* only progressive JPEGs have it */
    return 0;
  if (row[63] == 0)
    for (int k = 0, r = 0, c = 0; k < 64; k++) {
      row[k] = (signed char)r, col[k] = (signed char)c;
      if ((r + c) % 2 == 0) /* going up and right */
        c == 7 ? r++ : r == 0 ? c++ : (r--, c++);
      else
        r == 7 ? c++ : c == 0 ? r++ : (r++, c--);
    }
  for (int i = 0; i < d->num_components; i++) {
    int sz = d->comp_info[i].DCT_scaled_size;
    for (int k = 0; k < 64; k++)
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

/* ---- progressive JPEG at 1/8: one coefficient per block -----------------
 *
 * At 1/8 a component whose DCT_scaled_size is 1 (luma, and chroma that is
 * not subsampled) is inverse-transformed from its DC coefficient alone
 * (jpeg_idct_1x1).  Its AC scans -- most of a progressive file -- are
 * dropped from the data before libjpeg sees them, and its coefficients
 * are kept one per block instead of libjpeg's 64: the virtual arrays of
 * the coefficient controller are ours (cinfo->mem's request, realize and
 * access methods).  A 5120x2880 4:4:4 photograph then holds 1.4 MB of
 * coefficients instead of 88 MB.  The rows handed to libjpeg are a window
 * of full blocks whose AC coefficients stay zero: no scan that could
 * write them is left. */

typedef struct {
  JCOEF *dc;       /* rows x cols, one per block */
  JBLOCKARRAY win; /* the rows handed out, maxaccess of them */
  JDIMENSION rows, cols, maxaccess, first, n;
  int dirty;
} dc_array;

typedef struct {
  jvirt_barray_ptr (*request)(j_common_ptr, int, boolean, JDIMENSION, JDIMENSION,
                              JDIMENSION);
  void (*realize)(j_common_ptr);
  JBLOCKARRAY (*access)(j_common_ptr, jvirt_barray_ptr, JDIMENSION, JDIMENSION, boolean);
  unsigned char dc_only[MAX_COMPONENTS]; /* by component index */
  dc_array arr[MAX_COMPONENTS];
  int asked; /* arrays requested so far: one per component, in order */
} dc_mgr;

static dc_array *dc_array_of(dc_mgr *m, jvirt_barray_ptr p) {
  uintptr_t a = (uintptr_t)p, lo = (uintptr_t)m->arr;
  if (a < lo || a >= lo + sizeof(m->arr))
    return NULL;
  return (dc_array *)(void *)p;
}

static jvirt_barray_ptr dc_request(j_common_ptr c, int pool, boolean pre_zero,
                                   JDIMENSION cols, JDIMENSION rows, JDIMENSION maxaccess) {
  dc_mgr *m = c->client_data;
  j_decompress_ptr d = (j_decompress_ptr)c;
  int i = m->asked++;
  if (i < d->num_components && m->dc_only[i]) {
    const jpeg_component_info *ci = &d->comp_info[i];
    JDIMENSION h = (JDIMENSION)ci->h_samp_factor, v = (JDIMENSION)ci->v_samp_factor;
    /* (Only if it is that component's array as libjpeg sizes it.) */
    if (pool == JPOOL_IMAGE && pre_zero && maxaccess > 0 &&
        cols == (ci->width_in_blocks + h - 1) / h * h &&
        rows == (ci->height_in_blocks + v - 1) / v * v) {
      m->arr[i] = (dc_array){.rows = rows, .cols = cols, .maxaccess = maxaccess};
      return (jvirt_barray_ptr)(void *)&m->arr[i];
    }
    /* Else libjpeg's own array: more memory, the same pixels (the AC
     * coefficients it has room for are simply never written). */
  }
  return m->request(c, pool, pre_zero, cols, rows, maxaccess);
}

static void dc_realize(j_common_ptr c) {
  dc_mgr *m = c->client_data;
  m->realize(c);
  for (int i = 0; i < MAX_COMPONENTS; i++) {
    dc_array *a = &m->arr[i];
    if (a->cols == 0)
      continue;
    size_t nb = (size_t)a->rows * a->cols;
    a->dc = c->mem->alloc_large(c, JPOOL_IMAGE, nb * sizeof(JCOEF));
    memset(a->dc, 0, nb * sizeof(JCOEF));
    a->win = c->mem->alloc_barray(c, JPOOL_IMAGE, a->cols, a->maxaccess);
    for (JDIMENSION r = 0; r < a->maxaccess; r++)
      memset(a->win[r], 0, a->cols * sizeof(JBLOCK));
  }
}

static JBLOCKARRAY dc_access(j_common_ptr c, jvirt_barray_ptr p, JDIMENSION start,
                             JDIMENSION num, boolean writable) {
  dc_mgr *m = c->client_data;
  dc_array *a = dc_array_of(m, p);
  if (a == NULL)
    return m->access(c, p, start, num, writable);
  if (a->dc == NULL || num > a->maxaccess || start > a->rows || num > a->rows - start)
    ERREXIT(c, JERR_BAD_VIRTUAL_ACCESS);
  JDIMENSION cols = a->cols;
  if (a->dirty) /* what the last writer decoded goes back */
    for (JDIMENSION r = 0; r < a->n; r++)
      for (JDIMENSION b = 0; b < cols; b++)
        a->dc[(size_t)(a->first + r) * cols + b] = a->win[r][b][0];
  for (JDIMENSION r = 0; r < num; r++)
    for (JDIMENSION b = 0; b < cols; b++)
      a->win[r][b][0] = a->dc[(size_t)(start + r) * cols + b];
  a->first = start, a->n = num, a->dirty = writable;
  return a->win;
}

/* The rest of a progressive JPEG, from its first scan's data at p[at],
 * into out (n bytes suffice) without the AC scans of the components
 * marked in drop[]; its length, or 0 if the data is not laid out plainly
 * (bytes between segments, a segment cut short, no EOI) -- then nothing
 * is dropped and libjpeg reads the file as it is. */
static size_t drop_ac_scans(j_decompress_ptr d, const unsigned char *drop,
                            const unsigned char *p, size_t at, size_t n,
                            unsigned char *out) {
  size_t o = 0, i = at;
  int keep = 1; /* the first scan: DC, checked by the caller */
  for (;;) {
    /* Entropy-coded data runs to a marker other than a restart: 0xFF,
     * any fill 0xFFs, then a byte neither 0 (a stuffed 0xFF) nor RSTn. */
    size_t s = i;
    for (;;) {
      const unsigned char *f = i < n ? memchr(p + i, 0xFF, n - i) : NULL;
      if (f == NULL)
        return 0;
      size_t j = (size_t)(f - p) + 1;
      while (j < n && p[j] == 0xFF)
        j++;
      if (j >= n)
        return 0;
      if (p[j] != 0 && (p[j] < 0xD0 || p[j] > 0xD7)) {
        i = j - 1;
        break;
      }
      i = j + 1;
    }
    if (keep)
      memcpy(out + o, p + s, i - s), o += i - s;
    /* Marker segments, up to and including the next scan's header. */
    for (;;) {
      if (i + 2 > n || p[i] != 0xFF)
        return 0;
      unsigned m = p[i + 1];
      if (m == 0xD9) {
        out[o++] = 0xFF, out[o++] = 0xD9;
        return o;
      }
      if (m == 0 || m == 0x01 || (m >= 0xD0 && m <= 0xD8) || m == 0xFF || i + 4 > n)
        return 0; /* no segment of its own where one belongs */
      size_t len = (size_t)p[i + 2] << 8 | p[i + 3];
      if (len < 2 || len > n - i - 2)
        return 0;
      keep = 1;
      if (m == 0xDA) {
        unsigned ns = len >= 3 ? p[i + 4] : 0;
        if (ns < 1 || ns > 4 || len != 6 + 2 * ns)
          return 0;
        if (ns == 1 && p[i + 5 + 2 * ns] > 0) /* an AC scan: Ss > 0 */
          for (int c = 0; c < d->num_components; c++)
            if (d->comp_info[c].component_id == p[i + 5] && drop[c])
              keep = 0;
      }
      if (keep)
        memcpy(out + o, p + i, 2 + len), o += 2 + len;
      i += 2 + len;
      if (m == 0xDA)
        break;
    }
  }
}

/* Sets up the above for a 1/8 decode (after jpeg_read_header, scale set):
 * the filtered data, to be freed after the decode, or NULL if no
 * component can do with its DC alone or the file is not plain enough. */
static unsigned char *dc_only_setup(j_decompress_ptr d, dc_mgr *m,
                                    const unsigned char *p, size_t n) {
  jpeg_calc_output_dimensions(d);
  int any = 0;
  for (int i = 0; i < d->num_components; i++) {
    m->dc_only[i] = d->comp_info[i].DCT_scaled_size == 1;
    any |= m->dc_only[i];
    for (int k = 0; k < i; k++) /* ids must say which component a scan is */
      if (d->comp_info[k].component_id == d->comp_info[i].component_id)
        return NULL;
  }
  /* The first scan must be a DC scan: its data is kept unread-through. */
  if (!any || d->Ss != 0 || d->src->next_input_byte < p ||
      d->src->next_input_byte > p + n)
    return NULL;
  size_t at = (size_t)(d->src->next_input_byte - p);
  unsigned char *out = malloc(n);
  size_t len = out ? drop_ac_scans(d, m->dc_only, p, at, n, out) : 0;
  if (len == 0) {
    free(out);
    return NULL;
  }
  d->src->next_input_byte = out, d->src->bytes_in_buffer = len;
  m->request = d->mem->request_virt_barray, m->realize = d->mem->realize_virt_arrays;
  m->access = d->mem->access_virt_barray;
  d->mem->request_virt_barray = dc_request, d->mem->realize_virt_arrays = dc_realize;
  d->mem->access_virt_barray = dc_access;
  d->client_data = m;
  return out;
}

/* Decodes at the smallest scale N/8 that leaves at least twice (tw, th).
 * A scaled decode uses only the low-frequency coefficients, so a
 * progressive JPEG is read only until those are complete (buffered-image
 * mode), and the later scans, most of the file, are skipped -- unless the
 * file does not end properly, where reading to the end is what tells a
 * truncated file.  0, or -1 to fall back to stb (CMYK). */
static int decode_jpeg(const unsigned char *p, size_t n, int tw, int th, image *im,
                       int *err, char *msg, size_t msgn) {
  struct jpeg_decompress_struct d;
  jpeg_err e = {0};
  unsigned char *volatile px = NULL;
  unsigned char *volatile kept = NULL; /* the data less its dropped scans */
  dc_mgr dc = {0};
  volatile int rc = 0;
  d.err = jpeg_std_error(&e.pub);
  e.pub.error_exit = jpeg_fail;
  e.pub.emit_message = jpeg_note;
  jpeg_create_decompress(&d);
  if (setjmp(e.jump)) {
    char why[JMSG_LENGTH_MAX];
    e.pub.format_message((j_common_ptr)&d, why);
    *err = e.pub.msg_code == JERR_OUT_OF_MEMORY ? WD_IMG_NOMEM : WD_IMG_CORRUPT;
    snprintf(msg, msgn, "%s", why);
    free(px);
    goto out;
  }
  jpeg_mem_src(&d, p, (unsigned long)n);
  jpeg_read_header(&d, TRUE);
  if (d.jpeg_color_space == JCS_CMYK || d.jpeg_color_space == JCS_YCCK) {
    rc = -1;
    goto out;
  }
  unsigned num = 1;
  while (num < 8 && ((d.image_width * num + 7) / 8 < 2u * (unsigned)tw ||
                     (d.image_height * num + 7) / 8 < 2u * (unsigned)th))
    num++;
  d.scale_num = num, d.scale_denom = 8;
  d.dct_method = JDCT_IFAST;
  d.out_color_space = d.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  /* (A sequential JPEG may have several scans too: read it all.  The
   * fuzzer found that one: coef_bits is NULL there.) */
  int early = num < 8 && d.progressive_mode && has_eoi(p, n);
  d.buffered_image = (boolean)early;
  d.do_block_smoothing = FALSE; /* it guesses coefficients not yet read */
  if (early && num == 1)
    kept = dc_only_setup(&d, &dc, p, n);
  jpeg_start_decompress(&d);
  if (early) {
    int r;
    do
      r = jpeg_consume_input(&d);
    while (r != JPEG_SUSPENDED && r != JPEG_REACHED_EOI &&
           !(r == JPEG_SCAN_COMPLETED && needed_complete(&d)));
    jpeg_start_output(&d, d.input_scan_number);
  }
  size_t stride = (size_t)d.output_width * d.output_components;
  px = malloc(stride * d.output_height);
  if (px == NULL) {
    *err = WD_IMG_NOMEM;
    snprintf(msg, msgn, "out of memory for %ux%u pixels", d.output_width, d.output_height);
    goto out;
  }
  while (d.output_scanline < d.output_height) {
    JSAMPROW row = px + stride * d.output_scanline;
    jpeg_read_scanlines(&d, &row, 1);
  }
  if (e.truncated) {
    *err = WD_IMG_CORRUPT;
    snprintf(msg, msgn, "premature end of JPEG data");
    free(px);
    goto out;
  }
  im->px = px, im->w = (int)d.output_width, im->h = (int)d.output_height;
  im->ch = d.output_components, im->from_stb = 0;
out:
  jpeg_destroy_decompress(&d); /* also abandons what was not read */
  free(kept);
  return rc;
}

static int decode_stb(const unsigned char *p, size_t n, image *im, int *err,
                      char *msg, size_t msgn) {
  int w, h, ch;
  im->px = stbi_load_from_memory(p, (int)n, &w, &h, &ch, 0);
  if (im->px == NULL) {
    const char *why = stbi_failure_reason();
    why = why && *why ? why : "truncated or corrupt data";
    *err = strcmp(why, "outofmem") == 0           ? WD_IMG_NOMEM
           : strcmp(why, "too large") == 0        ? WD_IMG_TOO_LARGE
           : strcmp(why, "unknown image type") == 0 ? WD_IMG_UNSUPPORTED
                                                   : WD_IMG_CORRUPT;
    snprintf(msg, msgn, "%s", why);
    return -1;
  }
  im->w = w, im->h = h, im->ch = ch, im->from_stb = 1;
  return 0;
}

/* JPEG has no alpha: composite over white. */
static void flatten(image *im) {
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

static void put(void *ctx, void *data, int size) {
  wd_out_append(ctx, data, (size_t)size);
}

/* Warm buffers: freed memory stays in the heap for the next image, and
 * the heap is backed by huge pages where the kernel allows them (THP
 * "madvise" mode).  A decoder's big buffers -- libjpeg zeroes an 88 MB
 * coefficient array for a progressive 5120x2880 JPEG decoded at 1/4 --
 * then cost a few dozen page faults instead of twenty thousand.  The
 * heap is grown once (address space only: nothing is touched) so the
 * advice covers it; under a small --memory the growth fails and this is
 * skipped. */
static void warm_heap(void) {
  enum { RESERVE = 192 << 20, HUGE = 2 << 20 };
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, RESERVE * 2);
  mallopt(M_TOP_PAD, RESERVE);
  void *p = malloc(1 << 20);
  /* At once, whether or not the growth worked: left at RESERVE, every
   * later growth of the heap would ask for 192 MB more and fail under a
   * small --memory (zlib's state then, and a PNG said to be corrupt). */
  mallopt(M_TOP_PAD, 4 << 20);
  if (p == NULL)
    return;
  uintptr_t lo = ((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1);
  uintptr_t hi = (uintptr_t)sbrk(0) & ~(uintptr_t)(HUGE - 1);
  if (hi > lo)
    madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
  free(p);
}

static int job_resize(const void *arg, size_t len, wd_out *out) {
  static int locked;
  if (!locked) {
    warm_heap();
    shrink_tables();
    if (lock_down() != 0)
      return wd_out_printf(out, "resize: cannot install the sandbox"), 1;
    locked = 1;
  }
  wd_img_req r;
  if (len < sizeof(r))
    return wd_out_printf(out, "resize: malformed request"), 1;
  memcpy(&r, arg, sizeof(r));
  const unsigned char *p = (const unsigned char *)arg + sizeof(r);
  size_t n = len - sizeof(r);
  res_wire w = {0};
  char msg[256] = "";
  image im = {0};
  size_t at = out->len;
  if (wd_out_reserve(out, sizeof(w)) == NULL)
    return 1;
  int err = WD_IMG_OK;
  int iw = 0, ih = 0, ich = 0;
  const char *kind = wd_img_sniff(p, n);
  int is_jpeg = kind && strcmp(kind, "jpeg") == 0;
  if (n == 0) {
    err = WD_IMG_CORRUPT;
    snprintf(msg, sizeof(msg), "empty file");
  } else if (n > INT32_MAX) {
    err = WD_IMG_TOO_LARGE;
    snprintf(msg, sizeof(msg), "file of %zu bytes", n);
  } else if (!stbi_info_from_memory(p, (int)n, &iw, &ih, &ich)) {
    const char *why = stbi_failure_reason();
    err = wd_img_sniff(p, n) ? WD_IMG_CORRUPT : WD_IMG_UNSUPPORTED;
    snprintf(msg, sizeof(msg), "%s",
             err == WD_IMG_UNSUPPORTED ? "not an image this decoder reads"
             : why && *why             ? why
                                       : "truncated or corrupt header");
  } else if ((uint64_t)iw * (uint64_t)ih > r.max_pixels) {
    err = WD_IMG_TOO_LARGE;
    snprintf(msg, sizeof(msg), "%dx%d is more than %llu pixels", iw, ih,
             (unsigned long long)r.max_pixels);
  }
  int o = is_jpeg && !err ? exif_orientation(p, n) : 1;
  int tw = 0, th = 0; /* the output, as seen */
  if (!err) {
    w.in_w = (uint32_t)(o >= 5 ? ih : iw);
    w.in_h = (uint32_t)(o >= 5 ? iw : ih);
    fit(&r, (int)w.in_w, (int)w.in_h, &tw, &th);
    int sw = o >= 5 ? th : tw, sh = o >= 5 ? tw : th; /* as stored */
    if (kind && strcmp(kind, "png") == 0)
      decode_png(p, n, sw, sh, &im, &err, msg, sizeof(msg));
    else if (!(is_jpeg && decode_jpeg(p, n, sw, sh, &im, &err, msg, sizeof(msg)) == 0))
      decode_stb(p, n, &im, &err, msg, sizeof(msg));
    if (!err && im.px && (im.w < 1 || im.h < 1)) { /* the fuzzer's GIF */
      err = WD_IMG_CORRUPT;
      snprintf(msg, sizeof(msg), "decodes to %dx%d pixels", im.w, im.h);
    }
    if (!err && im.px && shrink_image(&im, sw, sh) != 0) {
      err = WD_IMG_NOMEM;
      snprintf(msg, sizeof(msg), "out of memory shrinking %dx%d", im.w, im.h);
    }
    if (!err && im.px) {
      unsigned char *dst = malloc((size_t)sw * sh * im.ch);
      int alpha = im.ch == 4 ? 3 : im.ch == 2 ? 1 : STBIR_ALPHA_CHANNEL_NONE;
      if (dst == NULL ||
          !stbir_resize_uint8_srgb(im.px, im.w, im.h, 0, dst, sw, sh, 0, im.ch,
                                   alpha, 0)) {
        free(dst);
        err = WD_IMG_NOMEM;
        snprintf(msg, sizeof(msg), "cannot resize to %dx%d", sw, sh);
      } else {
        image_free(&im);
        im.px = dst, im.w = sw, im.h = sh, im.from_stb = 0;
      }
    }
    if (!err && o != 1) {
      int ow, oh;
      unsigned char *rot = orient(im.px, im.w, im.h, im.ch, o, &ow, &oh);
      if (rot == NULL) {
        err = WD_IMG_NOMEM;
        snprintf(msg, sizeof(msg), "out of memory");
      } else {
        image_free(&im);
        im.px = rot, im.w = ow, im.h = oh;
      }
    }
  }
  if (!err) {
    w.format = r.format == WD_IMG_SAME ? (is_jpeg ? WD_IMG_JPG : WD_IMG_PNG) : r.format;
    w.out_w = (uint32_t)im.w;
    w.out_h = (uint32_t)im.h;
    size_t before = out->len;
    int ok;
    if (w.format == WD_IMG_JPG) {
      flatten(&im);
      ok = stbi_write_jpg_to_func(put, out, im.w, im.h, im.ch, im.px,
                                  r.quality ? (int)r.quality : 85);
    } else {
      ok = stbi_write_png_to_func(put, out, im.w, im.h, im.ch, im.px, 0);
    }
    if (!ok) {
      out->len = before;
      err = WD_IMG_ENCODE;
      snprintf(msg, sizeof(msg), "cannot encode");
    }
    w.len = out->len - before;
  }
  if (im.px)
    image_free(&im);
  if (err) { /* a message instead of data: drop what was encoded */
    w.len = 0;
    out->len = at + sizeof(w);
    w.message_len = (uint32_t)strlen(msg);
    wd_out_append(out, msg, w.message_len);
  }
  w.error = err;
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    w.peak_rss_kb = (uint32_t)ru.ru_maxrss;
  memcpy(out->p + at, &w, sizeof(w));
  return 0;
}

int wd_register_resize_job(void) {
  int err = wd_register("resize", job_resize);
  return err == UV_EEXIST ? 0 : err;
}
