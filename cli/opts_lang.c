/* opts_lang.c -- the options of `warden run` that come from GNU parallel
 * and xargs and say what the inputs are and how they fill the command:
 * -I, -a, -q, -L, -n, -d, --colsep, --header, --dry-run, and the input
 * sources after the command (':::', ':::+', '::::', '::::+').  Pure, as
 * the rest of opts.c: pointers into argv, nothing opened. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_ARGS_LIMIT 65536
#define OCTAL_DIGITS 3
#define HEX_DIGITS 2

static int add_source(wd_run_opts *o, const wd_run_source *src, wd__cli_msg *msg) {
  if (o->nsources == WD__CLI_MAX_SOURCES)
    return wd__cli_say(msg, "too many input sources (at most %d)", WD__CLI_MAX_SOURCES);
  o->sources[o->nsources++] = *src;
  return 0;
}

/* -d's delimiter: one character, or a C escape (\n \t \0 \\ \xHH \NNN). */
static int parse_delim(const char *s, int *out) {
  static const char esc[] = "n\nt\tr\rv\vf\fa\ab\b\\\\";
  if (s[0] && !s[1]) {
    *out = (unsigned char)s[0];
    return 0;
  }
  if (s[0] != '\\' || !s[1])
    return UV_EINVAL;
  for (const char *e = esc; *e; e += 2)
    if (s[1] == e[0] && !s[2]) {
      *out = (unsigned char)e[1];
      return 0;
    }
  char *end;
  long v = s[1] == 'x' ? strtol(s + 2, &end, 16) : strtol(s + 1, &end, 8);
  size_t digits = (size_t)(end - s) - (s[1] == 'x' ? 2 : 1);
  if (*end || digits == 0 || digits > (s[1] == 'x' ? HEX_DIGITS : OCTAL_DIGITS) || v > 255)
    return UV_EINVAL;
  *out = (int)v;
  return 0;
}

int wd__cli_run_lang_option(int c, const char *arg, wd_run_opts *o, wd__cli_msg *msg) {
  switch (c) {
  case 'I': o->replace = arg; return *arg ? 0 : wd__cli_say(msg, "-I needs a string");
  case 'q': o->quote = 1; return 0;
  case WD__OPT_DRY_RUN: o->dry_run = 1; return 0;
  case WD__OPT_COLSEP: o->colsep = arg; return *arg ? 0 : wd__cli_say(msg, "empty --colsep");
  case WD__OPT_HEADER:
    o->header = 1;
    return strcmp(arg, ":") == 0 ? 0 : wd__cli_say(msg, "--header '%s': only ':' (the first "
                                                  "record of each source) is supported", arg);
  case 'a': return add_source(o, &(wd_run_source){NULL, 0, arg, 0}, msg);
  case 'n':
  case 'L':
    o->max_args_given = 1; /* --pipe: records per block, as -N */
    if (wd__parse_count(arg, c == 'L', MAX_ARGS_LIMIT, &o->max_args))
      return wd__cli_say(msg, "invalid value '%s' for -%c", arg, c);
    return 0;
  case 'd':
    return parse_delim(arg, &o->delim) ? wd__cli_say(msg, "invalid delimiter '%s' for -d "
                                                     "(one character, or \\n, \\t, \\0, "
                                                     "\\xHH, \\NNN)", arg)
                                       : 0;
  default: return 1;
  }
}

int wd__cli_is_source_mark(const char *w) {
  return strcmp(w, ":::") == 0 || strcmp(w, ":::+") == 0 || strcmp(w, "::::") == 0 ||
         strcmp(w, "::::+") == 0;
}

int wd__cli_run_source_words(char **words, int n, wd_run_opts *o, wd__cli_msg *msg) {
  int i = 0;
  while (i < n) {
    const char *mark = words[i++];
    int files = strncmp(mark, "::::", 4) == 0;
    wd_run_source src = {words + i, 0, NULL, mark[strlen(mark) - 1] == '+' && o->nsources};
    while (i < n && !wd__cli_is_source_mark(words[i]))
      i++;
    src.nwords = (int)(words + i - src.words);
    if (files && src.nwords == 0)
      return wd__cli_say(msg, "no file after '%s'", mark);
    for (int k = 0; files && k < src.nwords; k++) {
      wd_run_source f = {NULL, 0, src.words[k], k ? 0 : src.linked};
      int err = add_source(o, &f, msg);
      if (err)
        return err;
    }
    if (!files && o->inputs == NULL) {
      o->inputs = src.words;
      o->ninputs = src.nwords;
    }
    int err = files ? 0 : add_source(o, &src, msg);
    if (err)
      return err;
  }
  return 0;
}
