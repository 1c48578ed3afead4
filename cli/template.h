/* template.h -- `warden run`'s command template, in GNU parallel's
 * language: the words after the options, in which replacement strings
 * stand for a command's values.
 *
 *   {}  the value          {.}  without its extension   {/}  basename
 *   {//} dirname           {/.} basename without extension
 *   {#} the job's sequence number     {%} its job slot
 *   {N} {N.} {N/} {N//} {N/.}  the N-th value (from the end when N < 0):
 *       a column of --colsep, an input source, or one of -N's inputs
 *   {NAME} ... the column --header named NAME
 *
 * -I STR stands for {} instead.  Text in braces that GNU parallel leaves
 * alone ({foo}, {1..3}) stays as it is, and one that it would replace but
 * warden does not know ({=perl=}, {0}) is refused: a template never runs
 * with a replacement string left in it by mistake.  Without any
 * replacement string the values are appended.
 *
 * How the command runs: directly (execvp, no shell) when no word has any
 * character a shell would treat specially, or with -q; else, as GNU
 * parallel does, the words joined by spaces are one script for
 * $PARALLEL_SHELL (default /bin/sh) -c, each value quoted only when it
 * needs to be (GNU parallel's rule); --shell forces the shell.  The
 * command shown (--dry-run, the joblog, --json) is the text GNU parallel
 * prints for it.  Pure string work: testable alone (tests/test_cli_opts.c,
 * tests/test_compat_parallel.c). */
#ifndef WD__CLI_TEMPLATE_H
#define WD__CLI_TEMPLATE_H

#include <stddef.h>

#include "opts.h"
#include "warden.h"

typedef struct {
  char *const *words;        /* the template */
  int nwords;
  int shell;                 /* --shell: always the shell */
  int quote;                 /* -q: never the shell, words as they are */
  const char *replace;       /* -I STR; NULL: "{}" */
  char *const *names;        /* --header's column names, nnames of them */
  int nnames;
} wd__cli_template_spec;

typedef struct wd__cli_template wd__cli_template;

/* One command's values: vals[0..nvals) (every column of every input it
 * takes), its sequence number (from 1) and job slot (from 1). */
typedef struct {
  char *const *vals;
  int nvals;
  size_t seq;
  unsigned slot;
} wd__cli_values;

/* Compiles spec (whose strings must outlive the template) into *out.
 * 0; UV_EINVAL with msg naming a replacement string warden refuses;
 * UV_ENOMEM. */
int wd__cli_template_compile(const wd__cli_template_spec *spec, wd__cli_template **out,
                            wd__cli_msg *msg);
void wd__cli_template_destroy(wd__cli_template *t);

/* Whether the commands run with the shell. */
int wd__cli_template_uses_shell(const wd__cli_template *t);

/* Whether a replacement string stands inside quotes in the shell script
 * ("{}", '{}'): its value, quoted as GNU parallel quotes it, keeps its
 * quotes there, and inside "..." a $(...) in it runs. */
int wd__cli_template_quoted_value(const wd__cli_template *t);

/* The command for v: *argv, a NULL-terminated malloc'd vector (free with
 * wd__cli_template_free), and *shown, the command as GNU parallel prints
 * it (free()).  0 or UV_ENOMEM, with nothing allocated. */
int wd__cli_template_expand(const wd__cli_template *t, const wd__cli_values *v, char ***argv,
                           char **shown);

/* Frees an argv from wd__cli_template_expand (NULL is fine). */
void wd__cli_template_free(char **argv);

/* Appends s to out quoted for sh as GNU parallel quotes it: as it is if
 * it is made only of [-_.+a-zA-Z0-9/], '' if empty, else in single quotes
 * ('"'"' for a quote).  0 or UV_ENOMEM. */
int wd__cli_shell_quote(wd_out *out, const char *s);

#endif
