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
 * worker's sweep kills it right after.
 *
 * The request may also set the command's environment, directory and
 * niceness (wd__spawn does them in the child) and give it an input, which
 * the same poll loop writes to its stdin as the pipe takes it; the pipes'
 * ends and a stream's spill to the spool live in command_io.c. */
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

extern char **environ;

/* While a command runs, the worker ignores the signals a user sends to a
 * whole group, so the command -- not its guardian -- decides what they
 * mean (wd__spawn resets them in the command); and SIGPIPE, so that a
 * command that closes its stdin early makes the input's write fail with
 * EPIPE instead of killing its guardian. */
static const int ignored[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE};

static void ignored_set(sigset_t *set) {
  sigemptyset(set);
  for (size_t i = 0; i < WD__ARRAY_SIZE(ignored); i++)
    sigaddset(set, ignored[i]);
}

static void set_ignored(void (*h)(int)) {
  struct sigaction sa = {0};
  sa.sa_handler = h;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < WD__ARRAY_SIZE(ignored); i++)
    sigaction(ignored[i], &sa, NULL);
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

/* One command, from request to answer. */
typedef struct {
  wd__cmd_request q;
  int capture;      /* WD_CMD_CAPTURE */
  int po[2], pe[2]; /* stdout and stderr pipes while captured; -1: none */
  int pi[2];        /* stdin's pipe with WD_CMD_INPUT; -1: none */
  char **envp;      /* the command's environment with q.env set; NULL: ours */
  pid_t pid;
  int pidfd;
  int exec_errno, cwd_failed;
  wd__cmd_stream st[2]; /* stdout, stderr: the read ends and what came out */
  wd__cmd_input in;
  siginfo_t si;     /* how it ended */
} command;

/* Waits for the command to end, reading its output, writing its input and
 * acting on the supervisor's requests; the command is reaped on return. */
static void watch(command *c) {
  for (;;) {
    struct pollfd p[4] = {{c->pidfd, POLLIN, 0},
                          {c->st[0].fd, POLLIN, 0},
                          {c->st[1].fd, POLLIN, 0},
                          {c->in.fd, POLLOUT, 0}};
    int r = ppoll(p, 4, NULL, wd__task_waitmask());
    int sig = wd__task_signal();
    if (sig)
      signal_task(c->pid, c->pidfd, sig);
    if (r < 0)
      continue; /* EINTR: the request above */
    for (int i = 0; i < 2; i++)
      if (c->st[i].fd >= 0 && p[i + 1].revents &&
          wd__cmd_stream_drain(&c->st[i]) == WD__PIPE_CLOSED) {
        close(c->st[i].fd);
        c->st[i].fd = -1;
      }
    if (c->in.fd >= 0 && p[3].revents)
      wd__cmd_input_feed(&c->in);
    if (p[0].revents && waitid(P_PIDFD, (id_t)c->pidfd, &c->si, WEXITED | WNOHANG) == 0 &&
        c->si.si_pid)
      return;
  }
}

/* Whether env entry e sets the variable that NAME=VALUE entry s sets. */
static int same_name(const char *e, const char *s) {
  size_t n = strcspn(s, "=");
  return strncmp(e, s, n) == 0 && (e[n] == '=' || e[n] == '\0');
}

/* The command's environment: ours, with each of q.env set over it (an
 * entry without '=' removes that variable).  Built here, since the spawn's
 * vfork child may not allocate.  0 or UV_ENOMEM. */
static int build_env(command *c) {
  size_t n = 0, k = 0;
  while (environ[n])
    n++;
  for (char **e = c->q.env; e && *e; e++)
    k++;
  if (k == 0)
    return 0;
  c->envp = calloc(n + k + 1, sizeof(char *));
  if (c->envp == NULL)
    return UV_ENOMEM;
  memcpy(c->envp, environ, n * sizeof(char *));
  for (size_t j = 0; j < k; j++) {
    char *set = c->q.env[j];
    size_t i = 0;
    while (i < n && !same_name(c->envp[i], set))
      i++;
    if (strchr(set, '=') == NULL) { /* removal: the last entry fills the hole */
      if (i < n)
        c->envp[i] = c->envp[--n];
      c->envp[n] = NULL;
      continue;
    }
    c->envp[i] = set;
    if (i == n)
      n++;
  }
  return 0;
}

/* A stream the request sends to a path: opened without blocking (a FIFO
 * with no reader is ENXIO, not a worker stuck in open), then made
 * blocking again for the command.  The fd or a negative errno. */
static int open_path(const char *path) {
  int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  fcntl(fd, F_SETFL, 0);
  return fd;
}

/* The pipes (or paths) the command's descriptors come from.  0 or a
 * negative errno. */
static int make_pipes(command *c) {
  int *ends[2] = {c->po, c->pe};
  for (int i = 0; i < 2; i++) {
    if (c->q.path[i] && (ends[i][1] = open_path(c->q.path[i])) < 0)
      return ends[i][1];
    if (!c->q.path[i] && c->capture && pipe2(ends[i], O_CLOEXEC) != 0)
      return -errno;
  }
  if ((c->q.h.flags & WD_CMD_INPUT) && pipe2(c->pi, O_CLOEXEC) != 0)
    return -errno;
  return 0;
}

/* Closes the command's ends of its pipes and keeps ours, non-blocking. */
static void keep_our_ends(command *c) {
  int *theirs[] = {&c->po[1], &c->pe[1], &c->pi[0]};
  for (size_t i = 0; i < WD__ARRAY_SIZE(theirs); i++)
    if (*theirs[i] >= 0) {
      close(*theirs[i]);
      *theirs[i] = -1;
    }
  c->st[0].fd = c->po[0];
  c->st[1].fd = c->pe[0];
  c->in.fd = c->pi[1];
  c->po[0] = c->pe[0] = c->pi[1] = -1;
  int ours[] = {c->st[0].fd, c->st[1].fd, c->in.fd};
  for (size_t i = 0; i < WD__ARRAY_SIZE(ours); i++)
    if (ours[i] >= 0)
      fcntl(ours[i], F_SETFL, O_NONBLOCK);
}

/* Starts the command in its own group, in the task cgroup where there is
 * one, its output into pipes when captured.  0, or a negative errno with
 * the message in out. */
static int start(command *c, wd_out *out) {
  int err = make_pipes(c);
  if (!err)
    err = build_env(c);
  if (err) {
    wd_out_printf(out, "command: cannot start: %s", strerror(-err));
    return err;
  }
  int has_input = (c->q.h.flags & WD_CMD_INPUT) != 0;
  sigset_t ours; /* what the worker ignores while the command runs */
  ignored_set(&ours);
  wd__spawn_opts so = {.argv = c->q.argv,
                       .stdin_fd = c->pi[0],
                       .stdout_fd = c->po[1],
                       .stderr_fd = c->pe[1] >= 0 ? c->pe[1] : WD__FD_STDERR,
                       .null_stdin = !has_input && (c->q.h.flags & WD_CMD_NULL_STDIN),
                       .new_group = 1,
                       .cgroup_dir = -1,
                       .cgroup_procs = wd__task_procs_fd(),
                       .memory_limit = c->q.h.memory_limit,
                       .cpu_limit_s = c->q.h.cpu_limit_s,
                       .reset_ignored = &ours,
                       .die_with_parent = 1,
                       .envp = c->envp,
                       .cwd = c->q.cwd,
                       .nice = c->q.h.nice,
                       .cwd_failed = &c->cwd_failed};
  set_ignored(SIG_IGN);
  err = wd__spawn(&so, &c->pid, &c->pidfd, &c->exec_errno);
  keep_our_ends(c);
  if (err) {
    set_ignored(SIG_DFL);
    wd_out_printf(out, "command: cannot start: %s", strerror(-err));
    return err;
  }
  c->in.p = c->q.input;
  c->in.left = c->q.h.input_len;
  return 0;
}

/* Waits for the command to end, then takes what is still in its pipes.
 * A descendant holding them open does not make us wait: the worker's
 * sweep kills it right after. */
static void finish(command *c) {
  watch(c);
  set_ignored(SIG_DFL);
  for (int i = 0; i < 2; i++) {
    if (c->st[i].fd >= 0)
      wd__cmd_stream_drain(&c->st[i]);
    wd__cmd_stream_cut(&c->st[i]);
  }
}

/* A shell's words for a command that could not run, where its stderr
 * goes: the answer's stderr when captured (nothing else is in it: the
 * command never ran), else the supervisor's. */
static void say_not_run(command *c) {
  wd__cmd_stream *e = &c->st[1];
  char msg[512];
  if (c->cwd_failed)
    snprintf(msg, sizeof(msg), "warden: cannot chdir to %s: %s\n", c->q.cwd,
             strerror(c->exec_errno));
  else
    snprintf(msg, sizeof(msg), "warden: %s: %s\n", c->q.argv[0], strerror(c->exec_errno));
  if (c->capture && e->file < 0) {
    e->b.len = 0;
    wd_out_append(&e->b, msg, strlen(msg));
    e->len = e->b.len;
  } else if (!c->capture) {
    dprintf(WD__FD_STDERR, "%s", msg);
  }
}

/* Appends the answer: how the command ended, then its output (or the
 * names of the files it is in).  0, or UV_ENOMEM with the message in out
 * instead. */
static int answer(command *c, wd_out *out) {
  wd__cmd_res_hdr r = {.exec_errno = c->exec_errno, .cwd_failed = (uint32_t)c->cwd_failed};
  if (c->si.si_code == CLD_EXITED) {
    r.exit_code = c->si.si_status;
  } else {
    r.exit_code = -1;
    r.signal = c->si.si_status;
  }
  if (c->exec_errno)
    say_not_run(c);
  r.truncated = (uint32_t)(c->st[0].truncated | c->st[1].truncated << 1);
  r.spilled = (uint32_t)((c->st[0].file >= 0) | (c->st[1].file >= 0) << 1);
  r.out_len = c->st[0].len;
  r.err_len = c->st[1].len;
  int err = wd_out_append(out, &r, sizeof(r));
  for (int i = 0; i < 2 && !err; i++)
    if (c->st[i].file < 0)
      err = wd_out_append(out, c->st[i].b.p, c->st[i].b.len);
  for (int i = 0; i < 2 && !err; i++)
    if (c->st[i].file >= 0)
      err = wd_out_append(out, c->st[i].path, strlen(c->st[i].path) + 1);
  if (err) {
    out->len = 0;
    wd_out_printf(out, "command: out of memory for its output");
    return UV_ENOMEM;
  }
  return 0;
}

/* Releases everything the command held: one place for every exit. */
static void command_free(command *c) {
  for (int i = 0; i < 2; i++)
    wd__cmd_stream_free(&c->st[i]);
  int fds[] = {c->po[0], c->po[1], c->pe[0], c->pe[1], c->pi[0], c->pi[1], c->in.fd, c->pidfd};
  for (size_t i = 0; i < WD__ARRAY_SIZE(fds); i++)
    if (fds[i] >= 0)
      close(fds[i]);
  wd__cmd_request_free(&c->q);
  free(c->envp);
}

static int job_command(const void *arg, size_t len, wd_out *out) {
  command c = {.po = {-1, -1}, .pe = {-1, -1}, .pi = {-1, -1}, .pidfd = -1,
               .in = {.fd = -1},
               .st = {{.fd = -1, .file = -1}, {.fd = -1, .file = -1}}};
  int err = wd__cmd_parse(arg, len, &c.q, out);
  if (err == 0) {
    c.capture = (c.q.h.flags & WD_CMD_CAPTURE) != 0;
    for (int i = 0; i < 2; i++) {
      c.st[i].cap = c.q.h.max_output;
      c.st[i].spool = c.q.spool;
    }
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
