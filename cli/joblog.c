/* joblog.c -- GNU parallel's joblog, written and read back: one line per
 * finished command or image, appended whole with one write (a crash or a
 * full disk never leaves a partial record for the next to be glued to),
 * and read back by --resume.  Linked into both programs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* Appends p[0..n) whole or not at all: a short write (a full disk) is
 * finished if the rest goes in, else cut back off, so that no partial
 * record stays for the next one to be glued to.  0 or a negative errno
 * (the errno of the write that failed, not a stale one). */
static int append_whole(int fd, const char *p, size_t n) {
  struct stat st;
  off_t before = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, p + done, n - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      int err = w < 0 ? errno : ENOSPC;
      /* Shrinking needs no space; should it fail all the same, the next
       * open drops the partial line and --resume ignores it. */
      int cut = done > 0 && before >= 0 ? ftruncate(fd, before) : 0;
      (void)cut;
      return -err;
    }
    done += (size_t)w;
  }
  return 0;
}

/* A last line without its newline is a record cut short (a crash or a
 * full disk mid-write, by any writer): it is dropped, or the next record
 * would be glued to it.  Only regular files; 0 or a negative errno. */
static int drop_partial_line(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return -errno;
  if (!S_ISREG(st.st_mode))
    return 0;
  char buf[4096];
  off_t end = st.st_size;
  while (end > 0) {
    size_t n = end < (off_t)sizeof(buf) ? (size_t)end : sizeof(buf);
    ssize_t r = pread(fd, buf, n, end - (off_t)n);
    if (r < 0)
      return -errno;
    if ((size_t)r != n)
      return -EIO; /* shrunk under us */
    for (size_t i = n; i-- > 0;)
      if (buf[i] == '\n') {
        off_t keep = end - (off_t)n + (off_t)i + 1;
        return keep == st.st_size || ftruncate(fd, keep) == 0 ? 0 : -errno;
      }
    end -= (off_t)n;
  }
  return ftruncate(fd, 0) == 0 ? 0 : -errno;
}

int wd__cli_joblog_open(const char *path) {
  /* "-" is stdout, as GNU parallel's --joblog - (once a file named "-"):
   * the header always, and no last line to look at.  Else read access
   * only to look at the last line; a log we may only append to is
   * appended to as it is. */
  int to_stdout = strcmp(path, "-") == 0;
  int fd = to_stdout ? fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0)
                     : open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  int err = 0;
  if (!to_stdout && fd < 0 && errno == EACCES)
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  else if (!to_stdout && fd >= 0)
    err = drop_partial_line(fd);
  if (fd < 0)
    return -errno;
  static const char hdr[] =
      "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";
  struct stat st;
  if (err == 0 && (to_stdout || (fstat(fd, &st) == 0 && st.st_size == 0)))
    err = append_whole(fd, hdr, sizeof(hdr) - 1);
  if (err) {
    close(fd);
    return err;
  }
  return fd;
}

/* The command column, escaped so that a record stays one line of nine
 * columns whatever the command holds: backslash, tab, newline and
 * carriage return become \\, \t, \n and \r.  NULL if out of memory. */
static char *escape_command(const char *s) {
  char *out = malloc(2 * strlen(s) + 1), *o = out;
  if (out == NULL)
    return NULL;
  for (; *s; s++) {
    const char *e = *s == '\\' ? "\\\\" : *s == '\t' ? "\\t" : *s == '\n' ? "\\n"
                    : *s == '\r' ? "\\r" : NULL;
    if (e) {
      *o++ = e[0];
      *o++ = e[1];
    } else {
      *o++ = *s;
    }
  }
  *o = '\0';
  return out;
}

int wd__cli_joblog_line(int fd, size_t seq, double start,
                       double runtime, long long sent, size_t received,
                       int exitval, int sig, const char *command) {
  if (fd < 0)
    return 0;
  char *line = NULL, *escaped = escape_command(command);
  int n = escaped ? asprintf(&line, "%zu\t:\t%.3f\t%.3f\t%lld\t%zu\t%d\t%d\t%s\n", seq,
                             start, runtime, sent, received, exitval, sig, escaped)
                  : -1;
  /* One write to an O_APPEND file: the line is whole in the file the
   * moment it returns, whatever happens to us next. */
  int err = n > 0 ? append_whole(fd, line, (size_t)n) : UV_ENOMEM;
  free(line);
  free(escaped);
  return err;
}

int wd__cli_joblog_finished(const char *path, int only_ok,
                           void (*mark)(void *ctx, size_t seq), void *ctx) {
  /* Whole lines only: a last line with no newline was cut short, and is
   * not a record (wd__cli_joblog_open drops it). */
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return 0; /* none yet, or unreadable: the open for appending says why */
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    size_t seq;
    int exitval, sig;
    if (line[n - 1] != '\n' ||
        wd__parse_joblog_line(line, (size_t)n - 1, &seq, &exitval, &sig) != 0)
      continue;
    if (!only_ok || (exitval == 0 && sig == 0))
      mark(ctx, seq);
  }
  free(line);
  fclose(f);
  return 0;
}
