/* run_results.c -- `warden run --results DIR`: each command's stdout,
 * stderr and seq saved in GNU parallel's tree instead of printed,
 * DIR/1/INPUT/{stdout,stderr,seq} (with several inputs, one level pair per
 * input: DIR/1/A/2/B/... with several sources or --colsep columns, each
 * numbered; DIR/1/A/1/B/... for -N's inputs from one source), each input
 * escaped as parallel does ('\' as '\\', '/' as '\_').  With --header,
 * parallel names the levels by column: refused (opts.c), not numbered
 * silently.  A spilled stream is renamed into place when the spool is on
 * the same file system, else copied; a write that fails fails the run
 * (125). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

#define RESULTS_PATH_MAX 4096

/* Appends to path[*len..n) the escaped input; 0 or -ENAMETOOLONG. */
static int append_escaped(char *path, size_t *len, size_t n, const char *s) {
  for (; *s; s++) {
    const char *put = *s == '/' ? "\\_" : *s == '\\' ? "\\\\" : NULL;
    size_t k = put ? 2 : 1;
    if (*len + k >= n)
      return -ENAMETOOLONG;
    memcpy(path + *len, put ? put : s, k);
    *len += k;
  }
  path[*len] = '\0';
  return 0;
}

/* mkdir of path[0..len), fine if it is there. */
static int make_dir(const char *path) {
  return mkdir(path, 0777) == 0 || errno == EEXIST ? 0 : -errno;
}

/* The item's directory, made: DIR/1/INPUT/... */
static int item_dir(const wd_run *r, const wd_run_item *it, char *path, size_t n) {
  size_t len = (size_t)snprintf(path, n, "%s", r->o.results);
  int err = len < n ? make_dir(path) : -ENAMETOOLONG;
  int numbered = r->o.nsources > 1 || r->o.colsep; /* else -N's inputs: all "1" */
  for (int k = 0; !err && k < it->nargs; k++) {
    int w = snprintf(path + len, n - len, "/%d", numbered ? k + 1 : 1);
    if (w < 0 || (size_t)w >= n - len)
      return -ENAMETOOLONG;
    len += (size_t)w;
    err = make_dir(path);
    if (!err && len + 1 < n) {
      path[len++] = '/';
      err = append_escaped(path, &len, n, it->args[k]);
    }
    if (!err)
      err = make_dir(path);
  }
  return err;
}

/* One file of the item: from memory, or the spool file moved (renamed or
 * copied) into place. */
static int save_stream(const char *dir, const char *name, const char *mem, uint64_t len,
                       const char *file) {
  char path[RESULTS_PATH_MAX];
  if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
    return -ENAMETOOLONG;
  if (file && rename(file, path) == 0)
    return 0;
  FILE *f = fopen(path, "we");
  if (f == NULL)
    return -errno;
  wd__cli_sink s = {.f = f};
  int err = wd__cli_sink_stream(&s, mem, len, file);
  if (fclose(f) != 0 && !err)
    err = -errno;
  return err;
}

int wd__cli_run_save(wd_run *r, const wd_run_item *it, size_t seq, const wd_cmd_result *cr) {
  char dir[RESULTS_PATH_MAX], seqs[32];
  int err = item_dir(r, it, dir, sizeof(dir));
  if (!err)
    err = save_stream(dir, "stdout", cr ? cr->out : "", cr ? cr->out_len : 0,
                      cr ? cr->out_file : NULL);
  if (!err)
    err = save_stream(dir, "stderr", cr ? cr->err : "", cr ? cr->err_len : 0,
                      cr ? cr->err_file : NULL);
  snprintf(seqs, sizeof(seqs), "%zu", seq); /* no newline, as parallel's */
  if (!err)
    err = save_stream(dir, "seq", seqs, strlen(seqs), NULL);
  if (err) {
    fprintf(stderr, "warden run: --results: cannot save the output of command %zu in %s: "
            "%s\n", seq, dir, wd_strerror(err));
    r->batch.broken = 1;
    if (!r->batch.stopping)
      wd__cli_batch_stop(&r->batch, 1);
  }
  return err;
}
