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

int wd_cli_joblog_open(const char *path) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return -errno;
  static const char hdr[] =
      "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size == 0 && write(fd, hdr, sizeof(hdr) - 1) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

void wd_cli_joblog_line(int fd, const char *cmd, size_t seq, double start,
                        double runtime, long long sent, size_t received,
                        int exitval, int sig, const char *command) {
  if (fd < 0)
    return;
  char *line = NULL;
  int n = asprintf(&line, "%zu\t:\t%.3f\t%.3f\t%lld\t%zu\t%d\t%d\t%s\n", seq,
                   start, runtime, sent, received, exitval, sig, command);
  /* One write to an O_APPEND file: the line is whole in the file the
   * moment it returns, whatever happens to us next. */
  if (n > 0 && write(fd, line, (size_t)n) != n)
    fprintf(stderr, "warden %s: cannot write joblog: %s\n", cmd, strerror(errno));
  free(line);
}
