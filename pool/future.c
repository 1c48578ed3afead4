/* future.c -- futures: submitting, resolving, chaining, cancelling, waiting.
 *
 * A future resolves exactly once, on the loop thread.  Its callbacks run in
 * the order they were added; one added after resolution runs at once.  A
 * future is reference-counted: the caller holds one reference from
 * wd_submit(), the pool holds another while the task is queued or in
 * flight, and a chain (wd_future_then) holds the futures it waits on. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

/* What a future says when the supervisor ran out of memory for it: status
 * WD_ERROR, exit_code UV_ENOMEM (see warden.h). */
#define OUT_OF_MEMORY "out of memory"

wd_future *wd__future_new(int kind, uv_loop_t *loop, size_t extra) {
  wd_future *f = calloc(1, sizeof(*f) + extra);
  if (f == NULL)
    return NULL;
  f->kind = kind;
  f->refs = 1;
  f->loop = loop;
  f->res.exit_code = -1;
  f->arg = (char *)(f + 1);
  return f;
}

void wd__future_resolve(wd_future *f) {
  if (f->res.status == WD_PENDING)
    abort(); /* resolving with no status */
  wd_future_ref(f); /* a callback may release the caller's reference */
  if (f->first.cb) {
    wd_done_cb cb = f->first.cb;
    f->first.cb = NULL;
    cb(f, f->first.data);
  }
  while (f->more) {
    wd__waiter *w = f->more;
    f->more = w->next;
    if (f->more == NULL)
      f->last = NULL;
    w->cb(f, w->data);
    free(w);
  }
  wd_future_release(f);
}

int wd_future_on_done(wd_future *f, wd_done_cb cb, void *data) {
  if (f->res.status != WD_PENDING) {
    cb(f, data);
    return 0;
  }
  if (f->first.cb == NULL && f->more == NULL) {
    f->first.cb = cb;
    f->first.data = data;
    return 0;
  }
  wd__waiter *w = malloc(sizeof(*w));
  if (w == NULL)
    return UV_ENOMEM;
  w->cb = cb;
  w->data = data;
  w->next = NULL;
  if (f->last)
    f->last->next = w;
  else
    f->more = w;
  f->last = w;
  return 0;
}

/* ---- submitting ----------------------------------------------------------- */

int wd_submit(wd_pool *p, const char *job, const void *arg, size_t len,
              const wd_task_options *opts, wd_future **out) {
  int j = wd__job_lookup(job);
  if (j < 0 || (unsigned)j >= p->njobs)
    return UV_ENOENT;
  if (len > WD__FRAME_MAX)
    return UV_E2BIG;
  if (p->closing || p->shutdown != -1)
    return UV_ECANCELED;
  wd_future *t = wd__future_new(WD__K_TASK, p->loop, len);
  if (t == NULL)
    return UV_ENOMEM;
  if (len)
    memcpy(t->arg, arg, len);
  t->arg_len = len;
  t->job = (unsigned)j;
  wd_task_options o = {0};
  if (opts)
    o = *opts;
  uint64_t tmo = o.timeout_ms ? o.timeout_ms : p->opts.timeout_ms;
  uint64_t grace = o.grace_ms ? o.grace_ms : p->opts.grace_ms;
  t->timeout_ms = tmo == WD_FOREVER ? 0 : tmo;
  t->grace_ms = grace == WD_FOREVER ? 0 : grace;
  t->retries = o.retries;
  t->term_signal = o.signal > 0 && o.signal < NSIG ? o.signal : SIGTERM;
  int err = wd__pool_enqueue(p, t);
  if (err) {
    free(t);
    return err;
  }
  *out = t;
  return 0;
}

/* ---- resolving tasks ------------------------------------------------------ */

static const char *describe(wd_status st, const wd_future *t, int code,
                            int sig, char *buf, size_t n) {
  switch (st) {
  case WD_TIMEOUT:
    snprintf(buf, n, "deadline of %llu ms exceeded; killed by signal %d",
             (unsigned long long)t->timeout_ms, sig);
    break;
  case WD_CRASHED:
    snprintf(buf, n, "worker killed by signal %d (%s)", sig, strsignal(sig));
    break;
  case WD_EXITED:
    snprintf(buf, n, "worker exited with code %d", code);
    break;
  case WD_ERROR: /* the supervisor's own error: code is a UV_E* */
    snprintf(buf, n, "%s", code == UV_ENOMEM ? OUT_OF_MEMORY : wd_strerror(code));
    break;
  default:
    snprintf(buf, n, "cancelled");
  }
  return buf;
}

void wd__task_fail(wd_future *t, wd_status st, int code, int sig,
                   const char *tail, size_t tail_len) {
  if (t->res.status != WD_PENDING)
    return; /* cancelled while sent ahead: already resolved */
  char msg[128];
  describe(st, t, code, sig, msg, sizeof(msg));
  t->res.exit_code = st == WD_EXITED || st == WD_ERROR ? code : -1;
  t->res.signal = st == WD_CANCELLED && sig == 0 ? 0 : sig;
  if (t->map) {
    wd__map_chunk_done(t, st, NULL, 0, msg);
    return;
  }
  size_t mlen = strlen(msg);
  t->store = malloc(mlen + tail_len + 1);
  if (t->store) {
    memcpy(t->store, msg, mlen);
    if (tail_len)
      memcpy(t->store + mlen, tail, tail_len);
    t->store[mlen + tail_len] = '\0';
    t->res.data = t->store;
    t->res.len = mlen;
    t->res.err_tail = t->store + mlen;
    t->res.err_len = tail_len;
  } else { /* the status still says what happened; only details are lost */
    t->res.data = st == WD_ERROR ? OUT_OF_MEMORY : wd_status_name(st);
    t->res.len = strlen(t->res.data);
  }
  if (t->res.started_ns)
    t->res.duration_ns = uv_hrtime() - t->res.started_ns;
  t->res.status = st;
  wd__future_resolve(t);
}

void wd__task_result(wd_future *t, const wd__hdr *h, const char *body) {
  if (t->res.status != WD_PENDING)
    return;
  if (t->map) {
    wd__map_chunk_done(t, WD_OK, body, h->len, NULL);
    return;
  }
  t->store = malloc((size_t)h->len + 1);
  if (t->store == NULL) {
    /* Never WD_OK with empty data: a caller would take it for the job's
     * whole output.  The result is lost, and the future says why. */
    wd__task_fail(t, WD_ERROR, UV_ENOMEM, 0, NULL, 0);
    return;
  }
  memcpy(t->store, body, h->len);
  t->store[h->len] = '\0';
  t->res.data = t->store;
  t->res.len = h->len - h->a;
  t->res.err_tail = t->store + t->res.len;
  t->res.err_len = h->a;
  t->res.duration_ns = uv_hrtime() - t->res.started_ns;
  t->res.status = t->answer_as != WD_PENDING ? t->answer_as
                  : h->type == WD__F_OK          ? WD_OK
                                                 : WD_ERROR;
  wd__future_resolve(t);
}

/* ---- chaining ------------------------------------------------------------- */

static void proxy_adopt(wd_future *f, void *data) {
  wd_future *px = data;
  if (px->res.status == WD_PENDING) {
    px->res = f->res; /* points into f, which px holds */
    wd__future_resolve(px);
  }
  wd_future_release(px); /* the chain's reference */
}

static void proxy_step(wd_future *f, void *data) {
  wd_future *px = data;
  wd_future *g = NULL;
  if (px->res.status == WD_PENDING)
    g = px->then_cb(f, px->then_data);
  if (g == NULL) {
    proxy_adopt(f, px);
    return;
  }
  px->next_src = g; /* the callback's reference is now the chain's */
  if (wd_future_on_done(g, proxy_adopt, px) != 0) {
    px->res = f->res;
    px->res.status = WD_ERROR;
    px->res.data = OUT_OF_MEMORY;
    px->res.len = strlen(OUT_OF_MEMORY);
    px->res.exit_code = UV_ENOMEM;
    px->res.signal = 0;
    wd__future_resolve(px);
    wd_future_release(px);
  }
}

wd_future *wd_future_then(wd_future *f, wd_then_cb cb, void *data) {
  wd_future *px = wd__future_new(WD__K_PROXY, f->loop, 0);
  if (px == NULL)
    return NULL;
  px->then_cb = cb;
  px->then_data = data;
  px->src = wd_future_ref(f);
  px->refs++; /* the chain's, dropped once px resolves */
  if (wd_future_on_done(f, proxy_step, px) != 0) {
    wd_future_release(f);
    free(px);
    return NULL;
  }
  return px;
}

/* ---- cancelling ----------------------------------------------------------- */

int wd_future_cancel(wd_future *f) {
  if (f->res.status != WD_PENDING)
    return UV_EALREADY;
  if (f->kind == WD__K_PROXY) {
    wd_future *cur = f->next_src ? f->next_src : f->src;
    if (cur->res.status == WD_PENDING)
      return wd_future_cancel(cur);
    return UV_EALREADY;
  }
  if (f->kind == WD__K_MAP) {
    for (size_t i = 0; i < f->n_chunks; i++)
      if (f->chunks[i] && f->chunks[i]->res.status == WD_PENDING)
        wd_future_cancel(f->chunks[i]);
    return 0;
  }
  wd__slot *s = f->slot;
  if (s == NULL) { /* still queued */
    wd__pool_unqueue(f->pool, f);
    wd__task_fail(f, WD_CANCELLED, -1, 0, NULL, 0);
    wd__pool_task_done(f->pool, f);
  } else if (s->head == f) { /* running: only killing the worker stops it */
    if (s->state != S_KILLING)
      wd__slot_kill(s, R_CANCEL, SIGKILL);
  } else {
    /* Sent ahead, not started: resolve now and drop its result later. */
    wd__task_fail(f, WD_CANCELLED, -1, 0, NULL, 0);
  }
  return 0;
}

int wd_future_kill(wd_future *f, int sig) {
  if (f->kind != WD__K_TASK || f->slot == NULL || f->slot->head != f ||
      f->res.status != WD_PENDING || sig <= 0 || sig >= NSIG)
    return UV_ESRCH;
  /* A guardian job's command leads a group of its own: the worker passes
   * the signal on (jobs/command.c). */
  int scope = f->map == NULL && wd__job_is_guardian(f->job) ? WD__KILL_TASK
                                                            : WD__KILL_WORKER;
  wd__pool_zygote_kill(f->pool, f->slot->id, sig, scope, WD__TAG(f->id));
  return 0;
}

/* ---- access and lifetime -------------------------------------------------- */

const wd_result *wd_future_result(const wd_future *f) {
  return f->res.status == WD_PENDING ? NULL : &f->res;
}

int wd_future_done(const wd_future *f) { return f->res.status != WD_PENDING; }

unsigned wd_future_attempts(const wd_future *f) {
  return f->kind == WD__K_TASK ? f->res.attempts : 0;
}

wd_future *wd_future_ref(wd_future *f) {
  f->refs++;
  return f;
}

void wd_future_set_data(wd_future *f, void *data) { f->data = data; }
void *wd_future_data(const wd_future *f) { return f->data; }

void wd_future_release(wd_future *f) {
  if (f == NULL || --f->refs > 0)
    return;
  while (f->more) {
    wd__waiter *w = f->more;
    f->more = w->next;
    free(w);
  }
  if (f->src)
    wd_future_release(f->src);
  if (f->next_src)
    wd_future_release(f->next_src);
  if (f->kind == WD__K_MAP) {
    for (size_t i = 0; i < f->n_chunks; i++) {
      free(f->chunk_store[i]);
      if (f->chunks[i])
        wd_future_release(f->chunks[i]);
    }
    free(f->chunk_store);
    free(f->chunks);
    free(f->item);
  }
  free(f->store);
  free(f);
}

/* ---- waiting -------------------------------------------------------------- */

/* One more turn of the loop; UV_EDEADLK-like failure when nothing is left
 * that could ever resolve what we wait for. */
static int turn(uv_loop_t *loop) {
  if (uv_run(loop, UV_RUN_ONCE) == 0 && !uv_loop_alive(loop))
    return -35; /* EDEADLK: the loop has nothing left to run */
  return 0;
}

int wd_await(wd_future *f) {
  while (f->res.status == WD_PENDING)
    if (turn(f->loop) != 0 && f->res.status == WD_PENDING)
      return -35;
  return 0;
}

int wd_await_all(wd_future *const *fs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int err = wd_await(fs[i]);
    if (err)
      return err;
  }
  return 0;
}

int wd_await_any(wd_future *const *fs, size_t n, size_t *index) {
  if (n == 0)
    return UV_EINVAL;
  for (;;) {
    for (size_t i = 0; i < n; i++)
      if (fs[i]->res.status != WD_PENDING) {
        if (index)
          *index = i;
        return 0;
      }
    if (turn(fs[0]->loop) != 0) {
      int any = 0;
      for (size_t i = 0; i < n; i++)
        any |= fs[i]->res.status != WD_PENDING;
      if (!any)
        return -35;
    }
  }
}
