/* command.c -- the "command" job: the worker as the command's guardian.
 *
 * The command is started by wd__spawn() into the task cgroup (when the pool
 * has cgroups) as the leader of a process group of its own, and watched on
 * a pidfd while its output pipes are drained.  A deadline does not kill the
 * worker: the supervisor asks it (WD__SIG_TASK) to signal the task, and the
 * worker kills the command's tree and answers with what the command wrote
 * before it -- what a command printed before its deadline is part of its
 * result.  When the command has been reaped its pipes are drained without
 * blocking and closed: a grandchild may still hold them open, and the
 * worker's sweep kills it right after. */
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

#include "../proc/proc.h"
#include "../worker/job.h"
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

/* While a command runs, the worker ignores the signals a user sends to a
 * whole group, so the command -- not its guardian -- decides what they
 * mean (wd__spawn resets them in the command). */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static void forwarded_set(sigset_t *set) {
  sigemptyset(set);
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
    sigaddset(set, forwarded[i]);
}

static void set_forwarded(void (*h)(int)) {
  struct sigaction sa = {0};
  sa.sa_handler = h;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
    sigaction(forwarded[i], &sa, NULL);
}

/* What the supervisor asked for the task: the first signal of a grace
 * reaches the command's group (and the command, if it left it), with
 * SIGCONT after it, since a stopped command cannot act on it; SIGKILL
 * ends the whole tree -- every process of the task cgroup at once, or,
 * without one, the command's group now and the rest in the sweep. */
static void signal_task(pid_t pid, int pidfd, int sig) {
  if (sig == SIGKILL && wd__task_kill_tree() == 0)
    return;
  kill(-pid, sig); /* it leads that group, and it is unreaped */
  pidfd_send_signal(pidfd, sig, NULL, 0);
  if (sig != SIGKILL && sig != SIGCONT) {
    kill(-pid, SIGCONT);
    pidfd_send_signal(pidfd, SIGCONT, NULL, 0);
  }
}

typedef struct {
  int fd; /* -1 once at EOF */
  wd__buf b;
  int truncated;
} stream;

/* Waits for the command to end, reading its output and acting on the
 * supervisor's requests; the command is reaped on return. */
static void watch(pid_t pid, int pidfd, stream *st, uint64_t cap, siginfo_t *si) {
  for (;;) {
    struct pollfd p[3] = {{pidfd, POLLIN, 0},
                          {st[0].fd, POLLIN, 0},
                          {st[1].fd, POLLIN, 0}};
    int r = ppoll(p, 3, NULL, wd__task_waitmask());
    int sig = wd__task_signal();
    if (sig)
      signal_task(pid, pidfd, sig);
    if (r < 0)
      continue; /* EINTR: the request above */
    for (int i = 0; i < 2; i++)
      if (st[i].fd >= 0 && p[i + 1].revents &&
          drain(st[i].fd, &st[i].b, cap, &st[i].truncated) == 0) {
        close(st[i].fd);
        st[i].fd = -1;
      }
    if (p[0].revents &&
        waitid(P_PIDFD, (id_t)pidfd, si, WEXITED | WNOHANG) == 0 && si->si_pid)
      return;
  }
}

/* Parses the request into h and a NULL-terminated argv pointing into
 * *strs (a private copy: the request lives in the input buffer).  0, or
 * 1 with the error in out. */
static int parse_request(const void *arg, size_t len, req_hdr *h, char **strs,
                         char ***argv, wd_out *out) {
  if (len < sizeof(*h))
    return wd_out_printf(out, "command: malformed request"), 1;
  memcpy(h, arg, sizeof(*h));
  if (h->argc == 0 || h->argc > 1u << 20)
    return wd_out_printf(out, "command: no command"), 1;
  size_t n = len - sizeof(*h);
  *strs = malloc(n + 1);
  *argv = calloc(h->argc + 1, sizeof(char *));
  if (*strs == NULL || *argv == NULL)
    return wd_out_printf(out, "command: out of memory"), 1;
  memcpy(*strs, (const char *)arg + sizeof(*h), n);
  (*strs)[n] = '\0';
  size_t off = 0;
  for (uint32_t i = 0; i < h->argc; i++) {
    if (off >= n)
      return wd_out_printf(out, "command: malformed request"), 1;
    (*argv)[i] = *strs + off;
    off += strlen((*argv)[i]) + 1;
  }
  return 0;
}

static int job_command(const void *arg, size_t len, wd_out *out) {
  req_hdr h;
  char *strs = NULL, **argv = NULL;
  stream st[2] = {{-1, {0}, 0}, {-1, {0}, 0}};
  int po[2] = {-1, -1}, pe[2] = {-1, -1}, pidfd = -1, rc = 1, exec_errno = 0;
  pid_t pid = 0;
  if (parse_request(arg, len, &h, &strs, &argv, out) != 0)
    goto done;
  int capture = (h.flags & WD_CMD_CAPTURE) != 0;
  if (capture && (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0)) {
    wd_out_printf(out, "command: cannot start: %s", strerror(errno));
    goto done;
  }
  sigset_t ours; /* what the worker ignores while the command runs */
  forwarded_set(&ours);
  wd__spawn_opts so = {argv, -1, po[1], capture ? pe[1] : WD__FD_STDERR,
                       (h.flags & WD_CMD_NULL_STDIN) != 0, 1, -1,
                       wd__task_procs_fd(), h.memory_limit, h.cpu_limit_s, NULL,
                       &ours, 1};
  set_forwarded(SIG_IGN);
  int err = wd__spawn(&so, &pid, &pidfd, &exec_errno);
  if (capture) { /* the command's ends */
    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;
  }
  if (err) {
    set_forwarded(SIG_DFL);
    wd_out_printf(out, "command: cannot start: %s", strerror(-err));
    goto done;
  }
  st[0].fd = po[0];
  st[1].fd = pe[0];
  po[0] = pe[0] = -1;
  for (int i = 0; i < 2; i++)
    if (st[i].fd >= 0)
      fcntl(st[i].fd, F_SETFL, O_NONBLOCK);
  siginfo_t si = {0};
  watch(pid, pidfd, st, h.max_output, &si);
  set_forwarded(SIG_DFL);
  /* The command is reaped; what is still in the pipes is read now, and
   * a descendant holding them open does not make us wait: the worker's
   * sweep kills it right after. */
  for (int i = 0; i < 2; i++)
    if (st[i].fd >= 0)
      drain(st[i].fd, &st[i].b, h.max_output, &st[i].truncated);
  res_hdr r = {0, 0, 0, exec_errno, 0, 0};
  if (si.si_code == CLD_EXITED) {
    r.exit_code = si.si_status;
  } else {
    r.exit_code = -1;
    r.signal = si.si_status;
  }
  if (exec_errno && capture) {
    st[1].b.len = 0;
    wd_out_printf(&st[1].b, "warden: %s: %s\n", argv[0], strerror(exec_errno));
  } else if (exec_errno) {
    dprintf(WD__FD_STDERR, "warden: %s: %s\n", argv[0], strerror(exec_errno));
  }
  r.truncated = (uint32_t)(st[0].truncated | st[1].truncated << 1);
  r.out_len = st[0].b.len;
  r.err_len = st[1].b.len;
  if (wd_out_append(out, &r, sizeof(r)) != 0 ||
      wd_out_append(out, st[0].b.p, st[0].b.len) != 0 ||
      wd_out_append(out, st[1].b.p, st[1].b.len) != 0) {
    out->len = 0;
    wd_out_printf(out, "command: out of memory for its output");
    goto done;
  }
  rc = 0;
done: /* one exit: everything acquired above is released here */
  for (int i = 0; i < 2; i++) {
    if (st[i].fd >= 0)
      close(st[i].fd);
    wd__buf_free(&st[i].b);
  }
  int fds[5] = {po[0], po[1], pe[0], pe[1], pidfd};
  for (int i = 0; i < 5; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  free(strs);
  free(argv);
  return rc;
}

int wd_register_command_job(void) {
  int err = wd_register("command", job_command);
  if (err != 0 && err != UV_EEXIST)
    return err;
  return wd__job_set_guardian("command");
}
