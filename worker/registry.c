/* registry.c -- the table of named jobs.
 *
 * Registered before a pool starts, the table is inherited by the zygote and
 * so by every worker: a task names its job by index, and both sides agree on
 * what the index means because they hold the same copy of the table. */
#include <string.h>

#include "worker.h"

static struct {
  char name[64];
  wd_job_fn fn;
} jobs[WD__MAX_JOBS];
static unsigned njobs;

int wd_register(const char *name, wd_job_fn fn) {
  if (name == NULL || fn == NULL || name[0] == '\0' || strlen(name) >= 64)
    return UV_EINVAL;
  if (wd__job_lookup(name) >= 0)
    return UV_EEXIST;
  if (njobs == WD__MAX_JOBS)
    return UV_ENOSPC;
  strcpy(jobs[njobs].name, name);
  jobs[njobs].fn = fn;
  njobs++;
  return 0;
}

int wd__job_lookup(const char *name) {
  for (unsigned i = 0; i < njobs; i++)
    if (strcmp(jobs[i].name, name) == 0)
      return (int)i;
  return UV_ENOENT;
}

wd_job_fn wd__job_fn(unsigned index) {
  return index < njobs ? jobs[index].fn : NULL;
}

unsigned wd__job_count(void) { return njobs; }

static unsigned char guardian[WD__MAX_JOBS];

int wd__job_set_guardian(const char *name) {
  int i = wd__job_lookup(name);
  if (i < 0)
    return i;
  guardian[i] = 1;
  return 0;
}

int wd__job_is_guardian(unsigned index) {
  return index < njobs && guardian[index];
}
