/* run_spool.h -- `warden run`'s spool directory, where a command's output goes
 * once it outgrows memory (see run_spool.c), and printing a captured stream
 * whether it is in memory or in a spool file (run_stream.c). */
#ifndef WD__CLI_RUN_SPOOL_H
#define WD__CLI_RUN_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Room for a spool's path. */
#define WD__CLI_SPOOL_MAX 4096

/* Makes a fresh spool (mode 0700) under $TMPDIR or /tmp, its path in
 * path[0..n), after removing the spools of wardens no longer alive.  0 or
 * a negative errno. */
int wd__cli_spool_open(char *path, size_t n);
/* Removes the spool and every file left in it; nothing for "". */
void wd__cli_spool_close(const char *path);

/* Where a stream's bytes go, and how they are written. */
typedef struct {
  FILE *f;
  const char *tag;   /* each line prefixed with tag and a tab; NULL: none */
  size_t tag_len;
  int json;          /* escaped as the inside of a JSON string */
  int mid_line;      /* (tagged) the last bytes ended inside a line */
  unsigned char carry[4]; /* (json) an unfinished UTF-8 sequence */
  size_t ncarry;
} wd__cli_sink;

/* Writes one stream to the sink: the len bytes at mem, or, when file is
 * not NULL, the spool file's bytes, which it then removes.  A tagged
 * stream's last line is ended with a newline.  0, or a negative errno
 * when the file could not be read (a write error shows in ferror). */
int wd__cli_sink_stream(wd__cli_sink *s, const char *mem, uint64_t len, const char *file);

#endif
