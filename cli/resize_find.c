/* resize_find.c -- finding `warden resize`'s inputs.  A path the user
 * names is taken as it is; a directory is searched recursively, and what
 * is in it is taken when its first bytes say it is an image (its name
 * says nothing).  An input that cannot be had -- missing, a dangling
 * link, a FIFO, a device -- is kept as it was found: it becomes a row of
 * its own when the batch runs, never a refusal of the batch. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "resize.h"

#define SNIFF_BYTES 32
#define IMGS_FIRST_CAP 256

/* The first bytes of the file, sniffed; TGA has no magic, so its name.
 * Only regular files are opened here: a read from a FIFO would steal a
 * writer's bytes, and opening a device can have effects of its own. */
static const char *sniff_file(const char *path) {
  unsigned char head[SNIFF_BYTES];
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return NULL;
  struct stat st;
  ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, head, sizeof(head)) : -1;
  close(fd);
  const char *kind = n > 0 ? wd_img_sniff(head, (size_t)n) : NULL;
  return kind ? kind : wd__cli_has_ext(path, ".tga") ? "tga" : NULL;
}

static int is_jpeg(const char *kind) { return kind && strcmp(kind, "jpeg") == 0; }

/* An input: st as found, or NULL and the error stat gave (negative), which
 * becomes its row once the batch runs.  Out of memory here is the end
 * (no batch has started). */
static void add(wd_resize *s, const char *path, const char *rel_in, const struct stat *st,
                int err, int jpeg) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : IMGS_FIRST_CAP;
    s->v = realloc(s->v, s->cap * sizeof(*s->v));
    if (s->v == NULL)
      abort();
  }
  wd_resize_img *m = &s->v[s->n++];
  memset(m, 0, sizeof(*m));
  m->path = strdup(path);
  m->rel_in = strdup(rel_in);
  m->rel = wd__cli_resize_name(s, rel_in, jpeg);
  if (m->path == NULL || m->rel_in == NULL || m->rel == NULL)
    abort();
  m->size = st ? st->st_size : 0;
  m->mode = st ? st->st_mode : 0;
  m->err = err;
  m->is_jpeg = jpeg;
}

int wd__cli_resize_may_write(const wd_resize_img *m) { return !m->err && S_ISREG(m->mode); }

/* A directory, recursively: regular files that look like images (symlinks
 * to files are followed, symlinks to directories are not, so no loop).  rel
 * is the path under the directory the user named.  0, or the negative
 * errno of a directory that cannot be listed (a row, like a file that
 * cannot be read). */
static int walk(wd_resize *s, const char *dir, const char *rel) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return -errno;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
      continue;
    char *path, *r;
    if (asprintf(&path, "%s/%s", dir, e->d_name) < 0 ||
        asprintf(&r, "%s%s%s", rel, *rel ? "/" : "", e->d_name) < 0)
      abort();
    struct stat st;
    int err;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      if ((err = walk(s, path, r)) != 0)
        add(s, path, r, NULL, err, 0);
    } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
      const char *kind = sniff_file(path);
      if (kind)
        add(s, path, r, &st, 0, is_jpeg(kind));
    }
    free(path);
    free(r);
  }
  closedir(d);
  return 0;
}

/* A path the user named: a directory is searched, anything else is taken
 * as it is -- if it is missing, not a regular file or not an image, its
 * row says so and the rest of the batch is done (as cat or gzip go on
 * past a missing operand). */
static void add_path(wd_resize *s, const char *path) {
  struct stat st;
  const char *base = strrchr(path, '/');
  base = base && base[1] ? base + 1 : path;
  if (stat(path, &st) != 0) {
    add(s, path, base, NULL, -errno, 0);
  } else if (S_ISDIR(st.st_mode)) {
    int err = walk(s, path, "");
    if (err)
      add(s, path, base, NULL, err, 0);
  } else {
    add(s, path, base, &st, 0, is_jpeg(S_ISREG(st.st_mode) ? sniff_file(path) : NULL));
  }
}

/* "-": paths on stdin, one per line. */
static int read_list(wd_resize *s) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      line[--n] = '\0';
    if (n > 0)
      add_path(s, line);
  }
  free(line);
  if (ferror(stdin))
    return wd__cli_fail("resize", "reading the list on stdin: %s", strerror(errno));
  return 0;
}

int wd__cli_resize_find(wd_resize *s, const char *input) {
  if (strcmp(input, "-") == 0)
    return read_list(s);
  add_path(s, input);
  return 0;
}

void wd__cli_resize_free(wd_resize *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->v[i].path);
    free(s->v[i].rel);
    free(s->v[i].rel_in);
    free(s->v[i].shared);
    if (s->v[i].f)
      wd_future_release(s->v[i].f);
  }
  free(s->v);
  for (size_t k = 0; k < s->ngroups; k++)
    free(s->groups[k].at);
  free(s->groups);
  free(s->ready);
}
