/* run_output.c -- what `warden run` says about a finished command: its
 * outcome, its output (as it was, --tag'ged, or one --json row), and its
 * joblog line, written after the output so that a command the log calls
 * finished never lost what it printed (`warden run ... | head -1`). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "run.h"
#include "run_spool.h"

/* How a command ended, as --json's "status" and messages name it. */
typedef enum {
  RUN_OK,
  RUN_FAILED,    /* exited non-zero */
  RUN_CRASHED,   /* killed by a signal, or its worker died */
  RUN_TIMEOUT,   /* killed at its deadline */
  RUN_CANCELLED, /* stopped by a halt or Ctrl-C */
  RUN_ERROR,     /* could not run: exec failed, or warden's own error */
  RUN_NOUTCOMES
} run_outcome;

static const char *const outcome_names[RUN_NOUTCOMES] = {
    [RUN_OK] = "ok",           [RUN_FAILED] = "failed",       [RUN_CRASHED] = "crashed",
    [RUN_TIMEOUT] = "timeout", [RUN_CANCELLED] = "cancelled", [RUN_ERROR] = "error"};

typedef struct {
  run_outcome outcome;
  int exit_code, signal, failed;
  wd_cmd_result cr;
  int have_output; /* cr holds what the command wrote */
} verdict;

static verdict judge(const wd_result *r) {
  verdict v = {RUN_ERROR, -1, 0, 1, {0}, 0};
  if (r->status == WD_OK && wd_cmd_decode(r->data, r->len, &v.cr) == 0) {
    v.have_output = 1;
    v.exit_code = v.cr.exit_code;
    v.signal = v.cr.signal;
    v.failed = v.exit_code != 0 || v.signal != 0;
    v.outcome = v.cr.exec_errno ? RUN_ERROR : v.signal ? RUN_CRASHED
                : v.exit_code   ? RUN_FAILED : RUN_OK;
  } else if (r->status == WD_TIMEOUT) {
    v.outcome = RUN_TIMEOUT;
    v.signal = r->signal;
    /* The worker killed the command's tree and answered with what the
     * command wrote before its deadline, and how it ended. */
    if (wd_cmd_decode(r->data, r->len, &v.cr) == 0) {
      v.have_output = 1;
      v.exit_code = v.cr.exit_code;
      v.signal = v.cr.signal;
    }
  } else if (r->status == WD_CRASHED || r->status == WD_EXITED) {
    v.outcome = RUN_CRASHED;
    v.signal = r->signal;
    v.exit_code = r->exit_code;
  } else if (r->status == WD_CANCELLED) {
    v.outcome = RUN_CANCELLED;
    v.signal = r->signal;
  }
  return v;
}

int wd__cli_run_failed(const wd_result *res) { return judge(res).failed; }

int wd__cli_run_retryable(const wd_result *res) {
  verdict v = judge(res);
  return v.failed && v.outcome != RUN_CANCELLED;
}

int wd__cli_run_tag_compile(wd_run *r) {
  char *words[] = {(char *)r->o.tagstring};
  wd__cli_template_spec spec = {words, 1, 0, 1, r->o.replace, NULL, 0};
  wd__cli_msg msg;
  int err = wd__cli_template_compile(&spec, &r->tag_tmpl, &msg);
  if (err == UV_ENOMEM)
    return wd__cli_fail("run", "out of memory");
  return err ? wd__cli_fail("run", "--tagstring: %s", msg.text) : 0;
}

/* --tagstring's tag for item it: its first word once expanded (a string
 * without a replacement string gets the values appended as more words).
 * malloc'd; NULL on ENOMEM. */
static char *tag_string(const wd_run *r, const wd_run_item *it) {
  wd__cli_values v = {it->args, it->nargs, it->seq, it->slot};
  char **argv, *shown, *tag = NULL;
  if (wd__cli_template_expand(r->tag_tmpl, &v, &argv, &shown) != 0)
    return NULL;
  tag = strdup(argv[0]);
  wd__cli_template_free(argv);
  free(shown);
  return tag;
}

char *wd__cli_run_sink(const wd_run *r, const wd_run_item *it, FILE *f, wd__cli_sink *s) {
  *s = (wd__cli_sink){.f = f};
  char *tag = NULL;
  if (r->o.tagstring) {
    tag = tag_string(r, it);
    s->tag = tag ? tag : it->input; /* out of memory: the input, as --tag */
    s->tag_len = strlen(s->tag);
  } else if (r->o.tag) {
    s->tag = it->input;
    s->tag_len = it->len;
  }
  return tag;
}

/* A stream of the item's output into f (as it is, --tag'ged, or JSON);
 * a spool file that cannot be read fails the run: its output is lost. */
static void emit(wd_run *r, const wd_run_item *it, FILE *f, int json, const char *mem,
                 uint64_t len, const char *file) {
  wd__cli_sink s = {.f = f, .json = json};
  char *tag = json ? NULL : wd__cli_run_sink(r, it, f, &s);
  int err = wd__cli_sink_stream(&s, mem, len, file);
  free(tag);
  if (err) {
    fprintf(stderr, "warden run: cannot read the spooled output %s: %s\n", file,
            wd_strerror(err));
    r->batch.broken = 1;
  }
}

/* Output cut without --max-output: the worker's memory or the spool's
 * disk ran out.  Output was lost, so the run fails (125). */
static void lost_output(wd_run *r, size_t seq) {
  fprintf(stderr, "warden run: output of command %zu is cut: no room for it in memory or "
          "in the spool (%s)\n", seq, r->spool);
  r->batch.broken = 1;
}

static void json_int_or_null(const char *key, int have, int v) {
  printf(",\"%s\":", key);
  if (have)
    printf("%d", v);
  else
    printf("null");
}

static void print_json(wd_run *r, const wd_run_item *it, size_t seq, const wd_result *res,
                       const verdict *v) {
  printf("{\"seq\":%zu,\"input\":", seq);
  wd__json_string(stdout, it->input, it->len);
  printf(",\"command\":");
  wd__json_string(stdout, it->shown, strlen(it->shown));
  printf(",\"status\":\"%s\"", outcome_names[v->outcome]);
  json_int_or_null("exit_code", v->exit_code >= 0 && !v->signal, v->exit_code);
  json_int_or_null("signal", v->signal != 0, v->signal);
  printf(",\"duration_ms\":%.1f,\"attempts\":%u,\"stdout\":\"", (double)res->duration_ns / 1e6,
         it->attempts);
  if (v->have_output)
    emit(r, it, stdout, 1, v->cr.out, v->cr.out_len, v->cr.out_file);
  printf("\",\"stderr\":\"");
  if (v->have_output)
    emit(r, it, stdout, 1, v->cr.err, v->cr.err_len, v->cr.err_file);
  else
    wd__json_bytes(stdout, res->err_tail, res->err_len, 1);
  printf("\",\"truncated\":%s,\"containment\":\"%s\"}\n",
         v->have_output && v->cr.truncated ? "true" : "false", r->containment);
  fflush(stdout);
}

/* A signal's name as kill -l says it, with SIG in front: SIGSEGV. */
static void say_signal(const wd_run_item *it, int sig) {
  const char *name = sigabbrev_np(sig);
  if (name)
    fprintf(stderr, "warden run: %s: killed by SIG%s\n", it->shown, name);
  else
    fprintf(stderr, "warden run: %s: killed by signal %d\n", it->shown, sig);
}

static void print_text(wd_run *r, const wd_run_item *it, size_t seq, const wd_result *res,
                       const verdict *v) {
  if (r->o.verbose && !r->o.results && v->outcome != RUN_CANCELLED)
    printf("%s\n", it->shown); /* -v: GNU parallel's, with the output */
  if (r->o.results && v->outcome != RUN_CANCELLED) {
    wd__cli_run_save(r, it, seq, v->have_output ? &v->cr : NULL);
  } else if (v->have_output) {
    emit(r, it, stdout, 0, v->cr.out, v->cr.out_len, v->cr.out_file);
    fflush(stdout);
    emit(r, it, stderr, 0, v->cr.err, v->cr.err_len, v->cr.err_file);
  }
  if (v->have_output && v->cr.truncated && r->o.max_output)
    fprintf(stderr, "warden run: output of command %zu cut at its last whole line "
            "within --max-output=%llu bytes\n", seq, (unsigned long long)r->o.max_output);
  else if (v->have_output && v->cr.truncated) /* no cap: memory or disk ran out */
    lost_output(r, seq);
  if (v->outcome == RUN_TIMEOUT)
    fprintf(stderr, "warden run: command %zu timed out: %.*s\n", seq, (int)it->len,
            it->input);
  else if (v->outcome == RUN_CRASHED && v->have_output)
    say_signal(it, v->signal);
  else if (!v->have_output && v->outcome != RUN_CANCELLED)
    fprintf(stderr, "warden run: command %zu %s: %.*s\n", seq, outcome_names[v->outcome],
            (int)res->len, (const char *)res->data);
}

void wd__cli_run_discard(const wd_result *res) {
  wd_cmd_result cr;
  if ((res->status == WD_OK || res->status == WD_TIMEOUT) &&
      wd_cmd_decode(res->data, res->len, &cr) == 0) {
    if (cr.out_file)
      unlink(cr.out_file);
    if (cr.err_file)
      unlink(cr.err_file);
  }
}

void wd__cli_run_report(wd_run *r, size_t i) {
  wd_run_item *it = wd__cli_run_item(r, i);
  wd__cli_run_report_item(r, it, it->seq);
  wd__cli_run_drop(r, i); /* reported: nothing keeps a finished command */
}

void wd__cli_run_report_item(wd_run *r, wd_run_item *it, size_t seq) {
  wd__cli_batch *b = &r->batch;
  const wd_result *res = wd_future_result(it->f);
  wd__cli_batch_clear_progress(b); /* redrawn after, not glued to a line */
  wd__cli_lb_finish(r, it); /* --line-buffer: what is left of its lines */
  verdict v = judge(res);
  if (r->o.json)
    print_json(r, it, seq, res, &v);
  else
    print_text(r, it, seq, res, &v);
  /* The joblog line goes after the output: a command the log calls
   * finished never lost what it printed.  One killed by warden's stop (a
   * Ctrl-C, --halt now) never finished: as GNU parallel, no line, so that
   * --resume runs it again. */
  if (!b->stdout_said && (fflush(stdout) != 0 || ferror(stdout)))
    wd__cli_batch_write_failed(b, WD__CLI_TO_STDOUT, errno ? errno : EIO);
  if (!b->stderr_said && (fflush(stderr) != 0 || ferror(stderr)))
    wd__cli_batch_write_failed(b, WD__CLI_TO_STDERR, errno ? errno : EIO);
  if (res->status == WD_CANCELLED && !it->killed) { /* --memfree's kill is logged */
    /* not finished: not logged */
  } else if (!b->stdout_said) {
    size_t recv = v.have_output ? v.cr.out_len + v.cr.err_len : 0;
    wd__cli_batch_log(b, seq, it->started, (double)res->duration_ns / 1e9, 0, recv,
                     v.signal ? -1 : v.exit_code, v.signal, it->shown);
  } else if (b->logfd >= 0) {
    b->unlogged++;
  }
  wd_future_release(it->f);
  it->f = NULL;
  free(it->shown); /* printed and logged: nothing keeps a finished command */
  it->shown = NULL;
}
