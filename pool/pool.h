/* pool.h -- the supervisor's side of a pool, shared by pool.c (life of the
 * pool), control.c (talking to the zygote and its spare), queue.c (the queue,
 * dispatch, submitting and cancelling tasks) and slot.c (one worker: its
 * state machine, socket, deadline).  future.c, chain.c and task.c below
 * them know nothing of pools; map.c above them only submits tasks.
 *
 * The slot and the pool meet at one narrow interface, the two blocks at the
 * end of this header: what the pool asks of a slot, and what a slot asks of
 * its pool.  Nothing here is public. */
#ifndef WD_POOL_H
#define WD_POOL_H

#include <uv.h>

#include "../worker/proto.h"
#include "../worker/worker.h"
#include "task.h"

/* A worker's life is a table (s6-supervise's actions[state][event]); see
 * slot.c for it. */
typedef enum {
  WD__S_DOWN,     /* no worker process */
  WD__S_STARTING, /* the zygote was asked for one */
  WD__S_READY,    /* it takes tasks */
  WD__S_DRAINING, /* it finishes what it has, then leaves */
  WD__S_KILLING,  /* it and its tree are being killed */
  WD__S_CUTTING,  /* its running task's tree is being killed by its hand */
  WD__S_COUNT
} wd__slot_state;

typedef enum {
  WD__E_SPAWN,      /* the zygote is asked for a worker */
  WD__E_SPAWNED,    /* the zygote says it made one */
  WD__E_SPAWN_FAIL, /* the zygote says it could not */
  WD__E_RETIRE,     /* no more tasks for it */
  WD__E_KILL,       /* kill it and its tree */
  WD__E_EXITED,     /* the zygote says it and its tree are reaped */
  WD__E_CUT,        /* ask it to kill its running task's tree */
  WD__E_ANSWERED,   /* the cut task's result arrived */
  WD__E_LOST,       /* it is gone with no report: the zygote died, or the
                       pool closes after the zygote was reaped */
  WD__E_COUNT
} wd__slot_event;

/* Why a worker is being killed: decides how its running task resolves. */
typedef enum {
  WD__R_NONE,
  WD__R_TIMEOUT,
  WD__R_CANCEL,
  WD__R_SHUTDOWN,
  WD__R_PROTO, /* it broke the frame protocol */
  WD__R_NOMEM  /* the supervisor could not hold its results */
} wd__kill_reason;

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
  wd__slot_state state;
  wd__kill_reason reason;
  wd__fdpoll *conn; /* socket to the current worker process, or NULL */
  pid_t pid;
  wd__buf ibuf, obuf;
  wd__task *head, *tail; /* in flight, oldest first; head is running */
  unsigned inflight;
  unsigned dispatched; /* tasks given to this process, for max_tasks */
  uv_timer_t timer;    /* the head's deadline, then the kill grace */
  int escalated;       /* SIGKILL sent after the grace */
  int spawn_failures;  /* in a row, for back-off */
  int in_avail, in_dirty;
  wd__slot *avail_next, *dirty_next;
};

/* A pool's shutdown state: running, or wd_pool_shutdown()'s `how`. */
#define WD__RUNNING (-1)

struct wd_pool {
  uv_loop_t *loop;
  wd_pool_options opts;
  wd__worker_cfg cfg;
  wd__zygote zyg;
  wd__fdpoll *zyg_ctl;     /* the control socket */
  wd__fdpoll *zyg_pidfd;   /* the zygote's own exit */
  wd__fdpoll *spare_pidfd; /* the spare zygote's exit, or NULL */
  int spare_wake;          /* its wake socket, or -1 */
  pid_t spare_pid;
  wd__buf zq;           /* messages (and fds) waiting for the socket */
  uv_timer_t watchdog;  /* a closing pool's zygote must be gone by then */
  uv_prepare_t prepare; /* dispatches before the loop blocks; keeps the loop
                           alive (ref'd) while tasks are outstanding */
  unsigned njobs;       /* jobs the zygote inherited */
  wd__slot *slots;
  unsigned nslots;
  wd__task *q_head, *q_tail; /* queued tasks */
  size_t outstanding;        /* tasks queued or in flight */
  wd__slot *avail_head, *avail_tail;
  wd__slot *dirty;
  uint64_t next_id;
  uint64_t ewma_us; /* run time of recent tasks; 0 = unknown */
  int shutdown;     /* WD__RUNNING, else WD_GRACEFUL / WD_IMMEDIATE */
  int closing;
  int open_handles; /* handles still to close before the pool is freed */
  void (*close_cb)(void *);
  void *close_data;
};

/* ---- for map.c: making and queueing tasks (queue.c) ----------------------- */

/* The index of job `name` for tasks of p: UV_ENOENT for a job the pool's
 * workers do not have, UV_ECANCELED once the pool is shutting down. */
int wd__pool_job(const wd_pool *p, const char *name);
/* A task of p (the pool's ops table, its defaults under opts); NULL on
 * ENOMEM.  Its job is the caller's to set. */
wd__task *wd__pool_task_new(wd_pool *p, size_t arg_len,
                            const wd_task_options *opts);
/* Queues t; the pool takes a reference until t resolves.  0 or
 * UV_ECANCELED. */
int wd__pool_enqueue(wd_pool *p, wd__task *t);

/* ---- among pool.c, control.c and queue.c --------------------------------- */

int wd__pool_zygote_open(wd_pool *p);
/* Reaps the spare zygote, if there is one. */
void wd__pool_drop_spare(wd_pool *p);
/* Refs the loop while tasks are outstanding or the pool is closing. */
void wd__pool_keepalive(wd_pool *p);
/* The prepare callback: hands queued tasks to ready workers. */
void wd__pool_dispatch(uv_prepare_t *h);
/* Every queued task resolves WD_CANCELLED. */
void wd__pool_cancel_queued(wd_pool *p);
/* The pool is closing: EOF to the zygote, which kills and reaps every
 * worker tree and leaves; its exit brings wd__pool_finish_close(). */
void wd__pool_zygote_close(wd_pool *p);
void wd__pool_finish_close(wd_pool *p);

/* ---- what the pool asks of a slot (slot.c) -------------------------------- */

/* The pure transition: the state after ev in state, or -1 where the table
 * has none (for the unit test; wd__slot_event aborts there). */
int wd__slot_next_state(wd__slot_state state, wd__slot_event ev);
int wd__slot_init(wd_pool *p, wd__slot *s, uint32_t id);
void wd__slot_start(wd__slot *s);
void wd__slot_on_spawned(wd__slot *s, pid_t pid);
void wd__slot_on_spawn_fail(wd__slot *s, int err);
/* The zygote reported the worker and its tree reaped: how it died (code,
 * sig) and the tail of its stderr. */
void wd__slot_on_exited(wd__slot *s, int code, int sig, const char *tail,
                        size_t tail_len);
/* The worker is gone and no EXITED will come (LOST): its tasks end as if
 * it had been killed with SIGKILL for `why`. */
void wd__slot_lost(wd__slot *s, wd__kill_reason why);
void wd__slot_kill(wd__slot *s, wd__kill_reason why, int sig);
void wd__slot_cancel(wd__slot *s, wd__task *t);
void wd__slot_send(wd__slot *s, wd__task *t);
void wd__slot_flush(wd__slot *s);
int wd__slot_can_take(const wd__slot *s);
/* Retires an idle ready worker (graceful shutdown): it exits at EOF. */
void wd__slot_retire_idle(wd__slot *s);
void wd__slot_close(wd__slot *s);

/* ---- what a slot asks of its pool (queue.c, control.c) --------------------- */

/* s may take another task: it joins the round robin. */
void wd__pool_avail(wd_pool *p, wd__slot *s);
/* t goes back to the front of the queue (a retry, or sent ahead of a dead
 * head and never run). */
void wd__pool_requeue_front(wd_pool *p, wd__task *t);
/* t has resolved: the pool lets go of it. */
void wd__pool_task_done(wd_pool *p, wd__task *t);
/* A graceful shutdown may let idle workers go now. */
void wd__pool_maybe_idle(wd_pool *p);
/* Asks the zygote to fork worker `id`, passing it fd (the pool's to close
 * from then on).  0, or UV_ENOMEM when it could be neither queued nor sent
 * (a KILL never fails: see control.c). */
int wd__pool_zygote_spawn(wd_pool *p, uint32_t id, int fd);
/* A KILL for worker id: scope WD__KILL_WORKER (its whole tree) or
 * WD__KILL_TASK (the worker signals the task whose tag this is). */
void wd__pool_zygote_kill(wd_pool *p, uint32_t id, int sig, int scope,
                          uint32_t tag);
/* The zygote has not done what it was asked (stopped): SIGKILL to it. */
void wd__pool_zygote_stuck(wd_pool *p);

#endif /* WD_POOL_H */
