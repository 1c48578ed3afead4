/* template.c -- reading `warden run`'s command template into parts (see
 * template.h): text, and the replacement strings GNU parallel knows.  The
 * grammar is GNU parallel's (20221122, without --plus): "{" then an
 * optional column (a number, or a --header name), an optional modifier
 * (. / // /.), "}"; or {#}, {%}.  Braces around anything else are text,
 * as there -- except {=...=} and {0}, which GNU parallel would replace
 * and warden cannot: those are refused, so no command ever runs with one
 * left in it (`cp {} {=s/x/y/=}` must not copy to a file of that name). */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "template_parts.h"

#define DEFAULT_SHELL "/bin/sh"

/* Modifiers, longest first so that "//" is not read as "/". */
static const struct {
  const char *text;
  wd__part_mod mod;
} mods[] = {{"//", WD__MOD_DIR}, {"/.", WD__MOD_BASENOEXT}, {"/", WD__MOD_BASE},
            {".", WD__MOD_NOEXT}, {"", WD__MOD_NONE}};

/* The modifier and closing brace at s: their length, or 0 if s is not one. */
static size_t read_mod(const char *s, wd__part_mod *mod) {
  for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
    size_t n = strlen(mods[i].text);
    if (strncmp(s, mods[i].text, n) == 0 && s[n] == '}') {
      *mod = mods[i].mod;
      return n + 1;
    }
  }
  return 0;
}

/* A column at s: a number (1.. or -1..) or a --header name; its length
 * (0: none) and *pos. */
static size_t read_column(const wd__cli_template_spec *spec, const char *s, int *pos) {
  size_t n = s[0] == '-';
  while (isdigit((unsigned char)s[n]))
    n++;
  if (n > (s[0] == '-')) {
    long v = strtol(s, NULL, 10); /* saturates: past INT_MAX no column */
    *pos = v > INT_MAX ? INT_MAX : v < -INT_MAX ? -INT_MAX : (int)v;
    return n;
  }
  wd__part_mod mod;
  for (int i = 0; i < spec->nnames; i++) {
    size_t k = strlen(spec->names[i]);
    if (k && strncmp(s, spec->names[i], k) == 0 && read_mod(s + k, &mod)) {
      *pos = i + 1;
      return k;
    }
  }
  return 0;
}

/* The replacement string at s (which starts with '{'), as *p: its length;
 * 0 if it is text to GNU parallel; UV_EINVAL (msg says) if refused. */
static int read_brace(const wd__cli_template_spec *spec, const char *s, wd__part *p,
                      wd__cli_msg *msg) {
  if (strncmp(s, "{#}", 3) == 0 || strncmp(s, "{%}", 3) == 0) {
    p->kind = s[1] == '#' ? WD__PART_SEQ : WD__PART_SLOT;
    return 3;
  }
  int pos = 0;
  size_t n = 1 + read_column(spec, s + 1, &pos);
  if (s[n] == '=')
    return wd__cli_say(msg, "replacement string '%s': perl expressions ({=...=}) are not "
                      "supported", s);
  size_t m = read_mod(s + n, &p->mod);
  if (m == 0)
    return 0;
  if (n > 1 && pos == 0)
    return wd__cli_say(msg, "replacement string '%.*s': columns count from 1", (int)(n + m), s);
  if (n == 1 && p->mod == WD__MOD_NONE && spec->replace)
    return 0; /* -I STR: "{}" is text */
  p->kind = WD__PART_VALUE;
  p->pos = pos;
  return (int)(n + m);
}

/* Whether sh would read c in a word as anything but itself.  '=' counts
 * only in the first word (an assignment there); braces only as a word of
 * their own (sh has no brace expansion). */
static int special(unsigned char c, int first, const char *word) {
  if (isalnum(c) || c >= 0x80 || strchr("-_./+,:@%^", c))
    return 0;
  if (c == '{' || c == '}')
    return word[1] == '\0';
  return c != '=' || first;
}

/* `sh -c SCRIPT NAME ARG...` (any usual shell, -c with other flags): an
 * argv meant as it is (as xargs runs it; GNU parallel needs -q for it). */
static int shell_c(const wd__cli_template_spec *spec) {
  static const char *const shells[] = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "busybox"};
  if (spec->nwords < 3 || spec->words[1][0] != '-' || !strchr(spec->words[1], 'c'))
    return 0;
  const char *base = strrchr(spec->words[0], '/');
  base = base ? base + 1 : spec->words[0];
  for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++)
    if (strcmp(base, shells[i]) == 0)
      return 1;
  return 0;
}

/* Whether word is a shell builtin no program in PATH stands for (umask,
 * ulimit, exit, cd, source ...): GNU parallel runs it, in its shell;
 * execvp would not find it. */
static int builtin_only(const char *word) {
  static const char *const builtins[] = {
      ".",      ":",     "alias", "bg",     "break",    "cd",     "command", "continue",
      "eval",   "exec",  "exit",  "export", "fc",       "fg",     "getopts", "hash",
      "jobs",   "read",  "readonly", "return", "set",   "shift",  "source",  "times",
      "trap",   "type",  "ulimit", "umask", "unalias",  "unset",  "wait"};
  int found = 0;
  for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]) && !found; i++)
    found = strcmp(word, builtins[i]) == 0;
  const char *path = getenv("PATH");
  while (found && path && *path) {
    size_t n = strcspn(path, ":");
    char file[4096];
    if (snprintf(file, sizeof(file), "%.*s/%s", (int)n, path, word) < (int)sizeof(file))
      found = access(file, X_OK) != 0;
    path += n + (path[n] == ':');
  }
  return found;
}

/* Several words, one with shell syntax: GNU parallel joins them into one
 * shell command, xargs runs them as they are.  Whichever warden picked
 * would silently differ from one of them, so it takes neither, except
 * for `sh -c` (which GNU parallel would break). */
static int several_words(const wd__cli_template_spec *spec, wd__cli_template *t,
                         wd__cli_msg *msg) {
  if (!t->shell || spec->shell || spec->quote || spec->nwords < 2)
    return 0;
  if (shell_c(spec)) {
    t->shell = 0;
    t->quote = 1; /* shown as -q shows it: each word quoted whole */
    return 0;
  }
  return wd__cli_say(msg, "the command's words have shell syntax: GNU parallel would join "
                    "them into one shell command, xargs would run them as they are; give "
                    "the command as one quoted argument to use the shell, or -q to run the "
                    "words as they are");
}

static int add_part(wd__word *w, const wd__part *p) {
  wd__part *np = realloc(w->parts, (size_t)(w->nparts + 1) * sizeof(*np));
  if (np == NULL)
    return UV_ENOMEM;
  w->parts = np;
  w->parts[w->nparts++] = *p;
  return 0;
}

/* Word i of the template into parts; notes what it holds in t. */
static int read_word(const wd__cli_template_spec *spec, int i, wd__cli_template *t,
                     wd__cli_msg *msg) {
  const char *s = spec->words[i];
  const char *rs = spec->replace ? spec->replace : "{}";
  size_t rlen = strlen(rs);
  wd__word *w = &t->words[i];
  wd__part text = {WD__PART_TEXT, s, 0, 0, WD__MOD_NONE};
  int err = 0;
  t->shell |= s[0] == '\0';
  while (*s && !err) {
    wd__part p = {WD__PART_VALUE, NULL, 0, 0, WD__MOD_NONE};
    int n = rlen && strncmp(s, rs, rlen) == 0 ? (int)rlen : 0;
    if (n == 0 && *s == '{' && (n = read_brace(spec, s, &p, msg)) < 0)
      return n;
    if (n == 0) {
      t->shell |= special((unsigned char)*s, i == 0, spec->words[i]);
      text.len++;
      s++;
      continue;
    }
    if (text.len)
      err = add_part(w, &text);
    if (!err)
      err = add_part(w, &p);
    w->each |= p.kind == WD__PART_VALUE && p.pos == 0;
    t->replaces = 1;
    s += n;
    text.text = s;
    text.len = 0;
  }
  if (!err && text.len)
    err = add_part(w, &text);
  return err;
}

/* Ends word w (if it has anything, or blanks before it) onto out. */
static int push_word(wd__word **out, int *n, wd__word *w) {
  if (w->nparts == 0 && w->seplen == 0)
    return 0;
  wd__word *nw = realloc(*out, (size_t)(*n + 1) * sizeof(*nw));
  if (nw == NULL)
    return UV_ENOMEM;
  *out = nw;
  nw[(*n)++] = *w;
  *w = (wd__word){NULL, 0, 0, "", 0};
  return 0;
}

/* The text part p onto w, cut at blanks: each run of blanks ends a word
 * and is the next one's sep. */
static int split_text(const wd__part *p, wd__word **out, int *n, wd__word *w) {
  const char *s = p->text, *end = p->text + p->len;
  int err = 0;
  while (s < end && !err) {
    size_t k = 0;
    while (s + k < end && !strchr(" \t\n", s[k]))
      k++;
    if (k)
      err = add_part(w, &(wd__part){WD__PART_TEXT, s, k, 0, WD__MOD_NONE});
    s += k;
    size_t b = 0;
    while (s + b < end && strchr(" \t\n", s[b]))
      b++;
    if (b && !err && (err = push_word(out, n, w)) == 0) {
      w->sep = s;
      w->seplen = b;
    }
    s += b;
  }
  return err;
}

/* With the shell, GNU parallel sees one line and its words are what
 * blanks separate: "x{}y z" is two, and only "x{}y" repeats per value. */
static int resplit(wd__cli_template *t) {
  wd__word *out = NULL, w = {NULL, 0, 0, "", 0};
  int n = 0, err = 0;
  for (int i = 0; i < t->nwords && !err; i++) {
    if (i && (err = push_word(&out, &n, &w)) == 0) {
      w.sep = " ";
      w.seplen = 1;
    }
    for (int j = 0; j < t->words[i].nparts && !err; j++) {
      const wd__part *p = &t->words[i].parts[j];
      if (p->kind == WD__PART_TEXT) {
        err = split_text(p, &out, &n, &w);
        continue;
      }
      err = add_part(&w, p);
      w.each |= p->kind == WD__PART_VALUE && p->pos == 0;
    }
  }
  if (!err)
    err = push_word(&out, &n, &w);
  free(w.parts);
  for (int i = 0; i < t->nwords; i++)
    free(t->words[i].parts);
  free(t->words);
  t->words = out;
  t->nwords = n;
  return err;
}

int wd__cli_template_compile(const wd__cli_template_spec *spec, wd__cli_template **out,
                            wd__cli_msg *msg) {
  msg->text[0] = '\0';
  wd__cli_template *t = calloc(1, sizeof(*t));
  if (t == NULL || (t->words = calloc((size_t)spec->nwords, sizeof(*t->words))) == NULL) {
    free(t);
    return UV_ENOMEM;
  }
  t->nwords = spec->nwords;
  t->quote = spec->quote;
  int err = 0;
  for (int i = 0; i < spec->nwords && !err; i++)
    err = read_word(spec, i, t, msg);
  if (!err)
    err = several_words(spec, t, msg);
  if (err) {
    wd__cli_template_destroy(t);
    return err;
  }
  t->shell = spec->shell || ((t->shell || builtin_only(spec->words[0])) && !t->quote);
  if (t->shell && (err = resplit(t)) != 0) {
    wd__cli_template_destroy(t);
    return err;
  }
  const char *sh = getenv("PARALLEL_SHELL");
  t->sh = sh && *sh ? sh : DEFAULT_SHELL;
  *out = t;
  return 0;
}

void wd__cli_template_destroy(wd__cli_template *t) {
  if (t == NULL)
    return;
  for (int i = 0; i < t->nwords; i++)
    free(t->words[i].parts);
  free(t->words);
  free(t);
}

int wd__cli_template_uses_shell(const wd__cli_template *t) { return t->shell; }

#define QUOTE_DEPTH 16 /* nested $( ... ) followed; deeper: as outside */

/* The shell's quoting, character by character: state 0 outside quotes,
 * '\'' or '"' inside; a $( inside "..." (or a ( inside it) starts an
 * unquoted level, its ) ends it. */
typedef struct {
  int state, esc, dollar, depth;
  char outer[QUOTE_DEPTH];
} quoting;

static void quote_step(quoting *q, char c) {
  int dollar = q->dollar;
  q->dollar = 0;
  if (q->esc) {
    q->esc = 0;
  } else if (q->state != '\'' && c == '\\') {
    q->esc = 1;
  } else if (c == '(' && (q->state == 0 || (q->state == '"' && dollar)) && q->depth < QUOTE_DEPTH &&
             (q->depth > 0 || q->state == '"')) {
    q->outer[q->depth++] = (char)q->state;
    q->state = 0;
  } else if (c == ')' && q->state == 0 && q->depth > 0) {
    q->state = q->outer[--q->depth];
  } else if (q->state == 0 && (c == '\'' || c == '"')) {
    q->state = c;
  } else if (q->state == c) {
    q->state = 0;
  } else {
    q->dollar = c == '$';
  }
}

int wd__cli_template_quoted_value(const wd__cli_template *t) {
  quoting q = {0};
  for (int i = 0; t->shell && i < t->nwords; i++)
    for (int j = 0; j < t->words[i].nparts; j++) {
      const wd__part *p = &t->words[i].parts[j];
      if (p->kind == WD__PART_VALUE && q.state)
        return 1;
      q.esc = q.dollar = 0; /* a blank between words, or a value, ends them */
      for (size_t k = 0; p->kind == WD__PART_TEXT && k < p->len; k++)
        quote_step(&q, p->text[k]);
    }
  return 0;
}
