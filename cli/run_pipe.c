/* run_pipe.c -- `warden run --pipe`: stdin cut into blocks at line ends,
 * each block the stdin of one command (GNU parallel's --pipe, xargs has no
 * such thing): `cat big.log | warden run --pipe grep x`.
 *
 * A block is --block bytes (default 1M) cut back to its last line end (a
 * line longer than a block is one block by itself), or, with -N N, N
 * lines.  Memory stays bounded whatever the input: stdin is read only
 * while the buffer holds less than a block and only as fast as commands
 * take blocks -- a block is cut when a command can start, its bytes are copied
 * once into the request the pool keeps, and the buffer lets them go.  So
 * warden holds about one block being read plus one per running command.
 *
 * A pipe or terminal is read when a uv_poll says it is readable, one
 * read() each time, so the loop never blocks on it (and stdin is not made
 * non-blocking: its file description is shared with whoever gave it to
 * us); a regular file never blocks, and is read directly.
 *
 * Each block is one item: numbered in order, printed (and, with -k, in
 * that order), logged and --results'ed as any other command. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"

#define READ_CHUNK 65536

typedef struct {
  wd_run *r;
  uv_poll_t poll;     /* stdin, a pipe or a terminal */
  int polling, use_poll, eof, done_starting;
  char *buf;          /* what was read and not yet given to a command */
  size_t len, cap;
  size_t scanned;     /* buf[0..scanned) is known to hold no line end */
  wd_run_item **items; /* by seq - 1: those started and not yet printed */
  size_t nitems, items_cap, printed;
} pipe_state;

static void start_more(wd__cli_batch *b);

/* The length of the next block at the front of the buffer, or 0 while
 * more must be read first. */
static size_t next_block(pipe_state *p) {
  const wd_run_opts *o = &p->r->o;
  if (p->len == 0)
    return 0;
  if (o->max_args_given) { /* -N: that many lines */
    const char *s = p->buf, *end = p->buf + p->len;
    for (long n = 0; n < (o->max_args ? o->max_args : 1); n++) {
      const char *nl = memchr(s, '\n', (size_t)(end - s));
      if (nl == NULL)
        return p->eof ? p->len : 0;
      s = nl + 1;
    }
    return (size_t)(s - p->buf);
  }
  if (p->len <= o->block)
    return p->eof ? p->len : 0;
  const char *nl = p->scanned >= o->block ? NULL : memrchr(p->buf, '\n', o->block);
  if (nl == NULL) { /* a line longer than a block: all of it (each byte
                       scanned once, or a long line costs its square) */
    size_t from = p->scanned > o->block ? p->scanned : o->block;
    nl = memchr(p->buf + from, '\n', p->len - from);
    p->scanned = nl ? 0 : p->len;
  }
  if (nl)
    return (size_t)(nl - p->buf) + 1;
  return p->eof ? p->len : 0;
}

/* Room for one more read; 0 or UV_ENOMEM. */
static int make_room(pipe_state *p) {
  if (p->cap - p->len >= READ_CHUNK)
    return 0;
  size_t cap = p->len + READ_CHUNK > 2 * p->cap ? p->len + READ_CHUNK : 2 * p->cap;
  char *nb = realloc(p->buf, cap);
  if (nb == NULL)
    return UV_ENOMEM;
  p->buf = nb;
  p->cap = cap;
  return 0;
}

/* One read() of stdin into the buffer; the end or an error is eof. */
static void read_once(pipe_state *p) {
  int err = make_room(p);
  ssize_t n = 0;
  if (!err) {
    while ((n = read(0, p->buf + p->len, READ_CHUNK)) < 0 && errno == EINTR)
      ;
    err = n < 0 ? -errno : 0;
  }
  if (n > 0) {
    p->len += (size_t)n;
    return;
  }
  p->eof = 1;
  if (p->polling)
    uv_poll_stop(&p->poll);
  p->polling = 0;
  if (err && !p->r->batch.stopping) {
    fprintf(stderr, "warden run: --pipe: cannot read stdin: %s\n", wd_strerror(err));
    p->r->batch.broken = 1;
    wd__cli_batch_stop(&p->r->batch, 1);
  }
}

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events; /* an error shows in the read */
  pipe_state *p = h->data;
  read_once(p);
  start_more(&p->r->batch);
}

/* Prints what may be printed: with -k, in order; else as they finish. */
static void report(pipe_state *p, size_t seq) {
  wd_run *r = p->r;
  if (!r->o.keep_order) {
    wd__cli_run_report_item(r, p->items[seq - 1], seq);
    free(p->items[seq - 1]);
    p->items[seq - 1] = NULL;
    return;
  }
  while (p->printed < p->nitems && p->items[p->printed] && p->items[p->printed]->finished) {
    wd__cli_run_report_item(r, p->items[p->printed], p->printed + 1);
    free(p->items[p->printed]);
    p->items[p->printed++] = NULL;
  }
}

static void on_done(wd_future *f, void *data) {
  pipe_state *p = wd_future_data(f);
  size_t seq = (size_t)(uintptr_t)data;
  wd_run_item *it = p->items[seq - 1];
  int failed = wd__cli_run_failed(wd_future_result(f));
  p->r->batch.running--;
  wd__cli_run_give_slot(p->r, it);
  it->finished = 1;
  report(p, seq);
  wd__cli_batch_finished(&p->r->batch, failed);
  start_more(&p->r->batch);
}

/* A command that could not start ends the run (125). */
static int fail_start(pipe_state *p, int err) {
  fprintf(stderr, "warden run: cannot start command %zu: %s\n", p->nitems + 1,
          wd_strerror(err));
  p->r->batch.broken = 1;
  wd__cli_batch_stop(&p->r->batch, 1);
  return err;
}

/* Starts a command on the first n bytes of the buffer, which then lets
 * them go: the request holds the only copy. */
static int start_block(pipe_state *p, size_t n) {
  if (p->nitems == p->items_cap) {
    size_t cap = p->items_cap ? 2 * p->items_cap : 64;
    wd_run_item **ni = realloc(p->items, cap * sizeof(*ni));
    if (ni == NULL)
      return fail_start(p, UV_ENOMEM);
    p->items = ni;
    p->items_cap = cap;
  }
  wd_run_item *it = calloc(1, sizeof(*it));
  if (it == NULL)
    return fail_start(p, UV_ENOMEM);
  static char no_input[1];
  it->input = no_input; /* a block is no argument */
  it->seq = p->nitems + 1;
  int err = wd__cli_run_submit(p->r, it, p->buf, n);
  if (err) {
    free(it->shown);
    free(it);
    return fail_start(p, err);
  }
  memmove(p->buf, p->buf + n, p->len - n);
  p->len -= n;
  p->scanned = 0;
  p->items[p->nitems++] = it;
  it->attempts = 1;
  it->started = wd__cli_wall();
  p->r->batch.running++;
  p->r->batch.todo++;
  wd_future_set_data(it->f, p);
  wd_future_on_done(it->f, on_done, (void *)(uintptr_t)p->nitems);
  return 0;
}

/* Starts a command for each block there is while slots are free; reads
 * a file when a slot waits for a block, and watches a pipe while the
 * buffer holds less than the next block (it reads ahead by one). */
static void start_more(wd__cli_batch *b) {
  pipe_state *p = ((wd_run *)b->data)->in_pipe;
  size_t jobs = (size_t)p->r->o.jobs;
  for (;;) {
    size_t n = 0;
    while (!b->stopping && b->running < jobs && (n = next_block(p)) > 0)
      if (start_block(p, n) != 0)
        return;
    if (b->stopping || b->running >= jobs || p->eof || p->use_poll)
      break;
    read_once(p);
  }
  int want = !b->stopping && !p->eof &&
             (p->len < p->r->o.block + READ_CHUNK || next_block(p) == 0);
  if (p->use_poll && want && !p->polling)
    uv_poll_start(&p->poll, UV_READABLE, on_readable);
  else if (p->use_poll && !want && p->polling)
    uv_poll_stop(&p->poll); /* enough for now: the pipe holds the rest */
  p->polling = p->use_poll && want;
  if (p->eof && p->len == 0 && !p->done_starting) {
    p->done_starting = 1; /* every block has started: workers may leave */
    wd_pool_shutdown(b->pool, WD_GRACEFUL);
  }
}

static void on_stop(wd__cli_batch *b, int now) {
  (void)now;
  pipe_state *p = ((wd_run *)b->data)->in_pipe;
  if (p->polling) /* stdin may never come: it must not keep the loop */
    uv_poll_stop(&p->poll);
  p->polling = 0;
}

static void progress(const wd__cli_batch *b, FILE *f, double elapsed_s, double eta_s) {
  (void)elapsed_s;
  (void)eta_s; /* the number of blocks is not known ahead */
  fprintf(f, "%zu blocks done, %zu failed, %zu running", b->done, b->failed, b->running);
}

static const wd__cli_batch_ops pipe_ops = {start_more, on_stop, progress};

int wd__cli_run_pipe(wd_run *r) {
  wd__cli_batch *b = &r->batch;
  pipe_state p = {.r = r};
  r->in_pipe = &p;
  b->ops = &pipe_ops;
  if (r->o.nsources)
    return wd__cli_fail("run", "--pipe gives stdin to the commands: it cannot go with "
                        "':::', '::::' or -a");
  if (wd__cli_run_no_inputs(r))
    return WD_EXIT_FAILURE;
  int err = r->o.joblog ? wd__cli_batch_open_joblog(b, r->o.joblog) : 0;
  if (err)
    return wd__cli_fail("run", "joblog %s: %s", r->o.joblog, wd_strerror(err));
  err = wd__cli_spool_open(r->spool, sizeof(r->spool));
  if (err)
    return wd__cli_fail("run", "cannot make a spool directory for output: %s",
                        wd_strerror(err));
  wd_register_builtins();
  wd_pool_options po = {.workers = (unsigned)r->o.jobs};
  err = wd__cli_batch_start(b, &po);
  if (err)
    return wd__cli_fail("run", "cannot start workers: %s", wd_strerror(err));
  r->containment = wd_pool_containment(b->pool);
  p.use_poll = uv_poll_init(b->loop, &p.poll, 0) == 0; /* not for a file */
  p.poll.data = &p;
  wd__cli_batch_loop(b);
  if (p.use_poll)
    uv_close((uv_handle_t *)&p.poll, NULL);
  if (r->o.keep_order) /* after a stop, print what finished */
    for (; p.printed < p.nitems; p.printed++)
      if (p.items[p.printed] && wd_future_done(p.items[p.printed]->f))
        wd__cli_run_report_item(r, p.items[p.printed], p.printed + 1);
  int rc = wd__cli_batch_end(b);
  for (size_t i = 0; i < p.nitems; i++)
    if (p.items[i]) {
      if (p.items[i]->f)
        wd_future_release(p.items[i]->f);
      free(p.items[i]->shown);
      free(p.items[i]);
    }
  free(p.items);
  free(p.buf);
  r->in_pipe = NULL;
  return rc;
}
