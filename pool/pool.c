/* pool.c -- a pool's life: its zygote, its queue, dispatch, and shutdown.
 *
 * Dispatch runs in a uv_prepare_t, once per loop iteration just before the
 * loop blocks: every task submitted or made ready during the iteration is
 * handed out in one pass, and each worker's frames go out in one send.
 * Workers take turns (round robin over the slots that have room), so a
 * burst spreads over every worker instead of filling the first one.
 *
 * The prepare handle is also what keeps the loop alive: it is referenced
 * only while tasks are queued or in flight, so uv_run() returns when the
 * pool has nothing to do -- an idle pool does not pin the loop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool.h"

/* ---- fd polls ------------------------------------------------------------- */

wd__fdpoll *wd__fdpoll_open(uv_loop_t *loop, int fd, uv_poll_cb cb,
                            void *owner, int events) {
  wd__fdpoll *fp = calloc(1, sizeof(*fp));
  if (fp == NULL)
    return NULL;
  if (uv_poll_init(loop, &fp->h, fd) != 0) {
    free(fp);
    return NULL;
  }
  fp->fd = fd;
  fp->owner = owner;
  fp->h.data = fp;
  uv_unref((uv_handle_t *)&fp->h);
  fp->events = events;
  if (events)
    uv_poll_start(&fp->h, events, cb);
  return fp;
}

void wd__fdpoll_set(wd__fdpoll *fp, int events) {
  if (events == fp->events)
    return;
  fp->events = events;
  if (events)
    uv_poll_start(&fp->h, events, fp->h.poll_cb);
  else
    uv_poll_stop(&fp->h);
}

static void free_handle(uv_handle_t *h) { free(h->data); }

void wd__fdpoll_close(wd__fdpoll *fp) {
  /* uv_close() takes the fd out of epoll at once, so closing the fd right
   * after cannot leave a stale registration behind. */
  uv_close((uv_handle_t *)&fp->h, free_handle);
  close(fp->fd);
}

/* ---- the zygote ----------------------------------------------------------- */

/* Messages to the zygote go out in order.  The control socket is
 * non-blocking (libuv's poll handle makes it so) and a burst -- a thousand
 * workers asked for at once -- fills it: what does not fit waits in zq,
 * with the descriptor it carries, until the socket is writable again. */
typedef struct {
  wd__zmsg m;
  int fd;
} zout;

static int zq_flush(wd_pool *p) {
  while (p->zq.off < p->zq.len) {
    zout o;
    memcpy(&o, p->zq.p + p->zq.off, sizeof(o));
    int err = wd__zygote_send(p->zyg_ctl->fd, &o.m, o.fd);
    if (err == -EAGAIN || err == -EWOULDBLOCK)
      return 1;
    /* Sent, or the zygote is dead and its pidfd tells us next. */
    if (o.fd >= 0)
      close(o.fd);
    wd__buf_consume(&p->zq, sizeof(o));
  }
  return 0;
}

static void zq_drop(wd_pool *p) {
  for (size_t off = p->zq.off; off < p->zq.len; off += sizeof(zout)) {
    zout o;
    memcpy(&o, p->zq.p + off, sizeof(o));
    if (o.fd >= 0)
      close(o.fd);
  }
  p->zq.off = p->zq.len = 0;
}

static int zsend(wd_pool *p, const wd__zmsg *m, int fd) {
  zout o = {*m, fd};
  if (p->zyg_ctl == NULL) {
    if (fd >= 0)
      close(fd);
    return 0; /* the zygote is gone: its death is reported next */
  }
  if (wd__buf_reserve(&p->zq, sizeof(o)) != 0) {
    /* No room to queue it.  Sent at once if nothing waits before it; else
     * a SPAWN fails (and is tried again), but a KILL that cannot go out is
     * a deadline nobody enforces: better to die -- the zygote sees it and
     * kills every tree -- than to break that promise quietly. */
    int err = p->zq.off == p->zq.len ? wd__zygote_send(p->zyg_ctl->fd, m, fd) : -EAGAIN;
    if (fd >= 0)
      close(fd);
    if (err == 0)
      return 0;
    if (m->type == WD__Z_KILL)
      abort();
    return UV_ENOMEM;
  }
  memcpy(p->zq.p + p->zq.len, &o, sizeof(o));
  p->zq.len += sizeof(o);
  if (zq_flush(p))
    wd__fdpoll_set(p->zyg_ctl, UV_READABLE | UV_WRITABLE);
  return 0;
}

int wd__pool_zygote_send(wd_pool *p, uint32_t type, uint32_t id, int sig,
                         int fd) {
  wd__zmsg m = {type, id, 0, 0, sig, 0};
  return zsend(p, &m, fd);
}

void wd__pool_zygote_kill(wd_pool *p, uint32_t id, int sig, int scope,
                          uint32_t tag) {
  wd__zmsg m = {WD__Z_KILL, id, (int32_t)tag, scope, sig, 0};
  zsend(p, &m, -1);
}

static void take_spare(wd_pool *p, pid_t pid, int wake);

static void on_zyg_msg(uv_poll_t *h, int status, int events) {
  wd_pool *p = ((wd__fdpoll *)h->data)->owner;
  char buf[WD__ZMSG_MAX];
  if (status < 0)
    return;
  if ((events & UV_WRITABLE) && !zq_flush(p))
    wd__fdpoll_set(p->zyg_ctl, UV_READABLE);
  while (p->zyg_ctl != NULL && (events & UV_READABLE)) {
    int fd;
    ssize_t n = wd__zygote_recv(p->zyg_ctl->fd, buf, sizeof(buf), MSG_DONTWAIT, &fd);
    if (n < (ssize_t)sizeof(wd__zmsg)) {
      if (fd >= 0)
        close(fd);
      if (n == 0)
        wd__fdpoll_set(p->zyg_ctl, 0); /* the zygote died: see its pidfd */
      return;
    }
    wd__zmsg m;
    memcpy(&m, buf, sizeof(m));
    if (m.type == WD__Z_SPARE) {
      take_spare(p, m.pid, fd);
      continue;
    }
    if (fd >= 0)
      close(fd);
    if (m.id >= p->nslots || sizeof(m) + m.tail_len > (size_t)n)
      continue;
    wd__slot *s = &p->slots[m.id];
    if (m.type == WD__Z_SPAWNED)
      wd__slot_on_spawned(s, m.pid);
    else if (m.type == WD__Z_SPAWN_FAIL)
      wd__slot_on_spawn_fail(s, m.code);
    else if (m.type == WD__Z_EXITED)
      wd__slot_on_exited(s, &m, buf + sizeof(m));
  }
}

static void on_zyg_exit(uv_poll_t *h, int status, int events);

/* ---- the spare zygote (see worker/zygote.c) --------------------------- */

/* Reaps a spare that is ours and has exited, or is about to (its wake
 * socket closed: it leaves at once). */
static void drop_spare(wd_pool *p) {
  if (p->spare_pidfd == NULL)
    return;
  if (p->spare_wake >= 0)
    close(p->spare_wake);
  p->spare_wake = -1;
  /* EOF on its socket would do, unless a command stopped it. */
  pidfd_send_signal(p->spare_pidfd->fd, SIGKILL, NULL, 0);
  /* By pid: libuv made the pidfd non-blocking.  Our child, unreaped. */
  siginfo_t si;
  while (waitid(P_PID, (id_t)p->spare_pid, &si, WEXITED) < 0 && errno == EINTR)
    ;
  wd__fdpoll_close(p->spare_pidfd);
  p->spare_pidfd = NULL;
}

/* The spare died before it was needed (a command can kill it): a new one
 * is asked of the zygote. */
static void on_spare_exit(uv_poll_t *h, int status, int events) {
  wd_pool *p = ((wd__fdpoll *)h->data)->owner;
  (void)status, (void)events;
  drop_spare(p);
  if (!p->closing && p->zyg_ctl)
    wd__pool_zygote_send(p, WD__Z_SPARE, 0, 0, -1);
}

static void take_spare(wd_pool *p, pid_t pid, int wake) {
  int pidfd = pid > 0 ? pidfd_open(pid, 0) : -1; /* our child, unreaped */
  if (pidfd >= 0)
    fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  wd__fdpoll *fp = pidfd >= 0 && wake >= 0 && p->spare_pidfd == NULL && !p->closing
                       ? wd__fdpoll_open(p->loop, pidfd, on_spare_exit, p, UV_READABLE)
                       : NULL;
  if (fp == NULL) { /* not wanted: its wake socket closes, it leaves */
    if (wake >= 0)
      close(wake);
    siginfo_t si;
    if (pidfd >= 0) {
      while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
        ;
      close(pidfd);
    }
    return;
  }
  p->spare_pidfd = fp;
  p->spare_wake = wake;
  p->spare_pid = pid;
}

/* The zygote is dead: what it still had to say is in its socket.  A spare
 * it offered there is our child: taken (or, when closing, reaped) -- never
 * left to exit unreaped when the socket, and its wake end, go. */
static void take_last_spare(wd_pool *p) {
  for (;;) {
    char buf[WD__ZMSG_MAX];
    wd__zmsg m;
    int fd;
    ssize_t n = wd__zygote_recv(p->zyg_ctl->fd, buf, sizeof(buf), MSG_DONTWAIT, &fd);
    if (n <= 0)
      return;
    memcpy(&m, buf, sizeof(m) < (size_t)n ? sizeof(m) : (size_t)n);
    if (n >= (ssize_t)sizeof(m) && m.type == WD__Z_SPARE)
      take_spare(p, m.pid, fd);
    else if (fd >= 0)
      close(fd);
  }
}

/* The zygote is dead: its spare carries on, with a new control socket.
 * Returns 0, or a negative errno when there is no spare to wake. */
static int wake_spare(wd_pool *p) {
  int sv[2];
  if (p->spare_pidfd == NULL)
    return -ESRCH;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return -errno;
  wd__zmsg m = {WD__Z_SPARE, 0, 0, 0, 0, 0};
  int err = wd__zygote_send(p->spare_wake, &m, sv[1]);
  close(sv[1]);
  if (err) {
    close(sv[0]);
    return err;
  }
  close(p->spare_wake);
  p->spare_wake = -1;
  p->zyg.pid = p->spare_pid;
  p->zyg.pidfd = p->spare_pidfd->fd;
  p->zyg.fd = sv[0];
  p->zyg_pidfd = p->spare_pidfd; /* from now on, the zygote's pidfd */
  p->spare_pidfd = NULL;
  uv_poll_start(&p->zyg_pidfd->h, UV_READABLE, on_zyg_exit);
  p->zyg_ctl = wd__fdpoll_open(p->loop, sv[0], on_zyg_msg, p, UV_READABLE);
  if (p->zyg_ctl == NULL)
    abort(); /* out of memory right after the zygote died: nothing sane */
  return 0;
}

static int zygote_open(wd_pool *p) {
  int err = wd__zygote_start(&p->cfg, &p->zyg);
  if (err)
    return err;
  p->zyg_ctl = wd__fdpoll_open(p->loop, p->zyg.fd, on_zyg_msg, p, UV_READABLE);
  p->zyg_pidfd =
      wd__fdpoll_open(p->loop, p->zyg.pidfd, on_zyg_exit, p, UV_READABLE);
  if (p->zyg_ctl == NULL || p->zyg_pidfd == NULL)
    abort(); /* out of memory right after forking: nothing sane to do */
  return 0;
}

static void finish_close(wd_pool *p);

void wd__pool_zygote_stuck(wd_pool *p) {
  /* Our child, unreaped: SIGKILL reaches it even stopped.  Its death brings
   * on_zyg_exit: every tree killed, the spare takes over. */
  if (p->zyg_pidfd)
    pidfd_send_signal(p->zyg_pidfd->fd, SIGKILL, NULL, 0);
}

static void on_close_watchdog(uv_timer_t *h) { wd__pool_zygote_stuck(h->data); }

/* Every task tree of the pool dies, and is dead, before any task resolves:
 * cgroup.kill of the pool's cgroup, then a wait for the kernel to say it is
 * empty.  The wait blocks the loop, bounded: it is on the path of a zygote
 * killed from outside only, and SIGKILLed processes are gone within
 * milliseconds. */
static void kill_trees(wd_pool *p) {
  wd__cgroup_kill(p->cfg.cgroup);
  int ev = wd__cgroup_open(p->cfg.cgroup, "cgroup.events", O_RDONLY);
  if (ev >= 0) {
    wd__cgroup_wait_empty(ev, 1000);
    close(ev);
  }
}

/* The zygote exited: expected when the pool closes (it kills and reaps
 * every worker first, then leaves), otherwise it was killed from outside --
 * its workers died with it (PR_SET_PDEATHSIG), but what their tasks
 * started did not: with cgroups, the pool's cgroup.kill ends every tree
 * here, at once, before any task resolves.  Then the spare takes over; no
 * process is forked here, from a running loop (see zygote.c). */
static void on_zyg_exit(uv_poll_t *h, int status, int events) {
  wd_pool *p = ((wd__fdpoll *)h->data)->owner;
  (void)status;
  (void)events;
  siginfo_t si = {0};
  while (waitid(P_PIDFD, (id_t)p->zyg.pidfd, &si, WEXITED) < 0 &&
         errno == EINTR)
    ;
  wd__fdpoll_close(p->zyg_pidfd);
  p->zyg_pidfd = NULL;
  if (p->zyg_ctl) {
    take_last_spare(p);
    wd__fdpoll_close(p->zyg_ctl);
    p->zyg_ctl = NULL;
  }
  zq_drop(p);
  if (p->cfg.cgroup[0])
    kill_trees(p);
  if (p->closing) {
    finish_close(p);
    return;
  }
  int err = wake_spare(p);
  for (unsigned i = 0; i < p->nslots; i++) {
    wd__slot *s = &p->slots[i];
    if (s->state == S_DOWN)
      continue;
    if (s->state == S_STARTING)
      wd__slot_on_spawned(s, 0);
    wd__zmsg m = {WD__Z_EXITED, i, s->pid, -1, SIGKILL, 0};
    wd__slot_on_exited(s, &m, NULL); /* respawns through the new zygote */
  }
  if (err)
    wd_pool_shutdown(p, WD_IMMEDIATE);
}

/* ---- queue and dispatch --------------------------------------------------- */

void wd__pool_keepalive(wd_pool *p) {
  if (p->outstanding > 0 || p->closing)
    uv_ref((uv_handle_t *)&p->prepare);
  else
    uv_unref((uv_handle_t *)&p->prepare);
}

void wd__pool_avail(wd_pool *p, wd__slot *s) {
  if (s->in_avail || !wd__slot_can_take(s))
    return;
  s->in_avail = 1;
  s->avail_next = NULL;
  if (p->avail_tail)
    p->avail_tail->avail_next = s;
  else
    p->avail_head = s;
  p->avail_tail = s;
}

static void enqueue(wd_pool *p, wd_future *t, int front) {
  t->slot = NULL;
  if (front) {
    t->prev = NULL;
    t->next = p->q_head;
    if (p->q_head)
      p->q_head->prev = t;
    else
      p->q_tail = t;
    p->q_head = t;
  } else {
    t->next = NULL;
    t->prev = p->q_tail;
    if (p->q_tail)
      p->q_tail->next = t;
    else
      p->q_head = t;
    p->q_tail = t;
  }
}

void wd__pool_requeue_front(wd_pool *p, wd_future *t) { enqueue(p, t, 1); }

void wd__pool_unqueue(wd_pool *p, wd_future *t) {
  if (t->prev)
    t->prev->next = t->next;
  else
    p->q_head = t->next;
  if (t->next)
    t->next->prev = t->prev;
  else
    p->q_tail = t->prev;
  t->next = t->prev = NULL;
}

void wd__pool_task_done(wd_pool *p, wd_future *t) {
  p->outstanding--;
  wd__pool_keepalive(p);
  wd_future_release(t);
  if (p->outstanding == 0)
    wd__pool_maybe_idle(p);
}

/* Once a graceful shutdown has nothing left to hand out, an idle worker
 * has no more use: it leaves now, while others still run, rather than
 * with all of them at the end (a thousand exits cost a second here). */
void wd__pool_maybe_idle(wd_pool *p) {
  if (p->shutdown != WD_GRACEFUL || p->q_head != NULL || p->closing)
    return;
  for (unsigned i = 0; i < p->nslots; i++) {
    wd__slot *s = &p->slots[i];
    if (s->state == S_READY && s->inflight == 0) {
      wd__slot_event(s, E_RETIRE);
      wd__slot_close(s);
    }
  }
}

static void on_prepare(uv_prepare_t *h) {
  wd_pool *p = h->data;
  while (p->q_head && p->avail_head) {
    wd__slot *s = p->avail_head;
    p->avail_head = s->avail_next;
    if (p->avail_head == NULL)
      p->avail_tail = NULL;
    s->in_avail = 0;
    if (!wd__slot_can_take(s))
      continue;
    wd_future *t = p->q_head;
    wd__pool_unqueue(p, t);
    wd__slot_send(s, t);
    if (!s->in_dirty) {
      s->in_dirty = 1;
      s->dirty_next = p->dirty;
      p->dirty = s;
    }
    wd__pool_avail(p, s);
  }
  while (p->dirty) {
    wd__slot *s = p->dirty;
    p->dirty = s->dirty_next;
    s->in_dirty = 0;
    wd__slot_flush(s);
  }
}

int wd__pool_enqueue(wd_pool *p, wd_future *t) {
  if (p->closing || p->shutdown != -1)
    return UV_ECANCELED;
  t->pool = p;
  t->id = ++p->next_id;
  t->refs++; /* the pool's, until the task leaves its lists */
  enqueue(p, t, 0);
  p->outstanding++;
  wd__pool_keepalive(p);
  return 0;
}

/* ---- life ----------------------------------------------------------------- */

/* The pool's own cgroup beneath the one this process runs in, when it may
 * make one (see proc/cgroup.c); else "" and process groups. */
static void pool_cgroup(wd_pool *p) {
  static unsigned seq;
  char self[PATH_MAX], name[64];
  p->cfg.cgroup[0] = '\0';
  if (wd__cgroup_self(self, sizeof(self)) != 0)
    return;
  if (seq == 0)
    wd__cgroup_sweep_stale(self);
  snprintf(name, sizeof(name), "warden.%d.%u", (int)getpid(), ++seq);
  if (wd__cgroup_make(self, name, p->cfg.cgroup, sizeof(p->cfg.cgroup)) != 0)
    p->cfg.cgroup[0] = '\0';
}

const char *wd_pool_containment(const wd_pool *p) {
  return p->cfg.cgroup[0] ? "cgroup" : "process-group";
}

int wd_pool_new(uv_loop_t *loop, const wd_pool_options *opts, wd_pool **out) {
  wd_pool_options o = {0};
  if (opts)
    o = *opts;
  if (loop == NULL || out == NULL || o.workers > 65536)
    return UV_EINVAL;
  if (o.workers == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o.workers = n > 0 ? (unsigned)n : 1;
  }
  if (o.stderr_tail == 0)
    o.stderr_tail = 4096;
  if (o.stderr_tail > 65536)
    o.stderr_tail = 65536;
  wd_pool *p = calloc(1, sizeof(*p));
  wd__slot *slots = calloc(o.workers, sizeof(*slots));
  if (p == NULL || slots == NULL) {
    free(p);
    free(slots);
    return UV_ENOMEM;
  }
  p->loop = loop;
  p->opts = o;
  p->cfg.memory_limit = o.memory_limit;
  p->cfg.cpu_limit_s = o.cpu_limit_s;
  p->cfg.stderr_tail = o.stderr_tail;
  p->shutdown = -1;
  p->slots = slots;
  p->nslots = o.workers;
  p->njobs = wd__job_count();
  p->spare_wake = -1;
  pool_cgroup(p);
  int err = zygote_open(p);
  if (err) {
    if (p->cfg.cgroup[0])
      wd__cgroup_remove(p->cfg.cgroup, 2);
    free(slots);
    free(p);
    return err;
  }
  /* uv_prepare_init and uv_timer_init only fill in a struct, and
   * uv_prepare_start fails only without a callback: none can fail here. */
  uv_timer_init(loop, &p->watchdog);
  p->watchdog.data = p;
  uv_unref((uv_handle_t *)&p->watchdog);
  uv_prepare_init(loop, &p->prepare);
  p->prepare.data = p;
  uv_prepare_start(&p->prepare, on_prepare);
  uv_unref((uv_handle_t *)&p->prepare);
  for (unsigned i = 0; i < p->nslots; i++)
    wd__slot_init(p, &p->slots[i], i);
  for (unsigned i = 0; i < p->nslots; i++)
    wd__slot_start(&p->slots[i]);
  *out = p;
  return 0;
}

int wd_pool_shutdown(wd_pool *p, int how) {
  if (how != WD_GRACEFUL && how != WD_IMMEDIATE)
    return UV_EINVAL;
  if (p->shutdown == WD_IMMEDIATE || p->shutdown == how)
    return 0;
  p->shutdown = how;
  if (how == WD_IMMEDIATE) {
    while (p->q_head) {
      wd_future *t = p->q_head;
      wd__pool_unqueue(p, t);
      wd__task_fail(t, WD_CANCELLED, -1, 0, NULL, 0);
      wd__pool_task_done(p, t);
    }
    for (unsigned i = 0; i < p->nslots; i++)
      if (p->slots[i].inflight > 0)
        wd__slot_kill(&p->slots[i], R_SHUTDOWN, SIGKILL);
  }
  wd__pool_maybe_idle(p);
  return 0;
}

static void on_handle_closed(uv_handle_t *h) {
  wd_pool *p = h->data;
  if (--p->open_handles > 0)
    return;
  for (unsigned i = 0; i < p->nslots; i++) {
    wd__buf_free(&p->slots[i].ibuf);
    wd__buf_free(&p->slots[i].obuf);
  }
  wd__buf_free(&p->zq);
  void (*cb)(void *) = p->close_cb;
  void *data = p->close_data;
  free(p->slots);
  free(p);
  if (cb)
    cb(data);
}

/* The zygote is reaped, so every worker and its tree is too: what is
 * still in flight can resolve, and the handles can go. */
static void finish_close(wd_pool *p) {
  drop_spare(p);
  if (p->cfg.cgroup[0]) /* the zygote removes it; not if it was killed */
    wd__cgroup_remove(p->cfg.cgroup, 2);
  for (unsigned i = 0; i < p->nslots; i++) {
    wd__slot *s = &p->slots[i];
    wd__zmsg m = {WD__Z_EXITED, i, 0, -1, SIGKILL, 0};
    if (s->state == S_STARTING)
      wd__slot_on_spawned(s, 0);
    if (s->state != S_DOWN) {
      s->reason = R_SHUTDOWN;
      if (s->state != S_KILLING)
        wd__slot_event(s, E_KILL);
      wd__slot_on_exited(s, &m, NULL);
    }
  }
  p->open_handles = 2 + (int)p->nslots;
  p->prepare.data = p;
  uv_close((uv_handle_t *)&p->prepare, on_handle_closed);
  uv_close((uv_handle_t *)&p->watchdog, on_handle_closed);
  for (unsigned i = 0; i < p->nslots; i++) {
    p->slots[i].timer.data = p;
    uv_close((uv_handle_t *)&p->slots[i].timer, on_handle_closed);
  }
}

void wd_pool_close(wd_pool *p, void (*cb)(void *data), void *data) {
  if (p->closing)
    return;
  wd_pool_shutdown(p, WD_IMMEDIATE);
  p->closing = 1;
  p->close_cb = cb;
  p->close_data = data;
  wd__pool_keepalive(p);
  for (unsigned i = 0; i < p->nslots; i++) {
    uv_timer_stop(&p->slots[i].timer);
    wd__slot_close(&p->slots[i]);
  }
  /* EOF on its socket: the zygote kills every worker tree, reaps it all,
   * and exits; its pidfd then brings us to finish_close().  Only our
   * writing half closes: a spare it offered meanwhile is still read, and
   * reaped (on_zyg_exit). */
  if (p->zyg_ctl) {
    shutdown(p->zyg_ctl->fd, SHUT_WR);
    wd__fdpoll_set(p->zyg_ctl, 0);
  }
  zq_drop(p);
  if (p->zyg_pidfd) {
    uv_ref((uv_handle_t *)&p->zyg_pidfd->h);
    uv_timer_start(&p->watchdog, on_close_watchdog, 10000, 0); /* stopped? */
  } else {
    finish_close(p);
  }
}

static void set_flag(void *data) { *(int *)data = 1; }

int wd_pool_destroy(wd_pool *p) {
  uv_loop_t *loop = p->loop;
  int done = 0;
  wd_pool_close(p, set_flag, &done);
  while (!done)
    uv_run(loop, UV_RUN_ONCE);
  return 0;
}

uv_loop_t *wd_pool_loop(const wd_pool *p) { return p->loop; }
unsigned wd_pool_size(const wd_pool *p) { return p->nslots; }

size_t wd_pool_pids(const wd_pool *p, pid_t *pids, size_t n) {
  size_t k = 0;
  for (unsigned i = 0; i < p->nslots && k < n; i++)
    if (p->slots[i].pid > 0 && p->slots[i].state != S_DOWN)
      pids[k++] = p->slots[i].pid;
  return k;
}
