/* sources_parts.h -- the input sources' state, shared by run_sources.c
 * (records, the streamed source, rows) and run_sources_open.c (opening
 * the sources and reading the others whole).  Not for anyone else: see
 * sources.h. */
#ifndef WD__CLI_SOURCES_PARTS_H
#define WD__CLI_SOURCES_PARTS_H

#include <regex.h>

#include "cli.h"
#include "sources.h"

/* The longest record (line) read: no command could take a longer one (the
 * kernel caps one argument at 128 KiB and them all at ARG_MAX), and an
 * endless line (/dev/zero, a sparse file) must not take all memory.  One
 * longer fails the read with UV_E2BIG, as xargs and GNU parallel stop at
 * a command line too long. */
#define WD__CLI_RECORD_MAX ((size_t)16 << 20)

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


/* p[0..n) as one more record of src (cut into columns at --colsep).
 * 0 or UV_ENOMEM. */
int wd__cli_add_record(wd__cli_sources *s, source *src, const char *p, size_t n);
void wd__cli_free_record(record *r);

#endif
