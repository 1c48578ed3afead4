/* cli.h -- what the subcommands of the warden program share: their entry
 * points, the exit statuses, messages and the joblog.  The CLI is built on
 * the public API alone (warden.h, warden-image.h) and its own headers. */
#ifndef WD__CLI_H
#define WD__CLI_H

#include <stdio.h>

#include "opts.h"
#include "parse.h"
#include "warden.h"

/* Exit statuses, as timeout(1) and GNU parallel use them. */
#define WD_EXIT_TIMEOUT 124
#define WD_EXIT_FAILURE 125 /* warden's own */
/* A batch's status counts its failures up to WD_EXIT_MAX_COUNTED, then
 * says WD_EXIT_MANY_FAILED; a status past WD_EXIT_SIGNAL_BASE is a signal. */
#define WD_EXIT_MAX_COUNTED 100
#define WD_EXIT_MANY_FAILED 101
#define WD_EXIT_SIGNAL_BASE 128

/* A duration in ms as whole seconds, rounded up: what RLIMIT_CPU takes. */
#define WD__CLI_MS_PER_S 1000
static inline uint64_t wd__cli_seconds_up(uint64_t ms) {
  return (ms + WD__CLI_MS_PER_S - 1) / WD__CLI_MS_PER_S;
}

int wd__cli_exec(int argc, char **argv);
int wd__cli_run(int argc, char **argv);
int wd__cli_resize(int argc, char **argv);

/* Prints "warden CMD: message" to stderr and returns WD_EXIT_FAILURE. */
int wd__cli_fail(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* GNU parallel's joblog: opens FILE for appending, dropping a last line
 * that has no newline (a record cut short by a crash or a full disk) and
 * writing the header when it is empty; an fd or a negative errno. */
int wd__cli_joblog_open(const char *path);
/* Appends one line with a single write(), or nothing: a short write is cut
 * back off.  In the command column \, tab, newline and CR are written as
 * \\, \t, \n and \r, so a record is always one line of nine columns.
 * Does nothing if fd < 0.  0, or a negative errno. */
int wd__cli_joblog_line(int fd, size_t seq, double start, double runtime, long long sent,
                       size_t received, int exitval, int sig, const char *command);
/* For --resume: calls mark(ctx, seq) for each whole record of the joblog
 * at path (with only_ok, each that finished with status 0).  A log that
 * cannot be read has none (wd__cli_joblog_open says why).  Returns 0. */
int wd__cli_joblog_finished(const char *path, int only_ok,
                           void (*mark)(void *ctx, size_t seq), void *ctx);

/* The status a shell would report for a command result: its exit code, or
 * 128 + the signal that killed it. */
int wd__cli_status(const wd_cmd_result *r);

#endif
