/* command_io.c -- the command's pipes, from the worker's side: each
 * captured stream is drained into memory and, with a spool, spilled to a
 * file of its own once it outgrows WD_CMD_SPILL_AT (command.h says why);
 * the input is written to the command's stdin as the pipe takes it.  The
 * worker's poll loop (command.c) calls both whenever their fds are ready,
 * so a command that never reads its stdin cannot stall its own output. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"

#define READ_CHUNK 65536
/* How far back a cut looks for a line end in a spilled stream. */
#define CUT_SCAN_MAX ((off_t)1 << 20)
/* O_EXCL names tried before giving up on a spill. */
#define SPILL_TRIES 64

/* Writes all of p[0..n) to fd; 0 or -1 (errno set). */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Moves what is held in memory to a new file in the spool.  0, or -1: the
 * stream then keeps nothing more (truncated), rather than its memory
 * growing past what the caller asked for. */
static int spill(wd__cmd_stream *s) {
  static unsigned serial; /* per worker; the pid makes names unique */
  char path[PATH_MAX];
  for (int i = 0; i < SPILL_TRIES && s->file < 0; i++) {
    snprintf(path, sizeof(path), "%s/w%ld.%u", s->spool, (long)getpid(), serial++);
    s->file = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (s->file < 0 && errno != EEXIST)
      break;
  }
  if (s->file < 0 || (s->path = strdup(path)) == NULL ||
      write_all(s->file, s->b.p, s->b.len) != 0) {
    if (s->file >= 0 && s->path == NULL)
      unlink(path);
    return -1;
  }
  wd_out_free(&s->b);
  return 0;
}

/* Keeps p[0..n) within the cap: in memory, or in the spool file. */
static void keep(wd__cmd_stream *s, const char *p, size_t n) {
  uint64_t room = s->len < s->cap ? s->cap - s->len : 0;
  size_t k = (uint64_t)n > room ? (size_t)room : n;
  if (k < n)
    s->truncated = 1;
  if (k == 0)
    return;
  if (s->file < 0 && s->spool && s->b.len + k > WD_CMD_SPILL_AT && spill(s) != 0)
    goto lost;
  if (s->file >= 0 ? write_all(s->file, p, k) != 0 : wd_out_append(&s->b, p, k) != 0)
    goto lost;
  s->len += k;
  return;
lost: /* no room (memory, disk): what was kept stays, nothing more */
  s->truncated = 1;
  s->cap = s->len;
}

int wd__cmd_stream_drain(wd__cmd_stream *s) {
  char buf[READ_CHUNK];
  for (;;) {
    ssize_t n = read(s->fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno == EAGAIN ? WD__PIPE_OPEN : WD__PIPE_CLOSED;
    if (n == 0)
      return WD__PIPE_CLOSED;
    keep(s, buf, (size_t)n);
  }
}

/* The length of the spilled file up to its last line end, looking back at
 * most CUT_SCAN_MAX bytes; its whole length if there is none. */
static uint64_t file_line_end(int fd, uint64_t len) {
  char buf[READ_CHUNK];
  uint64_t end = len, floor = len > (uint64_t)CUT_SCAN_MAX ? len - CUT_SCAN_MAX : 0;
  while (end > floor) {
    size_t n = end - floor < sizeof(buf) ? (size_t)(end - floor) : sizeof(buf);
    if (pread(fd, buf, n, (off_t)(end - n)) != (ssize_t)n)
      return len;
    const char *nl = memrchr(buf, '\n', n);
    if (nl)
      return end - n + (uint64_t)(nl - buf) + 1;
    end -= n;
  }
  return len;
}

void wd__cmd_stream_cut(wd__cmd_stream *s) {
  if (!s->truncated || s->len == 0)
    return;
  if (s->file < 0) {
    const char *nl = memrchr(s->b.p, '\n', s->b.len);
    if (nl)
      s->b.len = (size_t)(nl - s->b.p) + 1;
    s->len = s->b.len;
    return;
  }
  uint64_t end = file_line_end(s->file, s->len);
  if (end < s->len && ftruncate(s->file, (off_t)end) == 0)
    s->len = end;
}

void wd__cmd_stream_free(wd__cmd_stream *s) {
  if (s->fd >= 0)
    close(s->fd);
  if (s->file >= 0)
    close(s->file);
  s->fd = s->file = -1;
  wd_out_free(&s->b);
  free(s->path);
  s->path = NULL;
}

void wd__cmd_input_feed(wd__cmd_input *in) {
  while (in->left > 0) {
    size_t chunk = in->left > SSIZE_MAX ? SSIZE_MAX : (size_t)in->left;
    ssize_t n = write(in->fd, in->p, chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return; /* the pipe is full: poll says when it takes more */
    if (n < 0)
      break; /* EPIPE: the command closed its stdin; the rest is not wanted */
    in->p += n;
    in->left -= (uint64_t)n;
  }
  close(in->fd);
  in->fd = -1;
}
