/* reap.c -- killing what a task left behind.
 *
 * Workers and the zygote are child subreapers (PR_SET_CHILD_SUBREAPER):
 * a descendant that called setsid() and lost its parent is re-parented to
 * them, not to init, so it can still be found -- as a child -- and killed.
 * Killing a child re-parents its own children here in turn, so the sweep
 * repeats until no child is left that is not ours to keep. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

/* Reads /proc/<pid>/task/<pid>/children: the children of that process's
 * main thread.  Our processes are single-threaded, so that is all of them.
 * Returns a count, pids in *out (malloc'd), or a negative errno. */
static int list_children(pid_t pid, pid_t **out) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  wd__buf b = {0};
  for (;;) {
    if (wd__buf_reserve(&b, 4096) != 0)
      break;
    ssize_t r = read(fd, b.p + b.len, b.cap - b.len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    b.len += (size_t)r;
  }
  close(fd);
  int n = 0, cap = 16;
  pid_t *pids = malloc(sizeof(*pids) * (size_t)cap);
  for (size_t i = 0; pids != NULL && i < b.len;) {
    while (i < b.len && (b.p[i] < '0' || b.p[i] > '9'))
      i++;
    if (i == b.len)
      break;
    long v = 0;
    while (i < b.len && b.p[i] >= '0' && b.p[i] <= '9')
      v = v * 10 + (b.p[i++] - '0');
    if (n == cap) {
      pid_t *np = realloc(pids, sizeof(*pids) * (size_t)(cap *= 2));
      if (np == NULL)
        break;
      pids = np;
    }
    pids[n++] = (pid_t)v;
  }
  wd__buf_free(&b);
  *out = pids;
  return pids ? n : -ENOMEM;
}

/* The group to kill along with child `pid`, or 0 for none.  A group is
 * killed only through its leader: a child of ours, unreaped, whose pgid is
 * its own pid -- so the group is one the tree made, its id cannot have been
 * reused, and it is killed once, not once per member.  A child that joined
 * some other group (setpgid into a group of the session: the user's shell
 * job, warden's own) is killed alone: that group is not the tree's. */
static pid_t led_group(pid_t pid) {
  return getpgid(pid) == pid ? pid : 0;
}

static void kill_child(pid_t pid) {
  pid_t g = led_group(pid);
  if (g > 1)
    kill(-g, SIGKILL);
  kill(pid, SIGKILL);
}

int wd__kill_children(int (*keep)(pid_t pid, void *arg), void *arg) {
  int reaped = 0;
  for (int round = 0; round < 10000; round++) {
    pid_t *pids = NULL;
    int n = list_children(getpid(), &pids);
    int killed = 0;
    /* Kill every one first, then reap: they die side by side, and each
     * is signalled once -- linear in the size of the tree. */
    for (int i = 0; i < n; i++) {
      if (keep != NULL && keep(pids[i], arg))
        continue;
      kill_child(pids[i]); /* ours and unreaped: the pid is this process */
      killed++;
    }
    for (int i = 0; i < n; i++) {
      if (keep != NULL && keep(pids[i], arg))
        continue;
      siginfo_t si;
      while (waitid(P_PID, (id_t)pids[i], &si, WEXITED) < 0 && errno == EINTR)
        ;
      reaped++;
    }
    free(pids);
    if (n < 0 || killed == 0)
      break;
  }
  return reaped;
}

int wd__reap_exited(int (*keep)(pid_t pid, void *arg), void *arg) {
  pid_t *pids = NULL;
  int n = list_children(getpid(), &pids), reaped = 0;
  for (int i = 0; i < n; i++) {
    if (keep != NULL && keep(pids[i], arg))
      continue;
    siginfo_t si = {0};
    if (waitid(P_PID, (id_t)pids[i], &si, WEXITED | WNOHANG) == 0 && si.si_pid)
      reaped++;
  }
  free(pids);
  return reaped;
}

void wd__kill_children_of(pid_t worker) {
  pid_t *pids = NULL;
  int n = list_children(worker, &pids);
  for (int i = 0; i < n; i++)
    kill_child(pids[i]);
  free(pids);
}
