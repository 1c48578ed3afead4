/* opts_exec.c -- the options of `warden exec`: its help text and the pure
 * function that parses them (opts.h), in timeout(1)'s form (DURATION
 * COMMAND) or warden's own (-t DURATION).  Nothing here prints, starts or
 * keeps state. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli.h"

#define EXEC_DEFAULT_GRACE_MS 1000

const char wd__cli_exec_usage[] =
    "Usage: warden exec [OPTION]... DURATION COMMAND [ARG]...\n"
    "  or:  warden exec [-t DURATION] [OPTION]... [--] COMMAND [ARG]...\n"
    "Run COMMAND; if it is still running after DURATION, send it a signal.\n"
    "Whenever COMMAND ends, everything it started is killed.  The first form\n"
    "is timeout(1)'s, with its defaults (TERM; KILL only after -k) and exit\n"
    "statuses; the second is warden's stricter one (KILL at the deadline; with\n"
    "--signal, KILL 1s after it; always 124 at the deadline).\n"
    "\n"
    "  -t, --timeout=DURATION     deadline, in warden's form\n"
    "  -s, --signal=SIG           signal sent at the deadline: TERM, USR1,\n"
    "                             RTMIN+1, 15 ...\n"
    "  -k, --kill-after=DURATION  send KILL this long after the signal if\n"
    "                             COMMAND still runs; 0: never\n"
    "      --preserve-status      exit with COMMAND's status even at the deadline\n"
    "      --foreground           leave COMMAND in warden's process group, so that\n"
    "                             it may read the terminal and gets Ctrl-C and\n"
    "                             Ctrl-Z; what it started still dies with it\n"
    "  -v, --verbose              say on stderr each signal sent to COMMAND\n"
    "  -m, --memory=SIZE          address-space limit of the command: 512M, 2G\n"
    "  -c, --cpu=DURATION         CPU-time limit of the command (whole seconds)\n"
    "  -h, --help                 show this help\n"
    "      --version              show the version\n"
    "\n"
    "DURATION: a number (1.5, 1e3), in seconds or with a unit: ms, s, m, h, d,\n"
    "combinable (1m30s); 0, inf or infinity: none.\n"
    "\n"
    "stdin, stdout and stderr pass through; SIGINT, SIGTERM, SIGHUP, SIGQUIT and\n"
    "the --signal sent to warden are forwarded to the command.\n"
    "\n"
    "Exit status: the command's own (killed by signal N: warden dies of N too);\n"
    "124 if the deadline was hit (timeout's form: 137 if COMMAND was then killed\n"
    "by KILL); 125 if warden itself failed; 126 if COMMAND cannot be executed;\n"
    "127 if it is not found.\n";

enum { EXEC_PRESERVE = 512, EXEC_FOREGROUND, EXEC_VERSION };

/* One option of exec; its message names what kind of value was wrong. */
static int exec_option(int c, const char *arg, void *opts, wd__cli_msg *msg) {
  wd_exec_opts *o = opts;
  switch (c) {
  case 't':
    o->have_timeout = 1;
    if (wd__parse_timeout_duration(arg, &o->timeout_ms))
      return wd__cli_say(msg, "invalid duration '%s' (try 250ms, 10s, 1m30s)", arg);
    return 0;
  case 's':
    return wd__parse_signal(arg, &o->sig) ? wd__cli_say(msg, "invalid signal '%s'", arg) : 0;
  case 'k':
    o->have_grace = 1;
    return wd__parse_timeout_duration(arg, &o->grace_ms)
               ? wd__cli_say(msg, "invalid duration '%s'", arg)
               : 0;
  case 'm':
    if (wd__parse_size(arg, &o->memory) || o->memory == 0)
      return wd__cli_say(msg, "invalid size '%s' (try 512M, 2G)", arg);
    return wd__cli_check_memory(msg, arg, o->memory);
  case 'c':
    if (wd__parse_duration(arg, &o->cpu_ms) || o->cpu_ms == 0)
      return wd__cli_say(msg, "invalid CPU time '%s'", arg);
    return 0;
  case 'v': o->verbose = 1; return 0;
  case EXEC_PRESERVE: o->preserve_status = 1; return 0;
  case EXEC_FOREGROUND: o->foreground = 1; return 0;
  case EXEC_VERSION: o->version = 1; return 0;
  default:
    return UV_EINVAL; /* getopt said what */
  }
}

/* Without -t, a first operand that reads as a duration is timeout(1)'s
 * DURATION; one that starts as a number but is not one ("10x"), or that
 * is one strtod reads but timeout refuses ("nan"), is refused as timeout
 * refuses it, instead of being run as a command.  Any other ("make",
 * "info") is the command, run without a deadline. */
static int exec_duration_operand(char **argv, wd_exec_opts *o, wd__cli_msg *msg) {
  const char *d = argv[optind];
  if (wd__parse_timeout_duration(d, &o->timeout_ms) == 0) {
    o->timeout_form = 1;
    optind++;
    return 0;
  }
  char *end;
  strtod(d, &end);
  if (*d == '\0' || *end == '\0' || strchr("0123456789.+ \t", *d) != NULL)
    return wd__cli_say(msg, "invalid duration '%s' (try 250ms, 10s, 1m30s)", d);
  return 0;
}

int wd__cli_exec_parse(int argc, char **argv, wd_exec_opts *o, wd__cli_msg *msg) {
  static const struct option opts[] = {
      {"timeout", required_argument, 0, 't'},
      {"signal", required_argument, 0, 's'},
      {"kill-after", required_argument, 0, 'k'},
      {"memory", required_argument, 0, 'm'},
      {"cpu", required_argument, 0, 'c'},
      {"preserve-status", no_argument, 0, EXEC_PRESERVE},
      {"foreground", no_argument, 0, EXEC_FOREGROUND},
      {"verbose", no_argument, 0, 'v'},
      {"help", no_argument, 0, 'h'},
      {"version", no_argument, 0, EXEC_VERSION},
      {0, 0, 0, 0}};
  *o = (wd_exec_opts){0};
  int rc = wd__cli_getopt(argc, argv, "+t:s:k:m:c:vh", opts, exec_option, o, msg);
  if (rc != WD__CLI_GO || o->version)
    return rc;
  if (!o->have_timeout && optind < argc && exec_duration_operand(argv, o, msg) != 0)
    return UV_EINVAL;
  if (optind >= argc)
    return wd__cli_say(msg, "missing command (try 'warden exec --help')");
  if (o->sig == 0)
    o->sig = o->timeout_form ? SIGTERM : SIGKILL;
  /* timeout(1) sends KILL only when -k says when; warden's form does not
   * wait for ever on a command that ignores the signal. */
  if (!o->timeout_form && !o->have_grace && o->sig != SIGKILL)
    o->grace_ms = EXEC_DEFAULT_GRACE_MS;
  o->argv = argv + optind;
  return WD__CLI_GO;
}
