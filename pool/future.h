/* future.h -- the generic future: a result that arrives later, on the loop.
 *
 * A future knows how to resolve, call back, chain and be waited on, and
 * nothing of what produces its result.  Specific kinds -- a task (task.h),
 * a map (map.c), a chain (chain.c) -- embed a wd_future as their first
 * member and give it an ops table for what differs: how to cancel it, how
 * to signal what runs it, and how to free it.  (libuv's handles embed
 * uv_handle_t the same way.)  Nothing here is public. */
#ifndef WD_POOL_FUTURE_H
#define WD_POOL_FUTURE_H

#include <uv.h>

#include "warden.h"

/* What a future says when the supervisor ran out of memory for it: status
 * WD_ERROR, exit_code UV_ENOMEM (see warden.h). */
#define WD__OUT_OF_MEMORY "out of memory"

typedef struct wd__waiter {
  wd_done_cb cb;
  void *data;
  struct wd__waiter *next;
} wd__waiter;

/* What a kind of future does differently.  Any member may be NULL. */
typedef struct {
  int (*cancel)(wd_future *f);              /* NULL: UV_EALREADY */
  int (*kill)(wd_future *f, int sig);       /* NULL: UV_ESRCH */
  unsigned (*attempts)(const wd_future *f); /* NULL: 0 */
  /* Frees what the kind owns (not the future's own result store) and the
   * struct that embeds f.  NULL: free(f). */
  void (*destroy)(wd_future *f);
} wd__future_ops;

struct wd_future {
  const wd__future_ops *ops;
  int refs;
  uv_loop_t *loop;
  wd_result res; /* res.status stays WD_PENDING until resolved */
  void *data;    /* the user's */
  wd__waiter first;
  wd__waiter *more, *last;
  char *store; /* owns what res.data / res.err_tail point into */
};

/* Sets up f (zeroed by the caller) with one reference, the caller's. */
void wd__future_init(wd_future *f, const wd__future_ops *ops, uv_loop_t *loop);

/* Calls f's callbacks, in order, once res.status is set (aborts if not:
 * resolving with no status is a broken invariant). */
void wd__future_resolve(wd_future *f);

/* Resolves f as WD_ERROR with exit_code err and no store of its own: the
 * message is a static string.  For when memory for the real result is
 * short: the status still says what happened. */
void wd__future_fail_static(wd_future *f, int err);

#endif /* WD_POOL_FUTURE_H */
