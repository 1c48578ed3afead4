/* run_sources.c -- `warden run`'s input sources and the rows made of them
 * (see sources.h).  Records are split and columns cut as GNU parallel
 * cuts them: a last record without its separator still counts, a \r
 * stays, an empty line is an empty value; a NUL inside a line cannot be
 * passed in an argument, so (as GNU parallel) it becomes the two
 * characters "\0" and the caller warns. */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sources.h"

#define READ_CHUNK 65536
#define NUL_SHOWN "\\0"

typedef struct {
  int ncols;
  char **cols;
} record;

typedef struct {
  record *recs; /* read whole; or, streamed, only recs[0] (the current) */
  size_t n, cap;
  int fd;       /* the streamed one's; else -1 */
  const char *name; /* its file, "stdin" for "-", NULL for words */
} source;

struct wd__cli_sources {
  source src[WD__CLI_MAX_SOURCES];
  int nsrc;
  int group_of[WD__CLI_MAX_SOURCES]; /* the first source of each's group */
  char sep;
  int header, took_nul, have_colsep, ended;
  regex_t colsep;
  char *buf;                 /* the streamed source's bytes not yet used */
  size_t len, pos, cap;
  size_t idx[WD__CLI_MAX_SOURCES]; /* the record of each group in the row */
  int have_row0, names_done;
  char **row, **names;       /* the current row and the header's names */
  int nrow, nnames;
};

/* ---- records ---------------------------------------------------------- */

static void free_record(record *r) {
  for (int i = 0; i < r->ncols; i++)
    free(r->cols[i]);
  free(r->cols);
  r->cols = NULL;
  r->ncols = 0;
}

static int add_col(record *r, const char *p, size_t n) {
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
    err = add_col(r, c, (size_t)m.rm_so);
    c += m.rm_eo;
  }
  if (!err)
    err = add_col(r, c, strlen(c));
  free(line);
  if (err)
    free_record(r);
  return err;
}

static int add_record(wd__cli_sources *s, source *src, const char *p, size_t n) {
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

/* ---- opening ---------------------------------------------------------- */

/* --colsep's Perl-style escapes (\t \n \s \S \d \w) into a POSIX ERE. */
static int compile_colsep(wd__cli_sources *s, const char *re, wd__cli_msg *msg) {
  wd_out e = {0};
  int err = 0;
  for (const char *c = re; *c && !err; c++) {
    if (*c != '\\' || c[1] == '\0') {
      err = wd_out_append(&e, c, 1);
      continue;
    }
    c++;
    const char *to = *c == 't' ? "\t" : *c == 'n' ? "\n" : *c == 's' ? "[[:space:]]"
                     : *c == 'S' ? "[^[:space:]]" : *c == 'd' ? "[0-9]"
                     : *c == 'w' ? "[[:alnum:]_]" : NULL;
    err = to ? wd_out_append(&e, to, strlen(to)) : wd_out_printf(&e, "\\%c", *c);
  }
  if (!err)
    err = wd_out_append(&e, "", 1);
  if (!err && regcomp(&s->colsep, e.p, REG_EXTENDED) != 0)
    err = wd__cli_say(msg, "invalid --colsep '%s'", re);
  s->have_colsep = err == 0;
  wd_out_free(&e);
  return err;
}

/* All of fd, split into records of src. */
static int read_whole(wd__cli_sources *s, source *src, int fd) {
  wd_out b = {0};
  int err = 0;
  for (;;) {
    char *p = wd_out_reserve(&b, READ_CHUNK);
    if (p == NULL) {
      err = UV_ENOMEM;
      break;
    }
    ssize_t n;
    while ((n = read(fd, p, READ_CHUNK)) < 0 && errno == EINTR)
      ;
    b.len -= READ_CHUNK - (n > 0 ? (size_t)n : 0); /* only what was read counts */
    if (n <= 0) {
      err = n < 0 ? -errno : 0;
      break;
    }
  }
  size_t start = 0;
  for (size_t i = 0; !err && i < b.len; i++)
    if (b.p[i] == s->sep || i + 1 == b.len) {
      size_t end = b.p[i] == s->sep ? i : i + 1;
      err = add_record(s, src, b.p + start, end - start);
      start = i + 1;
    }
  wd_out_free(&b);
  return err;
}

/* Source i of o: its words as records, or its file opened, and read
 * whole unless it is the one streamed. */
static int open_source(wd__cli_sources *s, const wd_run_source *rs, int i, int stream,
                       wd__cli_msg *msg) {
  source *src = &s->src[i];
  src->fd = -1;
  int err = 0;
  for (int k = 0; k < rs->nwords && !err; k++)
    err = add_record(s, src, rs->words[k], strlen(rs->words[k]));
  if (rs->file == NULL || err)
    return err;
  src->name = strcmp(rs->file, "-") == 0 ? "stdin" : rs->file;
  int fd = strcmp(rs->file, "-") == 0 ? 0 : open(rs->file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return wd__cli_say(msg, "reading %s: %s", src->name, strerror(errno));
  if (stream) {
    src->fd = fd;
    return 0;
  }
  err = read_whole(s, src, fd);
  if (fd > 0)
    close(fd);
  return err < 0 && err != UV_ENOMEM
             ? wd__cli_say(msg, "reading %s: %s", src->name, wd_strerror(err))
             : err;
}

/* --header: each read source's first record gives its columns' names,
 * and is no value (the streamed one's comes later). */
static int take_names(wd__cli_sources *s, int from) {
  for (int i = from; i < s->nsrc; i++) {
    source *src = &s->src[i];
    if (src->fd >= 0 || src->n == 0)
      continue;
    for (int k = 0; k < src->recs[0].ncols; k++) {
      char **nn = realloc(s->names, (size_t)(s->nnames + 1) * sizeof(*nn));
      if (nn == NULL)
        return UV_ENOMEM;
      s->names = nn;
      s->names[s->nnames++] = src->recs[0].cols[k];
    }
    free(src->recs[0].cols); /* the names keep its strings */
    memmove(src->recs, src->recs + 1, --src->n * sizeof(*src->recs));
  }
  return 0;
}

int wd__cli_sources_open(const wd_run_opts *o, wd__cli_sources **out, wd__cli_msg *msg) {
  static const wd_run_source stdin_source = {NULL, 0, "-", 0};
  msg->text[0] = '\0';
  wd__cli_sources *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return UV_ENOMEM;
  s->sep = (char)o->delim;
  s->header = o->header;
  s->nsrc = o->nsources ? o->nsources : 1;
  int err = o->colsep ? compile_colsep(s, o->colsep, msg) : 0;
  for (int i = 0; i < s->nsrc && !err; i++) {
    const wd_run_source *rs = o->nsources ? &o->sources[i] : &stdin_source;
    s->group_of[i] = rs->linked && i ? s->group_of[i - 1] : i;
    int stream = i == 0 && rs->file && !(s->nsrc > 1 && o->sources[1].linked);
    err = open_source(s, rs, i, stream, msg);
  }
  if (!err && s->header)
    err = take_names(s, 0);
  s->names_done = !s->header || s->src[0].fd < 0;
  if (err) {
    wd__cli_sources_free(s);
    return err == UV_ENOMEM && !msg->text[0] ? wd__cli_say(msg, "out of memory") : err;
  }
  *out = s;
  return 0;
}

void wd__cli_sources_free(wd__cli_sources *s) {
  if (s == NULL)
    return;
  for (int i = 0; i < s->nsrc; i++) {
    for (size_t k = 0; k < s->src[i].n; k++)
      free_record(&s->src[i].recs[k]);
    free(s->src[i].recs);
    if (s->src[i].fd > 0)
      close(s->src[i].fd);
  }
  for (int i = 0; i < s->nnames; i++)
    free(s->names[i]);
  if (s->have_colsep)
    regfree(&s->colsep);
  free(s->names);
  free(s->row);
  free(s->buf);
  free(s);
}

int wd__cli_sources_fd(const wd__cli_sources *s) { return s->src[0].fd; }

const char *wd__cli_sources_name(const wd__cli_sources *s) {
  return s->src[0].name ? s->src[0].name : "the input";
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
  return 0;
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
    free_record(&src->recs[0]);
  src->n = 0;
  int err = add_record(s, src, p, n);
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
