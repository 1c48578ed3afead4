/* resize_read.c -- reading an input of `warden resize` and handing it to
 * a worker, without ever blocking the loop whatever the path names: the
 * open is O_NONBLOCK (a FIFO that became one since it was found opens at
 * once), its type and size are checked with fstat before a byte is read,
 * and the bytes are read on the threadpool (libuv fs requests).  An input
 * that cannot be had is a row of its own, never a hang. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "resize.h"

/* One input being read on the threadpool. */
typedef struct {
  uv_fs_t fs;
  wd_resize *s;
  size_t i;
  uv_file fd;
  wd_done_cb on_done;
  size_t head;  /* bytes of request header before the file's */
  size_t got;   /* bytes of the file read so far */
  size_t size;  /* bytes of the file */
  wd_out req;   /* the request header, then room for the file's bytes */
} reader;

static const char *file_type(mode_t mode) {
  return S_ISDIR(mode)    ? "a directory"
         : S_ISFIFO(mode) ? "a FIFO"
         : S_ISCHR(mode)  ? "a character device"
         : S_ISBLK(mode)  ? "a block device"
         : S_ISSOCK(mode) ? "a socket"
                          : "not a file";
}

static void on_read(uv_fs_t *fs);

static int read_more(reader *r) {
  uv_buf_t b = uv_buf_init(r->req.p + r->head + r->got, (unsigned)(r->size - r->got));
  r->fs.data = r;
  return uv_fs_read(r->s->batch.loop, &r->fs, r->fd, &b, 1, (int64_t)r->got, on_read);
}

/* The input's bytes are no longer held: read and refused, or sent. */
static void let_go(wd_resize *s, wd_resize_img *m) {
  s->held -= m->held;
  m->held = 0;
}

/* The file is in, cut short (n == 0 before the end: it shrank since the
 * fstat; a short image is the worker's to call corrupt) or failed (n < 0,
 * a libuv error): hand it to a worker or make its row. */
static void finish_read(reader *r, ssize_t n) {
  wd_resize *s = r->s;
  wd_resize_img *m = &s->v[r->i];
  close(r->fd); /* a regular file, read-only: close does not wait */
  s->batch.running--;
  r->req.len = r->head + r->got; /* what came in, if it shrank */
  if (s->batch.stopping) {
    /* Ctrl-C while it was read: it was not started, so no row. */
  } else if (n < 0) {
    wd__cli_resize_refuse(s, r->i, WD_RESIZE_UNREADABLE, 0, "%s", uv_strerror((int)n));
  } else {
    wd_task_options to = {.timeout_ms = s->o.timeout_ms};
    int err = wd_submit(s->batch.pool, "resize", r->req.p, r->req.len, &to, &m->f);
    if (err == 0) {
      s->batch.running++;
      wd_future_set_data(m->f, s);
      wd_future_on_done(m->f, r->on_done, (void *)(uintptr_t)r->i);
    } else {
      wd__cli_resize_refuse(s, r->i, WD_RESIZE_UNREADABLE, 0, "cannot hand it to a worker: %s",
                           wd_strerror(err));
    }
  }
  if (m->f == NULL)
    let_go(s, m);
  wd_out_free(&r->req);
  free(r);
}

static void on_read(uv_fs_t *fs) {
  reader *r = fs->data;
  wd_resize *s = r->s;
  ssize_t n = fs->result;
  uv_fs_req_cleanup(fs);
  if (n > 0) {
    r->got += (size_t)n;
    if (r->got < r->size && !s->batch.stopping && (n = read_more(r)) == 0)
      return;
  }
  finish_read(r, n);
  s->batch.ops->start_more(&s->batch);
}

/* Opens input i and checks what it is: an fd, or -1 after its row. */
static int open_input(wd_resize *s, size_t i, struct stat *st) {
  wd_resize_img *m = &s->v[i];
  char a[32], b[32];
  int fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0 || fstat(fd, st) != 0) {
    wd__cli_resize_refuse(s, i, WD_RESIZE_UNREADABLE, 0, "%s", strerror(errno));
  } else if (!S_ISREG(st->st_mode)) {
    wd__cli_resize_refuse(s, i, WD_RESIZE_UNREADABLE, 0, "not a regular file (%s)",
                         file_type(st->st_mode));
  } else if ((uint64_t)st->st_size > s->max_file) {
    wd__cli_resize_refuse(
        s, i, WD_RESIZE_IMAGE, WD_IMG_TOO_LARGE, "a file of %s; a worker takes at most %s (%s)",
        wd__cli_human_size((uint64_t)st->st_size, a, sizeof(a)),
        wd__cli_human_size(s->max_file, b, sizeof(b)),
        s->o.memory && s->o.memory / 2 < WD_ARG_MAX ? "half of --memory" : "the frame limit");
  } else {
    return fd;
  }
  if (fd >= 0)
    close(fd);
  return -1;
}

void wd__cli_resize_start(wd_resize *s, size_t i, wd_done_cb on_done) {
  wd_resize_img *m = &s->v[i];
  m->started = wd__cli_wall();
  if (m->err) {
    wd__cli_resize_refuse(s, i, WD_RESIZE_UNREADABLE, 0, "%s", strerror(-m->err));
    return;
  }
  if (!S_ISREG(m->mode)) {
    wd__cli_resize_refuse(s, i, WD_RESIZE_UNREADABLE, 0, "not a regular file (%s)",
                         file_type(m->mode));
    return;
  }
  struct stat st;
  int fd = open_input(s, i, &st);
  if (fd < 0)
    return;
  reader *r = calloc(1, sizeof(*r));
  if (r == NULL || wd_img_encode(&r->req, &s->o.req, "", 0) != 0)
    goto fail;
  r->head = r->req.len;
  if (wd_out_reserve(&r->req, (size_t)st.st_size) == NULL)
    goto fail;
  r->s = s;
  r->i = i;
  r->fd = fd;
  r->on_done = on_done;
  r->size = (size_t)st.st_size;
  m->held = r->size;
  s->held += m->held;
  s->batch.running++;
  int err = r->size ? read_more(r) : 0;
  if (err != 0 || r->size == 0) /* failed to start, or empty */
    finish_read(r, err);
  return;
fail:
  wd__cli_resize_refuse(s, i, WD_RESIZE_UNREADABLE, 0, "%s", strerror(ENOMEM));
  if (r)
    wd_out_free(&r->req);
  free(r);
  close(fd);
}
