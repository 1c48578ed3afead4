/* run_inputs.c -- `warden run`'s inputs: the words after ':::' or else
 * stdin, split at newlines (or NULs with -0); grouped into items of -N
 * inputs; and, with --resume, the items the joblog already has.  Inputs
 * are read before the pool starts, so a blocking read here blocks nothing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"

#define STDIN_CHUNK 65536
#define INPUTS_FIRST_CAP 1024

/* One input, copied; out of memory here is the end (no batch has started). */
static void add_input(void *ctx, const char *p, size_t n) {
  wd_run *r = ctx;
  if (r->ninputs == r->inputs_cap) {
    r->inputs_cap = r->inputs_cap ? r->inputs_cap * 2 : INPUTS_FIRST_CAP;
    r->inputs = realloc(r->inputs, r->inputs_cap * sizeof(*r->inputs));
    if (r->inputs == NULL)
      abort();
  }
  char *in = malloc(n + 1);
  if (in == NULL)
    abort();
  memcpy(in, p, n);
  in[n] = '\0';
  r->inputs[r->ninputs++] = in;
}

/* All of stdin, split into inputs.  0 or a negative errno. */
static int read_stdin(wd_run *r) {
  wd_out b = {0};
  int err = 0;
  for (;;) {
    char *p = wd_out_reserve(&b, STDIN_CHUNK);
    if (p == NULL) {
      err = UV_ENOMEM;
      break;
    }
    ssize_t n;
    while ((n = read(0, p, STDIN_CHUNK)) < 0 && errno == EINTR)
      ;
    b.len -= STDIN_CHUNK - (n > 0 ? (size_t)n : 0); /* only what was read counts */
    if (n <= 0) {
      err = n < 0 ? -errno : 0;
      break;
    }
  }
  if (err == 0)
    wd__split_inputs(b.p, b.len, r->o.null_sep ? '\0' : '\n', add_input, r);
  wd_out_free(&b);
  return err;
}

/* The item of inputs [i, i+k): shown as its inputs joined by spaces. */
static void make_item(wd_run *r, size_t i, size_t k) {
  wd_run_item *it = &r->items[r->nitems++];
  it->args = r->inputs + i;
  it->nargs = r->o.max_args ? (int)k : 0;
  if (k == 1) {
    it->input = r->inputs[i];
  } else {
    wd_out b = {0};
    for (size_t m = 0; m < k; m++) {
      if ((m && wd_out_append(&b, " ", 1)) ||
          wd_out_append(&b, r->inputs[i + m], strlen(r->inputs[i + m])))
        abort();
    }
    if (wd_out_append(&b, "", 1))
      abort();
    it->input = b.p;
  }
  it->len = strlen(it->input);
}

/* One item per -N inputs (the last may have fewer); with -N0 one per
 * input, passed nothing but shown as its input. */
static void make_items(wd_run *r) {
  size_t per = r->o.max_args ? (size_t)r->o.max_args : 1;
  r->items = calloc((r->ninputs + per - 1) / per, sizeof(*r->items));
  if (r->items == NULL)
    abort();
  for (size_t i = 0; i < r->ninputs; i += per)
    make_item(r, i, r->ninputs - i < per ? r->ninputs - i : per);
}

static void mark_finished(void *ctx, size_t seq) {
  wd_run *r = ctx;
  if (seq <= r->nitems)
    r->items[seq - 1].skip = 1;
}

int wd__cli_run_inputs(wd_run *r) {
  for (int k = 0; k < r->o.ninputs; k++)
    add_input(r, r->o.inputs[k], strlen(r->o.inputs[k]));
  if (r->ninputs == 0) {
    int err = read_stdin(r);
    if (err)
      return wd__cli_fail("run", "reading stdin: %s", wd_strerror(err));
    if (r->ninputs == 0)
      return wd__cli_fail("run", "no inputs on stdin");
  }
  make_items(r);
  if (r->o.joblog && (r->o.resume || r->o.resume_failed))
    wd__cli_joblog_finished(r->o.joblog, r->o.resume_failed, mark_finished, r);
  return 0;
}

void wd__cli_run_free_inputs(wd_run *r) {
  for (size_t i = 0; i < r->nitems; i++) {
    if (r->items[i].input != r->inputs[r->items[i].args - r->inputs])
      free(r->items[i].input);
    free(r->items[i].shown);
  }
  for (size_t i = 0; i < r->ninputs; i++)
    free(r->inputs[i]);
  free(r->items);
  free(r->inputs);
}
