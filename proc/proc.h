/* proc.h -- the bottom layer: the primitives every process warden makes is
 * made, watched and killed with -- the growable buffer, the fork
 * discipline, killing and reaping trees, cgroups, and the one function that
 * starts a command.  It knows nothing of pools, workers or jobs; everything
 * above builds on it.  Non-static names here carry the wd__ prefix. */
#ifndef WD_PROC_H
#define WD_PROC_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "warden.h"

#define WD__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- growable byte buffer: warden.h's struct wd_out ------------------- */

typedef struct wd_out wd__buf;

int wd__buf_reserve(wd__buf *b, size_t extra); /* 0 or UV_ENOMEM */
void wd__buf_consume(wd__buf *b, size_t n);   /* drop n bytes from the front */
void wd__buf_free(wd__buf *b);

/* ---- fork discipline (proc/fork.c) ------------------------------- */

/* Forks with every signal blocked; single_threaded selects _Fork(), which
 * runs no atfork handlers (see fork.c).  The parent gets its mask back
 * (the old one is left in *oldmask); in the child every disposition is
 * SIG_DFL and every signal is still blocked until it sets the mask it
 * wants.  Returns fork()'s value; -1 sets errno.  The child must leave with
 * _exit(). */
pid_t wd__fork(sigset_t *oldmask, int single_threaded);

/* ---- process trees (proc/reap.c) --------------------------------- */

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

/* ---- cgroups (proc/cgroup.c) ------------------------------------- */

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

/* ---- starting a command (proc/spawn.c) --------------------------- */

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
  char *const *envp;     /* the command's whole environment (execvpe);
                            NULL: the caller's.  Built before the call: the
                            vfork child may not allocate */
  const char *cwd;       /* chdir() here before execve; NULL: stay */
  int nice;              /* added to its niceness (nice(2)); 0: none */
  int *cwd_failed;       /* if not NULL, set to 1 when the chdir failed
                            (*exec_errno is then chdir's errno), else 0 */
} wd__spawn_opts;

/* A command's exit status when it could not be started, as a shell says:
 * not found, found but not executable (or its directory could not be
 * entered); and a failure before execve. */
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

#endif /* WD_PROC_H */
