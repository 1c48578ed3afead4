/* cli.h -- what the subcommands of the warden program share. */
#ifndef WD_CLI_H
#define WD_CLI_H

#include <stdio.h>

#include "../jobs/command.h"
#include "parse.h"
#include "warden.h"

/* Exit statuses, as timeout(1) and GNU parallel use them. */
#define WD_EXIT_TIMEOUT 124
#define WD_EXIT_FAILURE 125 /* warden's own */

int wd_cli_exec(int argc, char **argv);
int wd_cli_run(int argc, char **argv);
int wd_cli_resize(int argc, char **argv);

/* Prints "warden CMD: message" to stderr and returns WD_EXIT_FAILURE. */
int wd_cli_fail(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "invalid value 'ARG' for --NAME", NAME found in opts by its val c;
 * returns WD_EXIT_FAILURE. */
struct option;
int wd_cli_bad_value(const char *cmd, const struct option *opts, int c,
                     const char *arg);

/* GNU parallel's joblog: opens FILE for appending, dropping a last line
 * that has no newline (a record cut short by a crash or a full disk) and
 * writing the header when it is empty; an fd or a negative errno. */
int wd_cli_joblog_open(const char *path);
/* Appends one line with a single write(), or nothing: a short write is cut
 * back off.  In the command column \, tab, newline and CR are written as
 * \\, \t, \n and \r, so a record is always one line of nine columns.
 * Does nothing if fd < 0.  0, or a negative errno after saying
 * "warden CMD: cannot write joblog: ..." on stderr (unless cmd is NULL). */
int wd_cli_joblog_line(int fd, const char *cmd, size_t seq, double start,
                       double runtime, long long sent, size_t received,
                       int exitval, int sig, const char *command);

/* The smallest address-space limit (-m) a command may be given.  Below
 * it no program starts at all: a static one needs about 1 MiB here, and a
 * dynamic one dies of SIGSEGV in the loader with no message under about
 * 512 KiB (from 1 MiB the loader says "failed to map segment"; /bin/true
 * runs from 2.5 MiB, sh from 3 MiB). */
#define WD_CLI_MIN_MEMORY ((uint64_t)1 << 20)

/* 0 if `bytes` (parsed from ARG) is a usable memory limit; else says why
 * not as "warden CMD: ..." and returns WD_EXIT_FAILURE. */
int wd_cli_check_memory(const char *cmd, const char *arg, uint64_t bytes);

/* The status a shell would report for a command result: its exit code, or
 * 128 + the signal that killed it. */
int wd_cli_status(const wd_cmd_result *r);

#endif
