/* task.c -- making a task and resolving it from what its worker said.
 *
 * A task ends once: with its result frame (wd__task_result), or without
 * one (wd__task_fail) -- its worker died, its deadline passed, it was
 * cancelled, or memory was short.  Either may be reached for a task that
 * already resolved (cancelled while it waited behind another): the second
 * is dropped. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"

static uint64_t pick(uint64_t own, uint64_t dflt) {
  uint64_t v = own ? own : dflt;
  return v == WD_FOREVER ? 0 : v;
}

wd__task *wd__task_new(const wd__future_ops *ops, uv_loop_t *loop,
                       size_t arg_len, const wd_pool_options *pool_opts,
                       const wd_task_options *opts) {
  wd__task *t = calloc(1, sizeof(*t) + arg_len);
  if (t == NULL)
    return NULL;
  wd__future_init(&t->f, ops, loop);
  t->arg = (char *)(t + 1);
  t->arg_len = arg_len;
  wd_task_options o = {0};
  if (opts)
    o = *opts;
  t->timeout_ms = pick(o.timeout_ms, pool_opts->timeout_ms);
  t->grace_ms = pick(o.grace_ms, pool_opts->grace_ms);
  t->retries = o.retries;
  t->term_signal = o.signal > 0 && o.signal < NSIG ? o.signal : SIGTERM;
  return t;
}

static const char *describe(wd_status st, const wd__task *t, int code,
                            int sig, char *buf, size_t n) {
  switch (st) {
  case WD_TIMEOUT:
    snprintf(buf, n, "deadline of %llu ms exceeded; killed by signal %d",
             (unsigned long long)t->timeout_ms, sig);
    break;
  case WD_CRASHED:
    snprintf(buf, n, "worker killed by signal %d (%s)", sig, strsignal(sig));
    break;
  case WD_EXITED:
    snprintf(buf, n, "worker exited with code %d", code);
    break;
  case WD_ERROR: /* the supervisor's own error: code is a UV_E* */
    snprintf(buf, n, "%s", code == UV_ENOMEM ? WD__OUT_OF_MEMORY : wd_strerror(code));
    break;
  default:
    snprintf(buf, n, "cancelled");
  }
  return buf;
}

/* The message, then the stderr tail, in one store the result points into. */
static void keep_message(wd__task *t, wd_status st, const char *msg,
                         const char *tail, size_t tail_len) {
  wd_result *r = &t->f.res;
  size_t mlen = strlen(msg);
  t->f.store = malloc(mlen + tail_len + 1);
  if (t->f.store == NULL) { /* the status still says what happened */
    r->data = st == WD_ERROR ? WD__OUT_OF_MEMORY : wd_status_name(st);
    r->len = strlen(r->data);
    return;
  }
  memcpy(t->f.store, msg, mlen);
  if (tail_len)
    memcpy(t->f.store + mlen, tail, tail_len);
  t->f.store[mlen + tail_len] = '\0';
  r->data = t->f.store;
  r->len = mlen;
  r->err_tail = t->f.store + mlen;
  r->err_len = tail_len;
}

void wd__task_fail(wd__task *t, wd_status st, int code, int sig,
                   const char *tail, size_t tail_len) {
  wd_result *r = &t->f.res;
  if (r->status != WD_PENDING)
    return; /* cancelled while sent ahead: already resolved */
  char msg[128];
  describe(st, t, code, sig, msg, sizeof(msg));
  r->exit_code = st == WD_EXITED || st == WD_ERROR ? code : -1;
  r->signal = sig;
  if (t->chunk_end) {
    t->chunk_end(t, st, NULL, 0, msg);
    return;
  }
  keep_message(t, st, msg, tail, tail_len);
  if (r->started_ns)
    r->duration_ns = uv_hrtime() - r->started_ns;
  r->status = st;
  wd__future_resolve(&t->f);
}

void wd__task_result(wd__task *t, const wd__hdr *h, const char *body) {
  wd_result *r = &t->f.res;
  if (r->status != WD_PENDING)
    return;
  if (t->chunk_end) {
    t->chunk_end(t, WD_OK, body, h->len, NULL);
    return;
  }
  t->f.store = malloc((size_t)h->len + 1);
  if (t->f.store == NULL) {
    /* Never WD_OK with empty data: a caller would take it for the job's
     * whole output.  The result is lost, and the future says why. */
    wd__task_fail(t, WD_ERROR, UV_ENOMEM, 0, NULL, 0);
    return;
  }
  memcpy(t->f.store, body, h->len);
  t->f.store[h->len] = '\0';
  r->data = t->f.store;
  r->len = h->len - h->a;
  r->err_tail = t->f.store + r->len;
  r->err_len = h->a;
  r->duration_ns = uv_hrtime() - r->started_ns;
  r->status = t->answer_as != WD_PENDING ? t->answer_as
              : h->type == WD__F_OK      ? WD_OK
                                         : WD_ERROR;
  wd__future_resolve(&t->f);
}
