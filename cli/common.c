/* common.c -- what the subcommands share: messages, exit statuses, the
 * joblog.  Linked into both programs, warden and warden-resize. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int wd_cli_fail(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "warden %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return WD_EXIT_FAILURE;
}

int wd_cli_status(const wd_cmd_result *r) {
  return r->signal ? 128 + r->signal : r->exit_code;
}

int wd_cli_bad_value(const char *cmd, const struct option *opts, int c,
                     const char *arg) {
  const char *name = "?";
  for (const struct option *o = opts; o->name; o++)
    if (o->val == c)
      name = o->name;
  return wd_cli_fail(cmd, "invalid value '%s' for --%s", arg, name);
}

int wd_cli_check_memory(const char *cmd, const char *arg, uint64_t bytes) {
  if (bytes >= WD_CLI_MIN_MEMORY)
    return 0;
  return wd_cli_fail(cmd, "memory limit '%s' is below the minimum of 1M: no program "
                     "can start in less address space", arg);
}

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

int wd_cli_joblog_open(const char *path) {
  /* Read access only to look at the last line; a log we may only append
   * to is appended to as it is. */
  int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  int err = 0;
  if (fd < 0 && errno == EACCES)
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  else if (fd >= 0)
    err = drop_partial_line(fd);
  if (fd < 0)
    return -errno;
  static const char hdr[] =
      "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";
  struct stat st;
  if (err == 0 && fstat(fd, &st) == 0 && st.st_size == 0)
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

int wd_cli_joblog_line(int fd, const char *cmd, size_t seq, double start,
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
  if (err && cmd)
    fprintf(stderr, "warden %s: cannot write joblog: %s\n", cmd, strerror(-err));
  free(line);
  free(escaped);
  return err;
}
