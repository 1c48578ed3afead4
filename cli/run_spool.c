/* run_spool.c -- `warden run`'s spool: a private directory under $TMPDIR where
 * the workers put a command's output once it outgrows memory (the command
 * job's spill, jobs/command.h), so output is never cut or lost by default
 * and costs disk, not memory -- as GNU parallel's temporary files do.
 *
 * The directory is made with mkdtemp (mode 0700) and named after our pid;
 * each file in it is printed, then removed; a worker killed mid-way leaves
 * a file that goes with the directory when the run ends.  A warden that was
 * SIGKILLed leaves its spool behind: the next run removes those whose pid
 * is no longer alive, as the pool sweeps stale cgroups.  Only our own
 * directory and our own uid's stale ones are ever touched, and the walk
 * does not follow links (unlinkat of names, never a recursive rm). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run_spool.h"

#define SPOOL_PREFIX "warden-spool."

static const char *tmpdir(void) {
  const char *t = getenv("TMPDIR");
  return t && t[0] == '/' ? t : "/tmp";
}

/* The directory name in parent, not a link to one; NULL if not. */
static DIR *open_dir(int parent, const char *name) {
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL && fd >= 0)
    close(fd);
  return d;
}

/* Removes the files of dir (not following links) and dir itself. */
static void remove_dir(int parent, const char *name) {
  DIR *d = open_dir(parent, name);
  if (d == NULL)
    return;
  int fd = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      unlinkat(fd, e->d_name, 0);
  closedir(d);
  unlinkat(parent, name, AT_REMOVEDIR);
}

/* The spools of wardens that are gone: ours (same uid), whose pid is dead. */
static void sweep_stale(const char *parent) {
  DIR *d = open_dir(AT_FDCWD, parent);
  if (d == NULL)
    return;
  int pfd = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, SPOOL_PREFIX, strlen(SPOOL_PREFIX)) != 0)
      continue;
    long pid = strtol(e->d_name + strlen(SPOOL_PREFIX), NULL, 10);
    struct stat st;
    if (pid <= 0 || fstatat(pfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
      continue;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
      remove_dir(pfd, e->d_name);
  }
  closedir(d);
}

int wd__cli_spool_open(char *path, size_t n) {
  const char *parent = tmpdir();
  sweep_stale(parent);
  int len = snprintf(path, n, "%s/" SPOOL_PREFIX "%ld.XXXXXX", parent, (long)getpid());
  if (len < 0 || (size_t)len >= n)
    return -ENAMETOOLONG;
  if (mkdtemp(path) == NULL)
    return -errno;
  return 0;
}

void wd__cli_spool_close(const char *path) {
  if (path[0])
    remove_dir(AT_FDCWD, path);
}
