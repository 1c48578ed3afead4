/* misc.c -- names for error codes and statuses. */
#include <string.h>

#include "pool.h"

const char *wd_strerror(int err) {
  if (err >= 0)
    return "success";
  const char *s = uv_strerror(err);
  /* libuv names only the codes it knows; the rest are plain errnos. */
  if (strncmp(s, "Unknown system error", 20) == 0)
    return strerror(-err);
  return s;
}

const char *wd_status_name(wd_status s) {
  static const char *names[] = {"pending", "ok",     "error",    "timeout",
                                "crashed", "exited", "cancelled"};
  return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}
