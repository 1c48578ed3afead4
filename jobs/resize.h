/* resize.h -- the "resize" job: decode an image, fit it in a box, encode
 * it, all in memory.  The supervisor reads the file and sends its bytes;
 * the worker answers with the encoded output.  So the worker never needs
 * the file system, and before it touches the first untrusted byte it
 * locks itself down (no new privileges, a seccomp filter that allows
 * little more than memory and its socket). */
#ifndef WD_JOBS_RESIZE_H
#define WD_JOBS_RESIZE_H

#include <stddef.h>
#include <stdint.h>

#include "../proc/proc.h"
#include "../worker/job.h"

enum { WD_IMG_SAME = 0, WD_IMG_JPG = 1, WD_IMG_PNG = 2 };

/* Why an image failed inside the job.  Timeouts, memory kills and crashes
 * are the pool's to report. */
enum {
  WD_IMG_OK = 0,
  WD_IMG_CORRUPT,     /* a known format, but the data is broken */
  WD_IMG_UNSUPPORTED, /* not an image any of the decoders reads */
  WD_IMG_TOO_LARGE,   /* more pixels than max_pixels */
  WD_IMG_NOMEM,       /* the decoder ran out of (limited) memory */
  WD_IMG_ENCODE,      /* the encoder failed */
};

typedef struct {
  uint32_t width, height; /* the box; 0 = unbounded in that direction */
  uint32_t format;        /* WD_IMG_SAME / JPG / PNG */
  uint32_t quality;       /* JPEG quality, 1-100 */
  uint32_t upscale;       /* enlarge images smaller than the box */
  uint64_t max_pixels;    /* refuse images with more before decoding */
} wd_img_req;

typedef struct {
  int32_t error; /* WD_IMG_* */
  uint32_t in_w, in_h, out_w, out_h;
  uint32_t format; /* of the output: WD_IMG_JPG or WD_IMG_PNG */
  uint32_t peak_rss_kb; /* the worker's peak resident memory so far */
  const char *message;   /* what went wrong, for humans */
  size_t message_len;
  const unsigned char *data; /* the encoded output */
  size_t len;
} wd_img_res;

/* Appends a request: the header, then the file's bytes. */
int wd_img_encode(wd__buf *b, const wd_img_req *r, const void *file,
                  size_t len);
/* Reads the job's answer.  0 or UV_EPROTO. */
int wd_img_decode(const void *data, size_t len, wd_img_res *r);
/* The short name of an error: "corrupt", "unsupported", ... */
const char *wd_img_error_name(int error);
/* The image format a file's first bytes announce ("jpeg", "png", ...), or
 * NULL: how inputs are found by content, not by name. */
const char *wd_img_sniff(const unsigned char *p, size_t n);

int wd_register_resize_job(void);

#endif
