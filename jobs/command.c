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
#include "jobs.h"

/* More arguments than this is not a request the CLI made. */
#define CMD_MAX_ARGS (1u << 20)

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

int wd_cmd_encode(wd_out *b, const wd_cmd *c) {
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

enum { PIPE_CLOSED = 0, PIPE_OPEN = 1 };

/* Reads what is there from fd into b, up to cap bytes kept; the rest is
 * read and dropped so the command never blocks on a full pipe.  Returns
 * PIPE_CLOSED at EOF (or on a read error), PIPE_OPEN while it is open. */
static int drain(int fd, wd_out *b, uint64_t cap, int *truncated) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno == EAGAIN ? PIPE_OPEN : PIPE_CLOSED;
    if (n == 0)
      return PIPE_CLOSED;
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
  for (size_t i = 0; i < WD__ARRAY_SIZE(forwarded); i++)
    sigaddset(set, forwarded[i]);
}

static void set_forwarded(void (*h)(int)) {
  struct sigaction sa = {0};
  sa.sa_handler = h;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < WD__ARRAY_SIZE(forwarded); i++)
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
  wd_out b;
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
          drain(st[i].fd, &st[i].b, cap, &st[i].truncated) == PIPE_CLOSED) {
        close(st[i].fd);
        st[i].fd = -1;
      }
    if (p[0].revents &&
        waitid(P_PIDFD, (id_t)pidfd, si, WEXITED | WNOHANG) == 0 && si->si_pid)
      return;
  }
}

/* One command, from request to answer. */
typedef struct {
  req_hdr h;
  char *strs;   /* the request's strings, copied: it lives in the input */
  char **argv;  /* into strs, NULL-terminated */
  int capture;  /* WD_CMD_CAPTURE */
  int po[2], pe[2]; /* stdout and stderr pipes while captured; -1: none */
  pid_t pid;
  int pidfd;
  int exec_errno;
  stream st[2]; /* stdout, stderr: the read ends and what came out */
  siginfo_t si; /* how it ended */
} command;

/* Parses the request into c->h and c->argv.  0, or a negative errno with
 * the message in out. */
static int parse_request(const void *arg, size_t len, command *c, wd_out *out) {
  if (len < sizeof(c->h)) {
    wd_out_printf(out, "command: malformed request");
    return UV_EINVAL;
  }
  memcpy(&c->h, arg, sizeof(c->h));
  if (c->h.argc == 0 || c->h.argc > CMD_MAX_ARGS) {
    wd_out_printf(out, "command: no command");
    return UV_EINVAL;
  }
  size_t n = len - sizeof(c->h);
  c->strs = malloc(n + 1);
  c->argv = calloc(c->h.argc + 1, sizeof(char *));
  if (c->strs == NULL || c->argv == NULL) {
    wd_out_printf(out, "command: out of memory");
    return UV_ENOMEM;
  }
  memcpy(c->strs, (const char *)arg + sizeof(c->h), n);
  c->strs[n] = '\0';
  size_t off = 0;
  for (uint32_t i = 0; i < c->h.argc; i++) {
    if (off >= n) {
      wd_out_printf(out, "command: malformed request");
      return UV_EINVAL;
    }
    c->argv[i] = c->strs + off;
    off += strlen(c->argv[i]) + 1;
  }
  return 0;
}

/* Starts the command in its own group, in the task cgroup where there is
 * one, its output into pipes when captured.  0, or a negative errno with
 * the message in out. */
static int start(command *c, wd_out *out) {
  if (c->capture && (pipe2(c->po, O_CLOEXEC) != 0 || pipe2(c->pe, O_CLOEXEC) != 0)) {
    int err = -errno;
    wd_out_printf(out, "command: cannot start: %s", strerror(-err));
    return err;
  }
  sigset_t ours; /* what the worker ignores while the command runs */
  forwarded_set(&ours);
  wd__spawn_opts so = {.argv = c->argv,
                       .stdin_fd = -1,
                       .stdout_fd = c->po[1],
                       .stderr_fd = c->capture ? c->pe[1] : WD__FD_STDERR,
                       .null_stdin = (c->h.flags & WD_CMD_NULL_STDIN) != 0,
                       .new_group = 1,
                       .cgroup_dir = -1,
                       .cgroup_procs = wd__task_procs_fd(),
                       .memory_limit = c->h.memory_limit,
                       .cpu_limit_s = c->h.cpu_limit_s,
                       .reset_ignored = &ours,
                       .die_with_parent = 1};
  set_forwarded(SIG_IGN);
  int err = wd__spawn(&so, &c->pid, &c->pidfd, &c->exec_errno);
  if (c->capture) { /* the command's ends */
    close(c->po[1]);
    close(c->pe[1]);
    c->po[1] = c->pe[1] = -1;
  }
  if (err) {
    set_forwarded(SIG_DFL);
    wd_out_printf(out, "command: cannot start: %s", strerror(-err));
    return err;
  }
  c->st[0].fd = c->po[0];
  c->st[1].fd = c->pe[0];
  c->po[0] = c->pe[0] = -1;
  for (int i = 0; i < 2; i++)
    if (c->st[i].fd >= 0)
      fcntl(c->st[i].fd, F_SETFL, O_NONBLOCK);
  return 0;
}

/* Waits for the command to end, then takes what is still in its pipes.
 * A descendant holding them open does not make us wait: the worker's
 * sweep kills it right after. */
static void finish(command *c) {
  watch(c->pid, c->pidfd, c->st, c->h.max_output, &c->si);
  set_forwarded(SIG_DFL);
  for (int i = 0; i < 2; i++)
    if (c->st[i].fd >= 0)
      drain(c->st[i].fd, &c->st[i].b, c->h.max_output, &c->st[i].truncated);
}

/* Appends the answer: how the command ended, then its output.  0, or
 * UV_ENOMEM with the message in out instead. */
static int answer(command *c, wd_out *out) {
  res_hdr r = {.exec_errno = c->exec_errno};
  if (c->si.si_code == CLD_EXITED) {
    r.exit_code = c->si.si_status;
  } else {
    r.exit_code = -1;
    r.signal = c->si.si_status;
  }
  /* A shell's words for a command that could not run, where its stderr
   * goes. */
  if (c->exec_errno && c->capture) {
    c->st[1].b.len = 0;
    wd_out_printf(&c->st[1].b, "warden: %s: %s\n", c->argv[0], strerror(c->exec_errno));
  } else if (c->exec_errno) {
    dprintf(WD__FD_STDERR, "warden: %s: %s\n", c->argv[0], strerror(c->exec_errno));
  }
  r.truncated = (uint32_t)(c->st[0].truncated | c->st[1].truncated << 1);
  r.out_len = c->st[0].b.len;
  r.err_len = c->st[1].b.len;
  if (wd_out_append(out, &r, sizeof(r)) != 0 ||
      wd_out_append(out, c->st[0].b.p, c->st[0].b.len) != 0 ||
      wd_out_append(out, c->st[1].b.p, c->st[1].b.len) != 0) {
    out->len = 0;
    wd_out_printf(out, "command: out of memory for its output");
    return UV_ENOMEM;
  }
  return 0;
}

/* Releases everything the command held: one place for every exit. */
static void command_free(command *c) {
  for (int i = 0; i < 2; i++) {
    if (c->st[i].fd >= 0)
      close(c->st[i].fd);
    wd_out_free(&c->st[i].b);
  }
  int fds[] = {c->po[0], c->po[1], c->pe[0], c->pe[1], c->pidfd};
  for (size_t i = 0; i < WD__ARRAY_SIZE(fds); i++)
    if (fds[i] >= 0)
      close(fds[i]);
  free(c->strs);
  free(c->argv);
}

static int job_command(const void *arg, size_t len, wd_out *out) {
  command c = {.po = {-1, -1}, .pe = {-1, -1}, .pidfd = -1,
               .st = {{.fd = -1}, {.fd = -1}}};
  int err = parse_request(arg, len, &c, out);
  if (err == 0) {
    c.capture = (c.h.flags & WD_CMD_CAPTURE) != 0;
    err = start(&c, out);
  }
  if (err == 0) {
    finish(&c);
    err = answer(&c, out);
  }
  command_free(&c);
  return err == 0 ? WD__JOB_ANSWERED : WD__JOB_FAILED;
}

int wd__register_command_job(void) {
  int err = wd_register("command", job_command);
  if (err != 0 && err != UV_EEXIST)
    return err;
  return wd__job_set_guardian("command");
}
