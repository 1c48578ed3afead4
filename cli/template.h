/* template.h -- `warden run`'s command template: the words after the
 * options, in which "{}" stands for a command's inputs.  A word that is
 * exactly "{}" becomes one argument per input (none with -N0); "{}" inside
 * a word takes the inputs joined by spaces; without any "{}" the inputs
 * are appended as the last arguments.  With --shell the whole template is
 * one `sh -c` script, and each input is single-quoted for sh.  Pure string
 * work: no globals, testable on its own (tests/test_cli_opts.c). */
#ifndef WD__CLI_TEMPLATE_H
#define WD__CLI_TEMPLATE_H

typedef struct {
  char *const *words; /* the template */
  int nwords;
  int shell;          /* one sh -c script, inputs quoted */
} wd__cli_template;

/* The command for one item's inputs (args[0..nargs)): *argv, a
 * NULL-terminated malloc'd vector (free with wd__cli_template_free), and
 * *shown, the command as one line of text (free()).  0 or UV_ENOMEM, with
 * nothing allocated. */
int wd__cli_template_expand(const wd__cli_template *t, char *const *args, int nargs,
                           char ***argv, char **shown);

/* Frees an argv from wd__cli_template_expand (NULL is fine). */
void wd__cli_template_free(char **argv);

#endif
