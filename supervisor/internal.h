/* internal.h -- what the supervisor, the zygote, the workers and the pool
 * share and no user sees: the growable buffer, the job registry, the fork
 * discipline, and the zygote's side of the process layer.  Non-static
 * names here carry the wd__ prefix. */
#ifndef WD_INTERNAL_H
#define WD_INTERNAL_H

#include <limits.h>
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
/* A guardian job runs its task in child processes it watches (the command
 * job): at a deadline only those are killed, and the job answers with what
 * they wrote.  0 or UV_ENOENT. */
int wd__job_set_guardian(const char *name);
int wd__job_is_guardian(unsigned index);

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
 * when no such child is left.  A process group is killed only through a
 * child that leads it (see reap.c).  Returns how many it reaped. */
int wd__kill_children(int (*keep)(pid_t pid, void *arg), void *arg);

/* Sends SIGKILL to every child of `worker` (a child of ours), and to the
 * group of each child that leads one, so that they die together with it
 * instead of one after the other later.  Only safe once `worker` itself has
 * been sent SIGKILL: from then on nothing but us can reap its children, so
 * their pids are pinned until we do. */
void wd__kill_children_of(pid_t worker);

/* Reaps, without waiting, every child for which keep(pid, arg) is false and
 * that has already exited.  Returns how many it reaped. */
int wd__reap_exited(int (*keep)(pid_t pid, void *arg), void *arg);

/* ---- cgroups (supervisor/cgroup.c) ------------------------------------- */

/* The calling process's own cgroup v2 directory (mount point + path), or
 * -ENOTSUP when WARDEN_CGROUP=0 asks for process groups, -ENOENT when there
 * is no v2 hierarchy. */
int wd__cgroup_self(char *path, size_t n);
/* mkdir parent/name (an existing one is fine) and checks that it is a v2
 * cgroup that has cgroup.kill; the path in out.  0 or a negative errno. */
int wd__cgroup_make(const char *parent, const char *name, char *out, size_t n);
/* open() of path/file, close-on-exec; an fd or a negative errno. */
int wd__cgroup_open(const char *path, const char *file, int flags);
/* Writes "1" to cgroup.kill: SIGKILL to every member, at once. */
int wd__cgroup_kill(const char *path);
int wd__cgroup_kill_fd(int killfd);
/* Moves pid into the cgroup whose cgroup.procs is procsfd (0: the caller). */
int wd__cgroup_move(int procsfd, pid_t pid);
/* 1 while a process lives in the cgroup (zombies do not count), 0 when it
 * is empty, or a negative errno; eventsfd is its cgroup.events. */
int wd__cgroup_populated(int eventsfd);
/* Waits (poll, POLLPRI) until the cgroup is empty: 0, -ETIMEDOUT, -errno. */
int wd__cgroup_wait_empty(int eventsfd, int timeout_ms);
/* rmdir of path and, depth levels down, of the cgroups under it. */
void wd__cgroup_remove(const char *path, int depth);
/* Removes the cgroups that wardens no longer alive left in parent. */
void wd__cgroup_sweep_stale(const char *parent);

/* ---- starting a command (supervisor/spawn.c) --------------------------- */

/* How wd__spawn() starts a command. */
typedef struct {
  char *const *argv;     /* execvp()'d; NULL-terminated */
  int stdin_fd;          /* dup2()'d onto 0 when >= 0 */
  int stdout_fd;         /* onto 1 when >= 0 */
  int stderr_fd;         /* onto 2 when >= 0 */
  int null_stdin;        /* stdin from /dev/null (stdin_fd ignored) */
  int new_group;         /* leads a process group of its own */
  int cgroup_dir;        /* >= 0: born in this cgroup (its directory) */
  int cgroup_procs;      /* >= 0: moved into this cgroup (its cgroup.procs)
                            before anything runs; for a cgroup that may have
                            been killed before (see spawn.c) */
  uint64_t memory_limit; /* RLIMIT_AS, bytes; 0: none */
  uint64_t cpu_limit_s;  /* RLIMIT_CPU, seconds; 0: none */
  const sigset_t *mask;  /* its signal mask at execve; NULL: none blocked */
  const sigset_t *reset_ignored; /* ignored by the caller, not inherited:
                                    back to SIG_DFL in the command */
  int die_with_parent;   /* PR_SET_PDEATHSIG: SIGKILL when the caller dies */
} wd__spawn_opts;

/* A command's exit status when it could not be started, as a shell says:
 * not found, found but not executable; and a failure before execve. */
#define WD__EXIT_NOT_FOUND 127
#define WD__EXIT_CANNOT_EXEC 126
#define WD__EXIT_SETUP 125

/* The one way warden starts a command (warden exec, the command job): vfork
 * with every signal blocked, every handler reset in the child, then the
 * cgroup, the process group, the descriptors, the limits and the mask, in
 * that order, and execvp.  Returns 0 with *pid and *pidfd (close-on-exec)
 * set and *exec_errno the execve failure, if any (the child then exits 126
 * or 127 as a shell would); or a negative errno, with nothing left running,
 * when the process could not be made or placed. */
int wd__spawn(const wd__spawn_opts *o, pid_t *pid, int *pidfd, int *exec_errno);

/* ---- the zygote (supervisor/zygote.c) ---------------------------------- */

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

/* The zygote asks a worker to signal its task with this signal, the value
 * carrying the signal (low 8 bits) and the task's tag (the task id's low 23
 * bits), so a request that arrives after its task ended is dropped. */
#define WD__SIG_TASK (SIGRTMIN + 3)
#define WD__TAG(id) ((uint32_t)((id) & 0x7fffffu))

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

/* ---- the worker (supervisor/worker.c) ---------------------------------- */

/* Fixed descriptors in a worker. */
#define WD__FD_SOCK 3   /* tasks in, results out (close-on-exec) */
#define WD__FD_STDERR 4 /* the supervisor's own stderr (close-on-exec) */

/* What a guardian job (one that runs the task in child processes, like the
 * command job) uses from its worker: */
/* The task cgroup's cgroup.procs for wd__spawn_opts.cgroup_procs, or -1
 * when the pool contains tasks by process group. */
int wd__task_procs_fd(void);
/* The signal the supervisor asked for this task (0: none), taken once. */
int wd__task_signal(void);
/* The mask to wait under (ppoll): the worker's, with WD__SIG_TASK open, so
 * a request cannot slip in between a check and the wait. */
const sigset_t *wd__task_waitmask(void);
/* Kills the whole tree of the current task (cgroup.kill of the task
 * cgroup), or does nothing and returns -ENOTSUP without one. */
int wd__task_kill_tree(void);

/* The task cgroup's cgroup.procs and cgroup.kill, open in the worker (-1,
 * -1 without cgroups); set before wd__worker_main. */
void wd__worker_task_cgroup(int procs, int kill);

/* The worker's main loop; returns when the supervisor closes the socket. */
void wd__worker_main(const wd__worker_cfg *cfg) __attribute__((noreturn));

#endif /* WD_INTERNAL_H */
