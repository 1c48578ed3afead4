/* chain.c -- wd_future_then: a future that resolves with the result of the
 * future its callback returns, so a pipeline's next step starts as soon as
 * its previous one is done.
 *
 * A chain holds a reference to the future it waits on first (src) and to
 * the one the callback returned (next), and one to itself until it has
 * resolved, so the caller may let go of it early.  It is generic: it knows
 * futures, not what runs them. */
#include <stdlib.h>

#include "future.h"

typedef struct {
  wd_future f; /* first: the chain is a future */
  wd_then_cb cb;
  void *data;
  wd_future *src;  /* the future it was made on */
  wd_future *next; /* the future cb returned, or NULL */
} chain;

static int chain_cancel(wd_future *f) {
  chain *c = (chain *)f;
  wd_future *cur = c->next ? c->next : c->src;
  return cur->res.status == WD_PENDING ? wd_future_cancel(cur) : UV_EALREADY;
}

static void chain_destroy(wd_future *f) {
  chain *c = (chain *)f;
  wd_future_release(c->src);
  wd_future_release(c->next);
  free(c);
}

static const wd__future_ops chain_ops = {chain_cancel, NULL, NULL, chain_destroy};

/* The last future of the chain resolved: the chain takes its result. */
static void adopt(wd_future *f, void *data) {
  chain *c = data;
  if (c->f.res.status == WD_PENDING) {
    c->f.res = f->res; /* points into f, which c holds */
    wd__future_resolve(&c->f);
  }
  wd_future_release(&c->f); /* the chain's reference to itself */
}

static void step(wd_future *f, void *data) {
  chain *c = data;
  wd_future *g = NULL;
  if (c->f.res.status == WD_PENDING)
    g = c->cb(f, c->data);
  if (g == NULL) {
    adopt(f, c);
    return;
  }
  c->next = g; /* the callback's reference is now the chain's */
  if (wd_future_on_done(g, adopt, c) != 0) {
    c->f.res = f->res;
    wd__future_fail_static(&c->f, UV_ENOMEM);
    wd_future_release(&c->f);
  }
}

wd_future *wd_future_then(wd_future *f, wd_then_cb cb, void *data) {
  chain *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  wd__future_init(&c->f, &chain_ops, f->loop);
  c->cb = cb;
  c->data = data;
  c->src = wd_future_ref(f);
  c->f.refs++; /* the chain's own, dropped once it resolves */
  if (wd_future_on_done(f, step, c) != 0) {
    wd_future_release(f);
    free(c);
    return NULL;
  }
  return &c->f;
}
