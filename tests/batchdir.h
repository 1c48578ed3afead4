/* batchdir.h -- a fresh folder for each image-batch test: DIR (made with
 * mkdtemp), DIR/in for the inputs, DIR/out's path for warden's outputs;
 * removed after the test.  setup/teardown are the case's own fixture
 * (wd_test_case); path(BASE, NAME) gives BASE/NAME, from a ring of eight
 * buffers so that a call can take several; status_of(ROWS, NAME) is the
 * status of the --json row whose input ends with NAME. */
#ifndef WD_TEST_BATCHDIR_H
#define WD_TEST_BATCHDIR_H

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"

static char dir[64], in[128], out[128];

static void setup(void) {
  strcpy(dir, "/tmp/wd-batch-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(in, sizeof(in), "%s/in", dir);
  snprintf(out, sizeof(out), "%s/out", dir);
  ck_assert_int_eq(mkdir(in, 0777), 0);
}

static void teardown(void) { sh("rm -rf %s", dir); }

static char *path(const char *base, const char *name) {
  static char p[8][256];
  static int k;
  k = (k + 1) % 8;
  snprintf(p[k], sizeof(p[k]), "%s/%s", base, name);
  return p[k];
}

/* The status of the JSON row whose input ends with `name`. */
static const char *status_of(const char *rows, const char *name) {
  static char st[64];
  char key[300];
  snprintf(key, sizeof(key), "/%s\",", name);
  const char *r = strstr(rows, key);
  if (r == NULL)
    return "(no row)";
  const char *s = strstr(r, "\"status\":\"");
  const char *e = s ? strchr(s + 10, '"') : NULL;
  if (e == NULL)
    return "(no status)";
  snprintf(st, sizeof(st), "%.*s", (int)(e - s - 10), s + 10);
  return st;
}

#endif
