/* resize_write.c -- the one way `warden resize` writes an output: to a
 * temporary name in the same directory, fsynced, then renamed into place,
 * so that an interrupted or failed image never leaves a half-written file
 * -- not even after a power loss. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resize.h"

#define DIR_MODE 0777
#define OUTPUT_MODE 0644

/* Makes every parent directory of path.  0 or a negative errno. */
static int mkdirs(char *path) {
  for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
    *p = '\0';
    int rc = mkdir(path, DIR_MODE);
    *p = '/';
    if (rc != 0 && errno != EEXIST)
      return -errno;
  }
  return 0;
}

/* fsyncs the directory that holds path, so that a rename into it is on
 * disk.  0 or a negative errno. */
static int sync_parent(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
  if (dir == NULL)
    return -ENOMEM;
  int err = 0, fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0)
    err = -errno;
  if (fd >= 0)
    close(fd);
  free(dir);
  return err;
}

/* All of p[0..n) to fd.  0 or a negative errno. */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return w < 0 ? -errno : -EIO;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* dest is either absent or whole.  The file is fsynced before the rename
 * -- else a power loss can leave the rename on disk and the data not, an
 * empty or short dest that --resume would trust -- and the directory after
 * it, so that an image whose row said ok is still there.  If only the
 * directory's fsync failed, dest exists and is whole, but may not survive
 * a power loss. */
int wd__cli_write_atomic(const char *dest, const void *data, size_t len) {
  char *tmp;
  if (asprintf(&tmp, "%s.warden-XXXXXX", dest) < 0)
    return -ENOMEM;
  int fd = -1, err = mkdirs(tmp);
  if (err == 0 && (fd = mkostemp(tmp, O_CLOEXEC)) < 0)
    err = -errno;
  if (err)
    goto done;
  err = write_all(fd, data, len);
  if (!err && fchmod(fd, OUTPUT_MODE) != 0)
    err = -errno;
  if (!err && fsync(fd) != 0)
    err = -errno;
  if (close(fd) != 0 && !err)
    err = -errno;
  if (!err && rename(tmp, dest) != 0)
    err = -errno;
  if (err)
    unlink(tmp);
  else
    err = sync_parent(dest);
done:
  free(tmp);
  return err;
}
