/* resize_names.c -- where `warden resize` writes each output: the input's
 * path under what the user named, with the output format's extension.
 * Collisions are found before any work: the same path under two inputs
 * is refused, so nothing is overwritten by surprise; inputs whose stems
 * collide (a.png, a.gif) become a group that runs in rank order, and the
 * name goes to the first of them that decodes (resize.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "resize.h"

int wd__cli_has_ext(const char *path, const char *ext) {
  size_t n = strlen(path), e = strlen(ext);
  return n > e && strcasecmp(path + n - e, ext) == 0;
}

char *wd__cli_resize_name(const wd_resize *s, const char *rel_in, int is_jpeg) {
  uint32_t format = s->o.req.format;
  const char *ext = format == WD_IMG_JPG   ? ".jpg"
                    : format == WD_IMG_PNG ? ".png"
                    : is_jpeg              ? ".jpg"
                                           : ".png";
  const char *dot = strrchr(rel_in, '.');
  const char *slash = strrchr(rel_in, '/');
  size_t stem = dot && (!slash || dot > slash) && dot != rel_in ? (size_t)(dot - rel_in)
                                                              : strlen(rel_in);
  char *rel = malloc(stem + strlen(ext) + 1);
  if (rel == NULL)
    return NULL;
  memcpy(rel, rel_in, stem);
  strcpy(rel + stem, ext);
  return rel;
}

static int by_rel(const void *a, const void *b) {
  const wd_resize_img *x = *(wd_resize_img *const *)a, *y = *(wd_resize_img *const *)b;
  int c = strcmp(x->rel, y->rel);
  return c ? c : (x > y) - (x < y); /* then in the order found */
}

/* Sorts the n pointers to inputs by output name; the first collision
 * found (two inputs, one output) in *a, *b, or 0 if none. */
static int collides(wd_resize_img **v, size_t n, wd_resize_img **a, wd_resize_img **b) {
  qsort(v, n, sizeof(*v), by_rel);
  for (size_t i = 1; i < n; i++)
    if (strcmp(v[i - 1]->rel, v[i]->rel) == 0) {
      *a = v[i - 1];
      *b = v[i];
      return 1;
    }
  return 0;
}

/* The inputs v[i..j) share one output name: they become group g.  The
 * one whose extension is already the output's (or else the first found)
 * is rank 0 and holds the name; the others are given their own extension
 * too (a.gif.png) and may take the shared name back when they start, if
 * no member before them has written it (wd__cli_resize_may_start). */
static void make_group(wd_resize_group *g, wd_resize_img **v, size_t i, size_t j) {
  size_t keep = i;
  const char *out_ext = strrchr(v[i]->rel, '.');
  for (size_t k = i; k < j; k++)
    if (wd__cli_has_ext(v[k]->rel_in, out_ext)) {
      keep = k;
      break;
    }
  g->n = j - i;
  g->name = v[keep]->rel;
  v[keep]->group = g;
  size_t rank = 1;
  for (size_t k = i; k < j; k++) {
    if (k == keep)
      continue;
    v[k]->group = g;
    v[k]->rank = rank++;
    if (wd__cli_has_ext(v[k]->rel_in, out_ext))
      continue; /* the same name from two inputs: refused by the caller */
    v[k]->shared = v[k]->rel;
    if (asprintf(&v[k]->rel, "%s%s", v[k]->rel_in, out_ext) < 0)
      abort();
  }
}

/* How many runs of equal names v[0..n) (sorted) has. */
static size_t count_groups(wd_resize_img **v, size_t n) {
  size_t ng = 0;
  for (size_t i = 1; i < n; i++)
    ng += strcmp(v[i - 1]->rel, v[i]->rel) == 0 && (i < 2 || strcmp(v[i - 2]->rel, v[i]->rel));
  return ng;
}

/* a.png and a.gif would both become a.png: see make_group.  What still
 * collides -- the same relative path under two inputs -- is refused. */
int wd__cli_resize_settle_names(wd_resize *s) {
  wd_resize_img **v = malloc((s->n ? s->n : 1) * sizeof(*v)), *a, *b;
  if (v == NULL)
    abort();
  size_t n = 0;
  for (size_t i = 0; i < s->n; i++)
    if (wd__cli_resize_may_write(&s->v[i]))
      v[n++] = &s->v[i];
  int rc = 0;
  if (collides(v, n, &a, &b)) {
    s->groups = calloc(count_groups(v, n), sizeof(*s->groups));
    if (s->groups == NULL)
      abort();
    for (size_t i = 0; i < n;) {
      size_t j = i + 1;
      while (j < n && strcmp(v[j]->rel, v[i]->rel) == 0)
        j++;
      if (j - i > 1)
        make_group(&s->groups[s->ngroups++], v, i, j);
      i = j;
    }
    if (collides(v, n, &a, &b))
      rc = wd__cli_fail("resize", "%s and %s would both be written to %s/%s", a->path,
                       b->path, s->o.outdir, a->rel);
  }
  free(v);
  return rc;
}

static int exists_under(const wd_resize *s, const char *rel) {
  char *out;
  struct stat st;
  if (asprintf(&out, "%s/%s", s->o.outdir, rel) < 0)
    abort();
  int yes = stat(out, &st) == 0;
  free(out);
  return yes;
}

int wd__cli_resize_output_exists(const wd_resize *s, const wd_resize_img *m) {
  return exists_under(s, m->rel) || (m->shared && exists_under(s, m->shared));
}

/* Passes g's turn over the members --resume skipped; the member whose
 * turn it is, if it was waiting, goes to s->ready. */
static void next_turn(wd_resize *s, wd_resize_group *g) {
  while (g->turn < g->n && s->v[g->at[g->turn]].path == NULL)
    g->turn++;
  if (g->turn < g->n && s->v[g->at[g->turn]].waiting) {
    s->v[g->at[g->turn]].waiting = 0;
    s->ready[s->nready++] = g->at[g->turn];
  }
}

int wd__cli_resize_link_groups(wd_resize *s) {
  if (s->ngroups == 0)
    return 0;
  s->ready = malloc(s->n * sizeof(*s->ready));
  for (size_t k = 0; k < s->ngroups; k++)
    s->groups[k].at = malloc(s->groups[k].n * sizeof(size_t));
  for (size_t k = 0; k < s->ngroups; k++)
    if (s->ready == NULL || s->groups[k].at == NULL)
      return UV_ENOMEM; /* wd__cli_resize_free frees what was had */
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i].group)
      s->v[i].group->at[s->v[i].rank] = i;
  for (size_t k = 0; k < s->ngroups; k++) {
    wd_resize_group *g = &s->groups[k];
    g->taken = s->o.resume && exists_under(s, g->name);
    next_turn(s, g);
  }
  return 0;
}

int wd__cli_resize_may_start(wd_resize *s, size_t i) {
  wd_resize_img *m = &s->v[i];
  wd_resize_group *g = m->group;
  if (g == NULL)
    return 1;
  if (g->at[g->turn] != i) {
    m->waiting = 1;
    return 0;
  }
  if (m->shared && !g->taken) { /* no member before it wrote the name */
    free(m->rel);
    m->rel = m->shared;
    m->shared = NULL;
  } else if (m->shared) {
    fprintf(stderr, "warden resize: %s: written as %s (%s%s%s)\n", m->path, m->rel,
            g->taker ? g->taker : g->name, g->taker ? " took " : " exists",
            g->taker ? g->name : "");
  }
  return 1;
}

void wd__cli_resize_group_done(wd_resize *s, size_t i, int ok) {
  wd_resize_img *m = &s->v[i];
  wd_resize_group *g = m->group;
  if (g == NULL || g->turn >= g->n || g->at[g->turn] != i)
    return;
  if (ok && !m->shared && !g->taken) {
    g->taken = 1;
    g->taker = m->path;
  }
  g->turn++;
  next_turn(s, g);
}
