/* parse.c -- durations, sizes, signals and counts from the command line;
 * inputs split into words; joblog records read back. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
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

int wd__parse_duration(const char *s, uint64_t *ms) {
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

/* Beyond this many ms (31,700 years) a timer is never due: such a
 * duration is none, as timeout(1) treats one it cannot arm. */
#define DURATION_NEVER_MS 1e15

int wd__parse_timeout_duration(const char *s, uint64_t *ms) {
  static const char suffixes[] = "smhd";
  static const double suffix_ms[] = {1e3, 60e3, 3600e3, 86400e3};
  if (wd__parse_duration(s, ms) == 0)
    return 0;
  if (s == NULL || *s == '\0')
    return UV_EINVAL;
  char *end;
  double v = strtod(s, &end); /* ERANGE is fine: 1e400 is never, 1e-400 at once */
  if (end == s || isnan(v) || v < 0)
    return UV_EINVAL;
  double scale = 1e3;
  if (*end != '\0') {
    const char *u = strchr(suffixes, *end);
    if (u == NULL || end[1] != '\0')
      return UV_EINVAL;
    scale = suffix_ms[u - suffixes];
  }
  double total = v * scale;
  if (total > DURATION_NEVER_MS) {
    *ms = 0;
    return 0;
  }
  *ms = (uint64_t)llround(total);
  if (*ms == 0 && total > 0)
    *ms = 1;
  return 0;
}

int wd__parse_size(const char *s, uint64_t *bytes) {
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

/* A signal's name as kill -l and timeout(1) take it, without "SIG": one
 * of sigabbrev_np(3)'s, an alias (IOT, CLD, POLL), RTMIN+N or RTMAX-N. */
static int signal_by_name(const char *s, int *sig) {
  static const struct {
    const char *name;
    int sig;
  } aliases[] = {{"IOT", SIGABRT}, {"CLD", SIGCHLD}, {"POLL", SIGIO}};
  for (int n = 1; n < NSIG; n++) {
    const char *name = sigabbrev_np(n);
    if (name != NULL && strcasecmp(s, name) == 0) {
      *sig = n;
      return 0;
    }
  }
  for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
    if (strcasecmp(s, aliases[i].name) == 0) {
      *sig = aliases[i].sig;
      return 0;
    }
  int max = strncasecmp(s, "RTMAX", 5) == 0;
  if (!max && strncasecmp(s, "RTMIN", 5) != 0)
    return UV_EINVAL;
  long k = 0;
  if (s[5] != '\0' && (s[5] != (max ? '-' : '+') ||
                       wd__parse_count(s + 6, 1, SIGRTMAX - SIGRTMIN, &k) != 0))
    return UV_EINVAL;
  *sig = max ? SIGRTMAX - (int)k : SIGRTMIN + (int)k;
  return 0;
}

int wd__parse_signal(const char *s, int *sig) {
  if (s == NULL || *s == '\0')
    return UV_EINVAL;
  long n;
  if (isdigit((unsigned char)*s)) {
    if (wd__parse_count(s, 1, NSIG - 1, &n) != 0)
      return UV_EINVAL;
    *sig = (int)n;
    return 0;
  }
  if (strncasecmp(s, "SIG", 3) == 0)
    s += 3;
  return signal_by_name(s, sig);
}

/* A real-time signal is named from the nearer end, as kill -l and
 * timeout -v name it: RTMIN, RTMIN+1 ... RTMAX-1, RTMAX. */
const char *wd__signal_name(int sig, char *buf, size_t n) {
  int rt = sig >= SIGRTMIN && sig <= SIGRTMAX;
  const char *name = rt ? NULL : sigabbrev_np(sig);
  int low = sig <= SIGRTMIN + (SIGRTMAX - SIGRTMIN) / 2;
  int delta = sig - (low ? SIGRTMIN : SIGRTMAX);
  if (name != NULL)
    snprintf(buf, n, "%s", name);
  else if (rt && delta == 0)
    snprintf(buf, n, "%s", low ? "RTMIN" : "RTMAX");
  else if (rt)
    snprintf(buf, n, "%s%+d", low ? "RTMIN" : "RTMAX", delta);
  else
    snprintf(buf, n, "%d", sig);
  return buf;
}

int wd__parse_count(const char *s, long lo, long hi, long *out) {
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

void wd__split_inputs(const char *p, size_t n, char sep,
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

/* A whole field of digits (and, if frac, one '.' and more digits), after
 * optional spaces (GNU parallel pads JobRuntime) and an optional '-'. */
static int field_number(const char *p, const char *end, int frac, long long *out) {
  while (p < end && *p == ' ')
    p++;
  int neg = p < end && *p == '-';
  p += neg;
  long long v = 0;
  int digits = 0, dot = 0;
  for (; p < end; p++) {
    if (isdigit((unsigned char)*p)) {
      if (!dot) {
        if (v > (LLONG_MAX - 9) / 10)
          return UV_EINVAL;
        v = v * 10 + (*p - '0');
      }
      digits++;
    } else if (*p == '.' && frac && !dot && digits) {
      dot = 1;
    } else {
      return UV_EINVAL;
    }
  }
  if (digits == 0 || p[-1] == '.')
    return UV_EINVAL;
  *out = neg ? -v : v;
  return 0;
}

int wd__parse_joblog_line(const char *line, size_t len, size_t *seq, int *exitval,
                         int *sig) {
  const char *f[9], *end = line + len;
  f[0] = line;
  for (int k = 1; k < 9; k++) {
    const char *tab = memchr(f[k - 1], '\t', (size_t)(end - f[k - 1]));
    if (tab == NULL)
      return UV_EINVAL;
    f[k] = tab + 1;
  }
  if (memchr(line, '\n', len) != NULL)
    return UV_EINVAL;
  /* Seq, Host, Starttime, JobRuntime, Send, Receive, Exitval, Signal,
   * then the Command, which may hold anything but a newline. */
  long long v[8];
  for (int k = 0; k < 8; k++) {
    if (k == 1) {
      if (f[2] - 1 == f[1])
        return UV_EINVAL; /* no host */
      continue;
    }
    if (field_number(f[k], f[k + 1] - 1, k == 2 || k == 3, &v[k]) != 0)
      return UV_EINVAL;
  }
  if (v[0] < 1 || v[6] < INT_MIN || v[6] > INT_MAX || v[7] < 0 || v[7] >= NSIG ||
      f[0][0] == ' ' || f[0][0] == '-')
    return UV_EINVAL;
  *seq = (size_t)v[0];
  *exitval = (int)v[6];
  *sig = (int)v[7];
  return 0;
}
