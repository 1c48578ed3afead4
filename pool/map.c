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

void wd__map_chunk_done(wd_future *c, wd_status st, const char *body,
                        size_t len, const char *msg) {
  wd_future *m = c->map;
  size_t ci = c->map_chunk;
  c->res.status = st; /* the chunk itself is internal: no callbacks */
  size_t mlen = msg ? strlen(msg) : 0;
  char *store = malloc(body ? len + 1 : mlen + 1);
  if (store == NULL)
    abort(); /* cannot record the results we were given */
  memcpy(store, body ? body : msg, body ? len : mlen);
  free(m->chunk_store[ci]);
  m->chunk_store[ci] = store;
  size_t off = 0;
  for (unsigned i = 0; i < c->items; i++) {
    wd_result *r = &m->item[c->map_base + i];
    memset(r, 0, sizeof(*r));
    r->exit_code = -1;
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
  m->n_chunks = nchunks;
  m->n_pending = nchunks;
  m->refs++; /* held while chunks are pending, so the caller may let go */
  m->item = calloc(n ? n : 1, sizeof(*m->item));
  m->chunk_store = calloc(nchunks ? nchunks : 1, sizeof(char *));
  m->chunks = calloc(nchunks ? nchunks : 1, sizeof(wd_future *));
  if (!m->item || !m->chunk_store || !m->chunks) {
    m->n_chunks = 0;
    wd_future_release(m);
    return UV_ENOMEM;
  }
  for (size_t c = 0; c < nchunks; c++) {
    size_t base = c * chunk, k = n - base < chunk ? n - base : chunk, bytes = 0;
    for (size_t i = 0; i < k; i++)
      bytes += sizeof(wd__item) + inputs[base + i].len;
    wd_future *t = wd__future_new(WD__K_TASK, p->loop, bytes);
    if (t == NULL) {
      /* Chunks already queued resolve on their own; fail the rest. */
      m->n_pending -= nchunks - c;
      for (size_t i = base; i < n; i++) {
        m->item[i].status = WD_ERROR;
        m->item[i].data = "out of memory";
        m->item[i].len = 13;
      }
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
    wd_task_options o = {0};
    if (opts)
      o = *opts;
    uint64_t tmo = o.timeout_ms ? o.timeout_ms : p->opts.timeout_ms;
    t->timeout_ms = tmo == WD_FOREVER ? 0 : tmo;
    t->grace_ms = o.grace_ms == WD_FOREVER ? 0 : o.grace_ms ? o.grace_ms : p->opts.grace_ms;
    t->retries = o.retries;
    t->term_signal = o.signal > 0 ? o.signal : SIGTERM;
    m->chunks[c] = t; /* the map's reference; the pool takes its own */
    wd__pool_enqueue(p, t);
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
