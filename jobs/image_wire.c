/* image_wire.c -- the image job's request and answer as they cross a
 * worker's socket (warden-image.h), and what a caller needs to build the
 * one and read the other: error names, and which format a file is.
 *
 * A request is the wd_img_req struct followed by the file's bytes; an
 * answer is a wd__img_wire header, the message, then the encoded image.
 * Both stay on one machine, so they are plain structs in host order;
 * decoding checks every length against what arrived.  Fields added to the
 * request (fit, crop) mean what the job did before when zeroed. */
#include <string.h>

#include "image.h"

int wd_img_encode(wd_out *b, const wd_img_req *r, const void *file, size_t len) {
  if (wd_out_append(b, r, sizeof(*r)) || wd_out_append(b, file, len))
    return UV_ENOMEM;
  return 0;
}

int wd_img_decode(const void *data, size_t len, wd_img_res *r) {
  wd__img_wire w;
  if (len < sizeof(w))
    return UV_EPROTO;
  memcpy(&w, data, sizeof(w));
  if (w.message_len > len - sizeof(w) || w.len != len - sizeof(w) - w.message_len)
    return UV_EPROTO;
  r->error = w.error;
  r->in_w = w.in_w;
  r->in_h = w.in_h;
  r->out_w = w.out_w;
  r->out_h = w.out_h;
  r->format = w.format;
  r->peak_rss_kb = w.peak_rss_kb;
  r->message = (const char *)data + sizeof(w);
  r->message_len = w.message_len;
  r->data = (const unsigned char *)r->message + w.message_len;
  r->len = (size_t)w.len;
  return 0;
}

const char *wd_img_error_name(int error) {
  static const char *const names[] = {
      [WD_IMG_OK] = "ok",               [WD_IMG_CORRUPT] = "corrupt",
      [WD_IMG_UNSUPPORTED] = "unsupported", [WD_IMG_TOO_LARGE] = "too large",
      [WD_IMG_NOMEM] = "memory limit",  [WD_IMG_ENCODE] = "encode"};
  return error >= 0 && error <= WD_IMG_ENCODE ? names[error] : "error";
}

/* Whether p[0..n) starts with the n_magic bytes of magic. */
static int starts(const unsigned char *p, size_t n, const char *magic, size_t n_magic) {
  return n >= n_magic && memcmp(p, magic, n_magic) == 0;
}

static int is_space(unsigned char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

const char *wd_img_sniff(const unsigned char *p, size_t n) {
  if (starts(p, n, "\xFF\xD8\xFF", 3))
    return "jpeg";
  if (starts(p, n, "\x89PNG\r\n\x1a\n", 8))
    return "png";
  if (starts(p, n, "GIF87a", 6) || starts(p, n, "GIF89a", 6))
    return "gif";
  if (n >= 26 && starts(p, n, "BM", 2)) /* a BMP's headers take 26 bytes */
    return "bmp";
  if (starts(p, n, "8BPS", 4))
    return "psd";
  if (starts(p, n, "#?RADIANCE", 10) || starts(p, n, "#?RGBE", 6))
    return "hdr";
  if (n >= 3 && p[0] == 'P' && (p[1] == '5' || p[1] == '6') && is_space(p[2]))
    return "pnm";
  if (starts(p, n, "\x53\x80\xF6\x34", 4))
    return "pic";
  return NULL;
}
