/* pool.c -- a pool's life: made with its zygote and workers, shut down
 * gracefully or at once, closed once every process is reaped, freed once
 * every handle is closed.  The parts live beside it: control.c (the
 * zygote), queue.c (tasks in, dispatch), slot.c (each worker). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"

/* The pool's own cgroup beneath the one this process runs in, when it may
 * make one (see proc/cgroup.c); else "" and process groups. */
static void pool_cgroup(wd_pool *p) {
  static unsigned seq;
  char self[PATH_MAX], name[64];
  p->cfg.cgroup[0] = '\0';
  if (wd__cgroup_self(self, sizeof(self)) != 0)
    return;
  if (seq == 0)
    wd__cgroup_sweep_stale(self);
  snprintf(name, sizeof(name), "warden.%d.%u", (int)getpid(), ++seq);
  if (wd__cgroup_make(self, name, p->cfg.cgroup, sizeof(p->cfg.cgroup)) != 0)
    p->cfg.cgroup[0] = '\0';
}

const char *wd_pool_containment(const wd_pool *p) {
  return p->cfg.cgroup[0] ? "cgroup" : "process-group";
}

int wd_pool_new(uv_loop_t *loop, const wd_pool_options *opts, wd_pool **out) {
  wd_pool_options o = {0};
  if (opts)
    o = *opts;
  if (loop == NULL || out == NULL || o.workers > 65536)
    return UV_EINVAL;
  if (o.workers == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o.workers = n > 0 ? (unsigned)n : 1;
  }
  if (o.stderr_tail == 0)
    o.stderr_tail = 4096;
  if (o.stderr_tail > 65536)
    o.stderr_tail = 65536;
  wd_pool *p = calloc(1, sizeof(*p));
  wd__slot *slots = calloc(o.workers, sizeof(*slots));
  if (p == NULL || slots == NULL) {
    free(p);
    free(slots);
    return UV_ENOMEM;
  }
  p->loop = loop;
  p->opts = o;
  p->cfg.memory_limit = o.memory_limit;
  p->cfg.cpu_limit_s = o.cpu_limit_s;
  p->cfg.stderr_tail = o.stderr_tail;
  p->shutdown = WD__RUNNING;
  p->slots = slots;
  p->nslots = o.workers;
  p->njobs = wd__job_count();
  p->spare_wake = -1;
  pool_cgroup(p);
  int err = wd__pool_zygote_open(p);
  if (err) {
    if (p->cfg.cgroup[0])
      wd__cgroup_remove(p->cfg.cgroup, 2);
    free(slots);
    free(p);
    return err;
  }
  /* uv_prepare_init and uv_timer_init only fill in a struct, and
   * uv_prepare_start fails only without a callback: none can fail here. */
  uv_timer_init(loop, &p->watchdog);
  p->watchdog.data = p;
  uv_unref((uv_handle_t *)&p->watchdog);
  uv_prepare_init(loop, &p->prepare);
  p->prepare.data = p;
  uv_prepare_start(&p->prepare, wd__pool_dispatch);
  uv_unref((uv_handle_t *)&p->prepare);
  for (unsigned i = 0; i < p->nslots; i++)
    wd__slot_init(p, &p->slots[i], i);
  for (unsigned i = 0; i < p->nslots; i++)
    wd__slot_start(&p->slots[i]);
  *out = p;
  return 0;
}

int wd_pool_shutdown(wd_pool *p, int how) {
  if (how != WD_GRACEFUL && how != WD_IMMEDIATE)
    return UV_EINVAL;
  if (p->shutdown == WD_IMMEDIATE || p->shutdown == how)
    return 0;
  p->shutdown = how;
  if (how == WD_IMMEDIATE) {
    wd__pool_cancel_queued(p);
    for (unsigned i = 0; i < p->nslots; i++)
      if (p->slots[i].inflight > 0)
        wd__slot_kill(&p->slots[i], WD__R_SHUTDOWN, SIGKILL);
  }
  wd__pool_maybe_idle(p);
  return 0;
}

static void on_handle_closed(uv_handle_t *h) {
  wd_pool *p = h->data;
  if (--p->open_handles > 0)
    return;
  for (unsigned i = 0; i < p->nslots; i++) {
    wd__buf_free(&p->slots[i].ibuf);
    wd__buf_free(&p->slots[i].obuf);
  }
  wd__buf_free(&p->zq);
  void (*cb)(void *) = p->close_cb;
  void *data = p->close_data;
  free(p->slots);
  free(p);
  if (cb)
    cb(data);
}

/* The zygote is reaped, so every worker and its tree is too: what is
 * still in flight can resolve, and the handles can go. */
void wd__pool_finish_close(wd_pool *p) {
  wd__pool_drop_spare(p);
  if (p->cfg.cgroup[0]) /* the zygote removes it; not if it was killed */
    wd__cgroup_remove(p->cfg.cgroup, 2);
  for (unsigned i = 0; i < p->nslots; i++)
    wd__slot_lost(&p->slots[i], WD__R_SHUTDOWN);
  p->open_handles = 2 + (int)p->nslots;
  p->prepare.data = p;
  uv_close((uv_handle_t *)&p->prepare, on_handle_closed);
  uv_close((uv_handle_t *)&p->watchdog, on_handle_closed);
  for (unsigned i = 0; i < p->nslots; i++) {
    p->slots[i].timer.data = p;
    uv_close((uv_handle_t *)&p->slots[i].timer, on_handle_closed);
  }
}

void wd_pool_close(wd_pool *p, void (*cb)(void *data), void *data) {
  if (p->closing)
    return;
  wd_pool_shutdown(p, WD_IMMEDIATE);
  p->closing = 1;
  p->close_cb = cb;
  p->close_data = data;
  wd__pool_keepalive(p);
  for (unsigned i = 0; i < p->nslots; i++) {
    uv_timer_stop(&p->slots[i].timer);
    wd__slot_close(&p->slots[i]);
  }
  wd__pool_zygote_close(p);
}

static void set_flag(void *data) { *(int *)data = 1; }

int wd_pool_destroy(wd_pool *p) {
  uv_loop_t *loop = p->loop;
  int done = 0;
  wd_pool_close(p, set_flag, &done);
  while (!done)
    uv_run(loop, UV_RUN_ONCE);
  return 0;
}

uv_loop_t *wd_pool_loop(const wd_pool *p) { return p->loop; }
unsigned wd_pool_size(const wd_pool *p) { return p->nslots; }

size_t wd_pool_pids(const wd_pool *p, pid_t *pids, size_t n) {
  size_t k = 0;
  for (unsigned i = 0; i < p->nslots && k < n; i++)
    if (p->slots[i].pid > 0 && p->slots[i].state != WD__S_DOWN)
      pids[k++] = p->slots[i].pid;
  return k;
}
