/* command.h -- the "command" job: a worker runs one command as its
 * guardian -- in the worker's own process group, under its subreaper --
 * so a deadline kills the command's whole tree.  The CLI encodes a
 * request, the job answers with the command's fate and captured output. */
#ifndef WD_JOBS_COMMAND_H
#define WD_JOBS_COMMAND_H

#include <stdint.h>

#include "../proc/proc.h"
#include "../worker/job.h"

#define WD_CMD_CAPTURE 1u     /* capture stdout/stderr (else pass through) */
#define WD_CMD_NULL_STDIN 2u  /* stdin from /dev/null (else inherited) */

typedef struct {
  uint32_t flags;
  uint64_t max_output;   /* per stream, when captured */
  uint64_t memory_limit; /* RLIMIT_AS of the command, 0: none */
  uint64_t cpu_limit_s;  /* RLIMIT_CPU of the command, 0: none */
  char *const *argv;     /* NULL-terminated */
} wd_cmd;

typedef struct {
  int32_t exit_code; /* -1 when signalled */
  int32_t signal;
  uint32_t truncated; /* bit 0: stdout, bit 1: stderr */
  int32_t exec_errno; /* why the command could not be executed, or 0 */
  const char *out, *err;
  uint64_t out_len, err_len;
} wd_cmd_result;

/* Appends the request for `c` to `b`.  0 or UV_ENOMEM. */
int wd_cmd_encode(wd__buf *b, const wd_cmd *c);

/* Reads the command job's output.  0 or UV_EPROTO. */
int wd_cmd_decode(const void *data, size_t len, wd_cmd_result *r);

#endif
