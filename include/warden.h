/* warden.h -- a supervised process pool with hard timeouts, on libuv.
 *
 * A pool forks worker processes (through a small zygote forked when the pool
 * is created, so no process is ever forked from a running event loop), runs
 * registered job functions in them, and resolves a future on the libuv loop
 * with what came back through the worker's socket.  A task that outlives its
 * wall-clock deadline is killed with its whole process group -- and every
 * descendant that escaped the group with setsid() -- before its future
 * resolves WD_TIMEOUT.  A worker that dies costs exactly its own task and is
 * replaced.  Nothing the pool made outlives it: no zombie, no process, no fd.
 *
 * Conventions (libuv's): functions return 0 or a negative errno (UV_E*),
 * wd_strerror() names them; objects the library owns are opaque; callbacks
 * run on the loop thread.  Everything here must be called on the loop thread.
 */
#ifndef WARDEN_H
#define WARDEN_H

#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WD_VERSION "0.1.0"

/* A per-task timeout meaning "no deadline at all". */
#define WD_FOREVER UINT64_MAX

typedef struct wd_pool wd_pool;
typedef struct wd_future wd_future;
typedef struct wd_waitset wd_waitset;
typedef struct wd_out wd_out;

typedef enum {
  WD_PENDING = 0, /* not resolved yet */
  WD_OK,          /* the job returned 0; payload is its output */
  WD_ERROR,       /* the job returned non-zero; payload is its message.
                     Also the supervisor's own failure, never hidden as
                     WD_OK: then .exit_code is a negative UV_E* --
                     UV_ENOMEM ("out of memory") when there was no memory
                     to send the task or to keep its result */
  WD_TIMEOUT,     /* the deadline passed; the task's process tree is gone */
  WD_CRASHED,     /* the worker died of a signal (see .signal) */
  WD_EXITED,      /* the worker exited mid-task (see .exit_code) */
  WD_CANCELLED    /* cancelled, or the pool was shut down immediately */
} wd_status;

/* Options for wd_pool_new(); zero means "the default" for every field. */
typedef struct {
  unsigned workers;      /* worker processes; default: number of CPUs */
  uint64_t timeout_ms;   /* default per-task deadline; default: none */
  uint64_t grace_ms;     /* at the deadline send SIGTERM, SIGKILL this much
                            later; default: SIGKILL at once */
  unsigned max_tasks;    /* recycle a worker after this many tasks */
  uint64_t memory_limit; /* RLIMIT_AS of each worker, bytes */
  uint64_t cpu_limit_s;  /* CPU seconds each task may use (RLIMIT_CPU) */
  size_t stderr_tail;    /* stderr bytes kept per task; default 4096 */
  unsigned pipeline;     /* most tasks sent ahead to one worker; default:
                            adaptive, 1 for slow tasks, up to 64 for fast */
} wd_pool_options;

/* Per-task options; zero means "the pool's default" for every field. */
typedef struct {
  uint64_t timeout_ms; /* deadline from the moment a worker starts the task;
                          WD_FOREVER for none */
  uint64_t grace_ms;   /* as in wd_pool_options; WD_FOREVER for SIGKILL at once */
  unsigned retries;    /* run again up to this many more times after any
                          result but WD_OK and WD_CANCELLED */
  int signal;          /* sent at the deadline when there is a grace;
                          default SIGTERM */
} wd_task_options;

/* What a future resolved with.  Pointers stay valid while the future does. */
typedef struct {
  wd_status status;
  const void *data;     /* output (WD_OK) or message (every other status) */
  size_t len;
  int exit_code;        /* the worker's exit code (WD_EXITED); UV_ENOMEM
                           for the supervisor's out of memory (WD_ERROR);
                           else -1 */
  int signal;           /* the signal that ended the worker, else 0 */
  uint64_t duration_ns; /* from the start of the deadline clock to the end */
  uint64_t started_ns;  /* uv_hrtime() when the deadline clock started */
  pid_t pid;            /* the worker that ran the last attempt; 0 if none */
  unsigned attempts;    /* how many times the task was started */
  const char *err_tail; /* the last bytes the task wrote to stderr */
  size_t err_len;
} wd_result;

typedef struct {
  const void *base;
  size_t len;
} wd_buf;

/* ---- jobs ------------------------------------------------------------ */

/* A job runs in a worker: it reads `len` bytes at `arg`, appends its output
 * (or, when it returns non-zero, its error message) to `out`, and returns 0
 * for success.  It may write to stderr; the tail comes back in the result. */
typedef int (*wd_job_fn)(const void *arg, size_t len, wd_out *out);

/* Registers a job under `name` (at most 63 bytes).  Pools created afterwards
 * can run it: workers inherit the registry.  Returns UV_EEXIST for a taken
 * name, UV_ENOSPC past 256 jobs, UV_EINVAL for a bad name. */
int wd_register(const char *name, wd_job_fn fn);

/* Registers the built-in jobs (echo, sleep, spin, crash, exit, alloc, spawn,
 * command; see README).  Idempotent. */
int wd_register_builtins(void);

/* A growable byte buffer: a job's output, and the request a caller builds
 * for a job (wd_cmd_encode).  Start from {0}; p[0..len) are the bytes
 * written so far, readable by anyone; off and cap belong to the library.
 * Release with wd_out_free(). */
struct wd_out {
  char *p;    /* the bytes; NULL while empty */
  size_t len; /* bytes written */
  size_t off; /* bytes already consumed from the front (the library's) */
  size_t cap; /* bytes allocated (the library's) */
};

/* The largest argument a task may be given (wd_submit's UV_E2BIG), and so
 * the largest request a caller should build: 1 GiB. */
#define WD_ARG_MAX ((size_t)1 << 30)

/* Output buffer helpers.  They return 0 or UV_ENOMEM. */
int wd_out_append(wd_out *out, const void *p, size_t n);
int wd_out_printf(wd_out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Reserves n bytes at the end of the output and returns where they start
 * (NULL on ENOMEM); the bytes count as written. */
void *wd_out_reserve(wd_out *out, size_t n);
/* Frees the buffer's memory and leaves it empty ({0}), ready for reuse. */
void wd_out_free(wd_out *out);

/* ---- pools ----------------------------------------------------------- */

/* Creates a pool on `loop` and starts its workers.  `opts` may be NULL.
 * Forks the zygote at once: call it before starting threads of your own.
 * Returns UV_EINVAL, UV_ENOMEM, or a fork/socket error. */
int wd_pool_new(uv_loop_t *loop, const wd_pool_options *opts, wd_pool **out);

/* Submits `job` with a copy of `len` bytes at `arg`; *out receives a future
 * the caller owns (release it with wd_future_release).  Returns UV_ENOENT for
 * an unknown job, UV_E2BIG for an argument over 1 GiB, UV_ENOMEM, or
 * UV_ECANCELED once the pool is shutting down. */
int wd_submit(wd_pool *pool, const char *job, const void *arg, size_t len,
              const wd_task_options *opts, wd_future **out);

/* Maps `job` over n inputs, `chunk` inputs per task (0 picks a size that
 * keeps every worker busy).  The returned future resolves once every item
 * has: WD_OK if all are ok, else WD_ERROR; wd_map_item() gives item i in
 * input order.  With chunk > 1, a deadline or crash costs the whole chunk.
 * Returns as wd_submit(); items that ran out of memory later are WD_ERROR
 * with exit_code UV_ENOMEM. */
int wd_map(wd_pool *pool, const char *job, const wd_buf *inputs, size_t n,
           size_t chunk, const wd_task_options *opts, wd_future **out);
size_t wd_map_count(const wd_future *map);
const wd_result *wd_map_item(const wd_future *map, size_t i);

#define WD_GRACEFUL 0  /* run what is queued, then stop the workers */
#define WD_IMMEDIATE 1 /* cancel the queue, kill what runs */

/* Stops accepting tasks.  Futures still resolve: with their result
 * (WD_GRACEFUL) or WD_CANCELLED (WD_IMMEDIATE).  Returns 0. */
int wd_pool_shutdown(wd_pool *pool, int how);

/* Shuts down immediately, kills and reaps every process, closes every fd and
 * handle, then calls cb (may be NULL) from the loop and frees the pool. */
void wd_pool_close(wd_pool *pool, void (*cb)(void *data), void *data);

/* wd_pool_close() and run the loop until it is done.  Not from a callback. */
int wd_pool_destroy(wd_pool *pool);

uv_loop_t *wd_pool_loop(const wd_pool *pool);
unsigned wd_pool_size(const wd_pool *pool);
/* Pids of the live workers, up to n of them; returns how many were written. */
size_t wd_pool_pids(const wd_pool *pool, pid_t *pids, size_t n);
/* How the pool holds each task's process tree: "cgroup" (a cgroup v2 per
 * worker and per task, killed with cgroup.kill: nothing a task starts can
 * leave it) or "process-group" (where this process may not create cgroups,
 * or WARDEN_CGROUP=0: process groups and a child-subreaper sweep). */
const char *wd_pool_containment(const wd_pool *pool);

/* ---- futures --------------------------------------------------------- */

typedef void (*wd_done_cb)(wd_future *f, void *data);
/* Called when f resolves; returns the future to continue with (its
 * reference passes to the chain), or NULL to resolve with f's own result. */
typedef wd_future *(*wd_then_cb)(wd_future *f, void *data);

/* Calls cb on the loop once f resolves (at once, if it already has).
 * Several callbacks run in the order they were added.  Returns UV_ENOMEM. */
int wd_future_on_done(wd_future *f, wd_done_cb cb, void *data);

/* Returns a new future (caller owns it) that resolves with the result of the
 * future cb returns once f resolves: a pipeline's next step starts as soon
 * as its previous one is done.  NULL on ENOMEM. */
wd_future *wd_future_then(wd_future *f, wd_then_cb cb, void *data);

/* Cancels f: a queued task is dropped, a running one's worker is killed;
 * the future resolves WD_CANCELLED.  Returns UV_EALREADY if resolved. */
int wd_future_cancel(wd_future *f);

/* Sends sig to a running task's process group (to forward a Ctrl-C, say).
 * Returns UV_ESRCH if the task is not running. */
int wd_future_kill(wd_future *f, int sig);

const wd_result *wd_future_result(const wd_future *f); /* NULL if pending */
int wd_future_done(const wd_future *f);
/* How many times the task has been started so far: a running task has at
 * least 1.  For a chain or a map, 0. */
unsigned wd_future_attempts(const wd_future *f);
wd_future *wd_future_ref(wd_future *f);
void wd_future_release(wd_future *f);
void wd_future_set_data(wd_future *f, void *data);
void *wd_future_data(const wd_future *f);

/* Run the loop until f (all of fs, any of fs) resolves.  Not from a
 * callback.  Return 0, UV_EINVAL for an empty set, or -EDEADLK when the
 * loop has nothing left to run that could ever resolve them. */
int wd_await(wd_future *f);
int wd_await_all(wd_future *const *fs, size_t n);
int wd_await_any(wd_future *const *fs, size_t n, size_t *index);

/* A set that hands futures back in the order they complete. */
int wd_waitset_new(wd_waitset **out); /* 0 or UV_ENOMEM */
int wd_waitset_add(wd_waitset *ws, wd_future *f); /* 0 or UV_ENOMEM */
/* Runs the loop until a future of the set completes and returns it in *f
 * (borrowed: the set keeps a reference until the next call or free).
 * Returns UV_EOF when every added future has been returned, -EDEADLK as
 * wd_await(). */
int wd_waitset_next(wd_waitset *ws, wd_future **f);
void wd_waitset_free(wd_waitset *ws);

/* ---- the command job ------------------------------------------------- */

/* "command" (registered by wd_register_builtins): a worker runs one command
 * as its guardian -- in a cgroup or process group of the task's own, under
 * its subreaper -- so a deadline kills the command's whole tree.  A caller
 * encodes a wd_cmd as the task's argument; the result, at WD_OK and also
 * at WD_TIMEOUT (what the command wrote before its deadline), decodes into
 * a wd_cmd_result. */

#define WD_CMD_CAPTURE 1u    /* capture stdout/stderr (else pass through) */
#define WD_CMD_NULL_STDIN 2u /* stdin from /dev/null (else inherited) */
#define WD_CMD_INPUT 4u      /* stdin: the input_len bytes at input, then EOF */

/* With a spool, a captured stream past this many bytes goes on to a file
 * there instead of the worker's memory and the answer. */
#define WD_CMD_SPILL_AT ((uint64_t)1 << 20)

typedef struct {
  uint32_t flags;        /* WD_CMD_* */
  uint64_t max_output;   /* bytes kept per stream, when captured; past it
                            the stream is cut at its last line end */
  uint64_t memory_limit; /* RLIMIT_AS of the command, bytes; 0: none */
  uint64_t cpu_limit_s;  /* RLIMIT_CPU of the command, seconds; 0: none */
  char *const *argv;     /* execvp()'d; NULL-terminated */
  char *const *env;      /* NAME=VALUE entries set in the command's
                            environment (over the inherited one); NULL-
                            terminated; NULL: none */
  const char *cwd;       /* directory to run in; NULL: the worker's.  One
                            that cannot be entered fails the command as an
                            exec failure would (126, exec_errno and
                            cwd_failed set) */
  int nice;              /* added to the command's niceness; 0: unchanged */
  const void *input;     /* with WD_CMD_INPUT: input_len bytes written to */
  uint64_t input_len;    /* the command's stdin, then EOF (--pipe) */
  const char *spool;     /* with WD_CMD_CAPTURE: an existing directory where
                            a stream longer than WD_CMD_SPILL_AT is written
                            to a file of its own (mode 0600) instead of the
                            answer; NULL: every byte kept in memory */
  const char *stdout_path; /* an existing file or FIFO (with a reader) the */
  const char *stderr_path; /* command writes that stream to, opened without
                            O_CREAT; not captured then.  NULL: as flags say.
                            (`warden run --line-buffer` reads FIFOs) */
} wd_cmd;

typedef struct {
  int32_t exit_code;  /* -1 when signalled */
  int32_t signal;     /* the signal that ended it, else 0 */
  uint32_t truncated; /* bit 0: stdout, bit 1: stderr */
  int32_t exec_errno; /* why the command could not be executed, or 0 */
  uint32_t cwd_failed; /* exec_errno is the chdir() to wd_cmd.cwd's */
  const char *out, *err; /* captured output; point into the decoded bytes;
                            NULL for a stream that is in a file */
  uint64_t out_len, err_len; /* bytes of each stream, in memory or file */
  const char *out_file, *err_file; /* the spool file holding the whole
                            stream, or NULL; the caller removes it */
} wd_cmd_result;

/* Appends the request for c to b.  0 or UV_ENOMEM. */
int wd_cmd_encode(wd_out *b, const wd_cmd *c);
/* Reads the command job's answer; r points into data.  0 or UV_EPROTO. */
int wd_cmd_decode(const void *data, size_t len, wd_cmd_result *r);

/* ---- a contained command, without a pool ------------------------------ */

/* A wd_tree is one command started by the calling process itself and
 * everything it starts: in a fresh cgroup v2 of its own where this process
 * may make one (cgroup.kill then reaches every member, whatever groups or
 * sessions it made), else as the leader of its own process group (and
 * WARDEN_CGROUP=0 asks for that).  It is what `warden exec` is built on:
 * a caller that wants a stricter timeout(1) watches wd_tree_pidfd() on its
 * loop, calls wd_tree_kill() at its deadline, wd_tree_reap() once the pidfd
 * is readable, then wd_tree_free().  Not thread-safe; no loop needed. */
typedef struct wd_tree wd_tree;

typedef struct {
  char *const *argv;     /* execvp()'d; NULL-terminated */
  int stdin_fd;          /* dup2()'d onto 0 when >= 0; -1: inherited */
  int stdout_fd;         /* onto 1 when >= 0 */
  int stderr_fd;         /* onto 2 when >= 0 */
  uint64_t memory_limit; /* RLIMIT_AS, bytes; 0: none */
  uint64_t cpu_limit_s;  /* RLIMIT_CPU, seconds; 0: none */
  const sigset_t *mask;  /* its signal mask at execve; NULL: none blocked */
  int die_with_parent;   /* SIGKILL when the caller dies (PR_SET_PDEATHSIG) */
  int same_group;        /* stays in the caller's process group instead of
                            leading one of its own, so that it keeps the
                            terminal (timeout --foreground); wd_tree_kill()
                            then signals the command alone, or the cgroup
                            with SIGKILL (sweep_children finds the rest) */
  int sweep_children;    /* wd_tree_free() also kills and reaps every other
                            child of the caller: for a child subreaper
                            (PR_SET_CHILD_SUBREAPER) that has no children
                            but this tree, to catch what left its group
                            where there is no cgroup */
} wd_tree_options;

/* Starts the command.  Returns 0 with *out set and *exec_errno the
 * execve() failure, if any (the command then exits 126 or 127 as a shell
 * would, and is reaped like any other); or UV_ENOMEM, or the errno of a
 * failed fork or setup, with nothing left running. */
int wd_tree_start(const wd_tree_options *o, wd_tree **out, int *exec_errno);
pid_t wd_tree_pid(const wd_tree *t);  /* the command; 0 once reaped */
int wd_tree_pidfd(const wd_tree *t);  /* readable once the command ended */
/* "cgroup" or "process-group": how the tree is held. */
const char *wd_tree_containment(const wd_tree *t);

/* Sends sig to the whole tree: SIGKILL through cgroup.kill where there is
 * a cgroup; else (and for other signals) to the command's group and the
 * command, which is not yet reaped, so its pgid cannot have been reused.
 * A signal other than SIGKILL and SIGSTOP is followed by SIGCONT, as
 * timeout(1) does: a stopped command cannot act on it.  Returns 0. */
int wd_tree_kill(wd_tree *t, int sig);

/* Once the command has ended (its pidfd is readable): kills what is left
 * of its tree, then reaps it.  *exit_code is its exit code, or -1 and
 * *sig the signal that killed it.  0, or a negative errno. */
int wd_tree_reap(wd_tree *t, int *exit_code, int *sig);

/* Kills everything left of the tree, waits until it is empty (at most
 * timeout_ms), removes its cgroup, closes the pidfd and frees t.  Returns
 * 0, or UV_ETIMEDOUT if something was still alive at the end. */
int wd_tree_free(wd_tree *t, int timeout_ms);

/* ---- misc ------------------------------------------------------------ */

const char *wd_strerror(int err);
const char *wd_status_name(wd_status s);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_H */
