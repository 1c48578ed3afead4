/* queue.c -- tasks in: submitting, the queue, dispatch, cancelling.
 *
 * Dispatch runs in a uv_prepare_t, once per loop iteration just before the
 * loop blocks: every task submitted or made ready during the iteration is
 * handed out in one pass, and each worker's frames go out in one send.
 * Workers take turns (round robin over the slots that have room), so a
 * burst spreads over every worker instead of filling the first one.
 *
 * The prepare handle is also what keeps the loop alive: it is referenced
 * only while tasks are queued or in flight, so uv_run() returns when the
 * pool has nothing to do -- an idle pool does not pin the loop. */
#include <signal.h>
#include <string.h>

#include "pool.h"

void wd__pool_keepalive(wd_pool *p) {
  if (p->outstanding > 0 || p->closing)
    uv_ref((uv_handle_t *)&p->prepare);
  else
    uv_unref((uv_handle_t *)&p->prepare);
}

void wd__pool_avail(wd_pool *p, wd__slot *s) {
  if (s->in_avail || !wd__slot_can_take(s))
    return;
  s->in_avail = 1;
  s->avail_next = NULL;
  if (p->avail_tail)
    p->avail_tail->avail_next = s;
  else
    p->avail_head = s;
  p->avail_tail = s;
}

static void enqueue(wd_pool *p, wd__task *t, int front) {
  t->slot = NULL;
  if (front) {
    t->prev = NULL;
    t->next = p->q_head;
    if (p->q_head)
      p->q_head->prev = t;
    else
      p->q_tail = t;
    p->q_head = t;
  } else {
    t->next = NULL;
    t->prev = p->q_tail;
    if (p->q_tail)
      p->q_tail->next = t;
    else
      p->q_head = t;
    p->q_tail = t;
  }
}

void wd__pool_requeue_front(wd_pool *p, wd__task *t) { enqueue(p, t, 1); }

static void unqueue(wd_pool *p, wd__task *t) {
  if (t->prev)
    t->prev->next = t->next;
  else
    p->q_head = t->next;
  if (t->next)
    t->next->prev = t->prev;
  else
    p->q_tail = t->prev;
  t->next = t->prev = NULL;
}

void wd__pool_task_done(wd_pool *p, wd__task *t) {
  p->outstanding--;
  wd__pool_keepalive(p);
  wd_future_release(&t->f);
  if (p->outstanding == 0)
    wd__pool_maybe_idle(p);
}

/* Once a graceful shutdown has nothing left to hand out, an idle worker
 * has no more use: it leaves now, while others still run, rather than
 * with all of them at the end (a thousand exits cost a second here). */
void wd__pool_maybe_idle(wd_pool *p) {
  if (p->shutdown != WD_GRACEFUL || p->q_head != NULL || p->closing)
    return;
  for (unsigned i = 0; i < p->nslots; i++)
    wd__slot_retire_idle(&p->slots[i]);
}

/* Every queued task to one ready worker's round, then every worker's
 * frames out in one send each. */
void wd__pool_dispatch(uv_prepare_t *h) {
  wd_pool *p = h->data;
  while (p->q_head && p->avail_head) {
    wd__slot *s = p->avail_head;
    p->avail_head = s->avail_next;
    if (p->avail_head == NULL)
      p->avail_tail = NULL;
    s->in_avail = 0;
    if (!wd__slot_can_take(s))
      continue;
    wd__task *t = p->q_head;
    unqueue(p, t);
    wd__slot_send(s, t);
    if (!s->in_dirty) {
      s->in_dirty = 1;
      s->dirty_next = p->dirty;
      p->dirty = s;
    }
    wd__pool_avail(p, s);
  }
  while (p->dirty) {
    wd__slot *s = p->dirty;
    p->dirty = s->dirty_next;
    s->in_dirty = 0;
    wd__slot_flush(s);
  }
}

int wd__pool_enqueue(wd_pool *p, wd__task *t) {
  if (p->closing || p->shutdown != WD__RUNNING)
    return UV_ECANCELED;
  t->pool = p;
  t->id = ++p->next_id;
  t->f.refs++; /* the pool's, until the task leaves its lists */
  enqueue(p, t, 0);
  p->outstanding++;
  wd__pool_keepalive(p);
  return 0;
}

void wd__pool_cancel_queued(wd_pool *p) {
  while (p->q_head) {
    wd__task *t = p->q_head;
    unqueue(p, t);
    wd__task_fail(t, WD_CANCELLED, -1, 0, NULL, 0);
    wd__pool_task_done(p, t);
  }
}

/* ---- a task's ops: what cancelling and signalling it mean ----------------- */

static int task_cancel(wd_future *f) {
  wd__task *t = wd__task_of(f);
  if (t->slot != NULL) {
    wd__slot_cancel(t->slot, t);
    return 0;
  }
  unqueue(t->pool, t); /* still queued */
  wd__task_fail(t, WD_CANCELLED, -1, 0, NULL, 0);
  wd__pool_task_done(t->pool, t);
  return 0;
}

static int task_kill(wd_future *f, int sig) {
  wd__task *t = wd__task_of(f);
  if (t->slot == NULL || t->slot->head != t || sig <= 0 || sig >= NSIG)
    return UV_ESRCH;
  /* A guardian job's command leads a group of its own: the worker passes
   * the signal on (jobs/command.c). */
  int scope = t->chunk_end == NULL && wd__job_is_guardian(t->job) ? WD__KILL_TASK
                                                                 : WD__KILL_WORKER;
  wd__pool_zygote_kill(t->pool, t->slot->id, sig, scope, WD__TAG(t->id));
  return 0;
}

static unsigned task_attempts(const wd_future *f) { return f->res.attempts; }

static const wd__future_ops task_ops = {task_cancel, task_kill, task_attempts, NULL};

/* ---- submitting ----------------------------------------------------------- */

int wd__pool_job(const wd_pool *p, const char *name) {
  int j = wd__job_lookup(name);
  if (j < 0 || (unsigned)j >= p->njobs)
    return UV_ENOENT;
  if (p->closing || p->shutdown != WD__RUNNING)
    return UV_ECANCELED;
  return j;
}

wd__task *wd__pool_task_new(wd_pool *p, size_t arg_len,
                            const wd_task_options *opts) {
  return wd__task_new(&task_ops, p->loop, arg_len, &p->opts, opts);
}

int wd_submit(wd_pool *p, const char *job, const void *arg, size_t len,
              const wd_task_options *opts, wd_future **out) {
  int j = wd__pool_job(p, job);
  if (j < 0)
    return j;
  if (len > WD__FRAME_MAX)
    return UV_E2BIG;
  wd__task *t = wd__pool_task_new(p, len, opts);
  if (t == NULL)
    return UV_ENOMEM;
  if (len)
    memcpy(t->arg, arg, len);
  t->job = (unsigned)j;
  int err = wd__pool_enqueue(p, t);
  if (err) {
    wd_future_release(&t->f);
    return err;
  }
  *out = &t->f;
  return 0;
}
