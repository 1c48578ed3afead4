/* run_policy.h -- what `warden run` decides beyond "a slot is free", the
 * way GNU parallel and xargs decide it: each command's deadline under
 * --timeout N% (N% of the median runtime of the commands that succeeded
 * so far), whether a command may start now (--memfree, --load), when the
 * run halts (--halt) and what its exit status is (GNU parallel's rules,
 * or xargs' with --exit-codes=xargs).  run_policy.c; the functions that
 * act on a run are declared in run.h. */
#ifndef WD__CLI_RUN_POLICY_H
#define WD__CLI_RUN_POLICY_H

#include <stddef.h>
#include <uv.h>

/* The median is of the last WD__CLI_MEDIAN_OF successful runtimes: GNU
 * parallel's remedian starts the same way (its first stage is the last
 * 999 values), and the memory stays bounded whatever the input. */
#define WD__CLI_MEDIAN_OF 999

typedef struct {
  double runtimes[WD__CLI_MEDIAN_OF]; /* seconds, a ring */
  size_t nruntimes;    /* recorded in all */
  int status;          /* the exit status a halt or xargs' rules fixed; -1 */
  int halted;          /* --halt's condition was met */
  int inputs_ended;    /* every input has been read: the total is known */
  uv_timer_t mem_timer; /* --memfree: looks at the free memory while commands
                           run (initialised only with --memfree) */
  uv_timer_t pct_timer; /* --timeout N%: due at the next command's deadline
                           (initialised only with it) */
} wd__cli_policy;

#endif
