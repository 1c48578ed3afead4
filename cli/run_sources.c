/* run_sources.c -- `warden run`'s input sources and the rows made of them
 * (see sources.h): records cut into columns, the streamed source fed as it
 * arrives, and the rows: each combination of the sources' records.
 * Records are split and columns cut as GNU parallel
 * cuts them: a last record without its separator still counts, a \r
 * stays, an empty line is an empty value; a NUL inside a line cannot be
 * passed in an argument, so (as GNU parallel) it becomes the two
 * characters "\0" and the caller warns. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sources_parts.h"

#define READ_CHUNK 65536
#define NUL_SHOWN "\\0"

/* ---- records ---------------------------------------------------------- */

void wd__cli_free_record(record *r) {
  for (int i = 0; i < r->ncols; i++)
    free(r->cols[i]);
  free(r->cols);
  r->cols = NULL;
  r->ncols = 0;
}

/* With --colsep, GNU parallel trims each column's white space at both ends
 * (its --colsep implies --trim rl; Perl's \s is C's isspace). */
static int add_col(record *r, const char *p, size_t n, int trim) {
  while (trim && n > 0 && isspace((unsigned char)*p)) {
    p++;
    n--;
  }
  while (trim && n > 0 && isspace((unsigned char)p[n - 1]))
    n--;
  char **c = realloc(r->cols, (size_t)(r->ncols + 1) * sizeof(*c));
  if (c == NULL)
    return UV_ENOMEM;
  r->cols = c;
  if ((c[r->ncols] = malloc(n + 1)) == NULL)
    return UV_ENOMEM;
  memcpy(c[r->ncols], p, n);
  c[r->ncols++][n] = '\0';
  return 0;
}

/* p[0..n) as a record: NULs shown as "\0" (newline-separated input), cut
 * into columns at --colsep. */
static int make_record(wd__cli_sources *s, const char *p, size_t n, record *r) {
  *r = (record){0, NULL};
  char *line = malloc(2 * n + 1), *q = line;
  if (line == NULL)
    return UV_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\0') {
      memcpy(q, NUL_SHOWN, 2);
      q += 2;
      s->took_nul = 1;
    } else {
      *q++ = p[i];
    }
  }
  *q = '\0';
  int err = 0;
  const char *c = line;
  regmatch_t m;
  while (!err && s->have_colsep && regexec(&s->colsep, c, 1, &m, 0) == 0 && m.rm_eo > 0) {
    err = add_col(r, c, (size_t)m.rm_so, 1);
    c += m.rm_eo;
  }
  if (!err)
    err = add_col(r, c, strlen(c), s->have_colsep);
  free(line);
  if (err)
    wd__cli_free_record(r);
  return err;
}

int wd__cli_add_record(wd__cli_sources *s, source *src, const char *p, size_t n) {
  if (src->n == src->cap) {
    size_t cap = src->cap ? 2 * src->cap : 16;
    record *nr = realloc(src->recs, cap * sizeof(*nr));
    if (nr == NULL)
      return UV_ENOMEM;
    src->recs = nr;
    src->cap = cap;
  }
  int err = make_record(s, p, n, &src->recs[src->n]);
  src->n += err == 0;
  return err;
}

/* The next whole record in buf[pos..len) (at the end, what is left):
 * 1 with *p, *n; 0 if none yet. */
static int take_record(wd__cli_sources *s, const char **p, size_t *n) {
  const char *start = s->buf + s->pos;
  const char *e = s->len > s->pos ? memchr(start, s->sep, s->len - s->pos) : NULL;
  if (e == NULL && (!s->ended || s->len == s->pos))
    return 0;
  *p = start;
  *n = e ? (size_t)(e - start) : s->len - s->pos;
  s->pos += *n + (e != NULL);
  return 1;
}

/* ---- the streamed source ---------------------------------------------- */

int wd__cli_sources_feed(wd__cli_sources *s, const char *p, size_t n) {
  if (s->pos > 0 && s->pos >= s->len / 2) { /* drop what was used */
    memmove(s->buf, s->buf + s->pos, s->len - s->pos);
    s->len -= s->pos;
    s->pos = 0;
  }
  if (s->len + n > s->cap) {
    size_t cap = s->cap ? s->cap : READ_CHUNK;
    while (cap < s->len + n)
      cap *= 2;
    char *nb = realloc(s->buf, cap);
    if (nb == NULL)
      return UV_ENOMEM;
    s->buf = nb;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, p, n);
  s->len += n;
  size_t left = s->len - s->pos;
  return left > WD__CLI_RECORD_MAX && !memchr(s->buf + s->pos, s->sep, left) ? UV_E2BIG : 0;
}

void wd__cli_sources_end(wd__cli_sources *s) { s->ended = 1; }

int wd__cli_sources_full(const wd__cli_sources *s, size_t max) {
  return s->len - s->pos > max && memchr(s->buf + s->pos, s->sep, s->len - s->pos);
}

int wd__cli_sources_took_nul(wd__cli_sources *s) {
  int t = s->took_nul;
  s->took_nul = 0;
  return t;
}

/* The streamed source's next record into its recs[0]: WD__CLI_ROW,
 * WD__CLI_WAIT, WD__CLI_END or UV_ENOMEM. */
static int next_streamed(wd__cli_sources *s) {
  const char *p;
  size_t n;
  if (!take_record(s, &p, &n))
    return s->ended ? WD__CLI_END : WD__CLI_WAIT;
  source *src = &s->src[0];
  if (src->n)
    wd__cli_free_record(&src->recs[0]);
  src->n = 0;
  int err = wd__cli_add_record(s, src, p, n);
  return err ? err : WD__CLI_ROW;
}

int wd__cli_sources_names(wd__cli_sources *s, char *const **names, int *n) {
  if (!s->names_done) {
    int got = next_streamed(s);
    if (got == WD__CLI_WAIT || got < 0)
      return got;
    s->names_done = 1;
    source *src = &s->src[0];
    if (got == WD__CLI_ROW) { /* its names go first */
      char **nn = realloc(s->names, (size_t)(s->nnames + src->recs[0].ncols) * sizeof(*nn));
      if (nn == NULL)
        return UV_ENOMEM;
      memmove(nn + src->recs[0].ncols, nn, (size_t)s->nnames * sizeof(*nn));
      memcpy(nn, src->recs[0].cols, (size_t)src->recs[0].ncols * sizeof(*nn));
      s->names = nn;
      s->nnames += src->recs[0].ncols;
      free(src->recs[0].cols);
      src->recs[0] = (record){0, NULL};
      src->n = 0;
    }
  }
  *names = s->names;
  *n = s->nnames;
  return WD__CLI_ROW;
}

/* ---- rows ------------------------------------------------------------- */

/* How many records group g (from its first source) has side by side. */
static size_t group_len(const wd__cli_sources *s, int g) {
  size_t len = s->src[g].n;
  for (int i = g + 1; i < s->nsrc && s->group_of[i] == g; i++)
    if (s->src[i].n < len)
      len = s->src[i].n;
  return len;
}

/* The row of the current records: every column of each source's. */
static int build_row(wd__cli_sources *s) {
  s->nrow = 0;
  for (int i = 0; i < s->nsrc; i++) {
    int g = s->group_of[i];
    const record *r = &s->src[i].recs[s->src[0].fd >= 0 && g == 0 ? 0 : s->idx[g]];
    char **nr = realloc(s->row, (size_t)(s->nrow + r->ncols) * sizeof(*nr));
    if (nr == NULL)
      return UV_ENOMEM;
    s->row = nr;
    memcpy(s->row + s->nrow, r->cols, (size_t)r->ncols * sizeof(*nr));
    s->nrow += r->ncols;
  }
  return 0;
}

/* The next combination of the groups after 0 (the last changes fastest);
 * 1 when they have all come round, and group 0 moves on. */
static int advance(wd__cli_sources *s) {
  for (int g = s->nsrc - 1; g > 0; g--) {
    if (s->group_of[g] != g)
      continue;
    if (++s->idx[g] < group_len(s, g))
      return 0;
    s->idx[g] = 0;
  }
  return 1;
}

int wd__cli_sources_next(wd__cli_sources *s, char *const **vals, int *nvals) {
  char *const *names;
  int nn, got = wd__cli_sources_names(s, &names, &nn);
  if (got != WD__CLI_ROW)
    return got;
  for (int g = 1; g < s->nsrc; g++)
    if (s->group_of[g] == g && group_len(s, g) == 0)
      return WD__CLI_END; /* a combination with an empty source is empty */
  if (!s->have_row0) {
    got = s->src[0].fd >= 0                  ? next_streamed(s)
          : s->idx[0] < group_len(s, 0) ? WD__CLI_ROW
                                        : WD__CLI_END;
    if (got != WD__CLI_ROW)
      return got;
    s->have_row0 = 1;
  }
  int err = build_row(s);
  if (err)
    return err;
  if (advance(s)) {
    s->have_row0 = 0;
    s->idx[0]++;
  }
  *vals = s->row;
  *nvals = s->nrow;
  return WD__CLI_ROW;
}
