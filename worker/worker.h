/* worker.h -- the supervised side: the zygote that forks workers, the
 * worker's loop, and the job registry that is its dispatch table.  The
 * pool (above) talks to them through this header and proto.h; jobs (above)
 * through job.h.  Nothing here calls up into pool/ or jobs/. */
#ifndef WD_WORKER_H
#define WD_WORKER_H

#include "../proc/proc.h"
#include "job.h"

/* ---- job registry (worker/registry.c) ------------------------------------ */

#define WD__MAX_JOBS 256
int wd__job_lookup(const char *name);      /* index, or UV_ENOENT */
wd_job_fn wd__job_fn(unsigned index);       /* NULL for a bad index */
unsigned wd__job_count(void);
/* Whether job `index` declared itself a guardian (job.h). */
int wd__job_is_guardian(unsigned index);

/* ---- how a worker or a zygote process exits ------------------------------ */

/* The statuses a worker's EXITED carries (and a zygote's wait status)
 * when the process ends on its own rather than being killed.  70 and 71
 * are sysexits.h's EX_SOFTWARE and EX_OSERR, so a user reading "worker
 * exited with code 70" can look it up. */
#define WD__WORKER_DONE 0     /* EOF: retired, or the supervisor is gone */
#define WD__WORKER_SETUP 1    /* its descriptors could not be set up */
#define WD__WORKER_NOMEM 70   /* out of memory where it cannot answer */
#define WD__WORKER_PROTO 71   /* the supervisor's stream was corrupt */

/* ---- the zygote (worker/zygote.c) ---------------------------------- */

typedef struct {
  uint64_t memory_limit;
  uint64_t cpu_limit_s;
  size_t stderr_tail;
  char cgroup[PATH_MAX]; /* the pool's cgroup; "" when it uses groups */
} wd__worker_cfg;

/* Messages on the zygote's SOCK_SEQPACKET socket.  A SPAWN carries the
 * worker's socket end as SCM_RIGHTS; an EXITED is followed by `tail_len`
 * bytes of the worker's last stderr. */
enum {
  WD__Z_SPAWN = 1,  /* sup -> zyg: fork worker `id` */
  WD__Z_KILL,       /* sup -> zyg: signal `sig` to worker `id`'s tree, or
                       (code WD__KILL_TASK) to its task only; pid = tag */
  WD__Z_SPAWNED,    /* zyg -> sup: worker `id` is `pid` */
  WD__Z_SPAWN_FAIL, /* zyg -> sup: fork failed with -`code` */
  WD__Z_EXITED,     /* zyg -> sup: worker `id` and its tree are reaped */
  WD__Z_SPARE       /* zyg -> sup: a spare zygote `pid`, our child, with
                       its wake socket as SCM_RIGHTS; sup -> zyg: make one */
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

/* Scope of a KILL.  WORKER: the worker and everything in it.  TASK: only
 * what the task's guardian job started; the worker lives, kills its task's
 * tree, and answers with what the task had written (jobs/command.c). */
#define WD__KILL_WORKER 0
#define WD__KILL_TASK 1


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
/* Receives one message into buf and the fd passed with it, if any, into
 * *passfd (close-on-exec; -1 without one).  Its size, 0 at EOF, or a
 * negative errno. */
ssize_t wd__zygote_recv(int fd, void *buf, size_t n, int flags, int *passfd);

/* ---- the worker (worker/worker.c) ---------------------------------- */


/* The task cgroup's cgroup.procs and cgroup.kill, open in the worker (-1,
 * -1 without cgroups); set before wd__worker_main. */
void wd__worker_task_cgroup(int procs, int kill);

/* The worker's main loop; returns when the supervisor closes the socket. */
void wd__worker_main(const wd__worker_cfg *cfg) __attribute__((noreturn));

#endif /* WD_WORKER_H */
