/* opts_sched.c -- the options of `warden run` that say when and how each
 * command runs, read as GNU parallel and xargs read them: -j/-P in all
 * their forms (N, 0, N%, +N, -N), -t and -v, -r, --timeout (a duration or
 * N% of the median runtime), --retries (attempts in all), --halt (every
 * form parallel takes), --memfree, --load, --nice, --wd and --exit-codes.
 * Pure, as the rest of opts.c: nothing opened, nothing started. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* -j 0, GNU parallel's "as many as possible": parallel itself stops at
 * what its fork and file-handle probes allow (600 at once here).  Each
 * warden command costs a pool worker (a process) and three descriptors;
 * 1024 is far more than any machine runs usefully at once and still
 * starts in well under a second, and run.c lowers it further, with a
 * warning, when 'ulimit -n' cannot hold it. */
#define RUN_JOBS_AS_MANY 1024
#define RUN_MAX_JOBS 65536
#define RUN_MAX_TRIES 1000000
#define HALT_MAX_COUNT 1000000000
#define PERCENT 100.0
#define NICE_MAX 19 /* setpriority's range: -20 to 19 */
#define NICE_MIN 20
#define PCT_BUF 32

static long cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? n : 1;
}

/* "12.5%" into *pct (12.5); UV_EINVAL if s is not a number and a '%'. */
static int parse_percent(const char *s, double *pct) {
  size_t n = strlen(s);
  char buf[PCT_BUF];
  if (n < 2 || n >= sizeof(buf) || s[n - 1] != '%')
    return UV_EINVAL;
  memcpy(buf, s, n - 1);
  buf[n - 1] = '\0';
  char *end;
  *pct = strtod(buf, &end);
  return *end || end == buf || !(*pct >= 0) || *pct > 1e6 ? UV_EINVAL : 0;
}

/* -j as GNU parallel reads it: N, 0 (as many as possible), N% of the
 * CPUs, +N or -N CPUs more or less; rounded up, at least 1. */
static int parse_jobs(const char *s, long *jobs) {
  double pct, v;
  long n;
  if (parse_percent(s, &pct) == 0) {
    v = ceil((double)cpus() * pct / PERCENT);
  } else if ((s[0] == '+' || s[0] == '-') && wd__parse_count(s + 1, 0, RUN_MAX_JOBS, &n) == 0) {
    v = (double)(s[0] == '+' ? cpus() + n : cpus() - n);
  } else if (wd__parse_count(s, 0, RUN_MAX_JOBS, &n) == 0) {
    v = n == 0 ? RUN_JOBS_AS_MANY : (double)n;
  } else {
    return UV_EINVAL;
  }
  *jobs = v < 1 ? 1 : v > RUN_MAX_JOBS ? RUN_MAX_JOBS : (long)v;
  return 0;
}

/* --halt as GNU parallel reads it: never, WHEN,WHY=N or WHEN,WHY=N%
 * (WHEN now or soon, WHY fail, success or done), and the old numbers 0
 * (never), 1 (soon,fail=1), 2 (now,fail=1), -1 (soon,success=1), -2
 * (now,success=1) and N% (soon,fail=N%). */
static int parse_halt(const char *s, wd_run_opts *o) {
  static const struct {
    const char *old, *now;
  } olds[] = {{"0", "never"},           {"1", "soon,fail=1"},     {"2", "now,fail=1"},
              {"-1", "soon,success=1"}, {"-2", "now,success=1"}};
  static const char *const whys[] = {[WD__HALT_FAIL] = "fail=", [WD__HALT_SUCCESS] = "success=",
                                     [WD__HALT_DONE] = "done="};
  for (size_t i = 0; i < sizeof(olds) / sizeof(olds[0]); i++)
    if (strcmp(s, olds[i].old) == 0)
      s = olds[i].now;
  double pct;
  o->halt_on = 0;
  if (strcmp(s, "never") == 0)
    return 0;
  if (parse_percent(s, &pct) == 0) {
    o->halt_on = WD__HALT_FAIL;
    o->halt_pct = pct;
    return pct > 0 && pct <= PERCENT ? 0 : UV_EINVAL;
  }
  o->halt_now = strncmp(s, "now,", 4) == 0;
  if (!o->halt_now && strncmp(s, "soon,", 5) != 0)
    return UV_EINVAL;
  s += o->halt_now ? 4 : 5;
  for (int w = WD__HALT_FAIL; w <= WD__HALT_DONE; w++)
    if (strncmp(s, whys[w], strlen(whys[w])) == 0) {
      o->halt_on = w;
      s += strlen(whys[w]);
    }
  if (!o->halt_on)
    return UV_EINVAL;
  if (parse_percent(s, &pct) == 0) {
    o->halt_pct = pct;
    return pct > 0 && pct <= PERCENT ? 0 : UV_EINVAL;
  }
  return wd__parse_count(s, 1, HALT_MAX_COUNT, &o->halt_count);
}

/* --timeout: a duration, or N% of the median runtime of the commands that
 * succeeded so far (GNU parallel's). */
static int parse_timeout(const char *s, wd_run_opts *o) {
  if (parse_percent(s, &o->timeout_pct) == 0)
    return o->timeout_pct > 0 ? 0 : UV_EINVAL;
  o->timeout_pct = 0;
  return wd__parse_duration(s, &o->timeout_ms);
}

/* --load N (commands running on the machine) or N% of the CPUs. */
static int parse_load(const char *s, double *load) {
  double pct;
  if (parse_percent(s, &pct) == 0) {
    *load = (double)cpus() * pct / PERCENT;
    return 0;
  }
  char *end;
  *load = strtod(s, &end);
  return *end || end == s || !(*load > 0) ? UV_EINVAL : 0;
}

/* --wd DIR: GNU parallel's special '...' (a fresh temporary directory
 * per command) and replacement strings in DIR are not taken. */
static int check_workdir(const char *s, wd__cli_msg *msg) {
  if (strcmp(s, "...") == 0)
    return wd__cli_say(msg, "--wd ... (GNU parallel's temporary directory per command) is "
                       "not supported: name a directory");
  if (strchr(s, '{'))
    return wd__cli_say(msg, "--wd '%s': replacement strings in --wd are not supported", s);
  return *s ? 0 : wd__cli_say(msg, "--wd needs a directory");
}

static int sched_value(int c, const char *arg, wd_run_opts *o, wd__cli_msg *msg) {
  const char *name = NULL;
  long nice;
  switch (c) {
  case 'j':
  case 'P': return parse_jobs(arg, &o->jobs) ? wd__cli_say(msg, "invalid value '%s' for --jobs "
                                                   "(N, 0, N%%, +N or -N)", arg) : 0;
  case WD__OPT_TIMEOUT:
    if (parse_timeout(arg, o))
      name = "--timeout (a duration: 250ms, 10s, 1m30s; or N% of the median runtime)";
    break;
  case WD__OPT_RETRIES:
    if (wd__parse_count(arg, 0, RUN_MAX_TRIES, &o->tries))
      name = "--retries";
    break;
  case WD__OPT_HALT:
    if (parse_halt(arg, o))
      name = "--halt (never, now|soon,fail|success|done=N or N%)";
    break;
  case WD__OPT_MEMFREE:
    if (wd__cli_parallel_size(arg, &o->memfree))
      name = "--memfree";
    break;
  case WD__OPT_LOAD:
    if (parse_load(arg, &o->load_max))
      name = "--load";
    break;
  case WD__OPT_NICE:
    if (wd__parse_count(arg[0] == '-' ? arg + 1 : arg, 0, arg[0] == '-' ? NICE_MIN : NICE_MAX,
                       &nice))
      name = "--nice (-20 to 19)";
    o->nice = arg[0] == '-' ? -(int)nice : (int)nice;
    break;
  case WD__OPT_WD: o->workdir = arg; return check_workdir(arg, msg);
  case WD__OPT_EXIT_CODES:
    o->xargs_codes = strcmp(arg, "xargs") == 0;
    if (!o->xargs_codes && strcmp(arg, "parallel") != 0)
      name = "--exit-codes (parallel or xargs)";
    break;
  default: return 1;
  }
  return name ? wd__cli_say(msg, "invalid value '%s' for %s", arg, name) : 0;
}

int wd__cli_run_sched_option(int c, const char *arg, wd_run_opts *o, wd__cli_msg *msg) {
  switch (c) {
  case 't': o->print_cmds = 1; return 0;
  case 'v': o->verbose = 1; return 0;
  case 'r': o->no_run_if_empty = 1; return 0;
  default: return sched_value(c, arg, o, msg);
  }
}

int wd__cli_run_sched_check(const wd_run_opts *o, wd__cli_msg *msg) {
  const char *what = o->halt_on               ? "--halt"
                     : o->xargs_codes         ? "--exit-codes=xargs"
                     : o->timeout_pct > 0     ? "--timeout N%"
                     : o->print_cmds          ? "-t"
                     : o->memfree             ? "--memfree"
                     : o->load_max > 0        ? "--load"
                                              : NULL;
  if (o->pipe && what)
    return wd__cli_say(msg, "--pipe cannot go with %s (not implemented for blocks)", what);
  return 0;
}
