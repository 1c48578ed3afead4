/* slot.c -- one worker, as the supervisor sees it.
 *
 * A slot holds one worker process at a time.  Its life is the table below;
 * the zygote's messages (SPAWNED, EXITED) and the pool's decisions (retire,
 * kill) are its events.  A slot owns the tasks in flight on its worker,
 * oldest first: the head is the one running, and its deadline clock is the
 * slot's timer, started when it became the head -- that is, when the worker
 * was handed it while idle, or when the previous task's result arrived.
 *
 * A task ends in one of two ways: its result frame arrives, or the worker
 * is reported EXITED by the zygote -- which sends that only once the worker
 * and its whole tree are dead and reaped.  Tasks sent ahead behind a dead
 * head never ran; they go back to the front of the queue. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pool.h"

/* The table: next_state[state][event], -1 where the event cannot happen
 * in that state.  CUTTING: the running task's tree is being killed at the
 * worker's hand (a guardian job, see jobs/command.c); the worker lives, and
 * ANSWERED -- the task's result frame -- brings it back to READY.  LOST:
 * the worker is gone with no EXITED to come (its zygote died, or the pool
 * closes after reaping the zygote). */
#define DOWN WD__S_DOWN
#define START WD__S_STARTING
#define READY WD__S_READY
#define DRAIN WD__S_DRAINING
#define KILL WD__S_KILLING
#define CUT WD__S_CUTTING
static const signed char next_state[WD__S_COUNT][WD__E_COUNT] = {
    /*          SPAWN  SPAWNED FAIL  RETIRE KILL  EXITED CUT  ANSWERED LOST */
    [DOWN] =  {START, -1,     -1,   -1,    -1,   -1,    -1,  -1,      -1},
    [START] = {-1,    READY,  DOWN, -1,    KILL, -1,    -1,  -1,      DOWN},
    [READY] = {-1,    -1,     -1,   DRAIN, KILL, DOWN,  CUT, -1,      DOWN},
    [DRAIN] = {-1,    -1,     -1,   -1,    KILL, DOWN,  -1,  -1,      DOWN},
    [KILL] =  {-1,    KILL,   DOWN, -1,    KILL, DOWN,  -1,  -1,      DOWN},
    [CUT] =   {-1,    -1,     -1,   -1,    KILL, DOWN,  CUT, READY,   DOWN},
};
#undef DOWN
#undef START
#undef READY
#undef DRAIN
#undef KILL
#undef CUT

/* How long a worker asked to kill its task's tree has to answer before it
 * is killed with it.  It answers within a pipe round trip once the tree is
 * dead; this is only for a worker that cannot. */
#define CUT_BACKSTOP_MS 2000

/* How long the zygote has to report a worker it was told to kill.  It
 * takes milliseconds (a 4,000-process tree: under half a second); one that
 * says nothing for this long has been stopped (a command can SIGSTOP it:
 * the signal cannot be blocked), and is killed -- the pool's cgroup dies
 * with it and the spare takes over. */
#define ZYGOTE_WATCHDOG_MS 10000

int wd__slot_next_state(wd__slot_state state, wd__slot_event ev) {
  if ((unsigned)state >= WD__S_COUNT || (unsigned)ev >= WD__E_COUNT)
    return -1;
  return next_state[state][ev];
}

static void transition(wd__slot *s, wd__slot_event ev) {
  int next = wd__slot_next_state(s->state, ev);
  if (next < 0)
    abort(); /* a broken invariant: the zygote and we disagree */
  s->state = (wd__slot_state)next;
}

static void on_timer(uv_timer_t *h);
static void on_io(uv_poll_t *h, int status, int events);

int wd__slot_init(wd_pool *p, wd__slot *s, uint32_t id) {
  memset(s, 0, sizeof(*s));
  s->pool = p;
  s->id = id;
  s->state = WD__S_DOWN;
  int err = uv_timer_init(p->loop, &s->timer);
  if (err)
    return err;
  s->timer.data = s;
  uv_unref((uv_handle_t *)&s->timer);
  return 0;
}

static unsigned window(const wd_pool *p) {
  if (p->opts.pipeline)
    return p->opts.pipeline;
  if (p->ewma_us == 0) /* nothing known yet: do not bet on fast tasks */
    return 1;
  uint64_t w = 2000 / p->ewma_us; /* about 2 ms of work queued ahead */
  return w < 1 ? 1 : w > 64 ? 64 : (unsigned)w;
}

/* A worker may take another task if it has room in its window and, when
 * it already has one, no more than its share of what is outstanding: a
 * worker that comes up alone must not swallow a backlog the others could
 * share a moment later. */
int wd__slot_can_take(const wd__slot *s) {
  const wd_pool *p = s->pool;
  return s->state == WD__S_READY && s->conn != NULL && !p->closing &&
         p->shutdown != WD_IMMEDIATE && s->inflight < window(p) &&
         (s->inflight == 0 || (size_t)s->inflight * p->nslots < p->outstanding) &&
         (p->opts.max_tasks == 0 || s->dispatched < p->opts.max_tasks);
}

/* Feeds a task's run time into the pool's estimate of how long tasks take,
 * which sizes the pipeline window. */
static void observe(wd_pool *p, uint64_t us) {
  p->ewma_us = p->ewma_us ? (p->ewma_us * 7 + us + 1) / 8 : us + 1;
}

/* ---- spawning ------------------------------------------------------------ */

static void backoff(wd__slot *s) {
  int n = s->spawn_failures < 6 ? s->spawn_failures : 6;
  uv_timer_start(&s->timer, on_timer, 10u << n, 0); /* 10 ms .. 640 ms */
}

static void spawn(wd__slot *s) {
  wd_pool *p = s->pool;
  int sv[2];
  if (p->closing || p->zyg_ctl == NULL)
    return;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    s->spawn_failures++;
    backoff(s);
    return;
  }
  int fl = 1;
  ioctl(sv[0], FIONBIO, &fl);
  s->conn = wd__fdpoll_open(p->loop, sv[0], on_io, s, UV_READABLE);
  if (s->conn == NULL) {
    close(sv[0]);
    close(sv[1]);
    s->spawn_failures++;
    backoff(s);
    return;
  }
  transition(s, WD__E_SPAWN);
  if (wd__pool_zygote_spawn(p, s->id, sv[1]) != 0) /* takes sv[1] */
    wd__slot_on_spawn_fail(s, UV_ENOMEM); /* backs off, then again */
}

void wd__slot_on_spawned(wd__slot *s, pid_t pid) {
  s->pid = pid;
  s->dispatched = 0;
  s->spawn_failures = 0;
  transition(s, WD__E_SPAWNED);
  if (s->state == WD__S_READY)
    wd__pool_avail(s->pool, s);
}

void wd__slot_on_spawn_fail(wd__slot *s, int err) {
  (void)err;
  wd__slot_close(s);
  transition(s, WD__E_SPAWN_FAIL);
  s->spawn_failures++;
  if (!s->pool->closing)
    backoff(s);
}

/* ---- sending -------------------------------------------------------------- */

static void start_head(wd__slot *s) {
  wd__task *t = s->head;
  uv_timer_stop(&s->timer);
  if (t == NULL)
    return;
  if (t->f.res.status != WD_PENDING) {
    /* Cancelled while it waited behind another task: now it would run. */
    wd__slot_kill(s, WD__R_CANCEL, SIGKILL);
    return;
  }
  t->f.res.attempts++;
  t->f.res.started_ns = uv_hrtime();
  t->f.res.pid = s->pid;
  if (t->timeout_ms)
    uv_timer_start(&s->timer, on_timer, t->timeout_ms, 0);
}

void wd__slot_send(wd__slot *s, wd__task *t) {
  wd__hdr h = {t->chunk_end ? WD__F_MAP : WD__F_TASK, (uint32_t)t->arg_len, t->id,
               t->job, t->items};
  if (wd__buf_reserve(&s->obuf, WD__HDR_SIZE + t->arg_len) != 0) {
    /* Not back to the queue: this slot stays free, so dispatch would hand
     * the same task straight back to it, for as long as memory is short
     * (a livelock).  The task fails and says why. */
    wd__task_fail(t, WD_ERROR, UV_ENOMEM, 0, NULL, 0);
    wd__pool_task_done(s->pool, t);
    return;
  }
  memcpy(s->obuf.p + s->obuf.len, &h, WD__HDR_SIZE);
  memcpy(s->obuf.p + s->obuf.len + WD__HDR_SIZE, t->arg, t->arg_len);
  s->obuf.len += WD__HDR_SIZE + t->arg_len;
  t->slot = s;
  t->next = NULL;
  t->prev = s->tail;
  if (s->tail)
    s->tail->next = t;
  else
    s->head = t;
  s->tail = t;
  s->inflight++;
  s->dispatched++;
  if (s->head == t) {
    uv_update_time(s->pool->loop); /* the clock starts now, not at the
                                       top of this loop iteration */
    start_head(s);
  }
}

void wd__slot_flush(wd__slot *s) {
  while (s->conn && s->obuf.off < s->obuf.len) {
    ssize_t n = send(s->conn->fd, s->obuf.p + s->obuf.off,
                     s->obuf.len - s->obuf.off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wd__fdpoll_set(s->conn, UV_READABLE | UV_WRITABLE);
      return;
    }
    if (n < 0) { /* EPIPE: the worker is dead; EXITED is on its way */
      s->obuf.off = s->obuf.len = 0;
      break;
    }
    wd__buf_consume(&s->obuf, (size_t)n);
  }
  if (s->conn && s->conn->events & UV_WRITABLE)
    wd__fdpoll_set(s->conn, UV_READABLE);
}

/* ---- ending tasks --------------------------------------------------------- */

static wd__task *pop_head(wd__slot *s) {
  wd__task *t = s->head;
  s->head = t->next;
  if (s->head)
    s->head->prev = NULL;
  else
    s->tail = NULL;
  t->next = t->prev = NULL;
  t->slot = NULL;
  s->inflight--;
  return t;
}

static int should_retry(const wd__task *t, wd_status st) {
  const wd_pool *p = t->pool;
  return st != WD_OK && st != WD_CANCELLED && t->f.res.status == WD_PENDING &&
         !p->closing && p->shutdown != WD_IMMEDIATE &&
         t->f.res.attempts <= t->retries;
}

static void retire(wd__slot *s) {
  transition(s, WD__E_RETIRE);
  if (s->inflight == 0)
    wd__slot_close(s); /* EOF tells the worker to exit */
}

static void on_frame(wd__slot *s, const wd__hdr *h, const char *body) {
  wd_pool *p = s->pool;
  wd__task *t = s->head;
  if (t == NULL || h->id != t->id || (h->type == WD__F_MAPRES) != (t->chunk_end != NULL)) {
    wd__slot_kill(s, WD__R_PROTO, SIGKILL);
    return;
  }
  pop_head(s);
  observe(p, h->type == WD__F_MAPRES && h->a ? h->b / h->a : h->b);
  wd_status cut = WD_PENDING;
  if (s->state == WD__S_CUTTING) { /* the answer after its tree was killed */
    cut = s->reason == WD__R_TIMEOUT ? WD_TIMEOUT : WD_CANCELLED;
    transition(s, WD__E_ANSWERED);
    s->reason = WD__R_NONE;
    s->escalated = 0;
  }
  start_head(s); /* the next task's clock starts as this result arrives */
  if (cut != WD_PENDING ? should_retry(t, cut)
                        : h->type == WD__F_ERR && should_retry(t, WD_ERROR))
    wd__pool_requeue_front(p, t);
  else {
    t->answer_as = cut; /* a timeout keeps what the task wrote before it */
    wd__task_result(t, h, body);
    wd__pool_task_done(p, t);
  }
  if (s->state == WD__S_READY && p->opts.max_tasks &&
      s->dispatched >= p->opts.max_tasks && s->inflight == 0)
    retire(s);
  else if (s->state == WD__S_DRAINING && s->inflight == 0)
    wd__slot_close(s);
  else if (s->state == WD__S_READY && s->inflight == 0 &&
           p->shutdown == WD_GRACEFUL && p->q_head == NULL)
    retire(s); /* nothing left to give it */
  else if (wd__slot_can_take(s))
    wd__pool_avail(p, s);
}

/* The worker's end of the socket is gone: it died (or is retiring), and
 * its EXITED report follows once the zygote has reaped its whole tree.
 * A running task's outcome is that death, not its deadline: the deadline
 * stops here, so a worker shot from outside cannot be reported as a
 * timeout because the report was slow (found by the chaos test). */
static void worker_gone(wd__slot *s) {
  wd__fdpoll_set(s->conn, 0);
  if (s->state != WD__S_KILLING && s->state != WD__S_DOWN)
    uv_timer_stop(&s->timer);
}

static void read_results(wd__slot *s) {
  uv_update_time(s->pool->loop);
  while (s->conn && (s->state == WD__S_READY || s->state == WD__S_DRAINING ||
                     s->state == WD__S_CUTTING)) {
    if (wd__buf_reserve(&s->ibuf, 65536) != 0) {
      /* Returning would only bring us back at once (the socket is still
       * readable): a spin for as long as memory is short.  The running
       * task fails and says why. */
      wd__slot_kill(s, WD__R_NOMEM, SIGKILL);
      return;
    }
    ssize_t n = recv(s->conn->fd, s->ibuf.p + s->ibuf.len,
                     s->ibuf.cap - s->ibuf.len, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
        worker_gone(s);
      return;
    }
    s->ibuf.len += (size_t)n;
    for (;;) {
      wd__hdr h;
      long len = wd__frame_parse(s->ibuf.p + s->ibuf.off,
                                 s->ibuf.len - s->ibuf.off, &h);
      if (len < 0) {
        wd__slot_kill(s, WD__R_PROTO, SIGKILL);
        return;
      }
      if (len == 0)
        break;
      on_frame(s, &h, s->ibuf.p + s->ibuf.off + WD__HDR_SIZE);
      /* A callback may have closed the pool or cancelled the head; a
       * closed slot's buffers are already empty. */
      if (s->conn == NULL)
        return;
      wd__buf_consume(&s->ibuf, (size_t)len);
      if (s->state == WD__S_KILLING)
        return;
    }
  }
}

static void on_io(uv_poll_t *h, int status, int events) {
  wd__fdpoll *fp = h->data;
  wd__slot *s = fp->owner;
  if (status < 0) {
    worker_gone(s);
    return;
  }
  if (events & UV_WRITABLE)
    wd__slot_flush(s);
  if ((events & UV_READABLE) && s->state == WD__S_KILLING) {
    /* The task answered after the first signal of a grace period: it has
     * stopped, only its guardian is left.  No need to wait out the grace. */
    if (!s->escalated)
      wd__slot_kill(s, s->reason, SIGKILL);
    wd__fdpoll_set(fp, 0);
    return;
  }
  if ((events & UV_READABLE) && s->state != WD__S_READY && s->state != WD__S_DRAINING &&
      s->state != WD__S_CUTTING)
    wd__fdpoll_set(fp, 0); /* a hang-up before SPAWNED: EXITED follows */
  else if (events & UV_READABLE)
    read_results(s);
}

void wd__slot_kill(wd__slot *s, wd__kill_reason why, int sig) {
  if (s->state == WD__S_DOWN)
    return;
  if (s->state != WD__S_KILLING) {
    s->reason = why;
    s->escalated = 0;
  }
  transition(s, WD__E_KILL);
  uv_timer_stop(&s->timer);
  if (sig == SIGKILL) {
    s->escalated = 1;
    uv_timer_start(&s->timer, on_timer, ZYGOTE_WATCHDOG_MS, 0);
  }
  wd__pool_zygote_kill(s->pool, s->id, sig, WD__KILL_WORKER, 0);
}

/* Asks the worker to signal its running task's tree, and to answer: the
 * worker lives on (guardian jobs only).  The timer then runs the grace,
 * or, after SIGKILL, the backstop. */
static void cut(wd__slot *s, wd__kill_reason why, int sig, uint64_t wait_ms) {
  if (s->state != WD__S_CUTTING)
    s->reason = why;
  transition(s, WD__E_CUT);
  if (sig == SIGKILL)
    s->escalated = 1;
  wd__pool_zygote_kill(s->pool, s->id, sig, WD__KILL_TASK, WD__TAG(s->head->id));
  uv_timer_start(&s->timer, on_timer, wait_ms, 0);
}

/* The deadline (or, once killing, the grace) is up; or, when the slot is
 * down, the spawn back-off is over. */
static void on_timer(uv_timer_t *h) {
  wd__slot *s = h->data;
  if (s->state == WD__S_DOWN) {
    spawn(s);
    return;
  }
  if (s->state == WD__S_KILLING && s->escalated) {
    wd__pool_zygote_stuck(s->pool); /* no EXITED after SIGKILL */
    return;
  }
  if (s->state == WD__S_KILLING || (s->state == WD__S_CUTTING && s->escalated)) {
    wd__slot_kill(s, s->reason, SIGKILL); /* the worker's tree, all of it */
    return;
  }
  if (s->state == WD__S_CUTTING) {
    cut(s, s->reason, SIGKILL, CUT_BACKSTOP_MS); /* the grace is over */
    return;
  }
  if (s->head == NULL)
    return;
  uint64_t grace = s->head->grace_ms;
  int sig = grace ? s->head->term_signal : SIGKILL;
  if (s->state == WD__S_READY && s->head->chunk_end == NULL &&
      wd__job_is_guardian(s->head->job)) {
    cut(s, WD__R_TIMEOUT, sig, grace ? grace : CUT_BACKSTOP_MS);
    return;
  }
  wd__slot_kill(s, WD__R_TIMEOUT, sig);
  if (grace)
    uv_timer_start(&s->timer, on_timer, grace, 0);
}

void wd__slot_close(wd__slot *s) {
  if (s->conn) {
    wd__fdpoll_close(s->conn);
    s->conn = NULL;
  }
  s->ibuf.off = s->ibuf.len = 0;
  s->obuf.off = s->obuf.len = 0;
}

/* How the running task of a worker that died resolves: by why it was
 * killed, else by how it died. */
static wd_status fate(wd__kill_reason why, int sig) {
  switch (why) {
  case WD__R_TIMEOUT: return WD_TIMEOUT;
  case WD__R_CANCEL:
  case WD__R_SHUTDOWN: return WD_CANCELLED;
  case WD__R_NOMEM: return WD_ERROR;
  case WD__R_PROTO: return WD_CRASHED;
  default: return sig ? WD_CRASHED : WD_EXITED;
  }
}

/* The running task of a dead worker: retried, or resolved with its fate. */
static void end_running(wd__slot *s, wd__task *t, int code, int sig,
                        const char *tail, size_t tail_len) {
  wd_pool *p = s->pool;
  if (t->f.res.started_ns) /* a killed task was slow, at least */
    observe(p, (uv_hrtime() - t->f.res.started_ns) / 1000);
  wd_status st = fate(s->reason, sig);
  if (should_retry(t, st)) {
    wd__pool_requeue_front(p, t);
    return;
  }
  if (s->reason == WD__R_NOMEM)
    wd__task_fail(t, WD_ERROR, UV_ENOMEM, 0, NULL, 0);
  else
    wd__task_fail(t, st, code, sig, tail, tail_len);
  wd__pool_task_done(p, t);
}

/* What was sent ahead of a dead worker's head never ran: back to the front
 * of the queue, in order -- or cancelled, when the pool is stopping. */
static void requeue_sent_ahead(wd__slot *s) {
  wd_pool *p = s->pool;
  while (s->tail) {
    wd__task *u = s->tail;
    s->tail = u->prev;
    u->next = u->prev = NULL;
    u->slot = NULL;
    s->inflight--;
    if (u->f.res.status == WD_PENDING && p->shutdown != WD_IMMEDIATE && !p->closing)
      wd__pool_requeue_front(p, u);
    else {
      wd__task_fail(u, WD_CANCELLED, -1, 0, NULL, 0);
      wd__pool_task_done(p, u);
    }
  }
  s->head = NULL;
  s->inflight = 0;
}

/* The worker is dead and its tree reaped (EXITED) or gone unreported
 * (LOST): its tasks end, and a new worker is started while there is work. */
static void worker_down(wd__slot *s, wd__slot_event ev, int code, int sig,
                        const char *tail, size_t tail_len) {
  wd_pool *p = s->pool;
  if (s->state == WD__S_READY || s->state == WD__S_DRAINING)
    read_results(s); /* results the worker sent before it died */
  wd__slot_close(s);
  uv_timer_stop(&s->timer);
  wd__task *t = s->head ? pop_head(s) : NULL;
  if (t != NULL)
    end_running(s, t, code, sig, tail, tail_len);
  requeue_sent_ahead(s);
  s->reason = WD__R_NONE;
  s->pid = 0;
  int died_idle = t == NULL && s->dispatched == 0 && s->state != WD__S_DRAINING;
  transition(s, ev);
  if (!p->closing && (p->shutdown == WD__RUNNING || p->q_head != NULL)) {
    if (died_idle) { /* died before it ran anything: do not fork-loop */
      s->spawn_failures++;
      backoff(s);
    } else {
      spawn(s);
    }
  }
  wd__pool_maybe_idle(p);
}

void wd__slot_on_exited(wd__slot *s, int code, int sig, const char *tail,
                        size_t tail_len) {
  worker_down(s, WD__E_EXITED, code, sig, tail, tail_len);
}

void wd__slot_lost(wd__slot *s, wd__kill_reason why) {
  if (s->state == WD__S_DOWN)
    return;
  if (why != WD__R_NONE)
    s->reason = why;
  worker_down(s, WD__E_LOST, -1, SIGKILL, NULL, 0);
}

void wd__slot_retire_idle(wd__slot *s) {
  if (s->state != WD__S_READY || s->inflight != 0)
    return;
  transition(s, WD__E_RETIRE);
  wd__slot_close(s);
}

/* A running task is stopped only by killing its worker; one sent ahead and
 * not started resolves now, and its result is dropped when it comes. */
void wd__slot_cancel(wd__slot *s, wd__task *t) {
  if (s->head != t)
    wd__task_fail(t, WD_CANCELLED, -1, 0, NULL, 0);
  else if (s->state != WD__S_KILLING)
    wd__slot_kill(s, WD__R_CANCEL, SIGKILL);
}

void wd__slot_start(wd__slot *s) { spawn(s); }
