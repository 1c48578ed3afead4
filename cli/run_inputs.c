/* run_inputs.c -- `warden run`'s items, made from the input sources'
 * rows (sources.h) one at a time, when a command can start: -N rows each
 * (their values fill the template; with -N0 none does), numbered in input
 * order, those --resume finds finished in the joblog skipped; kept in a
 * ring from the oldest not yet reported to the newest, each freed once
 * reported.  Also the job slots ({%}) and --dry-run.  The streamed source
 * is read by run_read.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "run_in.h"

#define RING_FIRST_CAP 64
#define BITS 64


/* ---- items ------------------------------------------------------------ */

wd_run_item *wd__cli_run_item(const wd_run *r, size_t i) { return r->ring[i % r->ring_cap]; }

void wd__cli_run_free_item(wd_run_item *it) {
  for (int k = 0; it->args && it->args[k]; k++)
    free(it->args[k]);
  free(it->args);
  free(it->input);
  free(it->shown);
  free(it);
}

void wd__cli_run_drop(wd_run *r, size_t i) {
  wd_run_item **slot = &r->ring[i % r->ring_cap];
  wd__cli_run_free_item(*slot);
  *slot = NULL;
  while (r->base < r->nitems && r->ring[r->base % r->ring_cap] == NULL)
    r->base++;
}

/* Room in the ring for one more item. */
static int ring_room(wd_run *r) {
  if (r->nitems - r->base < r->ring_cap)
    return 0;
  size_t cap = r->ring_cap ? 2 * r->ring_cap : RING_FIRST_CAP;
  wd_run_item **ring = calloc(cap, sizeof(*ring));
  if (ring == NULL)
    return UV_ENOMEM;
  for (size_t i = r->base; i < r->nitems; i++)
    ring[i % cap] = r->ring[i % r->ring_cap];
  free(r->ring);
  r->ring = ring;
  r->ring_cap = cap;
  return 0;
}

/* The values of one row onto the item being built (args stays
 * NULL-terminated). */
static int add_row(wd_run_item *it, char *const *vals, int n) {
  char **a = realloc(it->args, (size_t)(it->nargs + n + 1) * sizeof(*a));
  if (a == NULL)
    return UV_ENOMEM;
  it->args = a;
  for (int k = 0; k < n; k++) {
    if ((a[it->nargs] = strdup(vals[k])) == NULL)
      return UV_ENOMEM;
    a[++it->nargs] = NULL;
  }
  return 0;
}

/* The item built: numbered, shown as its values joined by spaces. */
static int finish_item(wd_run *r, wd_run_item *it) {
  wd_out b = {0};
  int err = 0;
  for (int k = 0; k < it->nargs && !err; k++)
    err = (k && wd_out_append(&b, " ", 1)) || wd_out_append(&b, it->args[k], strlen(it->args[k]));
  if (!err)
    err = wd_out_append(&b, "", 1);
  if (err) {
    wd_out_free(&b);
    return UV_ENOMEM;
  }
  it->input = b.p;
  it->len = strlen(it->input);
  it->seq = ++r->in->seq;
  if (!r->o.max_args) /* -N0: a row read, nothing passed */
    it->nargs = 0;
  return 0;
}

static int resumed(const struct wd__cli_run_in *in, size_t seq) {
  size_t w = (seq - 1) / BITS;
  return w < in->ndone && (in->done[w] >> ((seq - 1) % BITS) & 1);
}

/* Reads rows into in->building until it holds -N of them: WD__CLI_ROW,
 * WD__CLI_WAIT, WD__CLI_END (no row at all), or UV_ENOMEM. */
static int gather(wd_run *r) {
  struct wd__cli_run_in *in = r->in;
  size_t per = r->o.max_args ? (size_t)r->o.max_args : 1;
  if (in->building == NULL && (in->building = calloc(1, sizeof(*in->building))) == NULL)
    return UV_ENOMEM;
  while (in->rows < per) {
    char *const *vals;
    int n, got = in->ended ? WD__CLI_END : wd__cli_sources_next(in->src, &vals, &n);
    if (wd__cli_sources_took_nul(in->src) && !in->nul_said++)
      fprintf(stderr, "warden run: warning: a NUL in the input was replaced with \\0 (as "
              "GNU parallel does); use -0 for NUL-separated input\n");
    if (got == WD__CLI_END)
      in->ended = 1;
    if (got != WD__CLI_ROW)
      return got == WD__CLI_END && in->rows ? WD__CLI_ROW : got;
    int err = add_row(in->building, vals, n);
    if (err)
      return err;
    in->rows++;
  }
  return WD__CLI_ROW;
}

/* Makes the next item from what has arrived, without reading. */
int wd__cli_run_make_item(wd_run *r) {
  struct wd__cli_run_in *in = r->in;
  for (;;) {
    int got = gather(r);
    if (got != WD__CLI_ROW)
      return got;
    wd_run_item *it = in->building;
    in->building = NULL;
    in->rows = 0;
    int err = finish_item(r, it);
    if (err == 0 && resumed(in, it->seq)) {
      wd__cli_run_free_item(it);
      continue;
    }
    if (err == 0)
      err = ring_room(r);
    if (err) {
      wd__cli_run_free_item(it);
      return err;
    }
    r->ring[r->nitems++ % r->ring_cap] = it;
    r->batch.todo++;
    return WD__CLI_ROW;
  }
}
/* ---- job slots ---------------------------------------------------------- */

void wd__cli_run_take_slot(wd_run *r, wd_run_item *it) {
  uint64_t *s = r->in->slots;
  unsigned i = 0;
  while (s[i / BITS] >> (i % BITS) & 1)
    if (++i == r->in->nslots)
      abort(); /* more running than -j: a slot was never given back */
  s[i / BITS] |= (uint64_t)1 << (i % BITS);
  it->slot = i + 1;
}

void wd__cli_run_give_slot(wd_run *r, wd_run_item *it) {
  if (it->slot)
    r->in->slots[(it->slot - 1) / BITS] &= ~((uint64_t)1 << ((it->slot - 1) % BITS));
  it->slot = 0;
}

/* ---- the start and the end -------------------------------------------- */

static void mark_finished(void *ctx, size_t seq) {
  struct wd__cli_run_in *in = ctx;
  size_t w = (seq - 1) / BITS;
  if (seq == 0)
    return;
  if (w >= in->ndone) {
    size_t n = 2 * w + 1;
    uint64_t *d = realloc(in->done, n * sizeof(*d));
    if (d == NULL)
      return; /* rerun: a command too many, never one too few */
    memset(d + in->ndone, 0, (n - in->ndone) * sizeof(*d));
    in->done = d;
    in->ndone = n;
  }
  in->done[w] |= (uint64_t)1 << ((seq - 1) % BITS);
}

/* The template compiled from spec into r->tmpl: 0, or the exit status
 * once said.  A value inside quotes is warned of: GNU parallel runs it
 * so too, but "{}" keeps the quotes and lets an input's $(...) run. */
static int compile_spec(wd_run *r, const wd__cli_template_spec *spec) {
  wd__cli_msg msg;
  int err = wd__cli_template_compile(spec, &r->tmpl, &msg);
  if (err == UV_ENOMEM)
    return wd__cli_fail("run", "out of memory");
  if (err)
    return wd__cli_usage_error("run", &msg);
  if (wd__cli_template_quoted_value(r->tmpl))
    fprintf(stderr, "warden run: warning: a replacement string inside quotes in the command: "
            "its value is quoted already (as GNU parallel quotes it), so the quotes show "
            "and inside \"...\" an input's $(...) or `...` runs; write it bare: "
            "echo {}, not echo \"{}\"\n");
  return 0;
}

/* The template, once --header's names are known (blocking reads). */
static int compile(wd_run *r) {
  struct wd__cli_run_in *in = r->in;
  char *const *names;
  int n, got, err = 0;
  while (!err && (got = wd__cli_sources_names(in->src, &names, &n)) == WD__CLI_WAIT)
    err = wd__cli_run_read_some(in);
  if (err || got < 0)
    return wd__cli_fail("run", "reading %s: %s", wd__cli_sources_name(in->src),
                        wd_strerror(err ? err : got));
  wd__cli_template_spec spec = {r->o.tmpl, r->o.ntmpl, r->o.shell, r->o.quote, r->o.replace,
                                names, n};
  return compile_spec(r, &spec);
}
int wd__cli_run_inputs(wd_run *r) {
  struct wd__cli_run_in *in = r->in = calloc(1, sizeof(*r->in));
  wd__cli_msg msg;
  if (in == NULL || (in->slots = calloc((size_t)r->o.jobs / BITS + 1, sizeof(uint64_t))) == NULL)
    return wd__cli_fail("run", "out of memory");
  in->nslots = ((size_t)r->o.jobs / BITS + 1) * BITS;
  int err = wd__cli_sources_open(&r->o, &in->src, &msg);
  if (err)
    return wd__cli_usage_error("run", &msg);
  in->fd = wd__cli_sources_fd(in->src);
  struct stat st;
  in->regular = in->fd >= 0 && fstat(in->fd, &st) == 0 && !S_ISFIFO(st.st_mode) &&
                !S_ISSOCK(st.st_mode) && !isatty(in->fd);
  if (compile(r))
    return WD_EXIT_FAILURE;
  if (r->o.joblog && (r->o.resume || r->o.resume_failed))
    wd__cli_joblog_finished(r->o.joblog, r->o.resume_failed, mark_finished, in);
  if (r->o.dry_run)
    return 0;
  err = wd__cli_run_first_items(r);
  if (err)
    return wd__cli_fail("run", "reading %s: %s", wd__cli_sources_name(in->src),
                        wd_strerror(err));
  if (in->ended && (size_t)r->o.jobs > r->nitems && r->nitems)
    r->o.jobs = (long)r->nitems; /* all there: no more workers than commands */
  return 0;
}

int wd__cli_run_dry(wd_run *r) {
  int got;
  while ((got = wd__cli_run_make_item(r)) != WD__CLI_END) {
    int err = got == WD__CLI_WAIT ? wd__cli_run_read_some(r->in) : got < 0 ? got : 0;
    if (err)
      return wd__cli_fail("run", "reading %s: %s", wd__cli_sources_name(r->in->src),
                          wd_strerror(err));
    if (got != WD__CLI_ROW)
      continue;
    size_t i = r->nitems - 1;
    wd_run_item *it = wd__cli_run_item(r, i);
    char **argv, *shown;
    wd__cli_values v = {it->args, it->nargs, it->seq,
                        (unsigned)((it->seq - 1) % (size_t)r->o.jobs) + 1};
    if (wd__cli_template_expand(r->tmpl, &v, &argv, &shown) != 0)
      return wd__cli_fail("run", "out of memory");
    printf("%s\n", shown);
    free(shown);
    wd__cli_template_free(argv);
    wd__cli_run_drop(r, i);
  }
  if (fflush(stdout) != 0 || ferror(stdout))
    return wd__cli_fail("run", "writing to stdout: %s", strerror(errno));
  return 0;
}

int wd__cli_run_no_inputs(wd_run *r) {
  struct wd__cli_run_in *in = r->in = calloc(1, sizeof(*r->in));
  if (in == NULL || (in->slots = calloc((size_t)r->o.jobs / BITS + 1, sizeof(uint64_t))) == NULL)
    return wd__cli_fail("run", "out of memory");
  in->nslots = ((size_t)r->o.jobs / BITS + 1) * BITS;
  in->fd = -1;
  wd__cli_template_spec spec = {r->o.tmpl, r->o.ntmpl, r->o.shell, r->o.quote, r->o.replace,
                                NULL, 0};
  return compile_spec(r, &spec);
}

void wd__cli_run_free_inputs(wd_run *r) {
  for (size_t i = r->base; r->ring && i < r->nitems; i++)
    if (wd__cli_run_item(r, i))
      wd__cli_run_free_item(wd__cli_run_item(r, i));
  free(r->ring);
  wd__cli_template_destroy(r->tmpl);
  if (r->in == NULL)
    return;
  if (r->in->building)
    wd__cli_run_free_item(r->in->building);
  wd__cli_sources_free(r->in->src);
  free(r->in->done);
  free(r->in->slots);
  free(r->in);
}
