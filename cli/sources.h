/* sources.h -- where `warden run`'s values come from, in GNU parallel's
 * order: input sources (':::' words, '::::' and -a files, stdin), each
 * split into records (lines, NUL- or -d-separated) and with --colsep into
 * columns; sources linked by ':::+' / '::::+' are read side by side (as
 * long as the shortest), the others combined (every combination, the
 * last source changing fastest).  A row is one combination: the columns
 * of one record of each source.
 *
 * The first source, when it is a file or stdin and not linked, is
 * streamed: the caller feeds its bytes as they arrive and rows come out
 * as soon as their records are whole, so memory stays bounded whatever
 * the input's size.  Every other source is read whole at the start.  No
 * I/O on the streamed fd here: run_inputs.c reads it. */
#ifndef WD__CLI_SOURCES_H
#define WD__CLI_SOURCES_H

#include <stddef.h>

#include "opts.h"

typedef struct wd__cli_sources wd__cli_sources;

/* The sources of o: opens the files (blocking: call it before the loop)
 * and reads all but the streamed one.  0, or UV_EINVAL/an errno with msg
 * saying what went wrong. */
int wd__cli_sources_open(const wd_run_opts *o, wd__cli_sources **out, wd__cli_msg *msg);
void wd__cli_sources_free(wd__cli_sources *s);

/* The streamed source's fd (opened by wd__cli_sources_open, closed by
 * wd__cli_sources_free; 0 for stdin), or -1 if every source is read. */
int wd__cli_sources_fd(const wd__cli_sources *s);
/* The streamed source's name for messages: "stdin" or its file. */
const char *wd__cli_sources_name(const wd__cli_sources *s);

/* Bytes of the streamed source that arrived; 0 or UV_ENOMEM. */
int wd__cli_sources_feed(wd__cli_sources *s, const char *p, size_t n);
/* The streamed source is at its end. */
void wd__cli_sources_end(wd__cli_sources *s);
/* Whether the streamed source has a whole record waiting beyond max
 * bytes: time to stop reading it for a while. */
int wd__cli_sources_full(const wd__cli_sources *s, size_t max);

/* What wd__cli_sources_next and _names return (or a negative errno). */
#define WD__CLI_WAIT 0 /* more of the streamed source is needed */
#define WD__CLI_ROW 1  /* here it is */
#define WD__CLI_END 2  /* no more */

/* The next row: WD__CLI_ROW with *vals (nvals of them; valid until the
 * next call), WD__CLI_WAIT, WD__CLI_END, or UV_ENOMEM. */
int wd__cli_sources_next(wd__cli_sources *s, char *const **vals, int *nvals);

/* --header's column names: WD__CLI_ROW with *names (n of them),
 * WD__CLI_WAIT for the streamed source's first record, or UV_ENOMEM. */
int wd__cli_sources_names(wd__cli_sources *s, char *const **names, int *n);

/* Whether a NUL was found (and replaced by "\0") in newline-separated
 * input since the last call: the caller warns, as GNU parallel does. */
int wd__cli_sources_took_nul(wd__cli_sources *s);

#endif
