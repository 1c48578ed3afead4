/* cgroup.c -- a cgroup per task tree: membership no command can leave.
 *
 * Process groups and parentage are the command's to change: a child can
 * setsid(), setpgid() itself into another group of the session, or fork
 * faster than a sweep can list it.  A cgroup v2 is not: a process cannot
 * move itself out of it without write access to another cgroup's
 * cgroup.procs, its children are born in it, and cgroup.kill kills every
 * member at once -- atomically against a fork bomb -- without touching any
 * process outside it.  So wherever this process may create cgroups (root,
 * or a delegated subtree such as a systemd user scope), a pool makes one
 * cgroup of its own beneath the one it runs in, one per worker beneath that,
 * and one for the worker's task (the command and all it starts) beneath
 * each worker's:
 *
 *   <own cgroup>/warden.<pid>.<n>/w<slot>/task
 *
 * Where it may not, every caller falls back to process groups (reap.c).
 * The v2 mount is found in /proc/self/mountinfo (hybrid layouts mount it
 * beside the v1 controllers, at /sys/fs/cgroup/unified), never assumed.
 * Every function returns 0 or a negative errno. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"

/* The cgroup v2 mount point and the root of the hierarchy it shows. */
static int find_mount(char *mnt, size_t n, char *root, size_t rn) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (f == NULL)
    return -errno;
  char *line = NULL;
  size_t cap = 0;
  int err = -ENOENT;
  while (getline(&line, &cap, f) > 0) {
    /* id parent major:minor root mountpoint opts... - fstype source opts */
    char *sep = strstr(line, " - ");
    if (sep == NULL || strncmp(sep + 3, "cgroup2 ", 8) != 0)
      continue;
    char r[PATH_MAX], m[PATH_MAX];
    if (sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2)
      continue;
    if (snprintf(mnt, n, "%s", m) >= (int)n || snprintf(root, rn, "%s", r) >= (int)rn)
      err = -ENAMETOOLONG;
    else
      err = 0;
    break;
  }
  free(line);
  fclose(f);
  return err;
}

int wd__cgroup_self(char *path, size_t n) {
  const char *env = getenv("WARDEN_CGROUP");
  if (env != NULL && strcmp(env, "0") == 0)
    return -ENOTSUP; /* asked for process groups (tests, or by choice) */
  char mnt[PATH_MAX], root[PATH_MAX], own[PATH_MAX] = "";
  int err = find_mount(mnt, sizeof(mnt), root, sizeof(root));
  if (err)
    return err;
  /* "0::/path" is the v2 line of /proc/self/cgroup. */
  FILE *f = fopen("/proc/self/cgroup", "re");
  if (f == NULL)
    return -errno;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0)
    if (strncmp(line, "0::", 3) == 0) {
      line[strcspn(line, "\n")] = '\0';
      snprintf(own, sizeof(own), "%s", line + 3);
      break;
    }
  free(line);
  fclose(f);
  if (own[0] != '/')
    return -ENOENT;
  /* Inside a cgroup namespace or a bind mount the mount shows a subtree. */
  const char *rel = own;
  size_t rl = strlen(root);
  if (strcmp(root, "/") != 0) {
    if (strncmp(own, root, rl) != 0 || (own[rl] != '/' && own[rl] != '\0'))
      return -ENOENT;
    rel = own + rl;
  }
  if (snprintf(path, n, "%s%s", mnt, strcmp(rel, "/") == 0 ? "" : rel) >= (int)n)
    return -ENAMETOOLONG;
  return 0;
}

int wd__cgroup_make(const char *parent, const char *name, char *out, size_t n) {
  if (snprintf(out, n, "%s/%s", parent, name) >= (int)n)
    return -ENAMETOOLONG;
  if (mkdir(out, 0755) != 0 && errno != EEXIST)
    return -errno;
  /* A directory is not proof of a cgroup (a v1 or tmpfs path would take a
   * mkdir too): cgroup.kill exists only in v2, from Linux 5.14. */
  char kill[PATH_MAX + 16];
  snprintf(kill, sizeof(kill), "%s/cgroup.kill", out);
  if (access(kill, W_OK) != 0) {
    int err = -errno;
    rmdir(out);
    return err;
  }
  return 0;
}

int wd__cgroup_open(const char *path, const char *file, int flags) {
  char p[PATH_MAX + 32];
  if (snprintf(p, sizeof(p), "%s/%s", path, file) >= (int)sizeof(p))
    return -ENAMETOOLONG;
  int fd = open(p, flags | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

/* One write of a short string: a cgroup file takes it whole or not at all. */
static int put(int fd, const char *s) {
  ssize_t r;
  while ((r = write(fd, s, strlen(s))) < 0 && errno == EINTR)
    ;
  return r < 0 ? -errno : 0;
}

int wd__cgroup_kill_fd(int killfd) { return put(killfd, "1"); }

int wd__cgroup_kill(const char *path) {
  int fd = wd__cgroup_open(path, "cgroup.kill", O_WRONLY);
  if (fd < 0)
    return fd;
  int err = put(fd, "1");
  close(fd);
  return err;
}

int wd__cgroup_move(int procsfd, pid_t pid) {
  char s[24];
  snprintf(s, sizeof(s), "%d", (int)pid);
  return put(procsfd, s);
}

int wd__cgroup_populated(int eventsfd) {
  char buf[256];
  ssize_t r;
  while ((r = pread(eventsfd, buf, sizeof(buf) - 1, 0)) < 0 && errno == EINTR)
    ;
  if (r < 0)
    return -errno;
  buf[r] = '\0';
  const char *p = strstr(buf, "populated ");
  return p != NULL && p[10] == '1';
}

int wd__cgroup_wait_empty(int eventsfd, int timeout_ms) {
  /* cgroup.events signals a change with POLLPRI. */
  for (;;) {
    int pop = wd__cgroup_populated(eventsfd);
    if (pop <= 0)
      return pop;
    struct pollfd p = {eventsfd, POLLPRI, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno != EINTR)
      return -errno;
    if (r == 0)
      return -ETIMEDOUT;
  }
}

/* rmdir of the tree under path, deepest first (a cgroup with children
 * cannot be removed).  Best effort: EBUSY means something still lives. */
void wd__cgroup_remove(const char *path, int depth) {
  DIR *d = depth > 0 ? opendir(path) : NULL;
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    char sub[PATH_MAX];
    if (e->d_type == DT_DIR && e->d_name[0] != '.' &&
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) < (int)sizeof(sub))
      wd__cgroup_remove(sub, depth - 1);
  }
  if (d != NULL)
    closedir(d);
  rmdir(path);
}


/* A warden killed with SIGKILL leaves its (empty) cgroups behind.  Those of
 * wardens no longer alive are removed when the next one makes its own; one
 * still populated (a command outlived a SIGKILLed warden exec) stays, and
 * its cgroup.procs says what is left. */
void wd__cgroup_sweep_stale(const char *parent) {
  DIR *d = opendir(parent);
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    int pid;
    char sub[PATH_MAX];
    if (e->d_type != DT_DIR || sscanf(e->d_name, "warden.%d.", &pid) != 1 ||
        pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
      continue;
    if (snprintf(sub, sizeof(sub), "%s/%s", parent, e->d_name) >= (int)sizeof(sub))
      continue;
    /* Nothing alive anywhere beneath it: a pool of a warden in another pid
     * namespace (which kill() cannot see) always has a worker there. */
    int ev = wd__cgroup_open(sub, "cgroup.events", O_RDONLY);
    if (ev >= 0 && wd__cgroup_populated(ev) == 0)
      wd__cgroup_remove(sub, 2);
    if (ev >= 0)
      close(ev);
  }
  if (d != NULL)
    closedir(d);
}
