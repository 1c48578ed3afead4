/* command.h -- the "command" job's parts: a worker runs one command as its
 * guardian -- in the task's cgroup or process group, under its subreaper --
 * so a deadline kills the command's whole tree.  Its request and result
 * (wd_cmd, wd_cmd_result, wd_cmd_encode/decode) are public API, in
 * warden.h's section "the command job".
 *
 * command.c       the job: start, watch, answer
 * command_wire.c  the request and the answer as bytes (encode, decode, parse)
 * command_io.c    the command's pipes: captured streams (in memory, then
 *                 spilled to a spool file) and the input written to stdin
 *
 * Spill (why a file): a command may print gigabytes.  Holding them in the
 * worker, then in the answer frame, then in the CLI cost three copies of
 * memory.  With wd_cmd.spool, a stream's first WD_CMD_SPILL_AT bytes stay
 * in memory; once it grows past that, they and everything after go to a
 * file the worker creates in the spool (O_EXCL, 0600) and the answer
 * carries the file's name instead of the bytes.  The caller reads the file
 * and removes it; a worker killed mid-way leaves a file the caller removes
 * with its spool directory. */
#ifndef WD_JOBS_COMMAND_H
#define WD_JOBS_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "warden.h"

/* The request's fixed part, as it travels; then argc argv strings, nenv
 * env strings, the cwd, the spool, the stdout and stderr paths (each
 * NUL-terminated, when present), and input_len bytes of input. */
typedef struct {
  uint32_t flags, argc;
  uint64_t max_output, memory_limit, cpu_limit_s;
  int32_t nice;
  uint32_t nenv, has_cwd, has_spool, has_paths; /* has_paths: bit 0 stdout, 1 stderr */
  uint64_t input_len;
} wd__cmd_req_hdr;

/* The answer's fixed part; then the streams kept in memory (stdout, then
 * stderr), then the name of each spilled stream's file, NUL-terminated. */
typedef struct {
  int32_t exit_code, signal;
  uint32_t truncated;
  int32_t exec_errno;
  uint32_t cwd_failed;
  uint32_t spilled; /* bit 0: stdout is in a file, bit 1: stderr */
  uint64_t out_len, err_len;
} wd__cmd_res_hdr;

/* A request, parsed: the strings are a copy (the task's argument is not
 * ours to keep), the input points into the argument. */
typedef struct {
  wd__cmd_req_hdr h;
  char *strs;
  char **argv; /* into strs, NULL-terminated */
  char **env;  /* into strs, NULL-terminated; NULL when none */
  const char *cwd, *spool;
  const char *path[2]; /* stdout_path, stderr_path */
  const char *input;
} wd__cmd_request;

/* Parses the request at arg.  0, or a negative errno with the message in
 * out.  wd__cmd_request_free() in either case. */
int wd__cmd_parse(const void *arg, size_t len, wd__cmd_request *q, wd_out *out);
void wd__cmd_request_free(wd__cmd_request *q);

/* One captured stream of the command. */
typedef struct {
  int fd;             /* the pipe's read end; -1 once at EOF */
  wd_out b;           /* what is held in memory */
  int file;           /* the spool file once spilled, else -1 */
  char *path;         /* its name (malloc'd) */
  uint64_t len;       /* bytes kept, in memory or in the file */
  uint64_t cap;       /* max_output */
  const char *spool;  /* NULL: never spill */
  int truncated;      /* bytes were dropped (the cap, or a failed spill) */
} wd__cmd_stream;

enum { WD__PIPE_CLOSED = 0, WD__PIPE_OPEN = 1 };

/* Reads what is there from s->fd; past the cap the rest is read and
 * dropped so the command never blocks on a full pipe.  WD__PIPE_CLOSED at
 * EOF (or on a read error), WD__PIPE_OPEN while it is open. */
int wd__cmd_stream_drain(wd__cmd_stream *s);
/* A truncated stream is cut back to its last line end, so no half line
 * is printed as if whole. */
void wd__cmd_stream_cut(wd__cmd_stream *s);
/* Closes its descriptors and frees its memory (the file stays). */
void wd__cmd_stream_free(wd__cmd_stream *s);

/* The input being written to the command's stdin. */
typedef struct {
  int fd;            /* the pipe's write end (non-blocking); -1 when done */
  const char *p;
  uint64_t left;
} wd__cmd_input;

/* Writes what the pipe takes; closes it when all is written or the
 * command closed its end (EPIPE: the worker ignores SIGPIPE meanwhile). */
void wd__cmd_input_feed(wd__cmd_input *in);

#endif
