/* resize_names.c -- where `warden resize` writes each output: the input's
 * path under what the user named, with the output format's extension.
 * Names are settled before any work: two inputs that would make one
 * output are told apart or refused, so nothing is overwritten by surprise. */
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

/* The inputs v[i..j) share one output name: the one whose extension is
 * already the output's (or else the first found) keeps it, the others
 * keep their own extension too (a.gif.png). */
static void rename_group(wd_resize_img **v, size_t i, size_t j) {
  size_t keep = i;
  const char *out_ext = strrchr(v[i]->rel, '.');
  for (size_t k = i; k < j; k++)
    if (wd__cli_has_ext(v[k]->rel_in, out_ext)) {
      keep = k;
      break;
    }
  for (size_t k = i; j - i > 1 && k < j; k++) {
    if (k == keep || wd__cli_has_ext(v[k]->rel_in, out_ext))
      continue; /* the same name from two inputs: refused by the caller */
    char *r;
    if (asprintf(&r, "%s%s", v[k]->rel_in, out_ext) < 0)
      abort();
    fprintf(stderr, "warden resize: %s: written as %s (%s takes %s)\n", v[k]->path, r,
            v[keep]->path, v[k]->rel);
    free(v[k]->rel);
    v[k]->rel = r;
  }
}

/* a.png and a.gif would both become a.png: see rename_group.  What still
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
    for (size_t i = 0; i < n;) {
      size_t j = i + 1;
      while (j < n && strcmp(v[j]->rel, v[i]->rel) == 0)
        j++;
      rename_group(v, i, j);
      i = j;
    }
    if (collides(v, n, &a, &b))
      rc = wd__cli_fail("resize", "%s and %s would both be written to %s/%s", a->path,
                       b->path, s->o.outdir, a->rel);
  }
  free(v);
  return rc;
}

int wd__cli_resize_output_exists(const wd_resize *s, const wd_resize_img *m) {
  char *out;
  struct stat st;
  if (asprintf(&out, "%s/%s", s->o.outdir, m->rel) < 0)
    abort();
  int yes = stat(out, &st) == 0;
  free(out);
  return yes;
}
