/* opts.h -- the options of `warden exec` and `warden run`, parsed by pure
 * functions into plain structs: no globals, nothing printed by us, nothing
 * started, so a unit test can call them over and over (tests/
 * test_cli_opts.c).  getopt_long is restarted on each call (optind = 0);
 * what getopt itself finds wrong (an unknown option, a missing argument) it
 * says on stderr under argv[0], as it always has.
 *
 * Each parse function returns WD__CLI_GO (run), WD__CLI_HELP (print the
 * usage and exit 0), or UV_EINVAL with msg->text saying what is wrong
 * ("invalid value 'x' for --jobs"), or empty when getopt already said it:
 * wd__cli_usage_error() prints either and gives the exit status. */
#ifndef WD__CLI_OPTS_H
#define WD__CLI_OPTS_H

#include <stddef.h>
#include <stdint.h>

struct option; /* getopt.h's */

#define WD__CLI_GO 0
#define WD__CLI_HELP 1

/* A message for the user, without the "warden CMD: " its printer adds. */
typedef struct {
  char text[512];
} wd__cli_msg;

/* `warden exec [OPTION]... DURATION COMMAND [ARG]...` (timeout(1)'s
 * form: its defaults and exit statuses) or `warden exec [-t DURATION]
 * [OPTION]... [--] COMMAND [ARG]...` (warden's own, stricter). */
typedef struct {
  uint64_t timeout_ms; /* 0: none */
  uint64_t grace_ms;   /* between sig and SIGKILL; 0: no SIGKILL follows.
                          Without --kill-after: 1000 in warden's form when
                          sig is not KILL, 0 in timeout's */
  uint64_t memory;     /* RLIMIT_AS, bytes; 0: none */
  uint64_t cpu_ms;     /* RLIMIT_CPU, rounded up to seconds at use; 0: none */
  int sig;             /* sent at the deadline: KILL in warden's form, TERM
                          in timeout's, unless --signal */
  int have_grace;      /* --kill-after was given */
  int have_timeout;    /* -t was given: no DURATION operand */
  int timeout_form;    /* DURATION was the first operand: timeout(1)'s
                          rules (see wd__cli_exec) */
  int preserve_status; /* exit with the command's status, even at the deadline */
  int foreground;      /* the command stays in warden's process group */
  int verbose;         /* say each signal sent, as timeout -v does */
  int version;         /* --version: print it, run nothing */
  char **argv;         /* the command, NULL-terminated (argv's tail) */
} wd_exec_opts;

int wd__cli_exec_parse(int argc, char **argv, wd_exec_opts *o, wd__cli_msg *msg);

/* An input source of `warden run`: the words after ':::', or a file
 * after '::::' or -a ("-": stdin); linked ('+') to the one before it. */
typedef struct {
  char **words;          /* ':::': the words, nwords of them */
  int nwords;
  const char *file;      /* '::::', -a: the file; NULL for words */
  int linked;            /* ':::+', '::::+' */
} wd_run_source;

#define WD__CLI_MAX_SOURCES 32

/* `warden run [OPTION]... [--] COMMAND [ARG]... [::: INPUT...]` */
typedef struct {
  long jobs;             /* commands at once; default: CPUs */
  uint64_t timeout_ms;   /* 0: none */
  uint64_t grace_ms;     /* --kill-after, when have_grace */
  uint64_t memory;       /* RLIMIT_AS per command, bytes; 0: none */
  uint64_t cpu_ms;       /* RLIMIT_CPU per command; 0: none */
  uint64_t delay_ms;     /* between two starts (--delay, or --rate's) */
  uint64_t max_output;   /* per command and stream; 0 (default): no cap */
  int sig;               /* at the deadline; 0: SIGKILL */
  int have_grace;
  int keep_order, tag, json, resume, resume_failed, progress, null_sep, shell;
  /* When and how each command runs, as GNU parallel and xargs say it
   * (opts_sched.c; run_policy.c acts on them): */
  long tries;            /* --retries: attempts in all (GNU parallel's;
                            default 1); 0: until it succeeds */
  int halt_on;           /* --halt: WD__HALT_* counted; 0: never */
  long halt_count;       /* halt after this many, or */
  double halt_pct;       /* this percentage of all commands (when > 0) */
  int halt_now;          /* kill what runs at the halt (else let it finish) */
  double timeout_pct;    /* --timeout N%: of the median runtime; 0: none */
  int print_cmds;        /* -t: each command on stderr as it starts */
  int verbose;           /* -v: each command on stdout before its output */
  int no_run_if_empty;   /* -r: an empty input runs nothing (always so) */
  uint64_t memfree;      /* --memfree: start nothing while less is free */
  double load_max;       /* --load: start nothing while more run; 0: none */
  int nice;              /* --nice: added to each command's niceness */
  const char *workdir;   /* --wd DIR: where commands run; NULL: here */
  int xargs_codes;       /* --exit-codes=xargs: xargs' statuses 123-127 */
  long max_args;         /* inputs per command (-N); default 1 */
  int max_args_given;    /* -N was given (--pipe: lines per block) */
  const char *joblog;    /* NULL: none */
  /* What becomes of the output (cli/run_output.c, run_pipe.c): */
  int ungroup;           /* -u: straight through, not captured */
  int group;             /* --group: the default, asked for by name */
  int line_buffer;       /* --line-buffer: each whole line when it comes */
  const char *results;   /* --results DIR: GNU parallel's tree; NULL: none */
  const char *tagstring; /* --tagstring STR ('{}': the input); NULL: --tag's */
  int pipe;              /* --pipe: stdin, in blocks, to the commands' stdin */
  uint64_t block;        /* --block: bytes per --pipe block (default 1M) */
  char **tmpl;           /* the command template, ntmpl words */
  int ntmpl;
  char **inputs;         /* the words after the first ':::', ninputs of
                            them; NULL: no ':::' source */
  int ninputs;
  /* GNU parallel's language (cli/template.h, cli/sources.h): */
  wd_run_source sources[WD__CLI_MAX_SOURCES]; /* -a files, then what follows
                            the command; none: stdin */
  int nsources;
  const char *replace;   /* -I STR: stands for {}; NULL: "{}" */
  const char *colsep;    /* --colsep REGEX; NULL: one column per record */
  int header;            /* --header ':': each source's first record names
                            its columns */
  int quote, dry_run;    /* -q, --dry-run */
  int delim;             /* -d (and -0's '\0'): between records; '\n' */
} wd_run_opts;

int wd__cli_run_parse(int argc, char **argv, wd_run_opts *o, wd__cli_msg *msg);

/* opts_lang.c: the options of `warden run` that speak GNU parallel's and
 * xargs' language of inputs and templates (-I -a -q -L -n -d --colsep
 * --header --dry-run).  One option: 0; 1 if c is none of them; UV_EINVAL
 * with msg saying why. */
enum { WD__OPT_COLSEP = 512, WD__OPT_HEADER, WD__OPT_DRY_RUN };
int wd__cli_run_lang_option(int c, const char *arg, wd_run_opts *o, wd__cli_msg *msg);
/* The words after the template, words[0..n) (from the first ':::',
 * ':::+', '::::' or '::::+'), into o->sources.  0 or UV_EINVAL. */
int wd__cli_run_source_words(char **words, int n, wd_run_opts *o, wd__cli_msg *msg);
/* Whether word is one of those four. */
int wd__cli_is_source_mark(const char *word);

/* opts_sched.c: the options of `warden run` that say when and how each
 * command runs (-j/-P forms, -t, -v, -r, --timeout, --retries, --halt,
 * --memfree, --load, --nice, --wd, --exit-codes).  One option: 0; 1 if c
 * is none of them; UV_EINVAL with msg saying why. */
enum { WD__OPT_TIMEOUT = 768, WD__OPT_RETRIES, WD__OPT_HALT, WD__OPT_MEMFREE, WD__OPT_LOAD,
       WD__OPT_NICE, WD__OPT_WD, WD__OPT_EXIT_CODES, WD__OPT_NOOP };
enum { WD__HALT_FAIL = 1, WD__HALT_SUCCESS, WD__HALT_DONE };
int wd__cli_run_sched_option(int c, const char *arg, wd_run_opts *o, wd__cli_msg *msg);
/* A size as GNU parallel reads it (--block, --memfree): K M G T are
 * powers of 1024, k m g t of 1000.  0 or UV_EINVAL. */
int wd__cli_parallel_size(const char *arg, uint64_t *bytes);
/* After every option: what cannot go together.  0 or UV_EINVAL. */
int wd__cli_run_sched_check(const wd_run_opts *o, wd__cli_msg *msg);
/* opts_compat.c: checks run's option words before getopt does: long
 * options spelt in full (no abbreviation), GNU parallel's and xargs'
 * options warden lacks refused by name, and warden's old -t/-r/-m/-s/-c
 * refused with their new spelling.  0 or UV_EINVAL with msg saying why. */
int wd__cli_run_prescan(int argc, char **argv, const char *optstring,
                       const struct option *longopts, wd__cli_msg *msg);

/* The help texts, printed by --help exactly as they are. */
extern const char wd__cli_exec_usage[];
extern const char wd__cli_run_usage[];

/* Prints msg as "warden CMD: TEXT", or, if empty (getopt said it), "Try
 * 'warden CMD --help'."; returns WD_EXIT_FAILURE. */
int wd__cli_usage_error(const char *cmd, const wd__cli_msg *msg);

/* What a parse function's result rc means for the command: 0 to go on;
 * else 1 with *status the exit status, after printing usage (--help,
 * status 0) or the error (status 125). */
int wd__cli_parse_ends(int rc, const char *cmd, const char *usage, const wd__cli_msg *msg,
                      int *status);

/* One option (its getopt value c and argument) into the options struct;
 * 0, or UV_EINVAL with msg saying why (empty for one getopt refused). */
typedef int (*wd__cli_option_fn)(int c, const char *arg, void *opts, wd__cli_msg *msg);

/* getopt_long over argv afresh (optind = 0), each option to fn, until the
 * first operand: WD__CLI_GO (optind at that operand), WD__CLI_HELP at -h,
 * or fn's error. */
int wd__cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
                  wd__cli_option_fn fn, void *opts, wd__cli_msg *msg);

/* Fills msg ("invalid value 'ARG' for --NAME", NAME found in opts by its
 * val c) and returns UV_EINVAL. */
int wd__cli_bad_value(wd__cli_msg *msg, const struct option *opts, int c, const char *arg);

/* Fills msg and returns UV_EINVAL. */
int wd__cli_say(wd__cli_msg *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The smallest address-space limit (-m) a command may be given.  Below
 * it no program starts at all: a static one needs about 1 MiB here, and a
 * dynamic one dies of SIGSEGV in the loader with no message under about
 * 512 KiB (from 1 MiB the loader says "failed to map segment"; /bin/true
 * runs from 2.5 MiB, sh from 3 MiB). */
#define WD__CLI_MIN_MEMORY ((uint64_t)1 << 20)

/* 0 if bytes (parsed from arg) is a usable memory limit; else UV_EINVAL
 * with msg saying why not. */
int wd__cli_check_memory(wd__cli_msg *msg, const char *arg, uint64_t bytes);

#endif
