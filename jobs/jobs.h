/* jobs.h -- what the files of jobs/ share inside the library: the two
 * answers of a job function, and the jobs wd_register_builtins() registers
 * from other files.  Each job kind has its own file; the image job is a
 * library of its own (jobs/image.h). */
#ifndef WD_JOBS_JOBS_H
#define WD_JOBS_JOBS_H

/* What a job function returns (wd_job_fn): its output is the answer
 * (WD_OK), or the task failed and its output is the message (WD_ERROR). */
enum { WD__JOB_ANSWERED = 0, WD__JOB_FAILED = 1 };

/* Registers the "command" job as a guardian job (command.c).  0 or a
 * negative errno. */
int wd__register_command_job(void);

#endif /* WD_JOBS_JOBS_H */
