/* tree.c -- one command and everything it starts, held as one thing: the
 * public wd_tree of warden.h, which `warden exec` is built on.
 *
 * A pool holds each task's tree through its worker; a program that runs a
 * single command (a stricter timeout(1)) needs no pool, only the same
 * containment: a cgroup v2 of the command's own where this process may make
 * one -- the command is born in it (wd__spawn's CLONE_INTO_CGROUP, which
 * costs no migration), and cgroup.kill reaches every member whatever groups
 * or sessions it made -- else a process group the command leads.  The
 * cgroup is named warden.<pid>.exec beneath our own, so that one a
 * SIGKILLed warden left behind is swept by the next (cgroup.c).  Every
 * start goes through wd__spawn, every kill through the cgroup functions:
 * nothing here starts or kills a process another way. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

/* How long wd_tree_start waits for a cgroup it could not kill to empty. */
#define TREE_START_CLEANUP_MS 5000

struct wd_tree {
  pid_t pid;              /* the command (leader of its own group unless
                             same_group); 0 once reaped */
  int pidfd;
  int sweep_children;     /* wd_tree_free kills every child of ours */
  char cgroup[PATH_MAX];  /* the command's own cgroup, or "" */
};

/* A cgroup for the command beneath our own, where we may make one: an fd
 * of its directory (for CLONE_INTO_CGROUP), or -1 (process groups). */
static int make_cgroup(wd_tree *t) {
  char self[PATH_MAX], name[64];
  t->cgroup[0] = '\0';
  if (wd__cgroup_self(self, sizeof(self)) != 0)
    return -1;
  wd__cgroup_sweep_stale(self);
  snprintf(name, sizeof(name), "warden.%d.exec", (int)getpid());
  if (wd__cgroup_make(self, name, t->cgroup, sizeof(t->cgroup)) != 0) {
    t->cgroup[0] = '\0';
    return -1;
  }
  int fd = open(t->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    rmdir(t->cgroup);
    t->cgroup[0] = '\0';
  }
  return fd;
}

int wd_tree_start(const wd_tree_options *o, wd_tree **out, int *exec_errno) {
  wd_tree *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return UV_ENOMEM;
  t->pidfd = -1;
  t->sweep_children = o->sweep_children;
  int cgdir = make_cgroup(t);
  wd__spawn_opts so = {.argv = o->argv,
                       .stdin_fd = o->stdin_fd,
                       .stdout_fd = o->stdout_fd,
                       .stderr_fd = o->stderr_fd,
                       .new_group = !o->same_group,
                       .cgroup_dir = cgdir,
                       .cgroup_procs = -1,
                       .memory_limit = o->memory_limit,
                       .cpu_limit_s = o->cpu_limit_s,
                       .mask = o->mask,
                       .die_with_parent = o->die_with_parent};
  int err = wd__spawn(&so, &t->pid, &t->pidfd, exec_errno);
  if (cgdir >= 0)
    close(cgdir);
  if (err) {
    t->pid = 0;
    wd_tree_free(t, TREE_START_CLEANUP_MS);
    return err;
  }
  *out = t;
  return 0;
}

pid_t wd_tree_pid(const wd_tree *t) { return t->pid; }

int wd_tree_pidfd(const wd_tree *t) { return t->pidfd; }

const char *wd_tree_containment(const wd_tree *t) {
  return t->cgroup[0] ? "cgroup" : "process-group";
}

int wd_tree_kill(wd_tree *t, int sig) {
  if (sig == SIGKILL && t->cgroup[0])
    wd__cgroup_kill(t->cgroup);
  if (t->pid <= 0)
    return 0;
  kill(-t->pid, sig);
  pidfd_send_signal(t->pidfd, sig, NULL, 0);
  if (sig != SIGKILL && sig != SIGCONT && sig != SIGSTOP) {
    kill(-t->pid, SIGCONT);
    pidfd_send_signal(t->pidfd, SIGCONT, NULL, 0);
  }
  return 0;
}

/* The command is a zombie, not yet reaped: its group is killed while its
 * pgid cannot have been reused, then it is reaped. */
int wd_tree_reap(wd_tree *t, int *exit_code, int *sig) {
  if (t->pid <= 0)
    return -ECHILD;
  if (t->cgroup[0])
    wd__cgroup_kill(t->cgroup);
  kill(-t->pid, SIGKILL);
  siginfo_t si;
  int rc;
  while ((rc = waitid(P_PIDFD, (id_t)t->pidfd, &si, WEXITED)) < 0 && errno == EINTR)
    ;
  if (rc < 0)
    return -errno;
  t->pid = 0;
  *exit_code = si.si_code == CLD_EXITED ? si.si_status : -1;
  *sig = si.si_code == CLD_EXITED ? 0 : si.si_status;
  return 0;
}

int wd_tree_free(wd_tree *t, int timeout_ms) {
  int err = 0;
  if (t->pid > 0) { /* never reaped: the caller gave up on it */
    int code, sig;
    wd_tree_kill(t, SIGKILL);
    wd_tree_reap(t, &code, &sig);
  }
  if (t->cgroup[0])
    wd__cgroup_kill(t->cgroup);
  /* What left the group (setsid, double fork) and was re-parented to us,
   * a child subreaper; with no cgroup this is all that finds it. */
  if (t->sweep_children)
    wd__kill_children(NULL, NULL);
  if (t->cgroup[0]) {
    int ev = wd__cgroup_open(t->cgroup, "cgroup.events", O_RDONLY);
    if (ev >= 0) {
      err = wd__cgroup_wait_empty(ev, timeout_ms);
      close(ev);
    }
    rmdir(t->cgroup);
  }
  if (t->pidfd >= 0)
    close(t->pidfd);
  free(t);
  return err == -ETIMEDOUT ? UV_ETIMEDOUT : 0;
}
