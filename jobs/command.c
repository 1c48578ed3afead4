/* command.c -- the "command" job.
 *
 * The worker forks the command with vfork() (the worker is single-threaded
 * and small; the child only makes system calls before execve), keeps it in
 * the worker's process group so the pool's group kill reaches it, and waits
 * for it on a pidfd while draining its output pipes.  An exec failure comes
 * back through a close-on-exec pipe, so 126 and 127 mean what they say.
 * When the command has been reaped its pipes are drained without blocking
 * and closed: a grandchild may still hold them open, and the worker's
 * sweep kills it right after. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "command.h"

typedef struct {
  uint32_t flags, argc;
  uint64_t max_output, memory_limit, cpu_limit_s;
} req_hdr;

typedef struct {
  int32_t exit_code, signal;
  uint32_t truncated;
  int32_t exec_errno;
  uint64_t out_len, err_len;
} res_hdr;

int wd_cmd_encode(wd__buf *b, const wd_cmd *c) {
  req_hdr h = {c->flags, 0, c->max_output, c->memory_limit, c->cpu_limit_s};
  while (c->argv[h.argc])
    h.argc++;
  if (wd_out_append(b, &h, sizeof(h)) != 0)
    return UV_ENOMEM;
  for (uint32_t i = 0; i < h.argc; i++)
    if (wd_out_append(b, c->argv[i], strlen(c->argv[i]) + 1) != 0)
      return UV_ENOMEM;
  return 0;
}

int wd_cmd_decode(const void *data, size_t len, wd_cmd_result *r) {
  res_hdr h;
  if (len < sizeof(h))
    return UV_EPROTO;
  memcpy(&h, data, sizeof(h));
  if (h.out_len > len - sizeof(h) || h.err_len > len - sizeof(h) - h.out_len)
    return UV_EPROTO;
  r->exit_code = h.exit_code;
  r->signal = h.signal;
  r->truncated = h.truncated;
  r->exec_errno = h.exec_errno;
  r->out = (const char *)data + sizeof(h);
  r->out_len = h.out_len;
  r->err = r->out + h.out_len;
  r->err_len = h.err_len;
  return 0;
}

/* Reads what is there from fd into b, up to cap bytes kept; the rest is
 * read and dropped so the command never blocks on a full pipe.  Returns 0
 * at EOF, 1 if the pipe is still open. */
static int drain(int fd, wd__buf *b, uint64_t cap, int *truncated) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno == EAGAIN ? 1 : 0;
    if (n == 0)
      return 0;
    size_t keep = b->len < cap ? (size_t)(cap - b->len) : 0;
    if (keep > (size_t)n)
      keep = (size_t)n;
    if (keep < (size_t)n)
      *truncated = 1;
    if (keep && wd_out_append(b, buf, keep) != 0)
      *truncated = 1;
  }
}

static void child(const req_hdr *h, char **argv, int out, int err, int errpipe)
    __attribute__((noreturn));

/* While a command runs, the worker ignores the signals a user or a grace
 * period sends to the whole group, so the command -- not its guardian --
 * decides what they mean; the child puts them back before execve. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static void set_forwarded(void (*h)(int)) {
  struct sigaction sa = {0};
  sa.sa_handler = h;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
    sigaction(forwarded[i], &sa, NULL);
}

static void child(const req_hdr *h, char **argv, int out, int err, int errpipe) {
  /* Between vfork and execve: system calls only.  vfork shares memory, not
   * the signal table, so this changes the child's dispositions alone. */
  set_forwarded(SIG_DFL);
  if (h->flags & WD_CMD_NULL_STDIN) {
    int fd = open("/dev/null", O_RDONLY);
    if (fd >= 0 && fd != 0) {
      dup2(fd, 0);
      close(fd);
    }
  }
  if (h->flags & WD_CMD_CAPTURE) {
    dup2(out, 1);
    dup2(err, 2);
  } else {
    dup2(WD__FD_STDERR, 2); /* the supervisor's stderr, not the memfd */
  }
  if (h->memory_limit) {
    struct rlimit rl = {h->memory_limit, h->memory_limit};
    setrlimit(RLIMIT_AS, &rl);
  }
  if (h->cpu_limit_s) {
    struct rlimit rl = {h->cpu_limit_s, h->cpu_limit_s + 1};
    setrlimit(RLIMIT_CPU, &rl);
  }
  execvp(argv[0], argv);
  int e = errno;
  if (write(errpipe, &e, sizeof(e)) < 0)
    _exit(WD_CMD_CANNOT_EXEC);
  _exit(e == ENOENT ? WD_CMD_NOT_FOUND : WD_CMD_CANNOT_EXEC);
}

static int job_command(const void *arg, size_t len, wd_out *out) {
  req_hdr h;
  if (len < sizeof(h))
    return wd_out_printf(out, "command: malformed request"), 1;
  memcpy(&h, arg, sizeof(h));
  if (h.argc == 0 || h.argc > 1u << 20)
    return wd_out_printf(out, "command: no command"), 1;
  /* argv points into a private copy: the request lives in the input. */
  char *strs = malloc(len - sizeof(h) + 1);
  char **argv = calloc(h.argc + 1, sizeof(char *));
  if (strs == NULL || argv == NULL) {
    free(strs);
    free(argv);
    return wd_out_printf(out, "command: out of memory"), 1;
  }
  memcpy(strs, (const char *)arg + sizeof(h), len - sizeof(h));
  strs[len - sizeof(h)] = '\0';
  size_t off = 0;
  for (uint32_t i = 0; i < h.argc; i++) {
    if (off >= len - sizeof(h)) {
      free(strs);
      free(argv);
      return wd_out_printf(out, "command: malformed request"), 1;
    }
    argv[i] = strs + off;
    off += strlen(argv[i]) + 1;
  }
  int po[2] = {-1, -1}, pe[2] = {-1, -1}, px[2] = {-1, -1};
  int capture = (h.flags & WD_CMD_CAPTURE) != 0;
  int rc = pipe2(px, O_CLOEXEC);
  if (rc == 0 && capture)
    rc = pipe2(po, O_CLOEXEC) | pipe2(pe, O_CLOEXEC);
  set_forwarded(SIG_IGN);
  pid_t pid = rc == 0 ? vfork() : -1;
  if (pid == 0)
    child(&h, argv, po[1], pe[1], px[1]);
  int saved = errno;
  close(px[1]);
  if (capture) {
    close(po[1]);
    close(pe[1]);
  }
  if (pid < 0) {
    close(px[0]);
    if (capture) {
      close(po[0]);
      close(pe[0]);
    }
    free(strs);
    free(argv);
    return wd_out_printf(out, "command: cannot start: %s", strerror(saved)), 1;
  }
  int exec_errno = 0;
  if (read(px[0], &exec_errno, sizeof(exec_errno)) != sizeof(exec_errno))
    exec_errno = 0; /* EOF: execve succeeded and closed the pipe */
  close(px[0]);

  size_t at = out->len;
  if (wd_out_reserve(out, sizeof(res_hdr)) == NULL)
    return 1;
  res_hdr r = {0, 0, 0, 0, 0, 0};
  wd__buf o = {0}, e = {0};
  int trunc_o = 0, trunc_e = 0;
  siginfo_t si = {0};
  if (capture) {
    fcntl(po[0], F_SETFL, O_NONBLOCK);
    fcntl(pe[0], F_SETFL, O_NONBLOCK);
    int pfd = pidfd_open(pid, 0); /* unreaped child: cannot be reused */
    int open_o = 1, open_e = 1, exited = 0;
    while (!exited) {
      struct pollfd p[3] = {{open_o ? po[0] : -1, POLLIN, 0},
                            {open_e ? pe[0] : -1, POLLIN, 0},
                            {pfd, POLLIN, 0}};
      if (poll(p, 3, pfd < 0 ? 50 : -1) < 0 && errno != EINTR)
        break;
      if (open_o && p[0].revents)
        open_o = drain(po[0], &o, h.max_output, &trunc_o);
      if (open_e && p[1].revents)
        open_e = drain(pe[0], &e, h.max_output, &trunc_e);
      if (pfd < 0 || p[2].revents)
        exited = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG) == 0 &&
                 si.si_pid == pid;
    }
    /* The command is reaped; what is still in the pipes is read now, and
     * a descendant holding them open does not make us wait. */
    drain(po[0], &o, h.max_output, &trunc_o);
    drain(pe[0], &e, h.max_output, &trunc_e);
    if (pfd >= 0)
      close(pfd);
    close(po[0]);
    close(pe[0]);
  } else {
    while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 && errno == EINTR)
      ;
  }
  set_forwarded(SIG_DFL);
  if (si.si_code == CLD_EXITED) {
    r.exit_code = si.si_status;
  } else {
    r.exit_code = -1;
    r.signal = si.si_status;
  }
  if (exec_errno && capture) {
    e.len = 0;
    wd_out_printf(&e, "warden: %s: %s\n", argv[0], strerror(exec_errno));
  } else if (exec_errno) {
    dprintf(WD__FD_STDERR, "warden: %s: %s\n", argv[0], strerror(exec_errno));
  }
  free(strs);
  free(argv);
  r.truncated = (uint32_t)(trunc_o | trunc_e << 1);
  r.exec_errno = exec_errno;
  r.out_len = o.len;
  r.err_len = e.len;
  memcpy(out->p + at, &r, sizeof(r));
  wd_out_append(out, o.p, o.len);
  wd_out_append(out, e.p, e.len);
  wd__buf_free(&o);
  wd__buf_free(&e);
  return 0;
}

int wd_register_command_job(void) {
  int err = wd_register("command", job_command);
  return err == UV_EEXIST ? 0 : err;
}
