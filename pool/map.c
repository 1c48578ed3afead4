/* map.c -- one job over many inputs, results in input order.
 *
 * Items travel in chunks: a chunk is a task whose MAP frame carries several
 * inputs and whose MAPRES frame brings their outputs back, so the per-task
 * cost of a frame, a future and a wake-up is paid once per chunk.  A map
 * is a future of its own that owns its chunks; each chunk's end comes here
 * through its task's hook, and the map resolves when its last chunk has
 * ended.  A map only submits tasks: nothing in the pool calls into it. */
#include <stdlib.h>
#include <string.h>

#include "pool.h"

typedef struct {
  wd_future f; /* first: the map is a future */
  size_t n_items, n_pending, n_chunks;
  wd_result *item;
  char **chunk_store; /* what each chunk's item results point into */
  wd__task **chunks;
} map;

static int map_cancel(wd_future *f) {
  map *m = (map *)f;
  for (size_t i = 0; i < m->n_chunks; i++)
    if (m->chunks[i] && m->chunks[i]->f.res.status == WD_PENDING)
      wd_future_cancel(&m->chunks[i]->f);
  return 0;
}

static void map_destroy(wd_future *f) {
  map *m = (map *)f;
  for (size_t i = 0; i < m->n_chunks; i++) {
    free(m->chunk_store[i]);
    if (m->chunks[i])
      wd_future_release(&m->chunks[i]->f);
  }
  free(m->chunk_store);
  free(m->chunks);
  free(m->item);
  free(m);
}

static const wd__future_ops map_ops = {map_cancel, NULL, NULL, map_destroy};

static void resolve_if_done(map *m) {
  if (m->n_pending > 0 || m->f.res.status != WD_PENDING)
    return;
  size_t bad = 0;
  for (size_t i = 0; i < m->n_items; i++)
    bad += m->item[i].status != WD_OK;
  m->f.res.status = bad ? WD_ERROR : WD_OK;
  m->f.res.data = bad ? "some items failed" : "";
  m->f.res.len = strlen(m->f.res.data);
  m->f.res.exit_code = -1;
  wd__future_resolve(&m->f);
  wd_future_release(&m->f); /* the reference its pending chunks held */
}

/* Items [from, to) of m end without reaching a worker: each says why. */
static void fail_items(map *m, size_t from, size_t to, int err) {
  for (size_t i = from; i < to; i++) {
    wd_result *r = &m->item[i];
    memset(r, 0, sizeof(*r));
    r->status = WD_ERROR;
    r->data = err == UV_ENOMEM ? WD__OUT_OF_MEMORY : wd_strerror(err);
    r->len = strlen(r->data);
    r->exit_code = err;
  }
}

/* Item i of chunk c: from the MAPRES body at *off when there is one, else
 * what the chunk's end said (store holds its message). */
static void item_result(const wd__task *c, wd_result *r, wd_status st,
                        const char *store, size_t len, int have_body,
                        size_t *off) {
  memset(r, 0, sizeof(*r));
  /* A chunk that ended without results: its exit code and signal are
   * every item's (wd__task_fail set them). */
  r->exit_code = have_body ? -1 : c->f.res.exit_code;
  r->signal = have_body ? 0 : c->f.res.signal;
  r->attempts = c->f.res.attempts;
  r->pid = c->f.res.pid;
  r->started_ns = c->f.res.started_ns;
  r->duration_ns = c->f.res.started_ns ? uv_hrtime() - c->f.res.started_ns : 0;
  wd__item it;
  const char *data;
  long next = have_body ? wd__item_next(store, len, *off, &it, &data) : -1;
  if (next >= 0) {
    *off = (size_t)next;
    r->status = it.status == WD__F_OK ? WD_OK : WD_ERROR;
    r->data = data;
    r->len = it.len;
  } else {
    r->status = have_body ? WD_CRASHED : st;
    r->data = have_body ? "malformed chunk result" : store;
    r->len = have_body ? strlen(r->data) : len;
  }
}

static void chunk_end(wd__task *c, wd_status st, const char *body, size_t len,
                      const char *msg) {
  map *m = c->owner;
  c->f.res.status = st; /* the chunk itself is internal: no callbacks */
  size_t n = body ? len : strlen(msg);
  char *store = malloc(n + 1);
  if (store == NULL) { /* the results we were given cannot be kept */
    fail_items(m, c->base, c->base + c->items, UV_ENOMEM);
  } else {
    memcpy(store, body ? body : msg, n);
    free(m->chunk_store[c->index]);
    m->chunk_store[c->index] = store;
    size_t off = 0;
    for (unsigned i = 0; i < c->items; i++)
      item_result(c, &m->item[c->base + i], st, store, n, body != NULL, &off);
  }
  m->n_pending--;
  resolve_if_done(m);
}

/* Bytes of the MAP body of the k inputs from `in`. */
static size_t chunk_bytes(const wd_buf *in, size_t k) {
  size_t bytes = 0;
  for (size_t i = 0; i < k; i++)
    bytes += sizeof(wd__item) + in[i].len;
  return bytes;
}

static wd__task *make_chunk(wd_pool *p, map *m, const wd_buf *in, size_t k,
                            const wd_task_options *opts) {
  wd__task *t = wd__pool_task_new(p, chunk_bytes(in, k), opts);
  if (t == NULL)
    return NULL;
  char *w = t->arg;
  for (size_t i = 0; i < k; i++) {
    wd__item it = {(uint32_t)in[i].len, 0};
    memcpy(w, &it, sizeof(it));
    memcpy(w + sizeof(it), in[i].base, it.len);
    w += sizeof(it) + it.len;
  }
  t->items = (unsigned)k;
  t->chunk_end = chunk_end;
  t->owner = m;
  return t;
}

static map *map_new(uv_loop_t *loop, size_t n, size_t nchunks) {
  map *m = calloc(1, sizeof(*m));
  if (m == NULL)
    return NULL;
  wd__future_init(&m->f, &map_ops, loop);
  m->n_items = n;
  m->item = calloc(n ? n : 1, sizeof(*m->item));
  m->chunk_store = calloc(nchunks ? nchunks : 1, sizeof(char *));
  m->chunks = calloc(nchunks ? nchunks : 1, sizeof(wd__task *));
  if (!m->item || !m->chunk_store || !m->chunks) {
    wd_future_release(&m->f); /* the only reference: frees what was made */
    return NULL;
  }
  m->n_chunks = m->n_pending = nchunks;
  m->f.refs++; /* held while chunks are pending, so the caller may let go */
  return m;
}

/* Queues chunk c (items [base, base+k)); on failure its items say why. */
static void submit_chunk(wd_pool *p, map *m, int job, size_t c, size_t base,
                         const wd_buf *inputs, size_t k, const wd_task_options *opts) {
  wd__task *t = make_chunk(p, m, inputs + base, k, opts);
  int err = t ? 0 : UV_ENOMEM;
  if (t) {
    t->job = (unsigned)job;
    t->base = base;
    t->index = c;
    err = wd__pool_enqueue(p, t); /* the pool takes its own reference */
  }
  if (err) {
    if (t)
      wd_future_release(&t->f);
    fail_items(m, base, base + k, err);
    m->n_pending--;
    return;
  }
  m->chunks[c] = t; /* the map's reference */
}

int wd_map(wd_pool *p, const char *job, const wd_buf *inputs, size_t n,
           size_t chunk, const wd_task_options *opts, wd_future **out) {
  int j = wd__pool_job(p, job);
  if (j < 0)
    return j;
  if (chunk == 0) { /* four chunks a worker keeps every one busy */
    chunk = n / ((size_t)wd_pool_size(p) * 4);
    chunk = chunk < 1 ? 1 : chunk > 256 ? 256 : chunk;
  }
  size_t nchunks = (n + chunk - 1) / chunk;
  for (size_t base = 0; base < n; base += chunk)
    if (chunk_bytes(inputs + base, n - base < chunk ? n - base : chunk) > WD__FRAME_MAX)
      return UV_E2BIG;
  map *m = map_new(wd_pool_loop(p), n, nchunks);
  if (m == NULL)
    return UV_ENOMEM;
  for (size_t c = 0; c < nchunks; c++) {
    size_t base = c * chunk;
    submit_chunk(p, m, j, c, base, inputs, n - base < chunk ? n - base : chunk, opts);
  }
  resolve_if_done(m);
  *out = &m->f;
  return 0;
}

size_t wd_map_count(const wd_future *f) {
  return f->ops == &map_ops ? ((const map *)f)->n_items : 0;
}

const wd_result *wd_map_item(const wd_future *f, size_t i) {
  const map *m = (const map *)f;
  if (f->ops != &map_ops || i >= m->n_items || m->item[i].status == WD_PENDING)
    return NULL;
  return &m->item[i];
}
