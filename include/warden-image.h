/* warden-image.h -- the "resize" job of libwarden-image: decode an image,
 * fit it in a box, encode it, all in a worker's memory.
 *
 * The caller reads the file and sends its bytes as the task's argument
 * (wd_img_encode); the worker answers with the encoded output and what it
 * measured, or why the image failed (wd_img_decode).  So the worker never
 * opens a file: before it touches the first untrusted byte it locks itself
 * down for good -- no new privileges, and a seccomp filter that kills it on
 * any system call but memory management, its socket and its stderr.  A
 * corrupt or hostile image costs its own task, never the pool: the pool
 * adds the memory limit, a CPU limit and the deadline (wd_pool_options),
 * and a worker of a resize pool should run resize tasks only.
 *
 * Use: wd_register_resize_job() before wd_pool_new(), then for each file
 * wd_submit(pool, "resize", req.p, req.len, ...) with req built by
 * wd_img_encode(), and wd_img_decode() on a WD_OK future's payload.  The
 * request and the answer are in the host's byte order: they do not leave
 * the machine.  Link with -lwarden-image -lwarden and the image libraries
 * (-ljpeg -lspng -lseccomp -lstb -lm). */
#ifndef WARDEN_IMAGE_H
#define WARDEN_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "warden.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Output formats: the input's own (JPEG stays JPEG, anything else becomes
 * PNG), or one chosen. */
enum { WD_IMG_SAME = 0, WD_IMG_JPG = 1, WD_IMG_PNG = 2 };

/* How an image meets its box (wd_img_req.fit), orientation applied
 * first: inside it, aspect ratio kept (contain); filling it, aspect ratio
 * kept, the overflow cropped (cover); or stretched to it exactly (fill).
 * cover and fill need both a width and a height; without them the job
 * contains. */
enum { WD_IMG_CONTAIN = 0, WD_IMG_COVER = 1, WD_IMG_FILL = 2 };

/* Which part cover keeps (wd_img_req.crop): the centre, or the part with
 * the most edges and colour (as libvips's "attention"). */
enum { WD_IMG_CROP_CENTRE = 0, WD_IMG_CROP_ATTENTION = 1 };

/* Why an image failed inside the job.  Timeouts, memory kills and crashes
 * are the pool's to report (the future's status). */
enum {
  WD_IMG_OK = 0,
  WD_IMG_CORRUPT,     /* a known format, but the data is broken */
  WD_IMG_UNSUPPORTED, /* not an image any of the decoders reads */
  WD_IMG_TOO_LARGE,   /* more pixels than max_pixels */
  WD_IMG_NOMEM,       /* the decoder ran out of (limited) memory */
  WD_IMG_ENCODE,      /* the encoder failed */
};

/* The pixels an image may have when a request sets no max_pixels: an
 * image's header can ask for gigabytes in a few bytes. */
#define WD_IMG_MAX_PIXELS 100000000u

/* What to make of one image.  Sent as it is, in front of the file; a
 * zeroed field means its default, as in wd_pool_options. */
typedef struct {
  uint32_t width, height; /* the box; 0 = unbounded in that direction */
  uint32_t format;        /* WD_IMG_SAME / JPG / PNG */
  uint32_t quality;       /* JPEG quality, 1-100; 0: 85 */
  uint32_t upscale;       /* enlarge images smaller than the box */
  uint64_t max_pixels;    /* refuse images with more before decoding;
                             0: WD_IMG_MAX_PIXELS */
  uint32_t fit;           /* WD_IMG_CONTAIN / COVER / FILL */
  uint32_t crop;          /* with cover: WD_IMG_CROP_CENTRE / ATTENTION */
} wd_img_req;

/* The job's answer.  The pointers point into the decoded payload. */
typedef struct {
  int32_t error; /* WD_IMG_* */
  uint32_t in_w, in_h, out_w, out_h; /* as seen (EXIF orientation applied) */
  uint32_t format;      /* of the output: WD_IMG_JPG or WD_IMG_PNG */
  uint32_t peak_rss_kb; /* the worker's peak resident memory so far */
  const char *message;  /* what went wrong, for humans; not NUL-terminated */
  size_t message_len;
  const unsigned char *data; /* the encoded output */
  size_t len;
} wd_img_res;

/* Appends a request to b: r, then the file's len bytes.  0 or UV_ENOMEM. */
int wd_img_encode(wd_out *b, const wd_img_req *r, const void *file, size_t len);

/* Reads the job's answer (a WD_OK payload) into r.  0 or UV_EPROTO. */
int wd_img_decode(const void *data, size_t len, wd_img_res *r);

/* The short name of an error: "corrupt", "unsupported", ...; "error" for
 * a value it does not know. */
const char *wd_img_error_name(int error);

/* The image format a file's first n bytes announce ("jpeg", "png", "gif",
 * "bmp", "psd", "hdr", "pnm", "pic"), or NULL: how inputs are found by
 * content, not by name. */
const char *wd_img_sniff(const unsigned char *p, size_t n);

/* Registers the "resize" job.  Idempotent.  0 or a negative errno. */
int wd_register_resize_job(void);

#ifdef __cplusplus
}
#endif

#endif /* WARDEN_IMAGE_H */
