/* opts.c -- the options of `warden run` (its help text and the pure
 * function that parses them) and what every command's parser shares: the
 * getopt loop, the messages, the usage errors (see opts.h).  exec's are in
 * opts_exec.c; run's GNU parallel and xargs parts in opts_lang.c,
 * opts_sched.c and opts_compat.c.  Values are read with parse.c's
 * parsers; nothing here prints, starts or keeps state, so each command's
 * checks can be tested one option at a time. */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cli.h"

const char wd__cli_run_usage[] =
    "Usage: warden run [OPTION]... [--] COMMAND [ARG]... [::: INPUT...]...\n"
    "Run COMMAND once per input, N at a time.  Inputs are the words after\n"
    "':::', the lines of the files after '::::' or -a, or else the lines of\n"
    "stdin; several sources combine (':::+', '::::+': side by side), as GNU\n"
    "parallel's.  In COMMAND, {} is the input, {.} without extension, {/}\n"
    "basename, {//} dirname, {/.} both, {#} the job number, {%} its slot,\n"
    "{N} (and {N.} ...) the N-th source or column, {NAME} a --header column;\n"
    "without any, the input is appended.  One COMMAND argument with shell\n"
    "syntax runs under $PARALLEL_SHELL or /bin/sh -c, inputs quoted as they\n"
    "need; several words run directly (with shell syntax: refused; -q).\n"
    "\n"
    "  -j, --jobs=N            commands at once (default: CPUs; fewer, with a\n"
    "                          warning, if 'ulimit -n' cannot hold N)\n"
    "                          0: as many as possible (1024); N%: of the CPUs;\n"
    "                          +N, -N: CPUs plus or minus N\n"
    "  -P, --max-procs=N       the same as -j (xargs)\n"
    "      --timeout=DURATION  deadline per command: 250ms, 10s, 1m30s; 0: none;\n"
    "                          N%: N% of the median runtime of those that succeeded\n"
    "      --signal=SIG        signal at the deadline (default KILL)\n"
    "      --kill-after=DURATION  grace between --signal and KILL (default 1s)\n"
    "      --memory=SIZE       address-space limit per command: 512M, 2G\n"
    "                          (at least 1M: no program starts in less)\n"
    "      --cpu=DURATION      CPU-time limit per command (whole seconds)\n"
    "      --retries=N         run a failed or timed-out command up to N times in\n"
    "                          all (GNU parallel's); 0: until it succeeds\n"
    "      --halt=WHEN,WHY=N   stop when N (or N%) commands failed (WHY 'fail'),\n"
    "                          succeeded ('success') or finished ('done'); WHEN\n"
    "                          is 'now' (kill what runs) or 'soon' (let it\n"
    "                          finish); 'never' (the default), or 0, 1, 2, -1, -2\n"
    "      --halt-on-error=...  the same as --halt\n"
    "      --memfree=SIZE      start no command while less memory is available\n"
    "      --load=N            start no command while N or more processes run\n"
    "                          (N%: of the CPUs)\n"
    "      --nice=N            run each command N nicer\n"
    "      --wd=DIR, --workdir=DIR  run each command in DIR (made if missing)\n"
    "  -t, --verbose           print each command on stderr as it starts\n"
    "  -v                      print each command on stdout before its output\n"
    "  -r, --no-run-if-empty   accepted: no input runs nothing anyway\n"
    "      --exit-codes=xargs  exit as xargs does (123, 124, 125, 126, 127)\n"
    "      --jl=FILE, --res=DIR, --will-cite, --no-notice  GNU parallel's names:\n"
    "                          --joblog, --results, and nothing to silence\n"
    "      --delay=DURATION    at least this long between two starts\n"
    "      --rate=N/s          at most N starts per second\n"
    "  -k, --keep-order        print outputs in input order\n"
    "      --tag               prefix each output line with the input and a tab\n"
    "      --tagstring=STR     --tag with STR (replacement strings as in COMMAND)\n"
    "      --group             each command's output whole when it ends (the\n"
    "                          default, as GNU parallel's)\n"
    "  -u, --ungroup           output passes straight through, as GNU parallel's\n"
    "                          -u: lines of different commands may mix\n"
    "      --line-buffer       print each whole line as soon as it is printed;\n"
    "                          lines of different commands never mix\n"
    "      --results=DIR       save each command's stdout, stderr and seq in\n"
    "                          DIR/1/INPUT/ (GNU parallel's tree), not on stdout\n"
    "      --pipe              split stdin at line ends into blocks, one block to\n"
    "                          each command's stdin (-N N: N lines per block)\n"
    "      --block=SIZE        --pipe's block size (default 1M)\n"
    "      --max-output=SIZE   cut each command's stdout and stderr at their last\n"
    "                          whole line within SIZE, and say so; 0: never (the\n"
    "                          default: output is never cut; what outgrows memory\n"
    "                          waits in a file under $TMPDIR)\n"
    "      --json              one JSON object per command on stdout\n"
    "      --joblog=FILE       GNU parallel's joblog, one line per finished command\n"
    "      --resume            with --joblog: skip inputs the log has finished\n"
    "      --resume-failed     with --joblog: also rerun those that failed\n"
    "      --progress          progress on stderr (only if it is a terminal)\n"
    "      --bar, --eta        the same as --progress\n"
    "  -N, --max-args=N        N inputs per command (xargs -n); 0: one input is\n"
    "                          read per command but none is passed\n"
    "  -n, -L, --max-lines=N   the same as -N (xargs -n; -L: N lines each)\n"
    "  -0, --null              inputs are separated by NUL, not newline\n"
    "  -d, --delimiter=DELIM   inputs are separated by DELIM (\\n, \\t, \\0, \\xHH)\n"
    "  -a, --arg-file=FILE     an input source: FILE's lines ('-': stdin)\n"
    "      --colsep=REGEX      split each input into columns {1} {2} ...\n"
    "      --header=:          each source's first line names its columns\n"
    "  -I STR                  STR stands for {} in COMMAND\n"
    "  -q, --quote             run COMMAND's words as they are, never the shell\n"
    "      --shell             always the shell: COMMAND's words joined, inputs\n"
    "                          quoted\n"
    "      --dry-run           print each command as GNU parallel would; run none\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 if every command succeeded; else the number that failed\n"
    "(1-100; 101 for more); with --halt as GNU parallel's; 125 if warden failed\n"
    "(GNU parallel: 255); 130/143 after SIGINT/SIGTERM.  Long options are\n"
    "spelt in full; GNU parallel's and xargs' options warden lacks are refused.\n";

/* Bounds of the counts the options take. */
#define RUN_MAX_ARGS 65536
#define RATE_MAX_PER_S 1000000
#define MS_PER_S 1000
#define RUN_DEFAULT_BLOCK ((uint64_t)1 << 20) /* GNU parallel's --block */

int wd__cli_say(wd__cli_msg *msg, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg->text, sizeof(msg->text), fmt, ap);
  va_end(ap);
  return UV_EINVAL;
}

int wd__cli_bad_value(wd__cli_msg *msg, const struct option *opts, int c, const char *arg) {
  const char *name = "?";
  for (const struct option *o = opts; o->name; o++)
    if (o->val == c)
      name = o->name;
  return wd__cli_say(msg, "invalid value '%s' for --%s", arg, name);
}

int wd__cli_check_memory(wd__cli_msg *msg, const char *arg, uint64_t bytes) {
  if (bytes >= WD__CLI_MIN_MEMORY)
    return 0;
  return wd__cli_say(msg, "memory limit '%s' is below the minimum of 1M: no program "
                    "can start in less address space", arg);
}

int wd__cli_usage_error(const char *cmd, const wd__cli_msg *msg) {
  if (msg->text[0])
    return wd__cli_fail(cmd, "%s", msg->text);
  fprintf(stderr, "Try 'warden %s --help'.\n", cmd);
  return WD_EXIT_FAILURE;
}

int wd__cli_parse_ends(int rc, const char *cmd, const char *usage, const wd__cli_msg *msg,
                      int *status) {
  if (rc == WD__CLI_GO)
    return 0;
  if (rc == WD__CLI_HELP) {
    fputs(usage, stdout);
    *status = 0;
  } else {
    *status = wd__cli_usage_error(cmd, msg);
  }
  return 1;
}

int wd__cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
                  wd__cli_option_fn fn, void *opts, wd__cli_msg *msg) {
  msg->text[0] = '\0';
  int c;
  optind = 0; /* a fresh scan, whatever an earlier call left */
  while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
    if (c == 'h')
      return WD__CLI_HELP;
    int err = fn(c, optarg, opts, msg);
    if (err)
      return err;
  }
  return WD__CLI_GO;
}

static long cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? n : 1;
}

/* ---- warden run ------------------------------------------------------ */

enum { OPT_KILL_AFTER = 256, OPT_DELAY, OPT_RATE, OPT_TAG, OPT_MAXOUT, OPT_JSON,
       OPT_JOBLOG, OPT_RESUME, OPT_RESUME_FAILED, OPT_PROGRESS, OPT_SHELL,
       OPT_TAGSTRING, OPT_LINE_BUFFER, OPT_RESULTS, OPT_PIPE, OPT_BLOCK, OPT_RECORDS,
       OPT_GROUP };

static const struct option run_options[] = {
    {"jobs", required_argument, 0, 'j'},
    {"timeout", required_argument, 0, WD__OPT_TIMEOUT},
    {"signal", required_argument, 0, 's'},
    {"kill-after", required_argument, 0, OPT_KILL_AFTER},
    {"memory", required_argument, 0, 'm'},
    {"cpu", required_argument, 0, 'c'},
    {"retries", required_argument, 0, WD__OPT_RETRIES},
    {"halt", required_argument, 0, WD__OPT_HALT},
    {"halt-on-error", required_argument, 0, WD__OPT_HALT},
    {"max-procs", required_argument, 0, 'P'},
    {"memfree", required_argument, 0, WD__OPT_MEMFREE},
    {"load", required_argument, 0, WD__OPT_LOAD},
    {"nice", required_argument, 0, WD__OPT_NICE},
    {"workdir", required_argument, 0, WD__OPT_WD},
    {"wd", required_argument, 0, WD__OPT_WD},
    {"exit-codes", required_argument, 0, WD__OPT_EXIT_CODES},
    {"verbose", no_argument, 0, 't'},
    {"no-run-if-empty", no_argument, 0, 'r'},
    {"will-cite", no_argument, 0, WD__OPT_NOOP},
    {"no-notice", no_argument, 0, WD__OPT_NOOP},
    {"jl", required_argument, 0, OPT_JOBLOG},
    {"delay", required_argument, 0, OPT_DELAY},
    {"rate", required_argument, 0, OPT_RATE},
    {"keep-order", no_argument, 0, 'k'},
    {"tag", no_argument, 0, OPT_TAG},
    {"max-output", required_argument, 0, OPT_MAXOUT},
    {"json", no_argument, 0, OPT_JSON},
    {"joblog", required_argument, 0, OPT_JOBLOG},
    {"resume", no_argument, 0, OPT_RESUME},
    {"resume-failed", no_argument, 0, OPT_RESUME_FAILED},
    {"progress", no_argument, 0, OPT_PROGRESS},
    {"bar", no_argument, 0, OPT_PROGRESS},
    {"eta", no_argument, 0, OPT_PROGRESS},
    {"tagstring", required_argument, 0, OPT_TAGSTRING},
    {"ungroup", no_argument, 0, 'u'},
    {"group", no_argument, 0, OPT_GROUP},
    {"line-buffer", no_argument, 0, OPT_LINE_BUFFER},
    {"lb", no_argument, 0, OPT_LINE_BUFFER},
    {"results", required_argument, 0, OPT_RESULTS},
    {"res", required_argument, 0, OPT_RESULTS}, /* GNU parallel's alias */
    {"pipe", no_argument, 0, OPT_PIPE},
    {"block", required_argument, 0, OPT_BLOCK},
    {"recend", required_argument, 0, OPT_RECORDS},
    {"recstart", required_argument, 0, OPT_RECORDS},
    {"null", no_argument, 0, '0'},
    {"max-args", required_argument, 0, 'N'},
    {"shell", no_argument, 0, OPT_SHELL},
    {"arg-file", required_argument, 0, 'a'},
    {"quote", no_argument, 0, 'q'},
    {"dry-run", no_argument, 0, WD__OPT_DRY_RUN},
    {"colsep", required_argument, 0, WD__OPT_COLSEP},
    {"header", required_argument, 0, WD__OPT_HEADER},
    {"max-lines", required_argument, 0, 'L'},
    {"delimiter", required_argument, 0, 'd'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

/* "N/s": a start at most every 1000/N ms (at least 1). */
static int parse_rate(const char *s, uint64_t *delay_ms) {
  char buf[32];
  size_t n = strlen(s);
  if (n < 3 || n >= sizeof(buf) || strcmp(s + n - 2, "/s") != 0)
    return UV_EINVAL;
  memcpy(buf, s, n - 2);
  buf[n - 2] = '\0';
  long r;
  if (wd__parse_count(buf, 1, RATE_MAX_PER_S, &r))
    return UV_EINVAL;
  *delay_ms = (uint64_t)(MS_PER_S / r);
  if (*delay_ms == 0)
    *delay_ms = 1;
  return 0;
}

/* A size as GNU parallel reads it (--block, --memfree): K M G T are
 * powers of 1024, k m g t of 1000 (parallel's 100k is 100000 bytes). */
int wd__cli_parallel_size(const char *arg, uint64_t *bytes) {
  static const char decimal[] = "kmgt";
  size_t n = strlen(arg);
  const char *d = n ? strchr(decimal, arg[n - 1]) : NULL;
  if (d == NULL)
    return wd__parse_size(arg, bytes);
  char num[32];
  uint64_t v;
  if (n >= sizeof(num))
    return UV_EINVAL;
  memcpy(num, arg, n - 1);
  num[n - 1] = '\0';
  if (wd__parse_size(num, &v) != 0)
    return UV_EINVAL;
  for (const char *p = decimal; p <= d; p++) {
    if (v > UINT64_MAX / 1000)
      return UV_EINVAL;
    v *= 1000;
  }
  *bytes = v;
  return 0;
}

/* The options that take a value: 0, or UV_EINVAL (msg says which). */
static int run_value(int c, const char *arg, wd_run_opts *o, wd__cli_msg *msg) {
  int bad = 0;
  switch (c) {
  case 's': bad = wd__parse_signal(arg, &o->sig); break;
  case OPT_KILL_AFTER:
    bad = wd__parse_duration(arg, &o->grace_ms);
    o->have_grace = 1;
    break;
  case 'm':
    bad = wd__parse_size(arg, &o->memory) || o->memory == 0;
    if (!bad)
      return wd__cli_check_memory(msg, arg, o->memory);
    break;
  case 'c': bad = wd__parse_duration(arg, &o->cpu_ms) || o->cpu_ms == 0; break;
  case WD__OPT_NOOP: break; /* GNU parallel's, and what warden does anyway */
  case OPT_DELAY: bad = wd__parse_duration(arg, &o->delay_ms); break;
  case OPT_RATE: bad = parse_rate(arg, &o->delay_ms); break;
  case OPT_MAXOUT: bad = wd__parse_size(arg, &o->max_output); break;
  case OPT_JOBLOG: o->joblog = arg; break;
  case 'N':
    o->max_args_given = 1; /* --pipe: -N lines per block, instead of --block */
    bad = wd__parse_count(arg, 0, RUN_MAX_ARGS, &o->max_args);
    break;
  case OPT_TAGSTRING: o->tagstring = arg; break;
  case OPT_RESULTS: o->results = arg; break;
  case OPT_BLOCK: bad = wd__cli_parallel_size(arg, &o->block) || o->block == 0; break;
  case OPT_RECORDS:
    return wd__cli_say(msg, "--recend and --recstart are not supported: --pipe's records "
                       "are lines");
  default: return UV_EINVAL; /* getopt said what */
  }
  return bad ? wd__cli_bad_value(msg, run_options, c, arg) : 0;
}

/* The switches; 0 if c was one. */
static int run_switch(int c, wd_run_opts *o) {
  int *flag = c == 'k'                 ? &o->keep_order
              : c == OPT_TAG           ? &o->tag
              : c == OPT_JSON          ? &o->json
              : c == OPT_RESUME        ? &o->resume
              : c == OPT_RESUME_FAILED ? &o->resume_failed
              : c == OPT_PROGRESS      ? &o->progress
              : c == '0'               ? &o->null_sep
              : c == OPT_SHELL         ? &o->shell
              : c == 'u'               ? &o->ungroup
              : c == OPT_LINE_BUFFER   ? &o->line_buffer
              : c == OPT_PIPE          ? &o->pipe
              : c == OPT_GROUP         ? &o->group
                                       : NULL;
  if (flag == NULL)
    return UV_EINVAL;
  *flag = 1;
  return 0;
}

/* After the options: the template, then the inputs after ':::', if any. */
static int run_words(int argc, char **argv, wd_run_opts *o, wd__cli_msg *msg) {
  o->tmpl = argv + optind;
  o->ntmpl = argc - optind;
  for (int i = 0; i < o->ntmpl; i++)
    if (wd__cli_is_source_mark(o->tmpl[i])) {
      int err = wd__cli_run_source_words(o->tmpl + i, o->ntmpl - i, o, msg);
      if (err)
        return err;
      o->ntmpl = i;
      break;
    }
  if (o->ntmpl == 0)
    return wd__cli_say(msg, "missing command (try 'warden run --help')");
  return WD__CLI_GO;
}

/* One option of run: a switch, or one that takes a value. */
static int run_option(int c, const char *arg, void *opts, wd__cli_msg *msg) {
  wd_run_opts *o = opts;
  int lang = wd__cli_run_lang_option(c, arg, o, msg);
  if (lang != 1)
    return lang;
  int sched = wd__cli_run_sched_option(c, arg, o, msg);
  if (sched != 1)
    return sched;
  return run_switch(c, o) == 0 ? 0 : run_value(c, arg, o, msg);
}

/* What the output options cannot do together, said rather than done
 * differently from GNU parallel; and --block's default. */
static int check_output(wd_run_opts *o, wd__cli_msg *msg) {
  const char *with = o->group ? "--group" : o->json ? "--json"
                     : o->results ? "--results" : o->tag ? "--tag"
                     : o->tagstring ? "--tagstring" : o->line_buffer ? "--line-buffer"
                     : o->keep_order ? "--keep-order" : NULL;
  if (o->ungroup && with)
    return wd__cli_say(msg, "-u passes output straight through: it cannot go with %s", with);
  if (o->line_buffer && (o->json || o->keep_order || o->results))
    return wd__cli_say(msg, "--line-buffer cannot go with %s",
                       o->json ? "--json" : o->keep_order ? "--keep-order" : "--results");
  if (o->results && o->header)
    return wd__cli_say(msg, "--results with --header is not supported: GNU parallel names "
                       "the directories by column");
  size_t n = o->results ? strlen(o->results) : 0;
  if (n >= 4 && (strcmp(o->results + n - 4, ".csv") == 0 ||
                 strcmp(o->results + n - 4, ".tsv") == 0 ||
                 (n >= 5 && strcmp(o->results + n - 5, ".json") == 0)))
    return wd__cli_say(msg, "--results to a .csv, .tsv or .json file is not supported: "
                       "give a directory (or use --json)");
  if (o->pipe && (o->resume || o->resume_failed || o->tries != 1))
    return wd__cli_say(msg, "--pipe cannot go with %s: a block is read once",
                       o->tries != 1 ? "--retries" : "--resume");
  if (o->pipe && o->block == 0)
    o->block = RUN_DEFAULT_BLOCK;
  return 0;
}

int wd__cli_run_parse(int argc, char **argv, wd_run_opts *o, wd__cli_msg *msg) {
  /* -t, -r, -v, -P: GNU parallel's and xargs' (opts_compat.c) */
  static const char optstring[] = "+j:P:trvk0N:I:a:qL:n:d:uh";
  *o = (wd_run_opts){.jobs = cpus(), .max_args = 1, .delim = '\n', .tries = 1};
  msg->text[0] = '\0';
  int rc = wd__cli_run_prescan(argc, argv, optstring, run_options, msg);
  if (rc == 0)
    rc = wd__cli_getopt(argc, argv, optstring, run_options, run_option, o, msg);
  if (rc != WD__CLI_GO)
    return rc;
  if (o->null_sep)
    o->delim = '\0';
  if ((o->resume || o->resume_failed) && !o->joblog)
    return wd__cli_say(msg, "--resume needs --joblog FILE");
  rc = check_output(o, msg);
  if (rc == 0)
    rc = wd__cli_run_sched_check(o, msg);
  if (rc)
    return rc;
  return run_words(argc, argv, o, msg);
}
