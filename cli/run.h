/* run.h -- the parts of `warden run`, and the state they share.
 *
 * run.c        the command: options, inputs, descriptors, the batch
 * run_inputs.c items made of the input sources' rows (sources.h,
 *              run_sources*.c) as they arrive, -N rows each, and what
 *              --resume finds finished in the joblog; job slots; --dry-run
 * run_read.c   reading the streamed source (stdin, a FIFO, a file)
 * run_sched.c  the scheduler: starts, retries, --delay/--rate, --halt
 * run_output.c outcomes, their output (text, --tag, --json) and joblog line
 * template.c   the command template ("{}", template.h)
 *
 * An item is one command run: its inputs (one, or -N of them) and its
 * fate.  Items are made as the inputs arrive, only when a command can
 * start, and freed once reported: the window of items alive is what
 * runs (and, with -k, what waits for an earlier one), so memory stays
 * bounded whatever the input's size.  The batch driver (batch.c) holds
 * the pool, the counters, the signals and the joblog. */
#ifndef WD__CLI_RUN_H
#define WD__CLI_RUN_H

#include "batch.h"
#include "opts.h"
#include "run_policy.h"
#include "run_spool.h"
#include "sources.h"
#include "template.h"
#include "warden.h"

typedef struct {
  char *input;       /* as shown (--tag, --json, messages): the args joined */
  size_t len;
  char **args;       /* what replaces '{}': -N inputs (none with -N0) */
  int nargs;
  char *shown;       /* the command as text, built at the first start */
  wd_future *f;
  unsigned attempts;
  int finished;
  size_t seq;        /* from 1, in input order ({#}, the joblog's Seq) */
  unsigned slot;     /* the job slot it runs in ({%}), from 1 */
  double started;    /* wall clock, for the joblog */
  struct wd__cli_lb *lb; /* --line-buffer's FIFOs while it runs (run_linebuf.c) */
  uint64_t started_ns; /* uv_hrtime() at its start (--timeout N%, --memfree) */
  int killed;        /* --memfree or --timeout N% killed it: a failure a
                        retry may fix */
} wd_run_item;

typedef struct {
  wd_run_opts o;
  wd__cli_batch batch;
  wd__cli_template *tmpl;
  wd__cli_template *tag_tmpl; /* --tagstring's, compiled (run_output.c) */
  const char *containment; /* the pool's: "cgroup" or "process-group" */
  struct wd__cli_run_in *in; /* the inputs being read (run_inputs.c) */
  wd_run_item **ring;      /* items [base, nitems), at i % ring_cap; NULL
                              once reported */
  size_t ring_cap, base;
  size_t nitems;           /* items made so far */
  size_t next;             /* the next item never started */
  size_t printed;          /* with -k: items before it are printed */
  size_t *retry, nretry;   /* items waiting to run again; they go first */
  wd__cli_policy policy;   /* --timeout N%, --halt, exit status (run_policy.c) */
  uint64_t last_start;     /* uv_hrtime() of the last start, ns */
  uv_timer_t delay_timer;
  char spool[WD__CLI_SPOOL_MAX]; /* output past memory goes here (run_spool.c) */
  void *in_pipe;           /* --pipe's state (run_pipe.c) */
} wd_run;

/* run_inputs.c: opens the input sources, compiles the template, and
 * reads (blocking: before the pool starts) until the first item is made
 * or the inputs end; a run whose inputs all came at once gets no more
 * jobs than it has items.  0 or WD_EXIT_FAILURE, said. */
int wd__cli_run_inputs(wd_run *r);
/* For --pipe, whose stdin is the commands' input: the template and the
 * job slots alone, no input source.  0 or WD_EXIT_FAILURE, said. */
int wd__cli_run_no_inputs(wd_run *r);
/* --dry-run: prints each command as GNU parallel would, runs none; the
 * exit status. */
int wd__cli_run_dry(wd_run *r);
/* Makes item r->next if its inputs are there: WD__CLI_ROW (it is made),
 * WD__CLI_WAIT (they will come: start_more is called when they do) or
 * WD__CLI_END.  Skips what --resume finds finished. */
int wd__cli_run_more_items(wd_run *r);
/* Item i, base <= i < nitems (NULL once reported). */
wd_run_item *wd__cli_run_item(const wd_run *r, size_t i);
/* Frees item i, reported. */
void wd__cli_run_drop(wd_run *r, size_t i);
/* Takes the lowest free job slot for item i / gives it back. */
void wd__cli_run_take_slot(wd_run *r, wd_run_item *it);
void wd__cli_run_give_slot(wd_run *r, wd_run_item *it);
/* Stops reading the inputs (the batch is stopping). */
void wd__cli_run_stop_inputs(wd_run *r);
/* Frees the inputs and items. */
void wd__cli_run_free_inputs(wd_run *r);

/* run_sched.c: the batch's callbacks. */
extern const wd__cli_batch_ops wd__cli_run_ops;
/* Sends item it's command to the pool (it->f), with input_len bytes of
 * input on its stdin when input is not NULL (--pipe), else /dev/null.
 * 0 or a negative errno. */
int wd__cli_run_submit(wd_run *r, wd_run_item *it, const void *input, size_t input_len);

/* run_policy.c (run_policy.h): sets p up: nothing recorded, no status. */
void wd__cli_policy_init(wd__cli_policy *p);
/* The deadline the pool gives a command starting now, ms; 0: none (also
 * with --timeout N%, whose deadlines run_policy.c keeps itself). */
uint64_t wd__cli_run_timeout_ms(const wd_run *r);
/* 0 if a command may start now; else ms after which to look again
 * (--memfree, --load). */
uint64_t wd__cli_run_gate_ms(const wd_run *r);
/* A command finished (failed: as counted), before it is reported and
 * counted: records its runtime, applies --exit-codes=xargs and --halt
 * (which may stop the batch). */
void wd__cli_run_judge(wd_run *r, const wd_run_item *it, const wd_result *res, int failed);
/* The run's exit status, from the batch's (wd__cli_batch_end). */
int wd__cli_run_status(const wd_run *r, int status);
/* A command started: notes when (it->started_ns), and with --timeout N%
 * arms the deadline. */
void wd__cli_run_started(wd_run *r, wd_run_item *it);
/* --memfree's and --timeout N%'s watch while commands run: started with
 * the pool, stopped when the batch stops, closed before the loop's last
 * turn. */
void wd__cli_run_watch(wd_run *r);
void wd__cli_run_unwatch(wd_run *r, int close);

/* run_pipe.c: --pipe: stdin cut at line ends into blocks (--block, or -N
 * lines), each the stdin of one command; the exit status. */
int wd__cli_run_pipe(wd_run *r);

/* run_output.c: prints the finished item it, number seq from 1 (its
 * output, or its row with --json), then writes its joblog line, and lets
 * go of its future; wd__cli_run_report for r->items[i]. */
void wd__cli_run_report_item(wd_run *r, wd_run_item *it, size_t seq);
void wd__cli_run_report(wd_run *r, size_t i);
/* run_results.c: --results: saves item it's output (cr, NULL for none) in
 * GNU parallel's tree.  0, or a negative errno, said, the run stopped. */
int wd__cli_run_save(wd_run *r, const wd_run_item *it, size_t seq, const wd_cmd_result *cr);
/* Compiles --tagstring as a template of one word, so that it knows GNU
 * parallel's replacement strings.  0 or WD_EXIT_FAILURE, said. */
int wd__cli_run_tag_compile(wd_run *r);
/* Sets s up to print item it's output to f as the options say
 * (--tag, --tagstring); returns what the caller frees once done. */
char *wd__cli_run_sink(const wd_run *r, const wd_run_item *it, FILE *f, wd__cli_sink *s);
/* run_linebuf.c: --line-buffer: makes item it's stdout and stderr FIFOs
 * and prints their whole lines as they come; the paths for the request.
 * 0 or a negative errno. */
int wd__cli_lb_open(wd_run *r, wd_run_item *it, const char **out_path, const char **err_path);
/* Prints what is left (the command has ended) and lets the FIFOs go. */
void wd__cli_lb_finish(wd_run *r, wd_run_item *it);
/* Removes the spool files of a result that will not be printed (a retry). */
void wd__cli_run_discard(const wd_result *res);
/* Whether the result of an item counts as a failure that a retry may
 * fix (not a cancellation). */
int wd__cli_run_retryable(const wd_result *res);
/* Whether it failed at all. */
int wd__cli_run_failed(const wd_result *res);

#endif
