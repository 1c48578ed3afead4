/* internal.h -- what the supervisor, the zygote, the workers and the pool
 * share and no user sees: the growable buffer, the job registry, the fork
 * discipline, and the zygote's side of the process layer.  Non-static
 * names here carry the wd__ prefix. */
#ifndef WD_INTERNAL_H
#define WD_INTERNAL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "warden.h"

#define WD__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- growable byte buffer (also what a job's wd_out is) ---------------- */

struct wd_out {
  char *p;
  size_t len; /* bytes in use */
  size_t off; /* bytes already consumed from the front (readers) */
  size_t cap;
};
typedef struct wd_out wd__buf;

int wd__buf_reserve(wd__buf *b, size_t extra); /* 0 or UV_ENOMEM */
void wd__buf_consume(wd__buf *b, size_t n);   /* drop n bytes from the front */
void wd__buf_free(wd__buf *b);

/* ---- job registry (jobs/registry.c) ------------------------------------ */

#define WD__MAX_JOBS 256
int wd__job_lookup(const char *name);      /* index, or UV_ENOENT */
wd_job_fn wd__job_fn(unsigned index);       /* NULL for a bad index */
unsigned wd__job_count(void);

/* ---- fork discipline (supervisor/fork.c) ------------------------------- */

/* Forks with every signal blocked; single_threaded selects _Fork(), which
 * runs no atfork handlers (see fork.c).  The parent gets its mask back
 * (the old one is left in *oldmask); in the child every disposition is
 * SIG_DFL and every signal is still blocked until it sets the mask it
 * wants.  Returns fork()'s value; -1 sets errno.  The child must leave with
 * _exit(). */
pid_t wd__fork(sigset_t *oldmask, int single_threaded);

/* ---- process trees (supervisor/reap.c) --------------------------------- */

/* Kills (SIGKILL) and reaps every child of the calling process for which
 * keep(pid, arg) is false, over and over, since this process is a child
 * subreaper and each killed child's children are re-parented to it.  Ends
 * when no such child is left.  Returns how many it reaped. */
int wd__kill_children(int (*keep)(pid_t pid, void *arg), void *arg);

/* Sends SIGKILL to every child of `worker` (a child of ours) and to their
 * process groups, so that they die together with it instead of one after
 * the other later.  Only safe once `worker` itself has been sent SIGKILL:
 * from then on nothing but us can reap its children, so their pids are
 * pinned until we do. */
void wd__kill_children_of(pid_t worker);

/* ---- the zygote (supervisor/zygote.c) ---------------------------------- */

typedef struct {
  uint64_t memory_limit;
  uint64_t cpu_limit_s;
  size_t stderr_tail;
} wd__worker_cfg;

/* Messages on the zygote's SOCK_SEQPACKET socket.  A SPAWN carries the
 * worker's socket end as SCM_RIGHTS; an EXITED is followed by `tail_len`
 * bytes of the worker's last stderr. */
enum {
  WD__Z_SPAWN = 1,  /* sup -> zyg: fork worker `id` */
  WD__Z_KILL,       /* sup -> zyg: signal `sig` to worker `id`'s group */
  WD__Z_SPAWNED,    /* zyg -> sup: worker `id` is `pid` */
  WD__Z_SPAWN_FAIL, /* zyg -> sup: fork failed with -`code` */
  WD__Z_EXITED      /* zyg -> sup: worker `id` and its tree are reaped */
};

typedef struct {
  uint32_t type;
  uint32_t id;
  int32_t pid;
  int32_t code; /* exit code, -1 if signalled; SPAWN_FAIL: negative errno */
  int32_t sig;  /* terminating signal, or the signal to send */
  uint32_t tail_len;
} wd__zmsg;

#define WD__ZMSG_MAX (sizeof(wd__zmsg) + 65536)

typedef struct {
  pid_t pid;
  int pidfd; /* of the zygote, our own child: waitid(P_PIDFD) reaps it */
  int fd;    /* our end of the control socket */
} wd__zygote;

/* Forks the zygote (see zygote.c for why there is one).  Returns 0 or a
 * negative errno; on error nothing is left open. */
int wd__zygote_start(const wd__worker_cfg *cfg, wd__zygote *z);

/* Sends a message (and fd, if >= 0) to the zygote.  0 or negative errno. */
int wd__zygote_send(int fd, const wd__zmsg *m, int passfd);

/* ---- the worker (supervisor/worker.c) ---------------------------------- */

/* Fixed descriptors in a worker. */
#define WD__FD_SOCK 3   /* tasks in, results out (close-on-exec) */
#define WD__FD_STDERR 4 /* the supervisor's own stderr (close-on-exec) */

/* The worker's main loop; returns when the supervisor closes the socket. */
void wd__worker_main(const wd__worker_cfg *cfg) __attribute__((noreturn));

#endif /* WD_INTERNAL_H */
