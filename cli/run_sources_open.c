/* run_sources_open.c -- opening `warden run`'s input sources (see
 * sources.h): ':::' words, files and stdin, --colsep compiled, --header's
 * names taken; every source but the streamed one read whole, with
 * blocking reads (this runs before the loop starts). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sources_parts.h"

#define READ_CHUNK 65536

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
  size_t line = 0; /* bytes since the last separator */
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
    const char *sep = memrchr(p, s->sep, (size_t)n);
    line = sep ? (size_t)(p + n - sep - 1) : line + (size_t)n;
    if (line > WD__CLI_RECORD_MAX) {
      err = UV_E2BIG;
      break;
    }
  }
  size_t start = 0;
  for (size_t i = 0; !err && i < b.len; i++)
    if (b.p[i] == s->sep || i + 1 == b.len) {
      size_t end = b.p[i] == s->sep ? i : i + 1;
      err = wd__cli_add_record(s, src, b.p + start, end - start);
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
    err = wd__cli_add_record(s, src, rs->words[k], strlen(rs->words[k]));
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
      wd__cli_free_record(&s->src[i].recs[k]);
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

