/* control.c -- the pool's side of its zygote: the control socket, the
 * zygote's death, and the spare that takes over then.
 *
 * Messages to the zygote go out in order, through a queue when the socket
 * is full; its reports (SPAWNED, SPAWN_FAIL, EXITED) go to the slot they
 * name.  When the zygote dies -- the pool closing, or someone killing it --
 * every worker is gone with it, and each slot hears so as LOST. */
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

/* How long a closing pool's zygote has to kill and reap every worker tree
 * and exit; one that has not by then was stopped (a command can SIGSTOP
 * it) and is killed. */
#define CLOSE_WATCHDOG_MS 10000

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

int wd__pool_zygote_spawn(wd_pool *p, uint32_t id, int fd) {
  wd__zmsg m = {WD__Z_SPAWN, id, 0, 0, 0, 0};
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
      wd__slot_on_exited(s, m.code, m.sig, buf + sizeof(m), m.tail_len);
  }
}

static void on_zyg_exit(uv_poll_t *h, int status, int events);

/* ---- the spare zygote (see worker/zygote.c) --------------------------- */

/* Reaps a spare that is ours and has exited, or is about to (its wake
 * socket closed: it leaves at once). */
void wd__pool_drop_spare(wd_pool *p) {
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
  wd__pool_drop_spare(p);
  if (!p->closing && p->zyg_ctl) {
    wd__zmsg m = {WD__Z_SPARE, 0, 0, 0, 0, 0};
    zsend(p, &m, -1);
  }
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

int wd__pool_zygote_open(wd_pool *p) {
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

void wd__pool_zygote_stuck(wd_pool *p) {
  /* Our child, unreaped: SIGKILL reaches it even stopped.  Its death brings
   * on_zyg_exit: every tree killed, the spare takes over. */
  if (p->zyg_pidfd)
    pidfd_send_signal(p->zyg_pidfd->fd, SIGKILL, NULL, 0);
}

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
    wd__pool_finish_close(p);
    return;
  }
  int err = wake_spare(p);
  for (unsigned i = 0; i < p->nslots; i++)
    wd__slot_lost(&p->slots[i], WD__R_NONE); /* respawns through the spare */
  if (err)
    wd_pool_shutdown(p, WD_IMMEDIATE);
}


static void on_close_watchdog(uv_timer_t *h) { wd__pool_zygote_stuck(h->data); }

void wd__pool_zygote_close(wd_pool *p) {
  /* EOF on its socket: the zygote kills every worker tree, reaps it all,
   * and exits; its pidfd then brings us to wd__pool_finish_close().  Only
   * our writing half closes: a spare it offered meanwhile is still read,
   * and reaped (on_zyg_exit). */
  if (p->zyg_ctl) {
    shutdown(p->zyg_ctl->fd, SHUT_WR);
    wd__fdpoll_set(p->zyg_ctl, 0);
  }
  zq_drop(p);
  if (p->zyg_pidfd) {
    uv_ref((uv_handle_t *)&p->zyg_pidfd->h);
    uv_timer_start(&p->watchdog, on_close_watchdog, CLOSE_WATCHDOG_MS, 0);
  } else {
    wd__pool_finish_close(p);
  }
}
