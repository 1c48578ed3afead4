/* proto.h -- the frame protocol on a worker's socket.
 *
 * Every frame is a 24-byte header then `len` body bytes, in host byte order
 * (both ends are the same binary).  The supervisor sends TASK and MAP
 * frames; the worker answers each with one OK, ERR or MAPRES frame carrying
 * the same id, in the order it received them.  A parser that meets a frame
 * it cannot trust reports UV_EPROTO and the worker is treated as broken. */
#ifndef WD_PROTO_H
#define WD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define WD__HDR_SIZE 24
#define WD__FRAME_MAX (1u << 30) /* largest body either side accepts */

enum {
  WD__F_TASK = 1,  /* a = job index; body = argument */
  WD__F_MAP,       /* a = job index, b = items; body = items */
  WD__F_OK,        /* a = stderr tail bytes at the end of the body,
                      b = run time in microseconds */
  WD__F_ERR,       /* as OK, body = message + tail */
  WD__F_MAPRES     /* a = items, b = run time; body = items with status */
};

typedef struct {
  uint32_t type;
  uint32_t len; /* body bytes */
  uint64_t id;
  uint32_t a;
  uint32_t b;
} wd__hdr;

/* A map item inside MAP and MAPRES bodies: an 8-byte header then bytes. */
typedef struct {
  uint32_t len;
  uint32_t status; /* MAPRES: WD__F_OK or WD__F_ERR; MAP: 0 */
} wd__item;

/* Parses the frame at the front of p[0..n).  Returns the whole frame's size
 * when it is complete and sane, 0 when more bytes are needed, UV_EPROTO for
 * an unknown type, a body over WD__FRAME_MAX, or fields that contradict. */
long wd__frame_parse(const char *p, size_t n, wd__hdr *h);

/* Walks the items of a MAP/MAPRES body: on success fills *it and *data and
 * returns the offset of the next item; UV_EPROTO if it does not fit. */
long wd__item_next(const char *body, size_t len, size_t off, wd__item *it,
                   const char **data);

#endif /* WD_PROTO_H */
