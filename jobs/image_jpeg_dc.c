/* image_jpeg_dc.c -- a progressive JPEG at 1/8: one coefficient per block.
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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>

#include "image_jpeg.h"

enum {
  MARK = 0xFF,
  MARK_TEM = 0x01,  /* a marker without a segment, like RSTn and SOI */
  MARK_RST0 = 0xD0, /* restart markers sit inside entropy-coded data */
  MARK_RST7 = 0xD7,
  MARK_SOI = 0xD8,
  MARK_EOI = 0xD9,
  MARK_SOS = 0xDA,
};

/* ---- the coefficient arrays --------------------------------------------- */

static wd__dc_array *dc_array_of(wd__jpeg_dc *m, jvirt_barray_ptr p) {
  uintptr_t a = (uintptr_t)p, lo = (uintptr_t)m->arr;
  if (a < lo || a >= lo + sizeof(m->arr))
    return NULL;
  return (wd__dc_array *)(void *)p;
}

static jvirt_barray_ptr dc_request(j_common_ptr c, int pool, boolean pre_zero,
                                   JDIMENSION cols, JDIMENSION rows, JDIMENSION maxaccess) {
  wd__jpeg_dc *m = c->client_data;
  j_decompress_ptr d = (j_decompress_ptr)c;
  int i = m->asked++;
  if (i < d->num_components && m->dc_only[i]) {
    const jpeg_component_info *ci = &d->comp_info[i];
    JDIMENSION h = (JDIMENSION)ci->h_samp_factor, v = (JDIMENSION)ci->v_samp_factor;
    /* (Only if it is that component's array as libjpeg sizes it.) */
    if (pool == JPOOL_IMAGE && pre_zero && maxaccess > 0 &&
        cols == (ci->width_in_blocks + h - 1) / h * h &&
        rows == (ci->height_in_blocks + v - 1) / v * v) {
      m->arr[i] = (wd__dc_array){.rows = rows, .cols = cols, .maxaccess = maxaccess};
      return (jvirt_barray_ptr)(void *)&m->arr[i];
    }
    /* Else libjpeg's own array: more memory, the same pixels (the AC
     * coefficients it has room for are simply never written). */
  }
  return m->request(c, pool, pre_zero, cols, rows, maxaccess);
}

static void dc_realize(j_common_ptr c) {
  wd__jpeg_dc *m = c->client_data;
  m->realize(c);
  for (int i = 0; i < MAX_COMPONENTS; i++) {
    wd__dc_array *a = &m->arr[i];
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
  wd__jpeg_dc *m = c->client_data;
  wd__dc_array *a = dc_array_of(m, p);
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

/* ---- dropping the AC scans ----------------------------------------------- */

/* The file being copied without some of its scans. */
typedef struct {
  const unsigned char *p;
  size_t n, i; /* its length, the read position */
  unsigned char *out;
  size_t o; /* the write position */
} splice;

static void splice_copy(splice *s, size_t from, size_t len) {
  memcpy(s->out + s->o, s->p + from, len);
  s->o += len;
}

/* Where entropy-coded data from p[i] ends: the index of the marker after
 * it -- 0xFF, any fill 0xFFs, then a byte neither 0 (a stuffed 0xFF) nor
 * RSTn -- or 0 when the data ends first. */
static size_t entropy_end(const unsigned char *p, size_t i, size_t n) {
  for (;;) {
    const unsigned char *f = i < n ? memchr(p + i, MARK, n - i) : NULL;
    if (f == NULL)
      return 0;
    size_t j = (size_t)(f - p) + 1;
    while (j < n && p[j] == MARK)
      j++;
    if (j >= n)
      return 0;
    if (p[j] != 0 && (p[j] < MARK_RST0 || p[j] > MARK_RST7))
      return j - 1;
    i = j + 1;
  }
}

/* Whether the SOS segment at seg (len bytes after its marker) starts an
 * AC scan (Ss > 0) of one component marked in drop[]; -1 if it is not a
 * well-formed scan header. */
static int dropped_scan(j_decompress_ptr d, const unsigned char *drop,
                        const unsigned char *seg, size_t len) {
  unsigned ns = len >= 3 ? seg[4] : 0; /* components in the scan */
  if (ns < 1 || ns > 4 || len != 6 + 2 * ns)
    return -1;
  if (ns == 1 && seg[5 + 2 * ns] > 0)
    for (int c = 0; c < d->num_components; c++)
      if (d->comp_info[c].component_id == seg[5] && drop[c])
        return 1;
  return 0;
}

enum { SEG_BAD, SEG_SCAN, SEG_EOI };

/* Copies marker segments up to and including the next scan's header;
 * *keep says whether that scan stays.  SEG_SCAN, SEG_EOI (copied), or
 * SEG_BAD where no segment of its own is where one belongs. */
static int next_scan(j_decompress_ptr d, const unsigned char *drop, splice *s, int *keep) {
  for (;;) {
    const unsigned char *p = s->p;
    if (s->i + 2 > s->n || p[s->i] != MARK)
      return SEG_BAD;
    unsigned m = p[s->i + 1];
    if (m == MARK_EOI) {
      splice_copy(s, s->i, 2);
      return SEG_EOI;
    }
    if (m == 0 || m == MARK_TEM || (m >= MARK_RST0 && m <= MARK_SOI) || m == MARK ||
        s->i + 4 > s->n)
      return SEG_BAD;
    size_t len = (size_t)p[s->i + 2] << 8 | p[s->i + 3];
    if (len < 2 || len > s->n - s->i - 2)
      return SEG_BAD;
    int dropped = m == MARK_SOS ? dropped_scan(d, drop, p + s->i, len) : 0;
    if (dropped < 0)
      return SEG_BAD;
    *keep = !dropped;
    if (*keep)
      splice_copy(s, s->i, 2 + len);
    s->i += 2 + len;
    if (m == MARK_SOS)
      return SEG_SCAN;
  }
}

/* The rest of a progressive JPEG, from its first scan's data at p[at],
 * into out (n bytes suffice) without the AC scans of the components
 * marked in drop[]; its length, or 0 if the data is not laid out plainly
 * (bytes between segments, a segment cut short, no EOI) -- then nothing
 * is dropped and libjpeg reads the file as it is. */
static size_t drop_ac_scans(j_decompress_ptr d, const unsigned char *drop,
                            const unsigned char *p, size_t at, size_t n,
                            unsigned char *out) {
  splice s = {p, n, at, out, 0};
  int keep = 1; /* the first scan: DC, checked by the caller */
  for (;;) {
    size_t end = entropy_end(p, s.i, n);
    if (end == 0)
      return 0;
    if (keep)
      splice_copy(&s, s.i, end - s.i);
    s.i = end;
    int r = next_scan(d, drop, &s, &keep);
    if (r != SEG_SCAN)
      return r == SEG_EOI ? s.o : 0;
  }
}

/* ---- setting it up ------------------------------------------------------ */

/* Marks the components that need only their DC at this scale: whether any
 * does, and each component id is unique (so a scan names one). */
static int mark_dc_only(j_decompress_ptr d, wd__jpeg_dc *m) {
  int any = 0;
  for (int i = 0; i < d->num_components; i++) {
    m->dc_only[i] = d->comp_info[i].DCT_scaled_size == 1;
    any |= m->dc_only[i];
    for (int k = 0; k < i; k++)
      if (d->comp_info[k].component_id == d->comp_info[i].component_id)
        return 0;
  }
  return any;
}

unsigned char *wd__jpeg_dc_setup(j_decompress_ptr d, wd__jpeg_dc *m,
                                 const unsigned char *p, size_t n) {
  jpeg_calc_output_dimensions(d);
  /* The first scan must be a DC scan: its data is kept unread-through. */
  if (!mark_dc_only(d, m) || d->Ss != 0 || d->src->next_input_byte < p ||
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
  m->request = d->mem->request_virt_barray;
  m->realize = d->mem->realize_virt_arrays;
  m->access = d->mem->access_virt_barray;
  d->mem->request_virt_barray = dc_request;
  d->mem->realize_virt_arrays = dc_realize;
  d->mem->access_virt_barray = dc_access;
  d->client_data = m;
  return out;
}
