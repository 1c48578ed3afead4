/* run_linebuf.c -- `warden run --line-buffer`: each whole line a command
 * prints is printed as soon as it is printed, and lines of different
 * commands never mix (GNU parallel's --line-buffer).
 *
 * The answer of the command job comes once the command has ended, too late
 * for that; so each command's stdout and stderr are FIFOs in the spool,
 * made and opened for reading (O_NONBLOCK) here before the command is
 * submitted, and handed to the worker by name (wd_cmd.stdout_path and
 * stderr_path): the command writes straight into them, the loop reads them
 * when a uv_poll says so, and prints every complete line at once with one
 * write (this process is the only writer of its stdout, so no line is cut
 * by another's).  What is left when the command has ended -- its future
 * resolved, so everything of its tree is gone and the FIFOs are at EOF --
 * is read to the end and printed as it is, as parallel does. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

#define READ_CHUNK 65536

typedef struct {
  uv_poll_t poll;
  int fd;
  int eof;
  FILE *to;     /* stdout or stderr */
  wd_out part;  /* read, not yet printed: a line not yet whole */
  size_t plain; /* part.p[0..plain) holds no line end (a long line is
                   scanned once, not once per read) */
  char path[WD__CLI_SPOOL_MAX + 32];
} lb_stream;

struct wd__cli_lb {
  wd_run *r;
  wd_run_item *it;
  lb_stream s[2];
  int open_handles;
};

/* Prints the bytes of p->part up to its last line end (all of it when
 * last), tagged as the run's output is. */
static void print_lines(struct wd__cli_lb *lb, lb_stream *s, int last) {
  const char *nl = s->part.len > s->plain
                       ? memrchr(s->part.p + s->plain, '\n', s->part.len - s->plain)
                       : NULL;
  size_t n = last ? s->part.len : nl ? (size_t)(nl - s->part.p) + 1 : 0;
  s->plain = s->part.len - n; /* what stays has no line end */
  if (n == 0)
    return;
  wd__cli_sink sink;
  char *tag = wd__cli_run_sink(lb->r, lb->it, s->to, &sink);
  wd__cli_batch_clear_progress(&lb->r->batch);
  wd__cli_sink_stream(&sink, s->part.p, n, NULL);
  free(tag);
  memmove(s->part.p, s->part.p + n, s->part.len - n);
  s->part.len -= n;
  int to = s->to == stdout ? WD__CLI_TO_STDOUT : WD__CLI_TO_STDERR;
  if (fflush(s->to) != 0 || ferror(s->to))
    wd__cli_batch_write_failed(&lb->r->batch, to, errno ? errno : EIO);
}

/* Reads what the FIFO has; at EOF (every writer gone) stops watching it. */
static void drain(lb_stream *s) {
  while (!s->eof) {
    char *p = wd_out_reserve(&s->part, READ_CHUNK);
    if (p == NULL)
      break; /* no memory: what waits is printed, the rest stays in the FIFO */
    ssize_t n = read(s->fd, p, READ_CHUNK);
    s->part.len -= READ_CHUNK - (n > 0 ? (size_t)n : 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return; /* EAGAIN: a writer is there and has nothing more now */
    if (n == 0) {
      s->eof = 1;
      uv_poll_stop(&s->poll);
    }
  }
}

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events; /* EOF and errors show in the read */
  struct wd__cli_lb *lb = h->data;
  lb_stream *s = h == &lb->s[0].poll ? &lb->s[0] : &lb->s[1];
  drain(s);
  print_lines(lb, s, 0);
}

static void lb_free(struct wd__cli_lb *lb) {
  for (int i = 0; i < 2; i++) {
    if (lb->s[i].fd >= 0)
      close(lb->s[i].fd);
    wd_out_free(&lb->s[i].part);
  }
  free(lb);
}

/* The fds go once libuv has let go of the polls on them. */
static void on_closed(uv_handle_t *h) {
  struct wd__cli_lb *lb = h->data;
  if (--lb->open_handles == 0)
    lb_free(lb);
}

/* One FIFO: made in the spool, opened for reading, watched. */
static int open_stream(struct wd__cli_lb *lb, int i) {
  static unsigned serial;
  lb_stream *s = &lb->s[i];
  snprintf(s->path, sizeof(s->path), "%s/l%u.%s", lb->r->spool, serial++, i ? "err" : "out");
  s->to = i ? stderr : stdout;
  if (mkfifo(s->path, 0600) != 0)
    return -errno;
  s->fd = open(s->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (s->fd < 0)
    return -errno;
  int err = uv_poll_init(lb->r->batch.loop, &s->poll, s->fd);
  if (err)
    return err;
  lb->open_handles++;
  s->poll.data = lb;
  return uv_poll_start(&s->poll, UV_READABLE, on_readable);
}

void wd__cli_lb_finish(wd_run *r, wd_run_item *it) {
  struct wd__cli_lb *lb = it->lb;
  (void)r;
  if (lb == NULL)
    return;
  for (int i = 0; i < 2; i++) {
    lb_stream *s = &lb->s[i];
    if (s->fd >= 0) {
      drain(s);
      print_lines(lb, s, 1);
    }
    if (s->path[0])
      unlink(s->path);
  }
  it->lb = NULL;
  int handles = lb->open_handles;
  for (int i = 0; i < handles; i++)
    uv_close((uv_handle_t *)&lb->s[i].poll, on_closed);
  if (handles == 0)
    lb_free(lb);
}

int wd__cli_lb_open(wd_run *r, wd_run_item *it, const char **out_path, const char **err_path) {
  wd__cli_lb_finish(r, it); /* a retry's: done with */
  struct wd__cli_lb *lb = calloc(1, sizeof(*lb));
  if (lb == NULL)
    return UV_ENOMEM;
  lb->r = r;
  lb->it = it;
  lb->s[0].fd = lb->s[1].fd = -1;
  it->lb = lb;
  int err = open_stream(lb, 0);
  if (!err)
    err = open_stream(lb, 1);
  if (err) {
    wd__cli_lb_finish(r, it);
    return err;
  }
  *out_path = lb->s[0].path;
  *err_path = lb->s[1].path;
  return 0;
}
