/* template.c -- expanding `warden run`'s command template for one item's
 * inputs (see template.h).  Every string is built in a wd_out; one that
 * runs out of memory poisons the result, which is then freed whole, so the
 * callers see UV_ENOMEM and nothing half-built. */
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "warden.h"

/* A wd_out being built, and whether any append to it failed. */
typedef struct {
  wd_out out;
  int failed;
} text;

static void put(text *t, const char *p, size_t n) {
  if (wd_out_append(&t->out, p, n) != 0)
    t->failed = 1;
}

static void puts_(text *t, const char *s) { put(t, s, strlen(s)); }

/* The finished string (NUL-terminated, the caller's), or NULL if any
 * append failed. */
static char *finish(text *t) {
  put(t, "", 1);
  if (!t->failed)
    return t->out.p;
  wd_out_free(&t->out);
  return NULL;
}

static int has_braces(const wd__cli_template *t) {
  for (int i = 0; i < t->nwords; i++)
    if (strstr(t->words[i], "{}"))
      return 1;
  return 0;
}

/* s with every "{}" replaced by in. */
static void substitute(text *out, const char *s, const char *in) {
  for (;;) {
    const char *p = strstr(s, "{}");
    put(out, s, p ? (size_t)(p - s) : strlen(s));
    if (p == NULL)
      return;
    puts_(out, in);
    s = p + 2;
  }
}

/* The inputs as one string: joined by spaces, each single-quoted for sh
 * when quote. */
static char *joined(char *const *args, int nargs, int quote) {
  text b = {{0}, 0};
  for (int k = 0; k < nargs; k++) {
    if (k)
      puts_(&b, " ");
    if (!quote) {
      puts_(&b, args[k]);
      continue;
    }
    puts_(&b, "'");
    for (const char *c = args[k]; *c; c++)
      put(&b, *c == '\'' ? "'\\''" : c, *c == '\'' ? 4 : 1);
    puts_(&b, "'");
  }
  return finish(&b);
}

/* --shell: the template as one script, "{}" standing for the quoted
 * inputs (appended when there is none). */
static char *script(const wd__cli_template *t, const char *all, int nargs) {
  text s = {{0}, 0};
  for (int i = 0; i < t->nwords; i++) {
    if (i)
      puts_(&s, " ");
    substitute(&s, t->words[i], all);
  }
  if (!has_braces(t) && nargs) {
    puts_(&s, " ");
    puts_(&s, all);
  }
  return finish(&s);
}

/* The words of the command, NULL-terminated; NULL on ENOMEM. */
static char **words(const wd__cli_template *t, char *const *args, int nargs, const char *all) {
  size_t max = (size_t)t->nwords * (size_t)(nargs + 1) + (size_t)nargs + 1;
  char **argv = calloc(max, sizeof(char *));
  if (argv == NULL)
    return NULL;
  int n = 0, failed = 0;
  for (int i = 0; i < t->nwords; i++)
    if (strcmp(t->words[i], "{}") == 0) {
      for (int k = 0; k < nargs; k++)
        failed |= (argv[n++] = strdup(args[k])) == NULL;
    } else {
      text w = {{0}, 0};
      substitute(&w, t->words[i], all);
      failed |= (argv[n++] = finish(&w)) == NULL;
    }
  if (!has_braces(t))
    for (int k = 0; k < nargs; k++)
      failed |= (argv[n++] = strdup(args[k])) == NULL;
  if (!failed)
    return argv;
  for (int i = 0; i < n; i++)
    free(argv[i]);
  free(argv);
  return NULL;
}

/* argv joined by spaces; NULL on ENOMEM. */
static char *show(char *const *argv) {
  text s = {{0}, 0};
  for (int i = 0; argv[i]; i++) {
    if (i)
      puts_(&s, " ");
    puts_(&s, argv[i]);
  }
  return finish(&s);
}

int wd__cli_template_expand(const wd__cli_template *t, char *const *args, int nargs,
                           char ***argv, char **shown) {
  char *all = joined(args, nargs, t->shell);
  char **v = NULL, *line = NULL;
  if (all == NULL)
    goto fail;
  if (t->shell) {
    line = script(t, all, nargs);
    v = line ? calloc(4, sizeof(char *)) : NULL;
    if (v == NULL || (v[0] = strdup("sh")) == NULL || (v[1] = strdup("-c")) == NULL ||
        (v[2] = strdup(line)) == NULL)
      goto fail;
  } else {
    v = words(t, args, nargs, all);
    if (v == NULL || (line = show(v)) == NULL)
      goto fail;
  }
  free(all);
  *argv = v;
  *shown = line;
  return 0;
fail:
  free(all);
  free(line);
  wd__cli_template_free(v);
  return UV_ENOMEM;
}

void wd__cli_template_free(char **argv) {
  for (int i = 0; argv && argv[i]; i++)
    free(argv[i]);
  free(argv);
}
