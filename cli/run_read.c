/* run_read.c -- reading `warden run`'s streamed input source: blocking
 * before the loop starts (until the first item, and what else is there
 * already), then on the loop: a pipe, a socket or a terminal through a
 * libuv stream, so the first command starts as soon as its line arrives
 * and a Ctrl-C is never stuck behind a read; reading pauses while a
 * megabyte waits unread (memory stays bounded) and resumes as rows are
 * taken.  A regular file never blocks: it is read as rows are wanted. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "run_in.h"

#define READ_CHUNK 65536
#define BUFFER_HIGH ((size_t)1 << 20) /* waiting input that pauses reading */

/* One blocking read of the streamed source into the rows: 0 or a negative
 * errno (said by the caller). */
int wd__cli_run_read_some(struct wd__cli_run_in *in) {
  char buf[READ_CHUNK];
  ssize_t n;
  while ((n = read(in->fd, buf, sizeof(buf))) < 0 && errno == EINTR)
    ;
  if (n < 0)
    return -errno;
  if (n == 0) {
    wd__cli_sources_end(in->src);
    in->fd = -1;
    return 0;
  }
  return wd__cli_sources_feed(in->src, buf, (size_t)n);
}

/* Whether the streamed source has bytes ready now. */
static int ready(const struct wd__cli_run_in *in) {
  struct pollfd p = {in->fd, POLLIN, 0};
  return in->regular || poll(&p, 1, 0) > 0;
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  (void)h;
  buf->base = malloc(size);
  buf->len = buf->base ? size : 0;
}

static void close_stream(struct wd__cli_run_in *in) {
  if (in->open)
    uv_close(&in->stream.h, NULL);
  in->open = in->reading = 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  wd_run *r = s->data;
  struct wd__cli_run_in *in = r->in;
  int err = n > 0 ? wd__cli_sources_feed(in->src, buf->base, (size_t)n) : 0;
  free(buf->base);
  if (n < 0 && n != UV_EOF)
    err = (int)n;
  if (err) {
    fprintf(stderr, "warden run: reading %s: %s\n", wd__cli_sources_name(in->src),
              wd_strerror(err));
    r->batch.broken = 1;
    wd__cli_batch_stop(&r->batch, 0);
  }
  if (n < 0 || err) {
    wd__cli_sources_end(in->src);
    in->fd = -1;
    close_stream(in);
  } else if (wd__cli_sources_full(in->src, BUFFER_HIGH)) {
    uv_read_stop(s); /* resumed as rows are taken */
    in->reading = 0;
  }
  r->batch.ops->start_more(&r->batch);
}

/* The libuv stream on a dup of the streamed fd (closing the stream closes
 * only the dup). */
static int watch(wd_run *r) {
  struct wd__cli_run_in *in = r->in;
  uv_loop_t *loop = r->batch.loop;
  int fd = dup(in->fd), err;
  if (fd < 0)
    return -errno;
  err = isatty(fd) ? uv_tty_init(loop, &in->stream.tty, fd, 1)
                   : uv_pipe_init(loop, &in->stream.pipe, 0);
  if (err == 0 && !isatty(fd) && (err = uv_pipe_open(&in->stream.pipe, fd)) != 0)
    uv_close(&in->stream.h, NULL);
  if (err) {
    close(fd);
    return err;
  }
  in->stream.h.data = r;
  in->open = 1;
  return 0;
}

int wd__cli_run_more_items(wd_run *r) {
  struct wd__cli_run_in *in = r->in;
  for (;;) {
    int got = wd__cli_run_make_item(r), err = got < 0 ? got : 0;
    if (got == WD__CLI_ROW || got == WD__CLI_END)
      return got;
    if (err) {
      /* said below */
    } else if (in->regular) {
      err = wd__cli_run_read_some(in);
    } else if (!in->reading) {
      err = in->open || r->batch.stopping ? 0 : watch(r);
      if (err == 0 && in->open)
        err = uv_read_start(&in->stream.s, on_alloc, on_read);
      in->reading = err == 0 && in->open;
      if (err == 0)
        return WD__CLI_WAIT;
    } else {
      return WD__CLI_WAIT;
    }
    if (err) {
      fprintf(stderr, "warden run: reading %s: %s\n", wd__cli_sources_name(in->src),
              wd_strerror(err));
      r->batch.broken = 1;
      wd__cli_batch_stop(&r->batch, 0);
      return WD__CLI_END;
    }
  }
}

void wd__cli_run_stop_inputs(wd_run *r) {
  if (r->in)
    close_stream(r->in);
}

/* Items made before the pool starts: the first (waiting for it), then
 * those already there, up to -j; 0 or a negative errno. */
int wd__cli_run_first_items(wd_run *r) {
  struct wd__cli_run_in *in = r->in;
  while (r->nitems < (size_t)r->o.jobs) {
    int got = wd__cli_run_make_item(r);
    if (got == WD__CLI_END || got < 0)
      return got < 0 ? got : 0;
    if (got == WD__CLI_WAIT && r->nitems && !ready(in))
      return 0;
    int err = got == WD__CLI_WAIT ? wd__cli_run_read_some(in) : 0;
    if (err)
      return err;
  }
  return 0;
}

