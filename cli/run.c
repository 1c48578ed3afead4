/* run.c -- `warden run`: many commands, N at a time (xargs -P / GNU
 * parallel), each guarded by a pool worker so that a deadline, a halt or a
 * Ctrl-C kills its whole tree.  Commands are started one by one as slots
 * free up (so --delay, --rate and --halt act on starts), each finished
 * command's output is printed whole, and its joblog line is written with
 * one append as soon as that output is out: a SIGKILLed run loses no
 * finished line, a logged command never lost its output, and --resume
 * reruns exactly what has none.  A write that fails (the joblog, stdout)
 * fails the run: it is said once, nothing new starts, the status is 125. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"

static const char usage[] =
    "Usage: warden run [OPTION]... [--] COMMAND [ARG]... [::: INPUT...]\n"
    "Run COMMAND once per input, N at a time.  Inputs are the words after\n"
    "':::', or else the lines of stdin.  '{}' in COMMAND is replaced by the\n"
    "input; without '{}' the input is appended as the last argument.\n"
    "\n"
    "  -j, --jobs=N            commands at once (default: CPUs; fewer, with a\n"
    "                          warning, if 'ulimit -n' cannot hold N)\n"
    "  -t, --timeout=DURATION  deadline per command: 250ms, 10s, 1m30s; 0: none\n"
    "  -s, --signal=SIG        signal at the deadline (default KILL)\n"
    "      --kill-after=DURATION  grace between --signal and KILL (default 1s)\n"
    "  -m, --memory=SIZE       address-space limit per command: 512M, 2G\n"
    "                          (at least 1M: no program starts in less)\n"
    "  -c, --cpu=DURATION      CPU-time limit per command (whole seconds)\n"
    "  -r, --retries=N         rerun a failed or timed-out command up to N times\n"
    "      --halt=WHEN,fail=N  stop after N failures (or N%): WHEN is 'now'\n"
    "                          (kill what runs) or 'soon' (let it finish)\n"
    "      --delay=DURATION    at least this long between two starts\n"
    "      --rate=N/s          at most N starts per second\n"
    "  -k, --keep-order        print outputs in input order\n"
    "      --tag               prefix each output line with the input and a tab\n"
    "      --max-output=SIZE   output kept per command and stream (default 16M)\n"
    "      --json              one JSON object per command on stdout\n"
    "      --joblog=FILE       GNU parallel's joblog, one line per finished command\n"
    "      --resume            with --joblog: skip inputs the log has finished\n"
    "      --resume-failed     with --joblog: also rerun those that failed\n"
    "      --progress          progress on stderr (only if it is a terminal)\n"
    "  -N, --max-args=N        N inputs per command (xargs -n); 0: one input is\n"
    "                          read per command but none is passed\n"
    "  -0, --null              inputs on stdin are separated by NUL, not newline\n"
    "      --shell             run COMMAND through sh -c ('{}' is quoted)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 if every command succeeded; else the number that failed\n"
    "(1-100; 101 for more); 125 if warden failed; 130/143 after SIGINT/SIGTERM.\n";

enum { O_KILL_AFTER = 256, O_HALT, O_DELAY, O_RATE, O_TAG, O_MAXOUT, O_JSON,
       O_JOBLOG, O_RESUME, O_RESUME_FAILED, O_PROGRESS, O_SHELL };

typedef struct {
  char *input;     /* as shown (--tag, --json, messages): the args joined */
  size_t len;
  char **args;     /* what replaces '{}': -N inputs (none with -N0) */
  int nargs;
  char *shown;     /* the command as text, built at the first start */
  wd_future *f;
  unsigned attempts;
  int skip;        /* already finished according to the joblog */
  int finished;
  double started;  /* wall clock, for the joblog */
} job;

static struct {
  /* options */
  long jobs;
  uint64_t timeout, grace, memory, cpu, delay, max_output;
  int sig, keep_order, tag, json, resume, resume_failed, progress, null_sep,
      shell, halt_now, have_grace;
  long retries, halt_fail, max_args;
  int halt_percent;
  const char *joblog;
  char **tmpl;
  int ntmpl;
  /* state */
  uv_loop_t *loop;
  wd_pool *pool;
  const char *containment; /* the pool's: "cgroup" or "process-group" */
  job *jobs_v;
  size_t njobs, next, running, finished, failed, printed, todo;
  size_t *retry, nretry; /* jobs waiting to run again; they go first */
  int logfd, stopping, halted, exit_sig;
  size_t unlogged;      /* finished commands the joblog could not take */
  int stdout_failed;
  uint64_t last_start; /* uv_hrtime() of the last start, ns */
  uv_timer_t delay_timer;
  uv_signal_t sigint, sigterm;
  double t0;
} R;

static double wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- building commands ----------------------------------------------- */

static int has_braces(void) {
  for (int i = 0; i < R.ntmpl; i++)
    if (strstr(R.tmpl[i], "{}"))
      return 1;
  return 0;
}

/* s with every "{}" replaced by `in`. */
static char *substitute(const char *s, const char *in) {
  wd__buf b = {0};
  for (;;) {
    const char *p = strstr(s, "{}");
    wd_out_append(&b, s, p ? (size_t)(p - s) : strlen(s));
    if (p == NULL)
      break;
    wd_out_append(&b, in, strlen(in));
    s = p + 2;
  }
  wd_out_append(&b, "", 1);
  return b.p;
}

/* A job's args as one string: joined by spaces, each single-quoted for
 * sh when `quote`. */
static char *joined(const job *j, int quote) {
  wd__buf b = {0};
  for (int k = 0; k < j->nargs; k++) {
    if (k)
      wd_out_append(&b, " ", 1);
    if (quote) {
      wd_out_append(&b, "'", 1);
      for (const char *c = j->args[k]; *c; c++)
        wd_out_append(&b, *c == '\'' ? "'\\''" : c, *c == '\'' ? 4 : 1);
      wd_out_append(&b, "'", 1);
    } else {
      wd_out_append(&b, j->args[k], strlen(j->args[k]));
    }
  }
  wd_out_append(&b, "", 1);
  return b.p;
}

/* The argv for one input, NULL-terminated; *shown is the command as text. */
static char **build_argv(const job *j, char **shown) {
  int braces = has_braces();
  wd__buf text = {0};
  char **argv;
  char *all = joined(j, R.shell);
  if (R.shell) {
    for (int i = 0; i < R.ntmpl; i++) {
      char *part = substitute(R.tmpl[i], all);
      if (i)
        wd_out_append(&text, " ", 1);
      wd_out_append(&text, part, strlen(part));
      free(part);
    }
    if (!braces && j->nargs) {
      wd_out_append(&text, " ", 1);
      wd_out_append(&text, all, strlen(all));
    }
    wd_out_append(&text, "", 1);
    argv = calloc(4, sizeof(char *));
    argv[0] = strdup("sh");
    argv[1] = strdup("-c");
    argv[2] = strdup(text.p);
  } else {
    /* A word that is exactly '{}' becomes one argument per input (none
     * with -N0); '{}' inside a word takes the inputs joined by spaces. */
    argv = calloc((size_t)R.ntmpl * (size_t)(j->nargs + 1) + (size_t)j->nargs + 1,
                  sizeof(char *));
    int n = 0;
    for (int i = 0; i < R.ntmpl; i++)
      if (strcmp(R.tmpl[i], "{}") == 0)
        for (int k = 0; k < j->nargs; k++)
          argv[n++] = strdup(j->args[k]);
      else
        argv[n++] = substitute(R.tmpl[i], all);
    if (!braces)
      for (int k = 0; k < j->nargs; k++)
        argv[n++] = strdup(j->args[k]);
    for (int i = 0; argv[i]; i++) {
      if (i)
        wd_out_append(&text, " ", 1);
      wd_out_append(&text, argv[i], strlen(argv[i]));
    }
    wd_out_append(&text, "", 1);
  }
  free(all);
  *shown = text.p;
  return argv;
}

static void free_argv(char **argv) {
  for (int i = 0; argv[i]; i++)
    free(argv[i]);
  free(argv);
}

/* ---- results ------------------------------------------------------------ */

typedef struct {
  const char *status;
  int exit_code, signal, failed;
  wd_cmd_result cr;
  int have_output;
} outcome;

static outcome judge(const wd_result *r) {
  outcome o = {"error", -1, 0, 1, {0}, 0};
  if (r->status == WD_OK && wd_cmd_decode(r->data, r->len, &o.cr) == 0) {
    o.have_output = 1;
    o.exit_code = o.cr.exit_code;
    o.signal = o.cr.signal;
    o.failed = o.exit_code != 0 || o.signal != 0;
    o.status = o.cr.exec_errno ? "error" : o.signal ? "crashed"
               : o.exit_code     ? "failed" : "ok";
  } else if (r->status == WD_TIMEOUT) {
    o.status = "timeout";
    o.signal = r->signal;
    /* The worker killed the command's tree and answered with what the
     * command wrote before its deadline, and how it ended. */
    if (wd_cmd_decode(r->data, r->len, &o.cr) == 0) {
      o.have_output = 1;
      o.exit_code = o.cr.exit_code;
      o.signal = o.cr.signal;
    }
  } else if (r->status == WD_CRASHED || r->status == WD_EXITED) {
    o.status = "crashed";
    o.signal = r->signal;
    o.exit_code = r->exit_code;
  } else if (r->status == WD_CANCELLED) {
    o.status = "cancelled";
    o.signal = r->signal;
  }
  return o;
}

static void write_tagged(FILE *f, const job *j, const char *p, size_t n) {
  if (!R.tag) {
    fwrite(p, 1, n, f);
    return;
  }
  while (n > 0) {
    const char *nl = memchr(p, '\n', n);
    size_t len = nl ? (size_t)(nl - p) + 1 : n;
    fwrite(j->input, 1, j->len, f);
    fputc('\t', f);
    fwrite(p, 1, len, f);
    if (!nl)
      fputc('\n', f);
    p += len;
    n -= len;
  }
}

static void stop_all(int now);

/* A write that failed: said once, with its errno; nothing new starts and
 * the run ends with 125 once the running commands are done. */
static void write_failed(int to_stdout, int err) {
  static int said_joblog;
  int *said = to_stdout ? &R.stdout_failed : &said_joblog;
  if (!*said)
    fprintf(stderr, "warden run: cannot write %s%s: %s; starting no more commands\n",
            to_stdout ? "to stdout" : "joblog ", to_stdout ? "" : R.joblog, strerror(err));
  *said = 1;
  if (R.exit_sig == 0)
    R.exit_sig = -1;
  if (!R.stopping)
    stop_all(0);
}

/* The joblog line of a finished command, once its output is out. */
static void log_job(size_t i, const outcome *o, double runtime) {
  if (R.logfd < 0)
    return;
  job *j = &R.jobs_v[i];
  size_t recv = o->have_output ? o->cr.out_len + o->cr.err_len : 0;
  int err = wd_cli_joblog_line(R.logfd, NULL, i + 1, j->started, runtime, 0, recv,
                               o->signal ? -1 : o->exit_code, o->signal, j->shown);
  if (err) {
    write_failed(0, -err);
    R.unlogged++;
  }
}

static void print_job(size_t i) {
  job *j = &R.jobs_v[i];
  const wd_result *r = wd_future_result(j->f);
  outcome o = judge(r);
  if (R.json) {
    printf("{\"seq\":%zu,\"input\":", i + 1);
    wd_json_string(stdout, j->input, j->len);
    printf(",\"command\":");
    wd_json_string(stdout, j->shown, strlen(j->shown));
    printf(",\"status\":\"%s\",\"exit_code\":", o.status);
    if (o.exit_code >= 0 && !o.signal)
      printf("%d", o.exit_code);
    else
      printf("null");
    printf(",\"signal\":");
    if (o.signal)
      printf("%d", o.signal);
    else
      printf("null");
    printf(",\"duration_ms\":%.1f,\"attempts\":%u,\"stdout\":",
           r->duration_ns / 1e6, j->attempts);
    wd_json_string(stdout, o.have_output ? o.cr.out : "", o.have_output ? o.cr.out_len : 0);
    printf(",\"stderr\":");
    if (o.have_output)
      wd_json_string(stdout, o.cr.err, o.cr.err_len);
    else
      wd_json_string(stdout, r->err_tail, r->err_len);
    printf(",\"truncated\":%s,\"containment\":\"%s\"}\n",
           o.have_output && o.cr.truncated ? "true" : "false",
           R.containment);
    fflush(stdout);
  } else {
    if (o.have_output) {
      write_tagged(stdout, j, o.cr.out, o.cr.out_len);
      fflush(stdout);
      write_tagged(stderr, j, o.cr.err, o.cr.err_len);
      if (o.cr.truncated)
        fprintf(stderr, "warden run: output of command %zu truncated at %llu bytes\n",
                i + 1, (unsigned long long)R.max_output);
    }
    if (strcmp(o.status, "timeout") == 0)
      fprintf(stderr, "warden run: command %zu timed out: %.*s\n", i + 1, (int)j->len, j->input);
    else if (!o.have_output && strcmp(o.status, "cancelled") != 0)
      fprintf(stderr, "warden run: command %zu %s: %.*s\n", i + 1, o.status, (int)r->len,
              (const char *)r->data);
  }
  /* The joblog line goes after the output: a command the log calls
   * finished never lost what it printed (`warden run ... | head -1`). */
  if (!R.stdout_failed && (fflush(stdout) != 0 || ferror(stdout)))
    write_failed(1, errno ? errno : EIO);
  if (!R.stdout_failed)
    log_job(i, &o, r->duration_ns / 1e9);
  else if (R.logfd >= 0)
    R.unlogged++;
  wd_future_release(j->f);
  j->f = NULL;
  free(j->shown); /* printed and logged: nothing keeps a finished command */
  j->shown = NULL;
}

static void progress(void) {
  if (!R.progress)
    return;
  double el = wall() - R.t0;
  double eta = R.finished ? el / R.finished * (R.todo - R.finished) : 0;
  fprintf(stderr, "\r\033[K%zu/%zu done, %zu failed, %zu running, ETA %.0fs",
          R.finished, R.todo, R.failed, R.running, eta);
  if (R.finished == R.todo)
    fputc('\n', stderr);
}

static void start_more(void);

static void on_done(wd_future *f, void *data) {
  size_t i = (size_t)(uintptr_t)data;
  job *j = &R.jobs_v[i];
  const wd_result *r = wd_future_result(f);
  outcome o = judge(r);
  R.running--;
  if (o.failed && strcmp(o.status, "cancelled") != 0 && (long)j->attempts <= R.retries &&
      !R.stopping) {
    wd_future_release(j->f); /* try again, ahead of new inputs */
    j->f = NULL;
    R.retry[R.nretry++] = i;
    start_more();
    return;
  }
  j->finished = 1;
  R.finished++;
  R.failed += o.failed;
  if (!R.keep_order) {
    print_job(i);
  } else {
    while (R.printed < R.njobs && (R.jobs_v[R.printed].skip || R.jobs_v[R.printed].finished)) {
      if (R.jobs_v[R.printed].f)
        print_job(R.printed);
      R.printed++;
    }
  }
  progress();
  if (R.halt_fail && !R.halted) {
    int hit = R.halt_percent ? R.failed * 100 >= (size_t)R.halt_fail * R.todo && R.failed
                             : (long)R.failed >= R.halt_fail;
    if (hit) {
      R.halted = 1;
      fprintf(stderr, "warden run: halting after %zu failures\n", R.failed);
      stop_all(R.halt_now);
    }
  }
  start_more();
}

static int submit_job(size_t i) {
  job *j = &R.jobs_v[i];
  char *shown;
  char **argv = build_argv(j, &shown);
  if (j->shown == NULL)
    j->shown = shown;
  else
    free(shown);
  wd__buf req = {0};
  wd_cmd cmd = {WD_CMD_CAPTURE | WD_CMD_NULL_STDIN, R.max_output, R.memory,
                (R.cpu + 999) / 1000, argv};
  int err = wd_cmd_encode(&req, &cmd);
  free_argv(argv);
  wd_task_options to = {
      .timeout_ms = R.timeout ? R.timeout : WD_FOREVER,
      /* --kill-after=0: KILL right after the signal (as warden exec);
       * the pool reads a grace of 0 as "its default". */
      .grace_ms = R.sig && R.sig != SIGKILL
                      ? (R.have_grace ? (R.grace ? R.grace : 1) : 1000)
                      : WD_FOREVER,
      .signal = R.sig ? R.sig : SIGKILL};
  if (!err)
    err = wd_submit(R.pool, "command", req.p, req.len, &to, &j->f);
  wd__buf_free(&req);
  if (err)
    return err;
  j->attempts++;
  j->started = wall();
  R.running++;
  R.last_start = uv_hrtime();
  wd_future_on_done(j->f, on_done, (void *)(uintptr_t)i);
  return 0;
}

static void on_delay(uv_timer_t *t) {
  (void)t;
  start_more();
}

/* Starts commands while there is room, honouring --delay/--rate; retries
 * go first. */
static void start_more(void) {
  while (!R.stopping && R.running < (size_t)R.jobs) {
    while (R.next < R.njobs && R.jobs_v[R.next].skip)
      R.next++;
    if (R.nretry == 0 && R.next == R.njobs) {
      /* Every command has started and none can come back for a retry:
       * each worker may leave as soon as its command is done. */
      if (R.retries == 0)
        wd_pool_shutdown(R.pool, WD_GRACEFUL);
      return;
    }
    /* In nanoseconds: the loop's millisecond clock is truncated and could
     * let two starts come a fraction of a millisecond too close. */
    uint64_t gap = R.delay < UINT64_MAX / 4000000 ? R.delay * 1000000 : UINT64_MAX / 4;
    uint64_t now = uv_hrtime(), due = R.last_start + gap;
    if (R.delay && R.last_start && now < due) {
      uv_timer_start(&R.delay_timer, on_delay, (due - now + 999999) / 1000000, 0);
      return;
    }
    size_t i = R.nretry ? R.retry[--R.nretry] : R.next++;
    int err = submit_job(i);
    if (err) {
      fprintf(stderr, "warden run: cannot start command %zu: %s\n", i + 1, wd_strerror(err));
      R.stopping = 1;
      R.exit_sig = -1;
    }
  }
}

static void stop_all(int now) {
  R.stopping = 1;
  uv_timer_stop(&R.delay_timer);
  if (now)
    wd_pool_shutdown(R.pool, WD_IMMEDIATE);
}

static void on_signal(uv_signal_t *h, int sig) {
  (void)h;
  if (!R.exit_sig)
    R.exit_sig = sig;
  stop_all(1);
}

/* ---- inputs ------------------------------------------------------------- */

static char **inputs;
static size_t ninputs;

static void add_input(void *ctx, const char *p, size_t n) {
  (void)ctx;
  static size_t cap;
  if (ninputs == cap) {
    cap = cap ? cap * 2 : 1024;
    inputs = realloc(inputs, cap * sizeof(*inputs));
    if (inputs == NULL)
      abort();
  }
  char *in = malloc(n + 1);
  if (in == NULL)
    abort();
  memcpy(in, p, n);
  in[n] = '\0';
  inputs[ninputs++] = in;
}

/* One job per -N inputs (the last may have fewer); with -N0 one job per
 * input, passed nothing but shown as its input. */
static void make_jobs(void) {
  size_t per = R.max_args ? (size_t)R.max_args : 1;
  R.jobs_v = calloc((ninputs + per - 1) / per, sizeof(job));
  if (R.jobs_v == NULL)
    abort();
  for (size_t i = 0; i < ninputs; i += per) {
    job *j = &R.jobs_v[R.njobs++];
    size_t k = ninputs - i < per ? ninputs - i : per;
    j->args = inputs + i;
    j->nargs = R.max_args ? (int)k : 0;
    if (k == 1) {
      j->input = inputs[i];
    } else {
      wd__buf b = {0};
      for (size_t m = 0; m < k; m++) {
        if (m)
          wd_out_append(&b, " ", 1);
        wd_out_append(&b, inputs[i + m], strlen(inputs[i + m]));
      }
      wd_out_append(&b, "", 1);
      j->input = b.p;
    }
    j->len = strlen(j->input);
  }
}

static int read_stdin(void) {
  wd__buf b = {0};
  int err = 0;
  for (;;) {
    if (wd__buf_reserve(&b, 65536)) {
      err = UV_ENOMEM;
      break;
    }
    ssize_t n = read(0, b.p + b.len, b.cap - b.len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      err = n < 0 ? -errno : 0;
      break;
    }
    b.len += (size_t)n;
  }
  if (err == 0)
    wd_split_inputs(b.p, b.len, R.null_sep ? '\0' : '\n', add_input, NULL);
  wd__buf_free(&b);
  return err;
}

/* Marks what the joblog says is finished (or, with --resume-failed,
 * finished well), and opens it for appending. */
static int open_joblog(void) {
  if (!R.joblog)
    return 0;
  if (R.resume || R.resume_failed) {
    /* Whole lines only: a last line with no newline was cut short, and
     * is not a record (wd_cli_joblog_open drops it). */
    FILE *f = fopen(R.joblog, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (f && (n = getline(&line, &cap, f)) > 0) {
      size_t seq;
      int exitval, sig;
      if (line[n - 1] != '\n' ||
          wd_parse_joblog_line(line, (size_t)n - 1, &seq, &exitval, &sig) != 0)
        continue;
      if (seq <= R.njobs && (!R.resume_failed || (exitval == 0 && sig == 0)))
        R.jobs_v[seq - 1].skip = 1;
    }
    free(line);
    if (f)
      fclose(f);
  }
  R.logfd = wd_cli_joblog_open(R.joblog);
  return R.logfd < 0 ? R.logfd : 0;
}

/* ---- descriptors -------------------------------------------------------- */

/* What -j N costs in descriptors, measured (ls /proc/PID/fd at -j 1, 10,
 * 20): the supervisor holds 13 + N (stdio, the loop's epoll, signal and
 * async fds, the zygote's socket and pidfd; a socket per worker, two while
 * it is being spawned) and the zygote 8 + 2N (each worker's pidfd and
 * stderr memfd, more while it forks one).  Each has its own table under
 * the same limit.  Three per command leaves room for a third per worker
 * (a cgroup's cgroup.events), and FDS_FIXED for the joblog, the files a
 * spawn in flight holds and a few inherited fds.  (At ulimit -n 40 with
 * two per worker, 14 ran and the 15th crashed; this lets 6 run.)  Keep
 * these in step with pool/slot.c and worker/zygote.c. */
#define FDS_PER_COMMAND 3
#define FDS_FIXED 20

/* Raises the soft RLIMIT_NOFILE to the hard one (the zygote and the
 * workers inherit it), then, like GNU parallel ("Only enough file handles
 * to run N jobs in parallel"), lowers -j with a warning if it still does
 * not fit.  0, or WD_EXIT_FAILURE when not even one command fits. */
static int fit_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit up = {rl.rlim_max, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0)
      rl = up;
  }
  if (rl.rlim_cur == RLIM_INFINITY ||
      rl.rlim_cur >= (rlim_t)R.jobs * FDS_PER_COMMAND + FDS_FIXED)
    return 0;
  long fit = rl.rlim_cur > FDS_FIXED ? (long)(rl.rlim_cur - FDS_FIXED) / FDS_PER_COMMAND : 0;
  if (fit < 1)
    return wd_cli_fail("run", "too few file descriptors (ulimit -n %llu) to run a command: "
                       "it needs %d", (unsigned long long)rl.rlim_cur,
                       FDS_PER_COMMAND + FDS_FIXED);
  fprintf(stderr, "warden run: warning: only enough file descriptors (ulimit -n %llu) to "
          "run %ld commands at once, not %ld\n", (unsigned long long)rl.rlim_cur, fit, R.jobs);
  R.jobs = fit;
  return 0;
}

/* ---- options ------------------------------------------------------------ */

static int parse_halt(const char *s) {
  if (strncmp(s, "now,", 4) == 0)
    R.halt_now = 1, s += 4;
  else if (strncmp(s, "soon,", 5) == 0)
    s += 5;
  else
    return UV_EINVAL;
  if (strncmp(s, "fail=", 5) != 0)
    return UV_EINVAL;
  s += 5;
  char buf[32];
  size_t n = strlen(s);
  if (n == 0 || n >= sizeof(buf))
    return UV_EINVAL;
  memcpy(buf, s, n + 1);
  if (buf[n - 1] == '%') {
    R.halt_percent = 1;
    buf[n - 1] = '\0';
  }
  return wd_parse_count(buf, 1, R.halt_percent ? 100 : 1000000000, &R.halt_fail);
}

static int parse_rate(const char *s) {
  char buf[32];
  size_t n = strlen(s);
  if (n < 3 || n >= sizeof(buf) || strcmp(s + n - 2, "/s") != 0)
    return UV_EINVAL;
  memcpy(buf, s, n - 2);
  buf[n - 2] = '\0';
  long r;
  if (wd_parse_count(buf, 1, 1000000, &r))
    return UV_EINVAL;
  R.delay = (uint64_t)(1000 / r);
  if (R.delay == 0)
    R.delay = 1;
  return 0;
}

int wd_cli_run(int argc, char **argv) {
  static const struct option opts[] = {
      {"jobs", required_argument, 0, 'j'},
      {"timeout", required_argument, 0, 't'},
      {"signal", required_argument, 0, 's'},
      {"kill-after", required_argument, 0, O_KILL_AFTER},
      {"memory", required_argument, 0, 'm'},
      {"cpu", required_argument, 0, 'c'},
      {"retries", required_argument, 0, 'r'},
      {"halt", required_argument, 0, O_HALT},
      {"delay", required_argument, 0, O_DELAY},
      {"rate", required_argument, 0, O_RATE},
      {"keep-order", no_argument, 0, 'k'},
      {"tag", no_argument, 0, O_TAG},
      {"max-output", required_argument, 0, O_MAXOUT},
      {"json", no_argument, 0, O_JSON},
      {"joblog", required_argument, 0, O_JOBLOG},
      {"resume", no_argument, 0, O_RESUME},
      {"resume-failed", no_argument, 0, O_RESUME_FAILED},
      {"progress", no_argument, 0, O_PROGRESS},
      {"null", no_argument, 0, '0'},
      {"max-args", required_argument, 0, 'N'},
      {"shell", no_argument, 0, O_SHELL},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  R.jobs = n > 0 ? n : 1;
  R.max_output = 16u << 20;
  R.max_args = 1;
  R.logfd = -1;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+j:t:s:m:c:r:k0N:h", opts, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case 'j': bad = wd_parse_count(optarg, 1, 65536, &R.jobs); break;
    case 't': bad = wd_parse_duration(optarg, &R.timeout); break;
    case 's': bad = wd_parse_signal(optarg, &R.sig); break;
    case O_KILL_AFTER: bad = wd_parse_duration(optarg, &R.grace); R.have_grace = 1; break;
    case 'm':
      bad = wd_parse_size(optarg, &R.memory) || R.memory == 0;
      if (!bad && wd_cli_check_memory("run", optarg, R.memory))
        return WD_EXIT_FAILURE;
      break;
    case 'c': bad = wd_parse_duration(optarg, &R.cpu) || R.cpu == 0; break;
    case 'r': bad = wd_parse_count(optarg, 0, 1000, &R.retries); break;
    case O_HALT: bad = parse_halt(optarg); break;
    case O_DELAY: bad = wd_parse_duration(optarg, &R.delay); break;
    case O_RATE: bad = parse_rate(optarg); break;
    case 'k': R.keep_order = 1; break;
    case O_TAG: R.tag = 1; break;
    case O_MAXOUT: bad = wd_parse_size(optarg, &R.max_output); break;
    case O_JSON: R.json = 1; break;
    case O_JOBLOG: R.joblog = optarg; break;
    case O_RESUME: R.resume = 1; break;
    case O_RESUME_FAILED: R.resume_failed = 1; break;
    case O_PROGRESS: R.progress = isatty(2); break;
    case '0': R.null_sep = 1; break;
    case 'N': bad = wd_parse_count(optarg, 0, 65536, &R.max_args); break;
    case O_SHELL: R.shell = 1; break;
    case 'h': fputs(usage, stdout); return 0;
    default: fputs("Try 'warden run --help'.\n", stderr); return WD_EXIT_FAILURE;
    }
    if (bad)
      return wd_cli_bad_value("run", opts, c, optarg);
  }
  if ((R.resume || R.resume_failed) && !R.joblog)
    return wd_cli_fail("run", "--resume needs --joblog FILE");
  R.tmpl = argv + optind;
  R.ntmpl = argc - optind;
  for (int i = 0; i < R.ntmpl; i++)
    if (strcmp(R.tmpl[i], ":::") == 0) {
      for (int k = i + 1; k < R.ntmpl; k++)
        add_input(NULL, R.tmpl[k], strlen(R.tmpl[k]));
      R.ntmpl = i;
      if (ninputs == 0)
        return wd_cli_fail("run", "no inputs after ':::'");
      break;
    }
  if (R.ntmpl == 0)
    return wd_cli_fail("run", "missing command (try 'warden run --help')");
  if (ninputs == 0) {
    int err = read_stdin();
    if (err)
      return wd_cli_fail("run", "reading stdin: %s", wd_strerror(err));
    if (ninputs == 0)
      return wd_cli_fail("run", "no inputs on stdin");
  }
  make_jobs();
  int err = open_joblog();
  if (err)
    return wd_cli_fail("run", "joblog %s: %s", R.joblog, wd_strerror(err));
  for (size_t i = 0; i < R.njobs; i++)
    R.todo += !R.jobs_v[i].skip;
  if (R.todo == 0)
    return 0; /* everything finished already */
  R.retry = malloc(R.njobs * sizeof(*R.retry)); /* each job waits once at most */
  if (R.retry == NULL)
    return wd_cli_fail("run", "out of memory");
  if ((size_t)R.jobs > R.todo)
    R.jobs = (long)R.todo;
  if (fit_fd_limit())
    return WD_EXIT_FAILURE;

  R.loop = uv_default_loop();
  wd_register_builtins();
  wd_pool_options po = {.workers = (unsigned)R.jobs};
  err = wd_pool_new(R.loop, &po, &R.pool);
  if (err == 0)
    R.containment = wd_pool_containment(R.pool);
  if (err)
    return wd_cli_fail("run", "cannot start workers: %s", wd_strerror(err));
  uv_timer_init(R.loop, &R.delay_timer);
  uv_signal_init(R.loop, &R.sigint);
  uv_signal_init(R.loop, &R.sigterm);
  uv_signal_start(&R.sigint, on_signal, SIGINT);
  uv_signal_start(&R.sigterm, on_signal, SIGTERM);
  uv_unref((uv_handle_t *)&R.sigint);
  uv_unref((uv_handle_t *)&R.sigterm);
  R.t0 = wall();
  start_more();
  uv_run(R.loop, UV_RUN_DEFAULT);
  if (R.keep_order) /* after a stop, print what finished */
    for (; R.printed < R.njobs; R.printed++)
      if (R.jobs_v[R.printed].f && wd_future_done(R.jobs_v[R.printed].f))
        print_job(R.printed);
  uv_close((uv_handle_t *)&R.delay_timer, NULL);
  uv_close((uv_handle_t *)&R.sigint, NULL);
  uv_close((uv_handle_t *)&R.sigterm, NULL);
  wd_pool_destroy(R.pool);
  uv_run(R.loop, UV_RUN_NOWAIT);
  if (R.logfd >= 0 && close(R.logfd) != 0 && R.unlogged == 0)
    write_failed(0, errno);
  if (R.unlogged > 1)
    fprintf(stderr, "warden run: %zu finished commands are not in the joblog; "
            "--resume will run them again\n", R.unlogged);
  if (!R.stdout_failed && fflush(stdout) != 0)
    write_failed(1, errno);
  if (R.exit_sig > 0)
    return 128 + R.exit_sig;
  if (R.exit_sig < 0)
    return WD_EXIT_FAILURE;
  return R.failed == 0 ? 0 : R.failed > 100 ? 101 : (int)R.failed;
}
