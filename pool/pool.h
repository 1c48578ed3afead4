/* pool.h -- the supervisor's side of a pool, shared by the files of pool/:
 * pool.c (life of the pool and its zygote), slot.c (one worker: its state
 * machine, socket, deadline), future.c (futures and chaining), map.c and
 * waitset.c.  Nothing here is public. */
#ifndef WD_POOL_H
#define WD_POOL_H

#include <uv.h>

#include "../worker/worker.h"
#include "../worker/proto.h"

enum { WD__K_TASK = 1, WD__K_PROXY, WD__K_MAP };

typedef struct wd__waiter {
  wd_done_cb cb;
  void *data;
  struct wd__waiter *next;
} wd__waiter;

typedef struct wd__slot wd__slot;

struct wd_future {
  int kind;
  int refs;
  uv_loop_t *loop;
  wd_pool *pool;   /* TASK and MAP */
  wd_result res;   /* res.status stays WD_PENDING until resolved */
  wd_status answer_as; /* a result frame resolves as this (a cut task's
                          WD_TIMEOUT), or WD_PENDING: by the frame's type */
  void *data;      /* the user's */
  wd__waiter first;
  wd__waiter *more, *last;
  char *store;     /* owns what res.data / res.err_tail point into */

  /* TASK: a queue node, then an in-flight node of one worker */
  wd_future *next, *prev;
  wd__slot *slot;
  uint64_t id;
  uint64_t timeout_ms; /* resolved: 0 = none */
  uint64_t grace_ms;   /* resolved: 0 = SIGKILL at once */
  int term_signal;     /* the first signal when grace_ms > 0 */
  unsigned retries;
  unsigned job;
  unsigned items;      /* a map chunk: how many items, from map_base */
  wd_future *map;      /* a map chunk: the map it belongs to */
  size_t map_base;
  size_t map_chunk;
  size_t arg_len;
  char *arg;

  /* PROXY */
  wd_then_cb then_cb;
  void *then_data;
  wd_future *src, *next_src;

  /* MAP */
  size_t n_items, n_pending, n_chunks;
  wd_result *item;
  char **chunk_store;
  wd_future **chunks;
};

/* A worker's life is a table (s6-supervise's actions[state][event]). */
typedef enum { S_DOWN, S_STARTING, S_READY, S_DRAINING, S_KILLING, S_CUTTING, S__N } wd__sstate;
typedef enum { E_SPAWN, E_SPAWNED, E_SPAWN_FAIL, E_RETIRE, E_KILL, E_EXITED, E_CUT, E_ANSWERED, E__N } wd__sevent;

/* Why a worker is being killed: decides how its running task resolves. */
typedef enum { R_NONE, R_TIMEOUT, R_CANCEL, R_SHUTDOWN, R_PROTO, R_NOMEM } wd__reason;

/* A descriptor watched by a heap-allocated uv_poll_t: closing it must not
 * wait for the pool, and a new worker process needs a new handle. */
typedef struct {
  uv_poll_t h;
  int fd;
  int events;
  void *owner;
} wd__fdpoll;

wd__fdpoll *wd__fdpoll_open(uv_loop_t *loop, int fd, uv_poll_cb cb,
                            void *owner, int events);
void wd__fdpoll_set(wd__fdpoll *fp, int events);
void wd__fdpoll_close(wd__fdpoll *fp); /* also closes the fd */

struct wd__slot {
  wd_pool *pool;
  uint32_t id;
  wd__sstate state;
  wd__reason reason;
  wd__fdpoll *conn; /* socket to the current worker process, or NULL */
  pid_t pid;
  wd__buf ibuf, obuf;
  wd_future *head, *tail; /* in flight, oldest first; head is running */
  unsigned inflight;
  unsigned dispatched; /* tasks given to this process, for max_tasks */
  uv_timer_t timer;    /* the head's deadline, then the kill grace */
  int escalated;       /* SIGKILL sent after the grace */
  int spawn_failures;  /* in a row, for back-off */
  int in_avail, in_dirty;
  wd__slot *avail_next, *dirty_next;
};

struct wd_pool {
  uv_loop_t *loop;
  wd_pool_options opts;
  wd__worker_cfg cfg;
  wd__zygote zyg;
  wd__fdpoll *zyg_ctl;   /* the control socket */
  wd__fdpoll *zyg_pidfd; /* the zygote's own exit */
  wd__fdpoll *spare_pidfd; /* the spare zygote's exit, or NULL */
  int spare_wake;          /* its wake socket, or -1 */
  pid_t spare_pid;
  wd__buf zq;            /* messages (and fds) waiting for the socket */
  uv_timer_t watchdog;  /* a closing pool's zygote must be gone by then */
  uv_prepare_t prepare; /* dispatches before the loop blocks; keeps the loop
                           alive (ref'd) while tasks are outstanding */
  unsigned njobs;       /* jobs the zygote inherited */
  wd__slot *slots;
  unsigned nslots;
  wd_future *q_head, *q_tail; /* queued tasks */
  size_t outstanding;         /* tasks queued or in flight */
  wd__slot *avail_head, *avail_tail;
  wd__slot *dirty;
  uint64_t next_id;
  uint64_t ewma_us;   /* run time of recent tasks; 0 = unknown */
  int shutdown;       /* -1 running, else WD_GRACEFUL / WD_IMMEDIATE */
  int closing;
  int open_handles;   /* handles still to close before the pool is freed */
  void (*close_cb)(void *);
  void *close_data;
};

/* slot.c */
int wd__slot_init(wd_pool *p, wd__slot *s, uint32_t id);
void wd__slot_start(wd__slot *s);
void wd__slot_event(wd__slot *s, wd__sevent ev);
void wd__slot_on_spawned(wd__slot *s, pid_t pid);
void wd__slot_on_spawn_fail(wd__slot *s, int err);
void wd__slot_on_exited(wd__slot *s, const wd__zmsg *m, const char *tail);
void wd__slot_kill(wd__slot *s, wd__reason why, int sig);
void wd__slot_send(wd__slot *s, wd_future *t);
void wd__slot_flush(wd__slot *s);
int wd__slot_can_take(const wd__slot *s);
void wd__slot_close(wd__slot *s);

/* pool.c */
void wd__pool_keepalive(wd_pool *p);
void wd__pool_avail(wd_pool *p, wd__slot *s);
void wd__pool_requeue_front(wd_pool *p, wd_future *t);
void wd__pool_task_done(wd_pool *p, wd_future *t);
/* Queues a message to the zygote; `fd` (if >= 0) is passed along and is
 * the pool's to close from then on.  0, or UV_ENOMEM when it could be
 * neither queued nor sent (a KILL never fails: see pool.c). */
int wd__pool_zygote_send(wd_pool *p, uint32_t type, uint32_t id, int sig,
                         int fd);
/* The zygote has not done what it was asked (stopped): SIGKILL to it. */
void wd__pool_zygote_stuck(wd_pool *p);
/* A KILL for worker id: scope WD__KILL_WORKER (its whole tree) or
 * WD__KILL_TASK (the worker signals the task whose tag this is). */
void wd__pool_zygote_kill(wd_pool *p, uint32_t id, int sig, int scope,
                          uint32_t tag);
void wd__pool_maybe_idle(wd_pool *p);
int wd__pool_enqueue(wd_pool *p, wd_future *t);
void wd__pool_unqueue(wd_pool *p, wd_future *t);

/* future.c */
wd_future *wd__future_new(int kind, uv_loop_t *loop, size_t extra);
void wd__future_resolve(wd_future *f);
/* Resolves a task (or a map chunk) that ended without a result frame. */
void wd__task_fail(wd_future *t, wd_status st, int code, int sig,
                   const char *tail, size_t tail_len);
/* Resolves a task from its OK/ERR/MAPRES frame. */
void wd__task_result(wd_future *t, const wd__hdr *h, const char *body);

/* map.c */
void wd__map_chunk_done(wd_future *chunk, wd_status st, const char *body,
                        size_t len, const char *msg);

#endif /* WD_POOL_H */
