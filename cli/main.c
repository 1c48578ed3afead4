/* main.c -- the warden program: dispatch to a subcommand. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "Usage: warden COMMAND [OPTION]... [-- PROGRAM [ARG]...]\n"
    "A supervised process pool with hard timeouts.\n"
    "\n"
    "Commands:\n"
    "  exec   run one command with a deadline (a stricter timeout(1))\n"
    "  run    run many commands, N at a time (xargs -P / GNU parallel)\n"
    "  resize resize a batch of images on every core, sandboxed\n"
    "\n"
    "  -h, --help     show this help;  warden COMMAND --help for a command's\n"
    "  -V, --version  show the version\n";

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

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage, stderr);
    return WD_EXIT_FAILURE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
    fputs(usage, stdout);
    return 0;
  }
  if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
    printf("warden %s\n", WD_VERSION);
    return 0;
  }
  /* getopt's own messages ("unrecognized option") name argv[0]. */
  static char name[32];
  snprintf(name, sizeof(name), "warden %s", cmd);
  argv[1] = name;
  if (strcmp(cmd, "exec") == 0)
    return wd_cli_exec(argc - 1, argv + 1);
  if (strcmp(cmd, "run") == 0)
    return wd_cli_run(argc - 1, argv + 1);
  if (strcmp(cmd, "resize") == 0)
    return wd_cli_resize(argc - 1, argv + 1);
  fprintf(stderr, "warden: unknown command '%s'\n\n%s", cmd, usage);
  return WD_EXIT_FAILURE;
}
