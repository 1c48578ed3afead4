/* exec.c -- `warden exec`: one command with a deadline, a stricter
 * timeout(1).
 *
 * warden itself is the command's guardian, as a pool worker is for
 * `warden run`: a child subreaper, with the command in a process group of
 * its own.  At the deadline the group gets the signal (then SIGKILL after
 * the grace); when the command ends, by itself or not, its group is killed
 * while the leader is still unreaped, and every descendant that left the
 * group (setsid, double fork) and was re-parented here is killed and
 * reaped.  warden exits only once nothing the command started is alive.
 * One command needs no pool: no zygote and no worker to fork, so running
 * under warden costs what running under timeout(1) costs. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "../supervisor/internal.h"

static const char usage[] =
    "Usage: warden exec [OPTION]... [--] COMMAND [ARG]...\n"
    "Run COMMAND; if it is still running after the timeout, kill it and\n"
    "everything it started.\n"
    "\n"
    "  -t, --timeout=DURATION     deadline: 250ms, 10s, 1m30s, 1.5 (seconds);\n"
    "                             0 for none (the default)\n"
    "  -s, --signal=SIG           signal sent at the deadline (default KILL);\n"
    "                             with it, KILL follows after --kill-after\n"
    "  -k, --kill-after=DURATION  grace between --signal and KILL (default 1s\n"
    "                             when --signal is given)\n"
    "  -m, --memory=SIZE          address-space limit of the command: 512M, 2G\n"
    "  -c, --cpu=DURATION         CPU-time limit of the command (whole seconds)\n"
    "  -h, --help                 show this help\n"
    "\n"
    "stdin, stdout and stderr pass through; SIGINT, SIGTERM, SIGHUP and SIGQUIT\n"
    "sent to warden are forwarded to the command.\n"
    "\n"
    "Exit status: the command's own; 124 if the deadline was hit; 125 if warden\n"
    "itself failed; 126 if COMMAND cannot be executed; 127 if it is not found;\n"
    "128+N if it was killed by signal N.\n";

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NFWD (sizeof(forwarded) / sizeof(forwarded[0]))

typedef struct {
  pid_t pid; /* the command, leader of its own group; 0 once reaped */
  int pidfd;
  int sig;        /* sent at the deadline */
  uint64_t grace; /* ms between sig and SIGKILL (unused if sig is KILL) */
  int timed_out;
  siginfo_t si; /* how it ended */
  uv_poll_t exited;
  uv_timer_t deadline;
  uv_signal_t fwd[NFWD];
} guard;

/* While the leader is ours and unreaped, its pgid cannot be reused. */
static void kill_group(guard *g, int sig) {
  if (g->pid > 0)
    kill(-g->pid, sig);
}

/* Signals reach the command even if it left its group. */
static void kill_all(guard *g, int sig) {
  kill_group(g, sig);
  if (g->pid > 0 && getpgid(g->pid) != g->pid)
    pidfd_send_signal(g->pidfd, sig, NULL, 0);
}

static void on_forward(uv_signal_t *h, int sig) { kill_all(h->data, sig); }

static void on_deadline(uv_timer_t *t) {
  guard *g = t->data;
  if (!g->timed_out) {
    g->timed_out = 1;
    kill_all(g, g->sig);
    if (g->sig != SIGKILL)
      uv_timer_start(t, on_deadline, g->grace, 0);
  } else {
    kill_all(g, SIGKILL); /* the grace is over */
  }
}

/* The command has ended (its pidfd is readable; it is a zombie, not yet
 * reaped): what is left of its group goes first, then it is reaped. */
static void on_exit_(uv_poll_t *p, int status, int events) {
  (void)status, (void)events;
  guard *g = p->data;
  kill_group(g, SIGKILL);
  while (waitid(P_PIDFD, (id_t)g->pidfd, &g->si, WEXITED) < 0 && errno == EINTR)
    ;
  g->pid = 0;
  uv_close((uv_handle_t *)&g->exited, NULL);
  uv_close((uv_handle_t *)&g->deadline, NULL);
  for (size_t i = 0; i < NFWD; i++)
    uv_close((uv_handle_t *)&g->fwd[i], NULL);
}

/* Between vfork and execve: system calls only (vfork shares memory, not
 * the signal table).  An execve failure goes back through errpipe, so 126
 * and 127 mean what they say. */
static void child(char **argv, uint64_t memory, uint64_t cpu_s, const sigset_t *mask,
                  int errpipe) __attribute__((noreturn));
static void child(char **argv, uint64_t memory, uint64_t cpu_s, const sigset_t *mask,
                  int errpipe) {
  setpgid(0, 0);
  struct sigaction dfl = {0};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (size_t i = 0; i < NFWD; i++)
    sigaction(forwarded[i], &dfl, NULL);
  if (memory) {
    struct rlimit rl = {memory, memory};
    setrlimit(RLIMIT_AS, &rl);
  }
  if (cpu_s) {
    struct rlimit rl = {cpu_s, cpu_s + 1};
    setrlimit(RLIMIT_CPU, &rl);
  }
  sigprocmask(SIG_SETMASK, mask, NULL);
  execvp(argv[0], argv);
  int e = errno;
  if (write(errpipe, &e, sizeof(e)) < 0)
    _exit(WD_CMD_CANNOT_EXEC);
  _exit(e == ENOENT ? WD_CMD_NOT_FOUND : WD_CMD_CANNOT_EXEC);
}

/* Starts argv as g's command; 0, or a negative errno.  *exec_errno is the
 * execve failure, if any (the command then exits 126 or 127). */
static int start(guard *g, char **argv, uint64_t memory, uint64_t cpu_s, int *exec_errno) {
  int px[2];
  if (pipe2(px, O_CLOEXEC) != 0)
    return -errno;
  /* Blocked across vfork: no handler of ours may run in the child. */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  pid_t pid = vfork();
  if (pid == 0)
    child(argv, memory, cpu_s, &old, px[1]);
  int saved = errno;
  close(px[1]);
  if (pid < 0) { /* never kill(-pid) with pid -1 */
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(px[0]);
    return -saved;
  }
  g->pid = pid;
  g->pidfd = pidfd_open(pid, 0);
  sigprocmask(SIG_SETMASK, &old, NULL);
  *exec_errno = 0;
  if (read(px[0], exec_errno, sizeof(*exec_errno)) != sizeof(*exec_errno))
    *exec_errno = 0; /* EOF: execve succeeded and closed the pipe */
  close(px[0]);
  if (g->pidfd < 0) { /* unreaped child: its pid is still ours to signal */
    saved = errno;
    kill_group(g, SIGKILL);
    kill(pid, SIGKILL);
    while (waitid(P_PID, (id_t)pid, &g->si, WEXITED) < 0 && errno == EINTR)
      ;
    g->pid = 0;
    return -saved;
  }
  return 0; /* (a pidfd is close-on-exec from the start) */
}

int wd_cli_exec(int argc, char **argv) {
  static const struct option opts[] = {
      {"timeout", required_argument, 0, 't'},
      {"signal", required_argument, 0, 's'},
      {"kill-after", required_argument, 0, 'k'},
      {"memory", required_argument, 0, 'm'},
      {"cpu", required_argument, 0, 'c'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  uint64_t timeout = 0, grace = 0, memory = 0, cpu = 0;
  int sig = 0, have_grace = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+t:s:k:m:c:h", opts, NULL)) != -1) {
    switch (c) {
    case 't':
      if (wd_parse_duration(optarg, &timeout))
        return wd_cli_fail("exec", "invalid duration '%s' (try 250ms, 10s, 1m30s)", optarg);
      break;
    case 's':
      if (wd_parse_signal(optarg, &sig))
        return wd_cli_fail("exec", "invalid signal '%s'", optarg);
      break;
    case 'k':
      if (wd_parse_duration(optarg, &grace))
        return wd_cli_fail("exec", "invalid duration '%s'", optarg);
      have_grace = 1;
      break;
    case 'm':
      if (wd_parse_size(optarg, &memory) || memory == 0)
        return wd_cli_fail("exec", "invalid size '%s' (try 512M, 2G)", optarg);
      break;
    case 'c':
      if (wd_parse_duration(optarg, &cpu) || cpu == 0)
        return wd_cli_fail("exec", "invalid CPU time '%s'", optarg);
      break;
    case 'h':
      fputs(usage, stdout);
      return 0;
    default:
      fputs("Try 'warden exec --help'.\n", stderr);
      return WD_EXIT_FAILURE;
    }
  }
  if (optind >= argc)
    return wd_cli_fail("exec", "missing command (try 'warden exec --help')");
  if (sig && sig != SIGKILL && !have_grace)
    grace = 1000;

  /* Descendants that leave the group are re-parented here, to be found. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
    return wd_cli_fail("exec", "cannot become a subreaper: %s", strerror(errno));
  uv_loop_t *loop = uv_default_loop();
  static guard g;
  g.sig = sig ? sig : SIGKILL;
  g.grace = grace ? grace : 1; /* --kill-after=0: KILL on the next turn */
  /* The forwarding handlers are in place before the command starts, so a
   * Ctrl-C in between reaches it instead of killing warden alone. */
  for (size_t i = 0; i < NFWD; i++) {
    uv_signal_init(loop, &g.fwd[i]);
    g.fwd[i].data = &g;
    uv_signal_start(&g.fwd[i], on_forward, forwarded[i]);
  }
  int exec_errno;
  int err = start(&g, argv + optind, memory, (cpu + 999) / 1000, &exec_errno);
  if (err) {
    wd__kill_children(NULL, NULL);
    return wd_cli_fail("exec", "cannot start %s: %s", argv[optind], strerror(-err));
  }
  if (exec_errno)
    fprintf(stderr, "warden: %s: %s\n", argv[optind], strerror(exec_errno));
  uv_poll_init(loop, &g.exited, g.pidfd);
  g.exited.data = &g;
  uv_poll_start(&g.exited, UV_READABLE, on_exit_);
  uv_timer_init(loop, &g.deadline);
  g.deadline.data = &g;
  if (timeout)
    uv_timer_start(&g.deadline, on_deadline, timeout, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  close(g.pidfd);
  /* What left the group (setsid, double fork) and was re-parented here. */
  wd__kill_children(NULL, NULL);
  if (g.timed_out)
    return WD_EXIT_TIMEOUT;
  wd_cmd_result r = {.exit_code = g.si.si_code == CLD_EXITED ? g.si.si_status : -1,
                     .signal = g.si.si_code == CLD_EXITED ? 0 : g.si.si_status};
  return wd_cli_status(&r);
}
