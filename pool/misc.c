/* misc.c -- names for error codes and statuses. */
#include <string.h>

#include "warden.h"

const char *wd_strerror(int err) {
  if (err >= 0)
    return "success";
  /* libuv names only the codes it knows; the rest are plain errnos.  Ask
   * into a buffer first: uv_strerror() leaks the string it makes for an
   * unknown code (found by LeakSanitizer). */
  char buf[64];
  if (strncmp(uv_strerror_r(err, buf, sizeof(buf)), "Unknown system error", 20) == 0)
    return strerror(-err);
  return uv_strerror(err);
}

const char *wd_status_name(wd_status s) {
  static const char *names[] = {"pending", "ok",     "error",    "timeout",
                                "crashed", "exited", "cancelled"};
  return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}
