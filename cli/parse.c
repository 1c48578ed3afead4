/* parse.c -- durations, sizes, signals and counts from the command line. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "parse.h"

/* Reads a non-negative decimal number ("1", "1.5", ".5") at *p. */
static int number(const char **p, double *v) {
  const char *s = *p;
  if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
    return UV_EINVAL;
  char *end;
  errno = 0;
  *v = strtod(s, &end);
  if (errno || end == s || !isfinite(*v) || *v < 0)
    return UV_EINVAL;
  *p = end;
  return 0;
}

int wd_parse_duration(const char *s, uint64_t *ms) {
  static const struct {
    const char *unit;
    double ms;
  } units[] = {{"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}, {"d", 86400e3}};
  if (s == NULL || *s == '\0')
    return UV_EINVAL;
  double total = 0;
  int parts = 0;
  while (*s) {
    double v;
    if (number(&s, &v) != 0)
      return UV_EINVAL;
    double scale = -1;
    if (*s == '\0' && parts == 0)
      scale = 1e3; /* a bare number: seconds */
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && scale < 0; i++) {
      size_t n = strlen(units[i].unit);
      /* "m" must not swallow the "m" of "ms" */
      if (strncmp(s, units[i].unit, n) == 0 && !(n == 1 && s[0] == 'm' && s[1] == 's')) {
        scale = units[i].ms;
        s += n;
      }
    }
    if (scale < 0)
      return UV_EINVAL;
    total += v * scale;
    parts++;
  }
  if (total > 1e15)
    return UV_EINVAL;
  /* A positive duration is at least one tick: 0.4 ms rounded to 0 would
   * mean "none" (no deadline, no delay), the opposite of what was asked. */
  *ms = (uint64_t)llround(total);
  if (*ms == 0 && total > 0)
    *ms = 1;
  return 0;
}

int wd_parse_size(const char *s, uint64_t *bytes) {
  if (s == NULL)
    return UV_EINVAL;
  double v;
  if (number(&s, &v) != 0)
    return UV_EINVAL;
  double scale = 1;
  const char *units = "KMGT";
  const char *u = *s ? strchr(units, toupper((unsigned char)*s)) : NULL;
  if (u != NULL) {
    scale = pow(1024, (double)(u - units + 1));
    s++;
    if (strcmp(s, "iB") == 0 || strcmp(s, "ib") == 0)
      s += 2;
  }
  if ((*s == 'B' || *s == 'b') && s[1] == '\0')
    s++;
  if (*s != '\0' || v * scale > 1.8e19)
    return UV_EINVAL;
  /* As for durations: a positive size never rounds down to 0 ("none"). */
  *bytes = (uint64_t)llround(v * scale);
  if (*bytes == 0 && v > 0)
    *bytes = 1;
  return 0;
}

int wd_parse_signal(const char *s, int *sig) {
  static const struct {
    const char *name;
    int sig;
  } names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},
               {"ILL", SIGILL},   {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},
               {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL},
               {"USR1", SIGUSR1}, {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
               {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
               {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
               {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}};
  if (s == NULL || *s == '\0')
    return UV_EINVAL;
  long n;
  if (isdigit((unsigned char)*s))
    return wd_parse_count(s, 1, NSIG - 1, &n) == 0 ? (*sig = (int)n, 0) : UV_EINVAL;
  if (strncasecmp(s, "SIG", 3) == 0)
    s += 3;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcasecmp(s, names[i].name) == 0) {
      *sig = names[i].sig;
      return 0;
    }
  return UV_EINVAL;
}

int wd_parse_count(const char *s, long lo, long hi, long *out) {
  if (s == NULL || !isdigit((unsigned char)*s))
    return UV_EINVAL;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end != '\0' || v < lo || v > hi)
    return UV_EINVAL;
  *out = v;
  return 0;
}

void wd_split_inputs(const char *p, size_t n, char sep,
                     void (*emit)(void *ctx, const char *p, size_t n), void *ctx) {
  size_t start = 0;
  for (size_t i = 0; i <= n; i++)
    if (i == n || p[i] == sep) {
      size_t k = i - start;
      if (sep == '\n' && k && p[start + k - 1] == '\r')
        k--;
      if (i < n || k > 0)
        emit(ctx, p + start, k);
      start = i + 1;
    }
}
