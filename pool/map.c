/* map.c -- one job over many inputs, results in input order.
 *
 * Items travel in chunks: one MAP frame carries `chunk` inputs and one
 * MAPRES frame brings their outputs back, so the per-task cost of a frame,
 * a future and a wake-up is paid once per chunk.  The map's future
 * resolves when its last chunk does. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define OUT_OF_MEMORY "out of memory" /* as future.c says it */

static void map_resolve_if_done(wd_future *m) {
  if (m->n_pending > 0 || m->res.status != WD_PENDING)
    return;
  size_t bad = 0;
  for (size_t i = 0; i < m->n_items; i++)
    bad += m->item[i].status != WD_OK;
  m->res.status = bad ? WD_ERROR : WD_OK;
  m->res.data = bad ? "some items failed" : "";
  m->res.len = strlen(m->res.data);
  m->res.exit_code = -1;
  wd__future_resolve(m);
  wd_future_release(m); /* the reference its pending chunks held */
}

/* Items [from, to) of m end without reaching a worker: each says why. */
static void fail_items(wd_future *m, size_t from, size_t to, int err) {
  for (size_t i = from; i < to; i++) {
    wd_result *r = &m->item[i];
    memset(r, 0, sizeof(*r));
    r->status = WD_ERROR;
    r->data = err == UV_ENOMEM ? OUT_OF_MEMORY : wd_strerror(err);
    r->len = strlen(r->data);
    r->exit_code = err;
  }
}

void wd__map_chunk_done(wd_future *c, wd_status st, const char *body,
                        size_t len, const char *msg) {
  wd_future *m = c->map;
  size_t ci = c->map_chunk;
  c->res.status = st; /* the chunk itself is internal: no callbacks */
  size_t mlen = msg ? strlen(msg) : 0;
  char *store = malloc(body ? len + 1 : mlen + 1);
  if (store == NULL) { /* the results we were given cannot be kept */
    fail_items(m, c->map_base, c->map_base + c->items, UV_ENOMEM);
    m->n_pending--;
    map_resolve_if_done(m);
    return;
  }
  memcpy(store, body ? body : msg, body ? len : mlen);
  free(m->chunk_store[ci]);
  m->chunk_store[ci] = store;
  size_t off = 0;
  for (unsigned i = 0; i < c->items; i++) {
    wd_result *r = &m->item[c->map_base + i];
    memset(r, 0, sizeof(*r));
    /* A chunk that ended without results: its exit code and signal are
     * every item's (wd__task_fail set them). */
    r->exit_code = body ? -1 : c->res.exit_code;
    r->signal = body ? 0 : c->res.signal;
    r->attempts = c->res.attempts;
    r->pid = c->res.pid;
    r->started_ns = c->res.started_ns;
    r->duration_ns = c->res.started_ns ? uv_hrtime() - c->res.started_ns : 0;
    wd__item it;
    const char *data;
    long next = body ? wd__item_next(store, len, off, &it, &data) : -1;
    if (next >= 0) {
      off = (size_t)next;
      r->status = it.status == WD__F_OK ? WD_OK : WD_ERROR;
      r->data = data;
      r->len = it.len;
    } else {
      r->status = body ? WD_CRASHED : st;
      r->data = body ? "malformed chunk result" : store;
      r->len = body ? strlen(r->data) : mlen;
    }
  }
  m->n_pending--;
  map_resolve_if_done(m);
}

int wd_map(wd_pool *p, const char *job, const wd_buf *inputs, size_t n,
           size_t chunk, const wd_task_options *opts, wd_future **out) {
  int j = wd__job_lookup(job);
  if (j < 0 || (unsigned)j >= p->njobs)
    return UV_ENOENT;
  if (p->closing || p->shutdown != -1)
    return UV_ECANCELED;
  if (chunk == 0) { /* four chunks a worker keeps every one busy */
    chunk = n / ((size_t)p->nslots * 4);
    chunk = chunk < 1 ? 1 : chunk > 256 ? 256 : chunk;
  }
  size_t nchunks = (n + chunk - 1) / chunk;
  for (size_t c = 0; c < nchunks; c++) {
    size_t base = c * chunk, k = n - base < chunk ? n - base : chunk, bytes = 0;
    for (size_t i = 0; i < k; i++)
      bytes += sizeof(wd__item) + inputs[base + i].len;
    if (bytes > WD__FRAME_MAX)
      return UV_E2BIG;
  }
  wd_future *m = wd__future_new(WD__K_MAP, p->loop, 0);
  if (m == NULL)
    return UV_ENOMEM;
  m->pool = p;
  m->n_items = n;
  m->item = calloc(n ? n : 1, sizeof(*m->item));
  m->chunk_store = calloc(nchunks ? nchunks : 1, sizeof(char *));
  m->chunks = calloc(nchunks ? nchunks : 1, sizeof(wd_future *));
  if (!m->item || !m->chunk_store || !m->chunks) {
    wd_future_release(m); /* the only reference: frees what was made */
    return UV_ENOMEM;
  }
  m->n_chunks = nchunks;
  m->n_pending = nchunks;
  m->refs++; /* held while chunks are pending, so the caller may let go */
  wd_task_options o = {0};
  if (opts)
    o = *opts;
  uint64_t tmo = o.timeout_ms ? o.timeout_ms : p->opts.timeout_ms;
  for (size_t c = 0; c < nchunks; c++) {
    size_t base = c * chunk, k = n - base < chunk ? n - base : chunk, bytes = 0;
    for (size_t i = 0; i < k; i++)
      bytes += sizeof(wd__item) + inputs[base + i].len;
    wd_future *t = wd__future_new(WD__K_TASK, p->loop, bytes);
    if (t == NULL) {
      /* Chunks already queued resolve on their own; fail the rest. */
      fail_items(m, base, n, UV_ENOMEM);
      m->n_pending -= nchunks - c;
      break;
    }
    char *w = t->arg;
    for (size_t i = 0; i < k; i++) {
      wd__item it = {(uint32_t)inputs[base + i].len, 0};
      memcpy(w, &it, sizeof(it));
      memcpy(w + sizeof(it), inputs[base + i].base, it.len);
      w += sizeof(it) + it.len;
    }
    t->arg_len = bytes;
    t->job = (unsigned)j;
    t->map = m;
    t->map_base = base;
    t->map_chunk = c;
    t->items = (unsigned)k;
    t->timeout_ms = tmo == WD_FOREVER ? 0 : tmo;
    t->grace_ms = o.grace_ms == WD_FOREVER ? 0 : o.grace_ms ? o.grace_ms : p->opts.grace_ms;
    t->retries = o.retries;
    t->term_signal = o.signal > 0 && o.signal < NSIG ? o.signal : SIGTERM;
    int err = wd__pool_enqueue(p, t); /* the pool takes its own reference */
    if (err) { /* cannot happen while the checks above hold; if it does,
                  this chunk's items say so */
      wd_future_release(t);
      fail_items(m, base, base + k, err);
      m->n_pending--;
      continue;
    }
    m->chunks[c] = t; /* the map's reference */
  }
  map_resolve_if_done(m);
  *out = m;
  return 0;
}

size_t wd_map_count(const wd_future *m) {
  return m->kind == WD__K_MAP ? m->n_items : 0;
}

const wd_result *wd_map_item(const wd_future *m, size_t i) {
  if (m->kind != WD__K_MAP || i >= m->n_items ||
      m->item[i].status == WD_PENDING)
    return NULL;
  return &m->item[i];
}
