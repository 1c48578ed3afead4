/* run_in.h -- what run_inputs.c (items) and run_read.c (reading the
 * streamed source) share of `warden run`'s inputs.  Not for anyone else:
 * run.h has the calls the rest of `warden run` makes. */
#ifndef WD__CLI_RUN_IN_H
#define WD__CLI_RUN_IN_H

#include <stdint.h>

#include "run.h"

struct wd__cli_run_in {
  wd__cli_sources *src;
  int fd;                   /* the streamed source's, or -1 */
  int regular;              /* it never blocks: read it as needed */
  int reading, open;        /* the libuv stream: reading, not closed */
  union {
    uv_handle_t h;
    uv_stream_t s;
    uv_pipe_t pipe;
    uv_tty_t tty;
  } stream;
  wd_run_item *building;    /* rows gathered for the next item */
  size_t rows;              /* in it */
  size_t seq;               /* of the last item made */
  uint64_t *done;           /* --resume: seqs the joblog has finished */
  size_t ndone;             /* words of done */
  uint64_t *slots;          /* job slots in use, bit s-1 */
  size_t nslots;            /* bits in slots: more than -j */
  int nul_said, ended;
};

/* The next item from what has arrived, without reading: WD__CLI_ROW (it
 * is r->ring's newest), WD__CLI_WAIT, WD__CLI_END, or UV_ENOMEM. */
int wd__cli_run_make_item(wd_run *r);
void wd__cli_run_free_item(wd_run_item *it);
/* One blocking read of the streamed source: 0 or a negative errno. */
int wd__cli_run_read_some(struct wd__cli_run_in *in);
/* Items made before the pool starts: the first (waiting for it), then
 * those already there, up to -j.  0 or a negative errno. */
int wd__cli_run_first_items(wd_run *r);

#endif
