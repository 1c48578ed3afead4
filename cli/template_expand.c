/* template_expand.c -- one command from a compiled template and its
 * values (see template.h): the argv that runs, and the text GNU parallel
 * would print for it.  A word holding a {} (or {.}, ...) is repeated once
 * per value, as GNU parallel repeats it ("x{}y" with -N2 is "xay xby").
 * Every string is built in a wd_out; one that runs out of memory poisons
 * the result, which is freed whole, so callers see UV_ENOMEM and nothing
 * half-built. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template_parts.h"

#define NUM_MAX 24

/* A string being built, and whether any append to it failed. */
typedef struct {
  wd_out out;
  int failed;
} text;

static void put(text *t, const char *p, size_t n) {
  if (n && wd_out_append(&t->out, p, n) != 0)
    t->failed = 1;
}

static void put_quoted(text *t, const char *s) {
  if (wd__cli_shell_quote(&t->out, s) != 0)
    t->failed = 1;
}

/* The finished string (the caller's), or NULL if an append failed. */
static char *finish(text *t) {
  if (wd_out_append(&t->out, "", 1) != 0)
    t->failed = 1;
  if (!t->failed)
    return t->out.p;
  wd_out_free(&t->out);
  return NULL;
}

int wd__cli_shell_quote(wd_out *out, const char *s) {
  int plain = *s != '\0';
  for (const char *c = s; *c && plain; c++)
    plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
            (*c >= '0' && *c <= '9') || strchr("-_.+/", *c);
  if (plain)
    return wd_out_append(out, s, strlen(s));
  if (*s == '\0')
    return wd_out_append(out, "''", 2);
  /* GNU parallel's: '-quoted whole, '"'"' for each ', then no empty ''
   * at either end */
  wd_out q = {0};
  int err = wd_out_append(&q, "'", 1);
  for (const char *c = s; *c && !err; c++)
    err = *c == '\'' ? wd_out_append(&q, "'\"'\"'", 5) : wd_out_append(&q, c, 1);
  if (!err)
    err = wd_out_append(&q, "'", 1);
  const char *p = q.p;
  size_t n = q.len;
  if (!err && n >= 2 && p[0] == '\'' && p[1] == '\'') {
    p += 2;
    n -= 2;
  }
  if (!err && n >= 2 && p[n - 1] == '\'' && p[n - 2] == '\'')
    n -= 2;
  if (!err)
    err = wd_out_append(out, p, n);
  wd_out_free(&q);
  return err;
}

/* The value of p (-> into buf when changed, buf of size len(raw)+2). */
static const char *modified(const wd__part *p, const char *raw, char *buf) {
  const char *v = raw;
  if (p->mod == WD__MOD_DIR) {
    strcpy(buf, raw);
    return *buf ? dirname(buf) : ".";
  }
  if (p->mod == WD__MOD_BASE || p->mod == WD__MOD_BASENOEXT) {
    const char *slash = strrchr(raw, '/');
    v = slash ? slash + 1 : raw;
  }
  if (p->mod == WD__MOD_NOEXT || p->mod == WD__MOD_BASENOEXT) {
    /* GNU parallel's s:\.[^/.]*$:: */
    const char *dot = strrchr(v, '.');
    if (dot && strchr(dot, '/') == NULL) {
      memcpy(buf, v, (size_t)(dot - v));
      buf[dot - v] = '\0';
      return buf;
    }
  }
  return v;
}

/* Part p's text for v (copy k of its word) onto w, the argv word, and s,
 * the shown text (unless -q shows the word whole).  *present: it is some
 * text, or a value that exists (a {3} of two values is nothing at all,
 * not even '', as in GNU parallel). */
static void put_part(const wd__cli_template *t, const wd__part *p, const wd__cli_values *v,
                     int k, text *w, text *s, int *present) {
  char num[NUM_MAX];
  *present |= p->kind != WD__PART_VALUE;
  if (p->kind == WD__PART_TEXT) {
    put(w, p->text, p->len);
    if (!t->quote)
      put(s, p->text, p->len);
    return;
  }
  const char *val = num;
  char *buf = NULL;
  if (p->kind != WD__PART_VALUE) {
    snprintf(num, sizeof(num), "%zu", p->kind == WD__PART_SEQ ? v->seq : (size_t)v->slot);
  } else {
    int i = p->pos > 0 ? p->pos - 1 : p->pos < 0 ? v->nvals + p->pos : k;
    if (i < 0 || i >= v->nvals)
      return;
    *present = 1;
    const char *raw = v->vals[i];
    if ((buf = malloc(strlen(raw) + 2)) == NULL) {
      w->failed = 1;
      return;
    }
    val = modified(p, raw, buf);
  }
  put(w, val, strlen(val));
  if (!t->quote)
    put_quoted(s, val);
  free(buf);
}

/* Adds argument a (taken) to the argv being built; *failed if NULL. */
static void add_arg(char **argv, int *n, char *a, int *failed) {
  if (a == NULL)
    *failed = 1;
  else
    argv[(*n)++] = a;
}

/* Word wi, copy k, onto argv and the shown text. */
static void put_word(const wd__cli_template *t, int wi, const wd__cli_values *v, int k,
                     char **argv, int *n, text *s, int *failed) {
  const wd__word *wd = &t->words[wi];
  text w = {{0}, 0};
  int present = 0;
  for (int j = 0; j < wd->nparts; j++)
    put_part(t, &wd->parts[j], v, k, &w, s, &present);
  char *word = finish(&w);
  if (word && !present) { /* nothing at all: no argument, as sh drops it */
    free(word);
    return;
  }
  if (word && t->quote)
    put_quoted(s, word);
  add_arg(argv, n, word, failed);
}

/* The words, and the text of the command into s; NULL on ENOMEM. */
static char **words(const wd__cli_template *t, const wd__cli_values *v, text *s) {
  size_t max = (size_t)t->nwords * (size_t)(v->nvals + 1) + (size_t)v->nvals + 1;
  char **argv = calloc(max, sizeof(char *));
  if (argv == NULL)
    return NULL;
  int n = 0, failed = 0;
  for (int i = 0; i < t->nwords; i++) {
    int copies = t->words[i].each ? v->nvals : 1;
    if (t->shell)
      put(s, t->words[i].sep, t->words[i].seplen);
    else if (i)
      put(s, " ", 1);
    for (int k = 0; k < copies; k++) {
      if (k)
        put(s, " ", 1);
      put_word(t, i, v, k, argv, &n, s, &failed);
    }
  }
  if (!t->replaces) /* GNU parallel appends " {}": with -N0, just " " */
    put(s, " ", 1);
  for (int k = 0; !t->replaces && k < v->nvals; k++) {
    if (k)
      put(s, " ", 1);
    put_quoted(s, v->vals[k]);
    add_arg(argv, &n, strdup(v->vals[k]), &failed);
  }
  if (!failed && !s->failed)
    return argv;
  wd__cli_template_free(argv);
  return NULL;
}

int wd__cli_template_expand(const wd__cli_template *t, const wd__cli_values *v, char ***argv,
                           char **shown) {
  text s = {{0}, 0};
  char **w = words(t, v, &s), *line = finish(&s);
  if (w == NULL || line == NULL)
    goto fail;
  if (t->shell) {
    wd__cli_template_free(w);
    w = calloc(4, sizeof(char *));
    if (w == NULL || (w[0] = strdup(t->sh)) == NULL || (w[1] = strdup("-c")) == NULL ||
        (w[2] = strdup(line)) == NULL)
      goto fail;
  }
  *argv = w;
  *shown = line;
  return 0;
fail:
  free(line);
  wd__cli_template_free(w);
  return UV_ENOMEM;
}

void wd__cli_template_free(char **argv) {
  for (int i = 0; argv && argv[i]; i++)
    free(argv[i]);
  free(argv);
}
