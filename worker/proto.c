/* proto.c -- parsing the frames of proto.h.  Both directions go through
 * here, so a corrupt or hostile byte stream is caught in one place. */
#include <string.h>
#include <uv.h>

#include "proto.h"

long wd__frame_parse(const char *p, size_t n, wd__hdr *h) {
  if (n < WD__HDR_SIZE)
    return 0;
  memcpy(h, p, WD__HDR_SIZE);
  if (h->type < WD__F_TASK || h->type > WD__F_MAPRES)
    return UV_EPROTO;
  if (h->len > WD__FRAME_MAX)
    return UV_EPROTO;
  if ((h->type == WD__F_OK || h->type == WD__F_ERR) && h->a > h->len)
    return UV_EPROTO; /* a stderr tail longer than the body */
  if (n - WD__HDR_SIZE < h->len)
    return 0;
  return (long)(WD__HDR_SIZE + (size_t)h->len);
}

long wd__item_next(const char *body, size_t len, size_t off, wd__item *it,
                   const char **data) {
  if (off > len || len - off < sizeof(*it))
    return UV_EPROTO;
  memcpy(it, body + off, sizeof(*it));
  off += sizeof(*it);
  if (it->len > len - off)
    return UV_EPROTO;
  *data = body + off;
  return (long)(off + it->len);
}
