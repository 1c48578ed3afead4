/* waitset.c -- futures handed back in the order they complete (Python's
 * as_completed), for a caller that processes results as they arrive. */
#include <errno.h>
#include <stdlib.h>

#include "future.h"

/* A node is made when a future is added, not when it completes: a
 * completion then never needs memory, and none can be lost for lack of it. */
typedef struct node {
  wd_future *f;
  struct wd_waitset *ws;
  struct node *next;
} node;

struct wd_waitset {
  uv_loop_t *loop;
  size_t added, returned, reported;
  int freed; /* the caller is done; free once the last future reports */
  node *ready_head, *ready_tail;
  wd_future *last; /* returned by the previous next(), released next time */
};

int wd_waitset_new(wd_waitset **out) {
  *out = calloc(1, sizeof(**out));
  return *out ? 0 : UV_ENOMEM;
}

static void on_ready(wd_future *f, void *data) {
  node *n = data;
  wd_waitset *ws = n->ws;
  ws->reported++;
  if (ws->freed) {
    free(n);
    wd_future_release(f);
    if (ws->reported == ws->added)
      free(ws);
    return;
  }
  if (ws->ready_tail)
    ws->ready_tail->next = n;
  else
    ws->ready_head = n;
  ws->ready_tail = n;
}

int wd_waitset_add(wd_waitset *ws, wd_future *f) {
  node *n = malloc(sizeof(*n));
  if (n == NULL)
    return UV_ENOMEM;
  n->f = f;
  n->ws = ws;
  n->next = NULL;
  ws->loop = f->loop;
  ws->added++; /* first: a resolved future reports at once */
  wd_future_ref(f);
  int err = wd_future_on_done(f, on_ready, n);
  if (err) {
    ws->added--;
    wd_future_release(f);
    free(n);
    return err;
  }
  return 0;
}

int wd_waitset_next(wd_waitset *ws, wd_future **f) {
  wd_future_release(ws->last);
  ws->last = NULL;
  if (ws->returned == ws->added)
    return UV_EOF;
  while (ws->ready_head == NULL)
    if (uv_run(ws->loop, UV_RUN_ONCE) == 0 && ws->ready_head == NULL &&
        !uv_loop_alive(ws->loop))
      return -EDEADLK; /* nothing left that could complete them */
  node *n = ws->ready_head;
  ws->ready_head = n->next;
  if (ws->ready_head == NULL)
    ws->ready_tail = NULL;
  ws->last = *f = n->f;
  free(n);
  ws->returned++;
  return 0;
}

void wd_waitset_free(wd_waitset *ws) {
  if (ws == NULL)
    return;
  wd_future_release(ws->last);
  while (ws->ready_head) {
    node *n = ws->ready_head;
    ws->ready_head = n->next;
    wd_future_release(n->f);
    free(n);
  }
  if (ws->reported == ws->added)
    free(ws);
  else
    ws->freed = 1; /* futures still pending point at us */
}
