/* zygote.c -- the small process that forks and reaps the workers.
 *
 * Why a zygote: forking the supervisor itself once its libuv loop runs
 * gives the child a copy of the loop's signal pipe and of a threadpool that
 * no longer exists.  The zygote is forked once, when the pool is created,
 * drops every inherited fd but its control socket and never touches libuv;
 * each worker is a fork of that clean, single-threaded process.
 *
 * The zygote is the workers' parent and their only reaper.  That is what
 * makes group kills safe: it signals a worker's process group only while
 * that worker is unreaped -- it knows, because it is the one that reaps --
 * so the pgid cannot have been reused.  When a worker dies the zygote kills
 * the rest of its group and every descendant that escaped with setsid()
 * (re-parented to the zygote, a child subreaper), reaps them all, and only
 * then reports EXITED: a future that resolves WD_TIMEOUT means the whole
 * tree is gone.
 *
 * If the supervisor dies, even by SIGKILL, the zygote sees its pidfd become
 * readable (and its socket hang up), kills every worker tree and exits. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker.h"

#define CTL_FD 3
#define EV_CTL UINT64_MAX
#define EV_PARENT (UINT64_MAX - 1)
#define EV_EMPTY (1ull << 32) /* | id: worker id's cgroup became empty */

typedef struct {
  pid_t pid; /* 0: the slot is free */
  int pidfd;
  int memfd;
  int evfd;  /* its cgroup's cgroup.events, or -1 */
  int dying; /* reaped; waiting for its cgroup to empty */
  int code, sig; /* how it ended */
} zworker;

/* fds that libuv's pthread_atfork child handler created in the zygote (see
 * find_atfork_fds).  Kept open in the zygote and every worker. */
#define MAX_RESERVED 6 /* 4, and two more: a worker's task cgroup files,
                          a spare's wake socket and supervisor pidfd */
#define SCAN_FDS 256

typedef struct {
  dev_t dev;
  ino_t ino;
} fdid;

static struct {
  int reserved[MAX_RESERVED];
  int nreserved;
  fdid *before; /* the supervisor's fds 0..SCAN_FDS-1 at fork time */
  const wd__worker_cfg *cfg;
  int ep;
  zworker *w; /* indexed by the supervisor's worker id */
  size_t nw;
  wd__buf outq; /* EXITED/SPAWNED messages not yet sent: [u32 len][msg] */
  int ppfd;     /* the supervisor's pidfd */
} zy; /* the zygote's own state: one zygote per process */

/* ---- supervisor side ---------------------------------------------------- */

int wd__zygote_send(int fd, const wd__zmsg *m, int passfd) {
  struct iovec iov = {(void *)m, sizeof(*m)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (passfd >= 0) {
    memset(&u, 0, sizeof(u));
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof(u.buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &passfd, sizeof(int));
  }
  for (;;) {
    ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    if (n >= 0)
      return 0;
    if (errno != EINTR)
      return -errno;
  }
}

ssize_t wd__zygote_recv(int fd, void *buf, size_t n, int flags, int *passfd) {
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = {buf, n};
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof(u.buf);
  *passfd = -1;
  ssize_t r;
  while ((r = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
    ;
  struct cmsghdr *c = r > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
  if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
    memcpy(passfd, CMSG_DATA(c), sizeof(int));
  return r < 0 ? -errno : r;
}

static void zygote_main(int sock, pid_t parent) __attribute__((noreturn));

static void snapshot_fds(fdid *ids) {
  for (int fd = 0; fd < SCAN_FDS; fd++) {
    struct stat st;
    ids[fd] = fstat(fd, &st) == 0 ? (fdid){st.st_dev, st.st_ino} : (fdid){0, 0};
  }
}

/* libuv registers a pthread_atfork child handler that closes its signal
 * lock pipe -- by the fd numbers it had in the supervisor -- and makes a
 * new one.  It ran when the zygote was forked; it runs again in every child
 * a job makes with fork().  There it would close whatever the job's own
 * descriptors happen to be at those numbers (a pipe to its child, say).  So
 * the zygote finds the pipe the handler just made -- descriptors that the
 * supervisor did not have -- and keeps those numbers occupied, in itself
 * and in every worker: the handler then only ever closes its own pipe. */
static void find_atfork_fds(int sock) {
  for (int fd = CTL_FD; fd < SCAN_FDS && zy.nreserved < MAX_RESERVED - 2; fd++) {
    struct stat st;
    if (fd == sock || fstat(fd, &st) != 0)
      continue;
    if (st.st_dev != zy.before[fd].dev || st.st_ino != zy.before[fd].ino)
      zy.reserved[zy.nreserved++] = fd;
  }
}

/* close_range() from `lo` up, sparing the reserved descriptors. */
static void close_from(int lo) {
  int keep[MAX_RESERVED], n = 0;
  for (int i = 0; i < zy.nreserved; i++)
    if (zy.reserved[i] >= lo)
      keep[n++] = zy.reserved[i];
  for (int i = 1; i < n; i++) /* a handful: insertion sort */
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  for (int i = 0; i < n; i++) {
    if (keep[i] > lo)
      close_range((unsigned)lo, (unsigned)keep[i] - 1, 0);
    lo = keep[i] + 1;
  }
  close_range((unsigned)lo, ~0u, 0);
}

int wd__zygote_start(const wd__worker_cfg *cfg, wd__zygote *z) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return -errno;
  zy.cfg = cfg; /* the child's copy of the pointer stays valid: it is ours */
  fdid before[SCAN_FDS];
  snapshot_fds(before);
  zy.before = before; /* read by the child only, in its copy of our stack */
  pid_t parent = getpid();
  sigset_t old;
  pid_t pid = wd__fork(&old, 0);
  if (pid < 0) {
    int err = -errno;
    close(sv[0]);
    close(sv[1]);
    return err;
  }
  if (pid == 0)
    zygote_main(sv[1], parent); /* keeps every signal blocked */
  close(sv[1]);
  int pidfd = pidfd_open(pid, 0);
  if (pidfd < 0) { /* unreaped child: its pid is still ours to signal */
    int err = -errno;
    kill(pid, SIGKILL);
    close(sv[0]);
    siginfo_t si;
    while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 && errno == EINTR)
      ;
    return err;
  }
  fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  z->pid = pid;
  z->pidfd = pidfd;
  z->fd = sv[0];
  return 0;
}

/* ---- zygote side -------------------------------------------------------- */

static void queue_msg(const wd__zmsg *m, const void *tail) {
  uint32_t len = (uint32_t)(sizeof(*m) + m->tail_len);
  if (wd__buf_reserve(&zy.outq, sizeof(len) + len) != 0)
    _exit(WD__WORKER_NOMEM);
  memcpy(zy.outq.p + zy.outq.len, &len, sizeof(len));
  memcpy(zy.outq.p + zy.outq.len + sizeof(len), m, sizeof(*m));
  if (m->tail_len)
    memcpy(zy.outq.p + zy.outq.len + sizeof(len) + sizeof(*m), tail,
           m->tail_len);
  zy.outq.len += sizeof(len) + len;
}

/* Sends queued messages without blocking; the supervisor may be busy
 * sending to us, and neither side may wait on the other. */
static void send_msgs(void) {
  while (zy.outq.off < zy.outq.len) {
    uint32_t len;
    memcpy(&len, zy.outq.p + zy.outq.off, sizeof(len));
    ssize_t n = send(CTL_FD, zy.outq.p + zy.outq.off + sizeof(len), len,
                     MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break; /* EAGAIN: EPOLLOUT brings us back; EPIPE: EOF follows */
    wd__buf_consume(&zy.outq, sizeof(len) + len);
  }
}

/* send_msgs(), then wait for the socket to be writable if it is full. */
static void flush_msgs(void) {
  send_msgs();
  struct epoll_event ev = {EPOLLIN, {.u64 = EV_CTL}};
  if (zy.outq.off < zy.outq.len)
    ev.events |= EPOLLOUT;
  if (epoll_ctl(zy.ep, EPOLL_CTL_MOD, CTL_FD, &ev) != 0)
    _exit(WD__WORKER_NOMEM); /* could never send again: the supervisor's spare takes over */
}

static int cmp_pid(const void *a, const void *b) {
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
  return (x > y) - (x < y);
}

typedef struct {
  pid_t *pids;
  size_t n;
} pidset;

static int is_worker(pid_t pid, void *arg) {
  const pidset *s = arg;
  return bsearch(&pid, s->pids, s->n, sizeof(pid), cmp_pid) != NULL;
}

/* The pids of our workers, sorted (free .pids). */
static pidset live_workers(void) {
  pidset s = {malloc(sizeof(pid_t) * (zy.nw + 1)), 0};
  if (s.pids == NULL)
    _exit(WD__WORKER_NOMEM);
  for (size_t i = 0; i < zy.nw; i++)
    if (zy.w[i].pid && !zy.w[i].dying)
      s.pids[s.n++] = zy.w[i].pid;
  qsort(s.pids, s.n, sizeof(pid_t), cmp_pid);
  return s;
}

/* Kills and reaps every child of ours that is not a live worker: what
 * escaped from the trees of workers that died. */
static void sweep_orphans(void) {
  pidset s = live_workers();
  wd__kill_children(is_worker, &s);
  free(s.pids);
}

/* The path of worker id's cgroup. */
static int worker_cgroup(uint32_t id, char *out, size_t n) {
  int len = snprintf(out, n, "%s/w%u", zy.cfg->cgroup, id);
  return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

/* Makes worker id's cgroup and its task cgroup (kept between workers of
 * the same slot) and opens what the zygote and the worker need of them. */
static int open_cgroups(uint32_t id, int *procs, int *events, int task[2]) {
  char name[16], w[PATH_MAX], t[PATH_MAX];
  snprintf(name, sizeof(name), "w%u", id);
  int err = wd__cgroup_make(zy.cfg->cgroup, name, w, sizeof(w));
  if (err == 0)
    err = wd__cgroup_make(w, "task", t, sizeof(t));
  if (err)
    return err;
  *procs = wd__cgroup_open(w, "cgroup.procs", O_WRONLY);
  *events = wd__cgroup_open(w, "cgroup.events", O_RDONLY);
  task[0] = wd__cgroup_open(t, "cgroup.procs", O_WRONLY);
  task[1] = wd__cgroup_open(t, "cgroup.kill", O_WRONLY);
  int fds[4] = {*procs, *events, task[0], task[1]};
  for (int i = 0; i < 4; i++)
    if (fds[i] < 0)
      err = fds[i];
  if (err)
    for (int i = 0; i < 4; i++)
      if (fds[i] >= 0)
        close(fds[i]);
  return err;
}

static void worker_child(int sock, int memfd, pid_t zygote, const int task[2])
    __attribute__((noreturn));

static void worker_child(int sock, int memfd, pid_t zygote, const int task[2]) {
  setpgid(0, 0); /* each worker, and so each task, is its own group */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != zygote) /* the zygote died before prctl took effect */
    _exit(WD__WORKER_SETUP);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  /* Lift the descriptors out of the way (no higher than needed: a low
   * RLIMIT_NOFILE must still fit), then put them in place: fd 2 the
   * stderr memfd, 3 the socket, 4 the supervisor's stderr.  The task
   * cgroup's files stay where they land, spared like the reserved fds. */
  const int lift = WD__FD_STDERR + 1;
  int s = fcntl(sock, F_DUPFD_CLOEXEC, lift);
  int m = fcntl(memfd, F_DUPFD_CLOEXEC, lift);
  int e = fcntl(2, F_DUPFD_CLOEXEC, lift);
  int tp = task[0] >= 0 ? fcntl(task[0], F_DUPFD_CLOEXEC, lift) : -1;
  int tk = task[1] >= 0 ? fcntl(task[1], F_DUPFD_CLOEXEC, lift) : -1;
  if (s < 0 || m < 0 || e < 0 || (task[0] >= 0 && (tp < 0 || tk < 0)) ||
      dup2(m, 2) < 0 || dup3(s, WD__FD_SOCK, O_CLOEXEC) < 0 ||
      dup3(e, WD__FD_STDERR, O_CLOEXEC) < 0)
    _exit(WD__WORKER_SETUP);
  if (tp >= 0) {
    zy.reserved[zy.nreserved++] = tp;
    zy.reserved[zy.nreserved++] = tk;
  }
  close_from(WD__FD_STDERR + 1);
  wd__worker_task_cgroup(tp, tk);
#ifndef __SANITIZE_ADDRESS__ /* ASan's shadow memory cannot live under one */
  if (zy.cfg->memory_limit) {
    struct rlimit rl = {zy.cfg->memory_limit, zy.cfg->memory_limit};
    setrlimit(RLIMIT_AS, &rl);
  }
#endif
  /* Everything open but the supervisor's task requests, which wait for
   * the worker's handler (worker.c). */
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, WD__SIG_TASK);
  pthread_sigmask(SIG_SETMASK, &mask, NULL);
  wd__worker_main(zy.cfg);
}

/* Room for worker `id` in the table; with none, the zygote cannot go on
 * (the supervisor sees it exit and its spare takes over). */
static void grow_table(uint32_t id) {
  if (id < zy.nw)
    return;
  size_t n = zy.nw ? zy.nw : 16;
  while (n <= id)
    n *= 2;
  zworker *w = realloc(zy.w, n * sizeof(*w));
  if (w == NULL)
    _exit(WD__WORKER_NOMEM);
  memset(w + zy.nw, 0, (n - zy.nw) * sizeof(*w));
  zy.w = w;
  zy.nw = n;
}

/* Takes charge of the new worker `pid`: its pidfd in *pidfd, watched, and
 * the worker in its cgroup (procs >= 0).  0, or a negative errno with the
 * worker killed and reaped. */
static int adopt(pid_t pid, uint32_t id, int procs, int *pidfd) {
  /* Also from this side, so no kill can come before the child's own
   * setpgid and miss its group.  Into its cgroup before SPAWNED: it runs
   * nothing of a task's before the supervisor hears of it. */
  setpgid(pid, pid);
  struct epoll_event ev = {EPOLLIN, {.u64 = id}};
  int err = 0;
  if ((*pidfd = pidfd_open(pid, 0)) < 0 ||
      (procs >= 0 && (err = wd__cgroup_move(procs, pid)) != 0) ||
      epoll_ctl(zy.ep, EPOLL_CTL_ADD, *pidfd, &ev) != 0) {
    if (err == 0)
      err = -errno;
    kill(pid, SIGKILL); /* unreaped: the pid is still this child's */
    siginfo_t si;
    while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 && errno == EINTR)
      ;
  }
  return err;
}

static void spawn(uint32_t id, int sock) {
  wd__zmsg r = {WD__Z_SPAWNED, id, 0, 0, 0, 0};
  grow_table(id);
  pid_t self = getpid();
  int memfd = -1, procs = -1, events = -1, task[2] = {-1, -1}, err = 0;
  int pidfd = -1;
  sigset_t old;
  pid_t pid = -1;
  if (zy.w[id].pid)
    err = -EBUSY; /* the supervisor waits for EXITED before reusing an id */
  else if (zy.cfg->cgroup[0])
    err = open_cgroups(id, &procs, &events, task);
  if (err == 0 && (memfd = memfd_create("warden-stderr", MFD_CLOEXEC)) < 0)
    err = -errno;
  if (err == 0 && (pid = wd__fork(&old, 1)) < 0)
    err = -errno;
  if (pid == 0)
    worker_child(sock, memfd, self, task);
  if (pid > 0 && (err = adopt(pid, id, procs, &pidfd)) != 0)
    pid = -1;
  close(sock);
  int spare[4] = {procs, task[0], task[1], pid < 0 ? events : -1};
  for (int i = 0; i < 4; i++)
    if (spare[i] >= 0)
      close(spare[i]);
  if (pid < 0) {
    r.type = WD__Z_SPAWN_FAIL;
    r.code = err ? err : -EAGAIN;
    if (pidfd >= 0)
      close(pidfd);
    if (memfd >= 0)
      close(memfd);
    queue_msg(&r, NULL);
    return;
  }
  zy.w[id] = (zworker){pid, pidfd, memfd, events, 0, 0, 0};
  r.pid = pid;
  queue_msg(&r, NULL);
  /* At once, not after the whole burst of SPAWNs: the supervisor gives
   * this worker its first task while we fork the next one. */
  send_msgs();
}

/* The worker's tree is gone: the EXITED report, with its stderr's tail. */
static void worker_finish(uint32_t id) {
  zworker *w = &zy.w[id];
  if (zy.cfg->cgroup[0]) { /* its tree's zombies, re-parented to us */
    pidset s = live_workers();
    wd__reap_exited(is_worker, &s);
    free(s.pids);
  }
  wd__zmsg r = {WD__Z_EXITED, id, w->pid, w->code, w->sig, 0};
  char tail[65536];
  struct stat st;
  size_t cap = zy.cfg->stderr_tail < sizeof(tail) ? zy.cfg->stderr_tail
                                                 : sizeof(tail);
  if (fstat(w->memfd, &st) == 0 && st.st_size > 0) {
    size_t n = (size_t)st.st_size < cap ? (size_t)st.st_size : cap;
    ssize_t got = pread(w->memfd, tail, n, st.st_size - (off_t)n);
    r.tail_len = got > 0 ? (uint32_t)got : 0;
  }
  if (w->evfd >= 0) {
    if (w->dying)
      epoll_ctl(zy.ep, EPOLL_CTL_DEL, w->evfd, NULL);
    close(w->evfd);
  }
  close(w->memfd);
  memset(w, 0, sizeof(*w));
  queue_msg(&r, tail);
}

/* The worker has exited (its pidfd is readable) or is being shut down.
 * Its tree dies with it: the whole cgroup at once, or (without cgroups)
 * its group and a sweep of what was re-parented to us.  With a cgroup the
 * report waits, without blocking anyone else's deadline, until the kernel
 * says the cgroup is empty. */
static void worker_died(uint32_t id, int sweep) {
  zworker *w = &zy.w[id];
  /* Still unreaped, so the group id is still this worker's own. */
  kill(-w->pid, SIGKILL);
  if (zy.cfg->cgroup[0]) {
    char path[PATH_MAX];
    if (worker_cgroup(id, path, sizeof(path)) == 0)
      wd__cgroup_kill(path);
  } else if (sweep) {
    sweep_orphans();
  }
  siginfo_t si = {0};
  while (waitid(P_PIDFD, (id_t)w->pidfd, &si, WEXITED) < 0 && errno == EINTR)
    ;
  w->code = si.si_code == CLD_EXITED ? si.si_status : -1;
  w->sig = si.si_code == CLD_EXITED ? 0 : si.si_status;
  epoll_ctl(zy.ep, EPOLL_CTL_DEL, w->pidfd, NULL);
  close(w->pidfd);
  w->pidfd = -1;
  struct epoll_event ev = {EPOLLPRI, {.u64 = EV_EMPTY | id}};
  if (w->evfd >= 0 && wd__cgroup_populated(w->evfd) == 1) {
    if (epoll_ctl(zy.ep, EPOLL_CTL_ADD, w->evfd, &ev) != 0) {
      wd__cgroup_wait_empty(w->evfd, 1000); /* cannot watch it: wait here */
    } else {
      w->dying = 1;
      if (wd__cgroup_populated(w->evfd) == 1) /* it may have emptied since */
        return;
    }
  }
  worker_finish(id);
}

/* A signal for worker id's tree, or (WD__KILL_TASK) a request to the
 * worker to signal its task's tree and answer. */
static void kill_worker(uint32_t id, int sig, int scope, uint32_t tag) {
  zworker *w = &zy.w[id];
  if (scope == WD__KILL_TASK) {
    union sigval v = {.sival_int = (int)(WD__TAG(tag) << 8 | (uint32_t)sig)};
    sigqueue(w->pid, WD__SIG_TASK, v); /* unreaped: the pid is the worker */
    return;
  }
  /* Only a worker we have not reaped: its pgid is still its own. */
  kill(-w->pid, sig);
  if (sig == SIGKILL && zy.cfg->cgroup[0]) {
    char path[PATH_MAX];
    if (worker_cgroup(id, path, sizeof(path)) == 0)
      wd__cgroup_kill(path);
  } else if (sig == SIGKILL) {
    wd__kill_children_of(w->pid);
  } else if (sig != SIGCONT) {
    kill(-w->pid, SIGCONT); /* a stopped task cannot act on the first */
  }
}

static void shutdown_all(void) __attribute__((noreturn));

static void shutdown_all(void) {
  if (zy.cfg->cgroup[0]) /* every worker and task tree, at once */
    wd__cgroup_kill(zy.cfg->cgroup);
  for (size_t i = 0; i < zy.nw; i++)
    if (zy.w[i].pid && !zy.w[i].dying)
      kill(-zy.w[i].pid, SIGKILL);
  for (size_t i = 0; i < zy.nw; i++)
    if (zy.w[i].pid && !zy.w[i].dying)
      worker_died((uint32_t)i, 0);
  wd__kill_children(NULL, NULL); /* one sweep for all of them */
  if (zy.cfg->cgroup[0]) {
    int ev = wd__cgroup_open(zy.cfg->cgroup, "cgroup.events", O_RDONLY);
    if (ev >= 0)
      wd__cgroup_wait_empty(ev, 5000);
    wd__cgroup_remove(zy.cfg->cgroup, 2);
  }
  _exit(WD__WORKER_DONE);
}

static void offer_spare(void);

static void read_ctl(void) {
  for (;;) {
    wd__zmsg m;
    int fd;
    ssize_t n = wd__zygote_recv(CTL_FD, &m, sizeof(m), MSG_DONTWAIT, &fd);
    if (n == -EAGAIN || n == -EWOULDBLOCK)
      return;
    if (n <= 0)
      shutdown_all(); /* EOF: the pool closed, or the supervisor died */
    if ((size_t)n != sizeof(m)) {
      if (fd >= 0)
        close(fd);
      continue;
    }
    if (m.type == WD__Z_SPAWN && fd >= 0) {
      spawn(m.id, fd);
    } else if (m.type == WD__Z_SPARE) {
      if (fd >= 0)
        close(fd);
      offer_spare(); /* the supervisor lost the last one */
    } else {
      if (fd >= 0)
        close(fd);
      if (m.type == WD__Z_KILL && m.id < zy.nw && zy.w[m.id].pid &&
          !zy.w[m.id].dying && m.sig > 0 && m.sig < NSIG)
        kill_worker(m.id, m.sig, m.code, (uint32_t)m.pid);
    }
  }
}

/* ---- the spare ---------------------------------------------------------
 *
 * A zygote killed from outside must be replaced, and the supervisor may not
 * fork a new one: by then its loop runs and other threads may hold locks a
 * child would inherit held (the test that kills the zygote while the uv
 * threadpool allocates hung a re-forked zygote for good).  So each zygote
 * keeps a spare: a copy of itself -- a clean, single-threaded process --
 * made with CLONE_PARENT, so that it is the supervisor's own child, as the
 * zygote is.  The spare waits on its wake socket; the supervisor hands it a
 * new control socket when the zygote dies, and it carries on as the zygote
 * (and makes its own spare).  It leaves when the wake socket closes or the
 * supervisor dies. */

static void zygote_run(void) __attribute__((noreturn));

static void spare_main(int wake) __attribute__((noreturn));

static void spare_main(int wake) {
  /* Nothing of the zygote's but what every zygote keeps: its control
   * socket must close with it, or the supervisor would miss its death. */
  zy.reserved[zy.nreserved] = wake;
  zy.reserved[zy.nreserved + 1] = zy.ppfd;
  zy.nreserved += 2;
  close_from(CTL_FD);
  zy.nreserved -= 2;
  free(zy.w);
  zy.w = NULL;
  zy.nw = 0;
  zy.outq = (wd__buf){0};
  struct pollfd p[2] = {{wake, POLLIN, 0}, {zy.ppfd, POLLIN, 0}};
  while (poll(p, 2, -1) < 0)
    ;
  if (p[1].revents) /* the supervisor is gone */
    _exit(WD__WORKER_DONE);
  wd__zmsg m;
  int ctl;
  wd__zygote_recv(wake, &m, sizeof(m), 0, &ctl);
  if (ctl < 0) /* EOF: the pool closed */
    _exit(WD__WORKER_DONE);
  close(wake);
  if (ctl != CTL_FD) { /* fd 3 is free (closed above): it usually lands there */
    if (dup3(ctl, CTL_FD, O_CLOEXEC) < 0)
      _exit(WD__WORKER_SETUP);
    close(ctl);
  }
  setpgid(0, 0);
  prctl(PR_SET_CHILD_SUBREAPER, 1); /* not inherited */
  zygote_run();
}

/* Makes a spare and sends the supervisor its pid and wake socket (SPARE).
 * Without one, a zygote killed from outside ends the pool. */
static void offer_spare(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return;
  pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
  if (pid == 0) {
    close(sv[0]);
    spare_main(sv[1]);
  }
  close(sv[1]);
  if (pid > 0) {
    wd__zmsg m = {WD__Z_SPARE, 0, pid, 0, 0, 0};
    if (wd__zygote_send(CTL_FD, &m, sv[0]) != 0)
      kill(pid, SIGKILL); /* the supervisor, its parent, reaps it */
  }
  close(sv[0]);
}

static void zygote_main(int sock, pid_t parent) {
  setpgid(0, 0); /* out of the terminal's group: ^C is the supervisor's */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  find_atfork_fds(sock);
  for (int i = 0; i < zy.nreserved; i++) /* fd 3 is about to be ours */
    if (zy.reserved[i] == CTL_FD)
      zy.reserved[i] = zy.reserved[--zy.nreserved];
  if (sock != CTL_FD && dup3(sock, CTL_FD, O_CLOEXEC) < 0)
    _exit(WD__WORKER_SETUP);
  close_from(CTL_FD + 1);
  for (int fd = 0; fd < CTL_FD; fd++) /* workers expect 0-2 to exist */
    if (fcntl(fd, F_GETFD) < 0 || fd == sock)
      if (fd != open("/dev/null", O_RDWR))
        _exit(WD__WORKER_SETUP);
  zy.ppfd = pidfd_open(parent, 0);
  if (zy.ppfd < 0 || getppid() != parent)
    _exit(WD__WORKER_DONE); /* the supervisor is already gone */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max; /* two fds per worker, thousands of them */
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  zygote_run();
}

static void zygote_run(void) {
  zy.ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {EPOLLIN, {.u64 = EV_CTL}};
  struct epoll_event pev = {EPOLLIN, {.u64 = EV_PARENT}};
  if (zy.ep < 0 || epoll_ctl(zy.ep, EPOLL_CTL_ADD, CTL_FD, &ev) != 0 ||
      epoll_ctl(zy.ep, EPOLL_CTL_ADD, zy.ppfd, &pev) != 0)
    _exit(WD__WORKER_SETUP);
  offer_spare();
  for (;;) {
    struct epoll_event evs[64];
    int n = epoll_wait(zy.ep, evs, 64, -1);
    for (int i = 0; i < n; i++) {
      uint64_t k = evs[i].data.u64;
      if (k == EV_PARENT)
        shutdown_all();
      else if (k == EV_CTL && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        read_ctl();
      else if ((k & EV_EMPTY) && (uint32_t)k < zy.nw && zy.w[(uint32_t)k].dying) {
        if (wd__cgroup_populated(zy.w[(uint32_t)k].evfd) != 1)
          worker_finish((uint32_t)k);
      } else if (k < zy.nw && zy.w[k].pid && !zy.w[k].dying)
        worker_died((uint32_t)k, 1);
    }
    flush_msgs();
  }
}
