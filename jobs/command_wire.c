/* command_wire.c -- the command job's request and answer as bytes (the
 * layouts are in command.h).  The caller encodes a wd_cmd and decodes a
 * wd_cmd_result with the public functions; the worker parses the request
 * here.  Everything read is checked against the length: a request or an
 * answer is never trusted to be well formed. */
#include <stdlib.h>
#include <string.h>

#include "command.h"

/* More arguments or environment entries than this is not a request the
 * CLI made. */
#define CMD_MAX_STRINGS (1u << 20)

static int append_str(wd_out *b, const char *s) {
  return wd_out_append(b, s, strlen(s) + 1);
}

static uint32_t count(char *const *v) {
  uint32_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

int wd_cmd_encode(wd_out *b, const wd_cmd *c) {
  int in = (c->flags & WD_CMD_INPUT) != 0;
  wd__cmd_req_hdr h = {.flags = c->flags, .argc = count(c->argv),
                       .max_output = c->max_output, .memory_limit = c->memory_limit,
                       .cpu_limit_s = c->cpu_limit_s, .nice = c->nice,
                       .nenv = count(c->env), .has_cwd = c->cwd != NULL,
                       .has_spool = c->spool != NULL,
                       .has_paths = (c->stdout_path != NULL) | (c->stderr_path != NULL) << 1,
                       .input_len = in ? c->input_len : 0};
  int err = wd_out_append(b, &h, sizeof(h));
  for (uint32_t i = 0; !err && i < h.argc; i++)
    err = append_str(b, c->argv[i]);
  for (uint32_t i = 0; !err && i < h.nenv; i++)
    err = append_str(b, c->env[i]);
  if (!err && c->cwd)
    err = append_str(b, c->cwd);
  if (!err && c->spool)
    err = append_str(b, c->spool);
  if (!err && c->stdout_path)
    err = append_str(b, c->stdout_path);
  if (!err && c->stderr_path)
    err = append_str(b, c->stderr_path);
  if (!err && h.input_len)
    err = wd_out_append(b, c->input, h.input_len);
  return err ? UV_ENOMEM : 0;
}

/* A NUL-terminated string at *off in p[0..n), or NULL; *off moves past it. */
static const char *take_str(const char *p, size_t n, size_t *off) {
  if (*off >= n)
    return NULL;
  const char *s = p + *off;
  const char *nul = memchr(s, '\0', n - *off);
  if (nul == NULL)
    return NULL;
  *off += (size_t)(nul - s) + 1;
  return s;
}

int wd_cmd_decode(const void *data, size_t len, wd_cmd_result *r) {
  wd__cmd_res_hdr h;
  if (len < sizeof(h))
    return UV_EPROTO;
  memcpy(&h, data, sizeof(h));
  const char *p = (const char *)data + sizeof(h);
  size_t n = len - sizeof(h);
  uint64_t in_out = h.spilled & 1 ? 0 : h.out_len;
  uint64_t in_err = h.spilled & 2 ? 0 : h.err_len;
  if (in_out > n || in_err > n - in_out)
    return UV_EPROTO;
  *r = (wd_cmd_result){.exit_code = h.exit_code, .signal = h.signal,
                       .truncated = h.truncated, .exec_errno = h.exec_errno,
                       .cwd_failed = h.cwd_failed, .out_len = h.out_len,
                       .err_len = h.err_len};
  r->out = h.spilled & 1 ? NULL : p;
  r->err = h.spilled & 2 ? NULL : p + in_out;
  size_t off = (size_t)(in_out + in_err);
  if (h.spilled & 1 && (r->out_file = take_str(p, n, &off)) == NULL)
    return UV_EPROTO;
  if (h.spilled & 2 && (r->err_file = take_str(p, n, &off)) == NULL)
    return UV_EPROTO;
  return 0;
}

/* Points v[0..k) at the next k strings; 0 or UV_EINVAL. */
static int take_strs(const char *p, size_t n, size_t *off, char **v, uint32_t k) {
  for (uint32_t i = 0; i < k; i++)
    if ((v[i] = (char *)take_str(p, n, off)) == NULL)
      return UV_EINVAL;
  return 0;
}

int wd__cmd_parse(const void *arg, size_t len, wd__cmd_request *q, wd_out *out) {
  wd__cmd_req_hdr *h = &q->h;
  if (len < sizeof(*h)) {
    wd_out_printf(out, "command: malformed request");
    return UV_EINVAL;
  }
  memcpy(h, arg, sizeof(*h));
  if (h->argc == 0 || h->argc > CMD_MAX_STRINGS || h->nenv > CMD_MAX_STRINGS ||
      h->input_len > len - sizeof(*h)) {
    wd_out_printf(out, "command: no command, or a malformed request");
    return UV_EINVAL;
  }
  size_t n = len - sizeof(*h) - (size_t)h->input_len;
  q->input = (const char *)arg + sizeof(*h) + n;
  q->strs = malloc(n + 1);
  q->argv = calloc((size_t)h->argc + 1, sizeof(char *));
  q->env = h->nenv ? calloc((size_t)h->nenv + 1, sizeof(char *)) : NULL;
  if (q->strs == NULL || q->argv == NULL || (h->nenv && q->env == NULL)) {
    wd_out_printf(out, "command: out of memory");
    return UV_ENOMEM;
  }
  memcpy(q->strs, (const char *)arg + sizeof(*h), n);
  q->strs[n] = '\0';
  size_t off = 0;
  int err = take_strs(q->strs, n, &off, q->argv, h->argc);
  if (!err)
    err = take_strs(q->strs, n, &off, q->env, h->nenv);
  if (!err && h->has_cwd && (q->cwd = take_str(q->strs, n, &off)) == NULL)
    err = UV_EINVAL;
  if (!err && h->has_spool && (q->spool = take_str(q->strs, n, &off)) == NULL)
    err = UV_EINVAL;
  for (int i = 0; i < 2 && !err; i++)
    if (h->has_paths & (1u << i) && (q->path[i] = take_str(q->strs, n, &off)) == NULL)
      err = UV_EINVAL;
  if (err)
    wd_out_printf(out, "command: malformed request");
  return err;
}

void wd__cmd_request_free(wd__cmd_request *q) {
  free(q->strs);
  free(q->argv);
  free(q->env);
}
