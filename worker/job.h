/* job.h -- what a job may use from the worker that runs it, and nothing
 * more: the output buffer and its helpers (warden.h), the descriptors a
 * worker keeps, and -- for a guardian job, one that runs its task in child
 * processes it watches, like the command job -- the task's cgroup, the
 * signal the supervisor asked for, and the tree kill.  The worker
 * (worker/worker.c, worker/registry.c) implements it; jobs include only
 * this header, proc/proc.h and warden.h. */
#ifndef WD_JOB_H
#define WD_JOB_H

#include <signal.h>
#include <stdint.h>

#include "warden.h"

/* Fixed descriptors in a worker. */
#define WD__FD_SOCK 3   /* tasks in, results out (close-on-exec) */
#define WD__FD_STDERR 4 /* the supervisor's own stderr (close-on-exec) */

/* The zygote asks a worker to signal its task with this signal, the value
 * carrying the signal (low 8 bits) and the task's tag (the task id's low 23
 * bits), so a request that arrives after its task ended is dropped. */
#define WD__SIG_TASK (SIGRTMIN + 3)
#define WD__TAG(id) ((uint32_t)((id) & 0x7fffffu))

/* A guardian job runs its task in child processes it watches (the command
 * job): at a deadline only those are killed, and the job answers with what
 * they wrote.  0 or UV_ENOENT. */
int wd__job_set_guardian(const char *name);

/* What a guardian job (one that runs the task in child processes, like the
 * command job) uses from its worker: */
/* The task cgroup's cgroup.procs for wd__spawn_opts.cgroup_procs, or -1
 * when the pool contains tasks by process group. */
int wd__task_procs_fd(void);
/* The signal the supervisor asked for this task (0: none), taken once. */
int wd__task_signal(void);
/* The mask to wait under (ppoll): the worker's, with WD__SIG_TASK open, so
 * a request cannot slip in between a check and the wait. */
const sigset_t *wd__task_waitmask(void);
/* Kills the whole tree of the current task (cgroup.kill of the task
 * cgroup), or does nothing and returns -ENOTSUP without one. */
int wd__task_kill_tree(void);

#endif /* WD_JOB_H */
