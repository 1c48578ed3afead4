/* resize.c -- `warden resize`: thumbnail or resize a batch of images on
 * every core, where a corrupt or hostile image costs one row, never the
 * batch.
 *
 * The supervisor finds the inputs (resize_find.c: files, directories
 * searched by content, or a list on stdin), settles their output names
 * (resize_names.c), reads each file without blocking the loop
 * (resize_read.c) and sends its bytes to a sandboxed worker running the
 * "resize" job (warden-image.h), which answers with the encoded output.
 * The supervisor writes it atomically (resize_write.c): an interrupted or
 * failed image never leaves a half-written file, not even after a power
 * loss.  Largest files go first, so the batch does not end waiting on one
 * big straggler.  This file puts the parts together and turns each
 * worker's answer into a row (resize_rows.c). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "resize.h"

#define DIR_MODE 0777
#define PROGRESS_BAR_WIDTH 30

/* What became of an image, from its worker's answer. */
typedef struct {
  wd_resize_outcome outcome;
  const char *error; /* why it failed, or NULL */
  char *out;         /* the output's path, once written */
  wd_img_res res;    /* the job's answer, if there was one */
  char buf[512];     /* where error is made */
} fate;

/* The job's encoded image, written to the image's output. */
static void write_output(const wd_resize *s, const wd_resize_img *m, fate *f) {
  if (asprintf(&f->out, "%s/%s", s->o.outdir, m->rel) < 0)
    abort();
  int err = wd__cli_write_atomic(f->out, f->res.data, f->res.len);
  if (err == 0)
    return;
  f->outcome = WD_RESIZE_WRITE;
  snprintf(f->buf, sizeof(f->buf), "%s: %s", f->out, strerror(-err));
  f->error = f->buf;
  free(f->out);
  f->out = NULL;
}

/* The job's answer, or how its worker failed. */
static void judge(const wd_resize *s, const wd_resize_img *m, const wd_result *r, fate *f) {
  double ms = (double)r->duration_ns / 1e6;
  if (r->status == WD_OK && wd_img_decode(r->data, r->len, &f->res) == 0) {
    if (!f->res.error) {
      write_output(s, m, f);
      return;
    }
    f->outcome = WD_RESIZE_IMAGE;
    snprintf(f->buf, sizeof(f->buf), "%.*s", (int)f->res.message_len, f->res.message);
  } else if (r->status == WD_TIMEOUT) {
    f->outcome = WD_RESIZE_TIMEOUT;
    snprintf(f->buf, sizeof(f->buf), "no result after %.1f s", ms / 1000);
  } else if (r->status == WD_CANCELLED) {
    f->outcome = WD_RESIZE_CANCELLED;
    snprintf(f->buf, sizeof(f->buf), "stopped before it finished");
  } else {
    f->outcome = WD_RESIZE_CRASHED;
    if (r->signal == SIGSYS)
      snprintf(f->buf, sizeof(f->buf), "killed by the sandbox (SIGSYS)");
    else if (r->signal)
      snprintf(f->buf, sizeof(f->buf), "killed by signal %d", r->signal);
    else
      snprintf(f->buf, sizeof(f->buf), "%.*s", (int)r->len, (const char *)r->data);
  }
  f->error = f->buf;
}

/* A worker's answer for image i: written, or its row says why not. */
static void on_done(wd_future *fut, void *data) {
  wd_resize *s = wd_future_data(fut);
  size_t i = (size_t)(uintptr_t)data;
  wd_resize_img *m = &s->v[i];
  const wd_result *r = wd_future_result(fut);
  fate f = {.outcome = WD_RESIZE_OK};
  s->batch.running--;
  judge(s, m, r, &f);
  wd__cli_resize_row(s, i, f.outcome, f.res.error, f.error, &f.res, f.out,
                    (double)r->duration_ns / 1e6);
  free(f.out);
  wd_future_release(fut);
  m->f = NULL;
  s->held -= m->held;
  m->held = 0;
  s->batch.ops->start_more(&s->batch);
}

/* Keeps each worker busy with one image and one more read ahead: the
 * supervisor holds a few files' bytes at a time, not the whole batch, and
 * never more than max_file bytes of inputs at once (one image of that
 * size, alone, is always let in: it is the largest that can be sent). */
static void start_more(wd__cli_batch *b) {
  wd_resize *s = b->data;
  while (!b->stopping && (s->nready > 0 || s->next < s->n) &&
         b->running < (size_t)s->o.jobs * 2) {
    /* An input whose turn in its group came goes before the next one. */
    size_t i = s->nready > 0 ? s->ready[s->nready - 1] : s->next;
    const wd_resize_img *m = &s->v[i];
    uint64_t need = (uint64_t)m->size <= s->max_file ? (uint64_t)m->size : 0; /* else refused */
    if (b->running > 0 && s->held + need > s->max_file)
      break; /* on_done and on_read come back here */
    if (s->nready > 0)
      s->nready--;
    else
      s->next++;
    if (m->path == NULL || !wd__cli_resize_may_start(s, i))
      continue; /* skipped by --resume, or waits for its turn */
    wd__cli_resize_start(s, i, on_done);
  }
  if (s->next == s->n && s->nready == 0 && b->running == 0 && b->pool)
    wd_pool_shutdown(b->pool, WD_GRACEFUL);
}

static void progress(const wd__cli_batch *b, FILE *f, double elapsed_s, double eta_s) {
  int width = PROGRESS_BAR_WIDTH;
  int fill = b->todo ? (int)((size_t)width * b->done / b->todo) : width;
  fprintf(f, "[%.*s%*s] %zu/%zu, %zu failed, %.1f img/s, ETA %.0fs", fill,
          "##############################", width - fill, "", b->done, b->todo, b->failed,
          elapsed_s > 0 ? (double)b->done / elapsed_s : 0, eta_s);
}

static const wd__cli_batch_ops resize_ops = {start_more, NULL, progress};

static int by_size_desc(const void *a, const void *b) {
  off_t x = ((const wd_resize_img *)a)->size, y = ((const wd_resize_img *)b)->size;
  return (x < y) - (x > y);
}

/* OUTDIR, made if need be; refused before any work if it is not a
 * directory.  0, or WD_EXIT_FAILURE said; *made if we made it. */
static int make_outdir(const char *dir, int *made) {
  struct stat st;
  *made = mkdir(dir, DIR_MODE) == 0;
  if (!*made && errno != EEXIST)
    return wd__cli_fail("resize", "%s: %s", dir, strerror(errno));
  if (stat(dir, &st) != 0)
    return wd__cli_fail("resize", "%s: %s", dir, strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return wd__cli_fail("resize", "%s: not a directory", dir);
  return 0;
}

/* --resume: an input whose output exists is skipped. */
static void skip_done(wd_resize *s) {
  for (size_t i = 0; i < s->n; i++) {
    wd_resize_img *m = &s->v[i];
    if (s->o.resume && wd__cli_resize_may_write(m) && wd__cli_resize_output_exists(s, m)) {
      free(m->path);
      m->path = NULL;
      s->skipped++;
    } else {
      s->batch.todo++;
    }
  }
}

/* Everything before the pool.  Sets *go when there is work; else returns
 * the exit status. */
static int prepare(wd_resize *s, int *go) {
  for (int i = 0; i < s->o.ninputs; i++)
    if (wd__cli_resize_find(s, s->o.inputs[i]) != 0)
      return WD_EXIT_FAILURE;
  if (s->n == 0)
    return wd__cli_fail("resize", "no images found");
  int made;
  if (wd__cli_resize_settle_names(s) != 0 || make_outdir(s->o.outdir, &made) != 0)
    return WD_EXIT_FAILURE;
  qsort(s->v, s->n, sizeof(*s->v), by_size_desc);
  skip_done(s);
  if (wd__cli_resize_link_groups(s) != 0)
    return wd__cli_fail("resize", "out of memory");
  int err = s->o.joblog ? wd__cli_batch_open_joblog(&s->batch, s->o.joblog) : 0;
  if (err) {
    if (made) /* leave nothing behind for a usage error */
      rmdir(s->o.outdir);
    return wd__cli_fail("resize", "joblog %s: %s", s->o.joblog, strerror(-err));
  }
  if (s->batch.todo == 0) {
    fprintf(stderr, "warden resize: all %zu outputs exist already\n", s->n);
    return 0;
  }
  if ((size_t)s->o.jobs > s->batch.todo)
    s->o.jobs = (long)s->batch.todo;
  /* What a worker can be sent: the argument limit, and half its memory
   * limit -- it must hold the file's bytes (in a buffer that doubles as
   * it grows) and still decode them. */
  s->max_file = WD_ARG_MAX - sizeof(wd_img_req);
  if (s->o.memory && s->o.memory / 2 < s->max_file)
    s->max_file = s->o.memory / 2;
  *go = 1;
  return 0;
}

/* The batch, and the summary line; the exit status. */
static int run_batch(wd_resize *s) {
  wd__cli_batch *b = &s->batch;
  wd_register_resize_job();
  uint64_t t = s->o.timeout_ms;
  wd_pool_options po = {.workers = (unsigned)s->o.jobs,
                        .memory_limit = s->o.memory,
                        /* a second more than the deadline: the
                         * deadline, not the CPU limit, ends a slow image */
                        .cpu_limit_s = t ? wd__cli_seconds_up(t) + 1 : 0};
  int err = wd__cli_batch_start(b, &po);
  if (err)
    return wd__cli_fail("resize", "cannot start workers: %s", wd_strerror(err));
  wd__cli_batch_loop(b);
  int rc = wd__cli_batch_end(b);
  double el = wd__cli_wall() - b->t0;
  if (!s->o.json || b->show_progress) {
    fprintf(stderr, "warden resize: %zu images in %.2f s (%.1f/s): %zu written, %zu failed",
            b->done, el, el > 0 ? (double)b->done / el : 0, b->done - b->failed, b->failed);
    if (s->skipped)
      fprintf(stderr, ", %zu skipped (output exists)", s->skipped);
    fprintf(stderr, " -> %s\n", s->o.outdir);
  }
  return rc;
}

int wd__cli_resize(int argc, char **argv) {
  wd_resize *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return wd__cli_fail("resize", "out of memory");
  wd__cli_msg msg;
  int rc = wd__cli_resize_parse(argc, argv, &s->o, &msg);
  if (wd__cli_parse_ends(rc, "resize", wd__cli_resize_usage, &msg, &rc))
    goto done;
  wd__cli_batch_init(&s->batch, "resize", "images", &resize_ops, s);
  s->batch.show_progress = s->o.progress && isatty(2);
  int go = 0;
  rc = prepare(s, &go);
  if (go)
    rc = run_batch(s);
  else if (s->batch.logfd >= 0)
    close(s->batch.logfd);
done:
  wd__cli_resize_free(s);
  free(s);
  return rc;
}
