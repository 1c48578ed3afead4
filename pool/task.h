/* task.h -- a task: one call of a job on one worker, as a future.
 *
 * A task embeds a wd_future and adds what running it takes: its argument,
 * its job, its deadline and retries, and its place in the pool's queue or
 * in a worker's in-flight list.  task.c resolves it from what the worker
 * or the zygote reported; it does not know the pool, the slot or the map.
 * The pool makes tasks (wd_submit) and gives them its ops table (cancel
 * and kill need the queue and the worker); a map makes tasks that carry
 * several items -- chunks -- and takes their ends through a hook, so no
 * call runs from task.c up to map.c.  Nothing here is public. */
#ifndef WD_POOL_TASK_H
#define WD_POOL_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "../worker/proto.h"
#include "future.h"

typedef struct wd__task wd__task;
typedef struct wd__slot wd__slot;

/* A chunk's end, for its map: its status, and either its MAPRES body
 * (body, len) or, when it ended without one, msg saying why. */
typedef void (*wd__chunk_end_cb)(wd__task *t, wd_status st, const char *body,
                                 size_t len, const char *msg);

struct wd__task {
  wd_future f; /* first: a task's wd_future * is its wd__task * */
  wd_pool *pool;

  /* A node of the pool's queue, then of its worker's in-flight list. */
  wd__task *next, *prev;
  wd__slot *slot; /* the worker it was sent to, or NULL while queued */

  uint64_t id;
  unsigned job;
  uint64_t timeout_ms; /* resolved: 0 = none */
  uint64_t grace_ms;   /* resolved: 0 = SIGKILL at once */
  int term_signal;     /* the first signal when grace_ms > 0 */
  unsigned retries;
  wd_status answer_as; /* a result frame resolves as this (a cut task's
                          WD_TIMEOUT), or WD_PENDING: by the frame's type */

  /* A map chunk: `items` inputs; its end goes to chunk_end, not to the
   * future's callbacks. */
  unsigned items;
  wd__chunk_end_cb chunk_end;
  void *owner;    /* the map */
  size_t base;    /* its first item's index in the map */
  size_t index;   /* its index among the map's chunks */

  size_t arg_len;
  char *arg; /* arg_len bytes, right after the struct */
};

static inline wd__task *wd__task_of(wd_future *f) { return (wd__task *)f; }

/* A new task with room for an argument of arg_len bytes, and the deadline,
 * grace, signal and retries of opts (NULL: none) over the pool's defaults.
 * NULL on ENOMEM. */
wd__task *wd__task_new(const wd__future_ops *ops, uv_loop_t *loop,
                       size_t arg_len, const wd_pool_options *pool_opts,
                       const wd_task_options *opts);

/* Resolves a task that ended without a result frame: its status, the
 * worker's exit code and signal, and the tail of its stderr. */
void wd__task_fail(wd__task *t, wd_status st, int code, int sig,
                   const char *tail, size_t tail_len);
/* Resolves a task from its OK, ERR or MAPRES frame. */
void wd__task_result(wd__task *t, const wd__hdr *h, const char *body);

#endif /* WD_POOL_TASK_H */
