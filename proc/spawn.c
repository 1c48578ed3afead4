/* spawn.c -- the one place that starts a command (libuv's
 * uv__process_child_init, in spirit).
 *
 * vfork(): the caller is small and the child makes only system calls before
 * execve, so the copy of the page tables that fork() makes is saved -- or,
 * when the command goes into a cgroup, clone3(CLONE_VFORK |
 * CLONE_INTO_CGROUP), so that it is born there (see start_child).  The
 * child shares the parent's signal table in neither case that matters: so
 * every signal is blocked across the call -- a handler of the parent
 * running in a vfork child, on the parent's stack, would corrupt it -- and
 * the child resets the handlers before it sets the mask the command is to
 * start with.  Handled signals are reset (execve would, but a signal could
 * come between the unblock and the execve); ignored ones stay ignored, as
 * across any exec -- `nohup`, a shell's background job and timeout(1) rely
 * on it -- unless the caller ignores them on its own account
 * (reset_ignored).
 *
 * Failures come back through a close-on-exec pipe: before execve (a
 * descriptor, a limit) the child is reaped here and the error returned;
 * execve's own failure is the command's fate (126 or 127, as a shell says),
 * and the caller reaps it like any other exit. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

enum { FAILED_SETUP = 1, FAILED_EXEC, FAILED_CHDIR };

typedef struct {
  int stage;
  int err;
} report;

static void child(const wd__spawn_opts *o, int errpipe, pid_t parent)
    __attribute__((noreturn));

static void fail(int errpipe, int stage, int err, int code) __attribute__((noreturn));
static void fail(int errpipe, int stage, int err, int code) {
  report r = {stage, err};
  if (write(errpipe, &r, sizeof(r)) < 0)
    _exit(code);
  _exit(code);
}

static void child(const wd__spawn_opts *o, int errpipe, pid_t parent) {
  struct sigaction dfl = {0}, cur;
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; sig++) { /* EINVAL for KILL, STOP: harmless */
    if (sigaction(sig, NULL, &cur) != 0 || cur.sa_handler == SIG_DFL)
      continue;
    if (cur.sa_handler != SIG_IGN ||
        (o->reset_ignored && sigismember(o->reset_ignored, sig) == 1))
      sigaction(sig, &dfl, NULL);
  }
  /* The caller may be killed while it waits in vfork: then we are an
   * orphan already, and must not start. */
  if (o->die_with_parent &&
      (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent))
    fail(errpipe, FAILED_SETUP, ESRCH, WD__EXIT_SETUP);
  if (o->cgroup_procs >= 0 && write(o->cgroup_procs, "0", 1) != 1)
    fail(errpipe, FAILED_SETUP, errno, WD__EXIT_SETUP);
  if (o->new_group && setpgid(0, 0) != 0)
    fail(errpipe, FAILED_SETUP, errno, WD__EXIT_SETUP);
  if (o->null_stdin) {
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0 || (fd != 0 && (dup2(fd, 0) < 0 || close(fd) != 0)))
      fail(errpipe, FAILED_SETUP, errno, WD__EXIT_SETUP);
  } else if (o->stdin_fd >= 0 && dup2(o->stdin_fd, 0) < 0) {
    fail(errpipe, FAILED_SETUP, errno, WD__EXIT_SETUP);
  }
  if ((o->stdout_fd >= 0 && dup2(o->stdout_fd, 1) < 0) ||
      (o->stderr_fd >= 0 && dup2(o->stderr_fd, 2) < 0))
    fail(errpipe, FAILED_SETUP, errno, WD__EXIT_SETUP);
  if (o->memory_limit) {
    struct rlimit rl = {o->memory_limit, o->memory_limit};
    if (setrlimit(RLIMIT_AS, &rl) != 0)
      fail(errpipe, FAILED_SETUP, errno, WD__EXIT_SETUP);
  }
  if (o->cpu_limit_s) {
    struct rlimit rl = {o->cpu_limit_s, o->cpu_limit_s + 1};
    if (setrlimit(RLIMIT_CPU, &rl) != 0)
      fail(errpipe, FAILED_SETUP, errno, WD__EXIT_SETUP);
  }
  errno = 0; /* nice(2) may return -1 with success */
  if (o->nice && nice(o->nice) == -1 && errno != 0)
    fail(errpipe, FAILED_SETUP, errno, WD__EXIT_SETUP);
  /* A directory that cannot be entered is the command's fate, as a
   * missing program is: `cd DIR && cmd` says 1 or 2, we say 126. */
  if (o->cwd && chdir(o->cwd) != 0)
    fail(errpipe, FAILED_CHDIR, errno, WD__EXIT_CANNOT_EXEC);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, o->mask ? o->mask : &none, NULL);
  if (o->envp)
    execvpe(o->argv[0], o->argv, o->envp);
  else
    execvp(o->argv[0], o->argv);
  int e = errno;
  fail(errpipe, FAILED_EXEC, e, e == ENOENT ? WD__EXIT_NOT_FOUND : WD__EXIT_CANNOT_EXEC);
}

/* clone3(2)'s arguments, as far as CLONE_INTO_CGROUP (Linux 5.7). */
struct clone_args3 {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
      tls, set_tid, set_tid_size, cgroup;
};
#define CLONE_INTO_CGROUP_ 0x200000000ULL

/* Into a cgroup, the child is born there (CLONE_INTO_CGROUP): writing its
 * pid to cgroup.procs instead would migrate it, which waits for an RCU
 * grace period -- 9 ms here, most of what `warden exec` cost.  clone3 has
 * no libc wrapper that runs a function on another stack, so this child is
 * a copy (no CLONE_VM: it may return from here), but the caller still waits
 * for its exec (CLONE_VFORK), and it makes only system calls before it.
 * (vfork itself must be called from wd__spawn's own frame, never from a
 * helper the child would return from.)
 *
 * Only into a cgroup that was never killed: on this kernel (6.18) a child
 * cloned into a cgroup after a cgroup.kill of it is killed at birth (the
 * kill sequence it compares is not the target cgroup's).  A pool's task
 * cgroup is killed after every task that leaves something behind, so the
 * command job moves its child instead (cgroup_procs: cheap when done often,
 * as a pool does). */
static pid_t clone_into(int cgroup_dir, int *pidfd) {
  struct clone_args3 a = {CLONE_VFORK | CLONE_PIDFD | CLONE_INTO_CGROUP_,
                          (uint64_t)(uintptr_t)pidfd, 0, 0, SIGCHLD, 0, 0, 0, 0, 0,
                          (uint64_t)cgroup_dir};
  return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

int wd__spawn(const wd__spawn_opts *o, pid_t *pid, int *pidfd, int *exec_errno) {
  int px[2];
  if (pipe2(px, O_CLOEXEC) != 0)
    return -errno;
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  pid_t self = getpid();
  int fd = -1;
  pid_t p = o->cgroup_dir >= 0 ? clone_into(o->cgroup_dir, &fd) : vfork();
  if (p == 0)
    child(o, px[1], self);
  int err = p < 0 ? -errno : 0;
  close(px[1]);
  if (p > 0 && fd < 0) { /* unreaped: the pid is still this child's */
    fd = pidfd_open(p, 0);
    if (fd < 0)
      err = -errno;
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  report r = {0, 0};
  ssize_t n;
  while ((n = read(px[0], &r, sizeof(r))) < 0 && errno == EINTR)
    ;
  close(px[0]);
  if (n != (ssize_t)sizeof(r))
    r.stage = 0; /* EOF: execve succeeded and closed the pipe */
  if (p > 0 && (err || r.stage == FAILED_SETUP)) {
    if (r.stage == FAILED_SETUP)
      err = -r.err;
    kill(p, SIGKILL); /* never kill(-pid): p may not lead a group yet */
    siginfo_t si;
    while (waitid(P_PID, (id_t)p, &si, WEXITED) < 0 && errno == EINTR)
      ;
    if (fd >= 0)
      close(fd);
    return err ? err : -EIO;
  }
  if (err) /* nothing was made (never kill(-1)) */
    return err;
  *pid = p;
  *pidfd = fd;
  *exec_errno = r.stage == FAILED_EXEC || r.stage == FAILED_CHDIR ? r.err : 0;
  if (o->cwd_failed)
    *o->cwd_failed = r.stage == FAILED_CHDIR;
  return 0;
}
