/* template_parts.h -- a compiled command template, shared by template.c
 * (which reads the words into parts) and template_expand.c (which builds
 * one command from them).  Not for anyone else: see template.h. */
#ifndef WD__CLI_TEMPLATE_PARTS_H
#define WD__CLI_TEMPLATE_PARTS_H

#include <stddef.h>

#include "template.h"

typedef enum {
  WD__PART_TEXT,  /* text[0..len) as it is */
  WD__PART_VALUE, /* a value (pos), changed by mod */
  WD__PART_SEQ,   /* {#} */
  WD__PART_SLOT   /* {%} */
} wd__part_kind;

typedef enum {
  WD__MOD_NONE,     /* {} */
  WD__MOD_NOEXT,    /* {.} */
  WD__MOD_BASE,     /* {/} */
  WD__MOD_DIR,      /* {//} */
  WD__MOD_BASENOEXT /* {/.} */
} wd__part_mod;

typedef struct {
  wd__part_kind kind;
  const char *text; /* WD__PART_TEXT: points into a template word */
  size_t len;
  int pos;          /* WD__PART_VALUE: 1.. the N-th value, -1.. from the
                       end, 0 each value in turn (the word is repeated) */
  wd__part_mod mod;
} wd__part;

typedef struct {
  wd__part *parts;
  int nparts;
  int each;         /* has a part of pos 0: one copy per value */
  const char *sep;  /* with the shell: the blanks before it in the script
                       (words are cut at blanks, as GNU parallel cuts) */
  size_t seplen;
} wd__word;

struct wd__cli_template {
  wd__word *words;
  int nwords;
  int replaces;     /* some replacement string: values are not appended */
  int shell;        /* run as one script for the shell */
  int quote;        /* -q: each word shown quoted whole */
  const char *sh;   /* the shell: $PARALLEL_SHELL or /bin/sh */
};

#endif
