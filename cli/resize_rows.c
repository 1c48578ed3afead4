/* resize_rows.c -- what `warden resize` says about each image: a --json
 * row on stdout, or a line on stderr for one that failed; and its joblog
 * line.  An image's outcome is an enum, named in one table; an image the
 * job refused is named by the image library (wd_img_error_name). */
#include <stdarg.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "resize.h"

static const char *const outcome_names[WD_RESIZE_NOUTCOMES] = {
    [WD_RESIZE_OK] = "ok",
    [WD_RESIZE_IMAGE] = NULL, /* wd_img_error_name() */
    [WD_RESIZE_WRITE] = "write error",
    [WD_RESIZE_UNREADABLE] = "unreadable",
    [WD_RESIZE_TIMEOUT] = "timeout",
    [WD_RESIZE_CANCELLED] = "cancelled",
    [WD_RESIZE_CRASHED] = "crashed"};

static const char *status_name(wd_resize_outcome outcome, int img_error) {
  return outcome == WD_RESIZE_IMAGE ? wd_img_error_name(img_error) : outcome_names[outcome];
}

static void json_string_or_null(const char *key, const char *s) {
  printf(",\"%s\":", key);
  if (s)
    wd__json_string(stdout, s, strlen(s));
  else
    printf("null");
}

static void json_pair_or_null(const char *a, const char *b, int have, uint32_t x, uint32_t y) {
  if (have)
    printf(",\"%s\":%u,\"%s\":%u", a, x, b, y);
  else
    printf(",\"%s\":null,\"%s\":null", a, b);
}

static void print_json(const wd_resize_img *m, const char *status, const char *error,
                       const wd_img_res *res, const char *out, double ms) {
  printf("{\"input\":");
  wd__json_string(stdout, m->path, strlen(m->path));
  json_string_or_null("output", out);
  printf(",\"status\":\"%s\"", status);
  json_string_or_null("error", error);
  json_pair_or_null("width_in", "height_in", res && res->in_w, res ? res->in_w : 0,
                    res ? res->in_h : 0);
  json_pair_or_null("width_out", "height_out", res && res->out_w, res ? res->out_w : 0,
                    res ? res->out_h : 0);
  printf(",\"duration_ms\":%.1f", ms);
  if (res && res->peak_rss_kb)
    printf(",\"worker_peak_rss_kb\":%u}\n", res->peak_rss_kb);
  else
    printf(",\"worker_peak_rss_kb\":null}\n");
  fflush(stdout);
}

void wd__cli_resize_row(wd_resize *s, size_t i, wd_resize_outcome outcome, int img_error,
                       const char *error, const wd_img_res *res, const char *out, double ms) {
  wd_resize_img *m = &s->v[i];
  const char *status = status_name(outcome, img_error);
  if (s->o.json) {
    print_json(m, status, error, res, out, ms);
  } else if (error) {
    int same = strcmp(status, error) == 0; /* the message says no more */
    fprintf(stderr, "warden resize: %s: %s%s%s\n", m->path, status, same ? "" : ": ",
            same ? "" : error);
  }
  /* A record missing from the log is an image --resume would do again:
   * the driver stops the batch if the line cannot be written. */
  wd__cli_batch_log(&s->batch, i + 1, m->started, ms / 1000, (long long)m->size,
                   res && !error ? res->len : 0, error ? 1 : 0, 0, m->path);
  wd__cli_batch_finished(&s->batch, error != NULL);
  wd__cli_resize_group_done(s, i, outcome == WD_RESIZE_OK);
}

void wd__cli_resize_refuse(wd_resize *s, size_t i, wd_resize_outcome outcome, int img_error,
                          const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  wd__cli_resize_row(s, i, outcome, img_error, msg, NULL, NULL, 0);
}

const char *wd__cli_human_size(uint64_t n, char *buf, size_t len) {
  static const char *unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)n;
  int k = 0;
  while (v >= 1024 && k < 4) {
    v /= 1024;
    k++;
  }
  snprintf(buf, len, k ? "%.1f %s" : "%.0f %s", v, unit[k]);
  return buf;
}
