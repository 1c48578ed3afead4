/* resize.h -- the parts of `warden resize`, and the state they share.
 *
 * resize.c        the command: options to exit status, and each result
 * resize_opts.c   its options, parsed by a pure function (as opts.h's)
 * resize_find.c   discovery: the inputs, directories searched by content
 * resize_names.c  naming: each output's name, collisions settled by who decodes
 * resize_read.c   reading an input on the threadpool, never blocking the loop
 * resize_rows.c   outcomes and their rows (text, --json) and joblog lines
 * resize_write.c  the atomic write every output goes through
 *
 * The batch driver (batch.c) holds the pool, the counters, the signals and
 * the joblog. */
#ifndef WD__CLI_RESIZE_H
#define WD__CLI_RESIZE_H

#include <sys/types.h>

#include "batch.h"
#include "opts.h"
#include "warden-image.h"
#include "warden.h"

/* `warden resize [OPTION]... INPUT... -o OUTDIR` */
typedef struct {
  wd_img_req req;      /* the box, format, quality, --upscale, --max-pixels */
  long jobs;           /* images at once; default: CPUs */
  uint64_t timeout_ms; /* per image; default 30 s */
  uint64_t memory;     /* per worker; default 1 GiB */
  int json, resume, progress;
  const char *outdir, *joblog;
  char **inputs;       /* the INPUTs ("-": a list on stdin) */
  int ninputs;
} wd_resize_opts;

extern const char wd__cli_resize_usage[];

/* As wd__cli_run_parse (opts.h): WD__CLI_GO, WD__CLI_HELP or UV_EINVAL with
 * msg saying why. */
int wd__cli_resize_parse(int argc, char **argv, wd_resize_opts *o, wd__cli_msg *msg);

/* Inputs whose outputs would share one name (a.png, a.gif both make
 * a.png).  They run one after another, in rank order -- the one whose
 * extension is already the output's first, then as found -- and the
 * first that succeeds takes the name; the others that succeed keep their
 * own extension too (a.gif.png).  So an input that fails to decode never
 * pushes another off the name. */
typedef struct {
  size_t n, turn;    /* members; the rank that may start (those below are done) */
  size_t *at;        /* the members' indices in wd_resize.v, by rank */
  const char *name;  /* the shared name (the rank-0 member's rel) */
  int taken;         /* an output holds it */
  const char *taker; /* whose, or NULL: it existed (--resume) */
} wd_resize_group;

typedef struct {
  char *path;   /* as found; NULL once --resume skips it */
  char *rel;    /* the output's path under OUTDIR, extension included */
  char *shared; /* in a group, past rank 0: the shared name rel may yet take */
  wd_resize_group *group; /* or NULL */
  size_t rank;  /* in the group */
  int waiting;  /* reached, but its group's turn was not yet its own */
  char *rel_in; /* the input's path under what the user named */
  off_t size;
  mode_t mode;  /* its type when found */
  int err;      /* a negative errno if it could not even be stat'ed: its row says so */
  int is_jpeg;
  wd_future *f;
  size_t held;  /* bytes of it the supervisor holds (read, or queued) */
  double started;
} wd_resize_img;

typedef struct {
  wd_resize_opts o;
  wd__cli_batch batch;
  wd_resize_img *v;   /* the inputs, largest first once the batch starts */
  size_t n, cap;
  size_t next;        /* the next input never started */
  size_t skipped;     /* by --resume */
  wd_resize_group *groups;
  size_t ngroups;
  size_t *ready;      /* waiting inputs whose turn came, to start first */
  size_t nready;
  uint64_t max_file;  /* the largest input a worker can be sent */
  uint64_t held;      /* input bytes read or queued, at most max_file */
} wd_resize;

/* How an image ended. */
typedef enum {
  WD_RESIZE_OK,
  WD_RESIZE_IMAGE,      /* the image job refused it: wd_img_error_name() */
  WD_RESIZE_WRITE,      /* its output could not be written */
  WD_RESIZE_UNREADABLE, /* missing, not a file, unreadable, unsendable */
  WD_RESIZE_TIMEOUT,
  WD_RESIZE_CANCELLED,
  WD_RESIZE_CRASHED,    /* its worker died: a memory limit, the sandbox */
  WD_RESIZE_NOUTCOMES
} wd_resize_outcome;

/* resize_find.c: adds the INPUT the user named (a file, a directory
 * searched by content); with "-", reads the list on stdin.  0, or
 * WD_EXIT_FAILURE said. */
int wd__cli_resize_find(wd_resize *s, const char *input);
/* Whether an input may make an output: what was missing or not a regular
 * file when found only makes a row. */
int wd__cli_resize_may_write(const wd_resize_img *m);
void wd__cli_resize_free(wd_resize *s);

/* resize_names.c: whether path ends in ext (".tga"), in any case. */
int wd__cli_has_ext(const char *path, const char *ext);
/* The output name of an input found at rel_in; NULL on ENOMEM. */
char *wd__cli_resize_name(const wd_resize *s, const char *rel_in, int is_jpeg);
/* Settles collisions between output names (a.png and a.gif), refusing
 * what cannot be settled.  0, or WD_EXIT_FAILURE said. */
int wd__cli_resize_settle_names(wd_resize *s);
/* Whether the output of m exists already (--resume): in a group, under
 * its own name or the shared one. */
int wd__cli_resize_output_exists(const wd_resize *s, const wd_resize_img *m);
/* Once the inputs are in their final order and --resume has skipped what
 * it skips: each group's members by rank, its first turn.  0 or UV_ENOMEM. */
int wd__cli_resize_link_groups(wd_resize *s);
/* Whether input i may start now (its group's turn), its output name then
 * settled; else it waits, and starts from s->ready when its turn comes. */
int wd__cli_resize_may_start(wd_resize *s, size_t i);
/* Input i has its row: its group's turn passes on.  ok: it was written. */
void wd__cli_resize_group_done(wd_resize *s, size_t i, int ok);

/* resize_read.c: starts reading input i and hands it to a worker once it
 * is in (or makes its row); done(i) is called when its future is set. */
void wd__cli_resize_start(wd_resize *s, size_t i, wd_done_cb on_done);

/* resize_rows.c: the row of input i: outcome, the image library's error
 * (WD_RESIZE_IMAGE), a message or NULL, the job's answer or NULL, the
 * output's path or NULL, how long it took.  Also its joblog line, and it
 * counts it as finished. */
void wd__cli_resize_row(wd_resize *s, size_t i, wd_resize_outcome outcome, int img_error,
                       const char *error, const wd_img_res *res, const char *out, double ms);
/* A row for an input that never reached a worker (always a failure). */
void wd__cli_resize_refuse(wd_resize *s, size_t i, wd_resize_outcome outcome, int img_error,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* "3.0 GiB": a size for a row. */
const char *wd__cli_human_size(uint64_t n, char *buf, size_t len);

/* resize_write.c: writes data to dest atomically (see there).  0 or a
 * negative errno. */
int wd__cli_write_atomic(const char *dest, const void *data, size_t len);

#endif
