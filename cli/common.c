/* common.c -- what the subcommands share: messages and exit statuses.
 * Linked into both programs, warden and warden-resize. */
#include <stdarg.h>

#include "cli.h"

int wd__cli_fail(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "warden %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return WD_EXIT_FAILURE;
}

int wd__cli_status(const wd_cmd_result *r) {
  return r->signal ? WD_EXIT_SIGNAL_BASE + r->signal : r->exit_code;
}

