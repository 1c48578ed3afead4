/* future.c -- the generic future: resolving, callbacks, references and
 * waiting.
 *
 * A future resolves exactly once, on the loop thread.  Its callbacks run in
 * the order they were added; one added after resolution runs at once.  A
 * future is reference-counted: whoever made it holds one reference, and
 * whatever still has to resolve it (the pool for a task, a chain for the
 * futures it waits on) holds another. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "future.h"

void wd__future_init(wd_future *f, const wd__future_ops *ops, uv_loop_t *loop) {
  f->ops = ops;
  f->refs = 1;
  f->loop = loop;
  f->res.exit_code = -1;
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

void wd__future_fail_static(wd_future *f, int err) {
  f->res.status = WD_ERROR;
  f->res.data = err == UV_ENOMEM ? WD__OUT_OF_MEMORY : wd_strerror(err);
  f->res.len = strlen(f->res.data);
  f->res.exit_code = err;
  f->res.signal = 0;
  f->res.err_tail = NULL;
  f->res.err_len = 0;
  wd__future_resolve(f);
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

/* ---- what differs by kind ------------------------------------------------- */

int wd_future_cancel(wd_future *f) {
  if (f->res.status != WD_PENDING || f->ops->cancel == NULL)
    return UV_EALREADY;
  return f->ops->cancel(f);
}

int wd_future_kill(wd_future *f, int sig) {
  if (f->res.status != WD_PENDING || f->ops->kill == NULL)
    return UV_ESRCH;
  return f->ops->kill(f, sig);
}

unsigned wd_future_attempts(const wd_future *f) {
  return f->ops->attempts ? f->ops->attempts(f) : 0;
}

/* ---- access and lifetime -------------------------------------------------- */

const wd_result *wd_future_result(const wd_future *f) {
  return f->res.status == WD_PENDING ? NULL : &f->res;
}

int wd_future_done(const wd_future *f) { return f->res.status != WD_PENDING; }

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
  free(f->store);
  if (f->ops->destroy)
    f->ops->destroy(f);
  else
    free(f);
}

/* ---- waiting -------------------------------------------------------------- */

/* One more turn of the loop: 0, or -EDEADLK when the loop has nothing left
 * to run, so nothing could ever resolve what we wait for. */
static int turn(uv_loop_t *loop) {
  if (uv_run(loop, UV_RUN_ONCE) == 0 && !uv_loop_alive(loop))
    return -EDEADLK;
  return 0;
}

int wd_await(wd_future *f) {
  while (f->res.status == WD_PENDING)
    if (turn(f->loop) != 0 && f->res.status == WD_PENDING)
      return -EDEADLK;
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

/* The index of the first resolved future in fs, or n. */
static size_t first_done(wd_future *const *fs, size_t n) {
  size_t i = 0;
  while (i < n && fs[i]->res.status == WD_PENDING)
    i++;
  return i;
}

int wd_await_any(wd_future *const *fs, size_t n, size_t *index) {
  if (n == 0)
    return UV_EINVAL;
  size_t i;
  while ((i = first_done(fs, n)) == n)
    if (turn(fs[0]->loop) != 0 && first_done(fs, n) == n)
      return -EDEADLK;
  if (index)
    *index = i;
  return 0;
}
