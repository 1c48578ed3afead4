/* exec.c -- `warden exec`: one command with a deadline, a stricter
 * timeout(1).
 *
 * warden itself is the command's guardian, as a pool worker is for
 * `warden run`: a child subreaper, with the command in a process group of
 * its own.  At the deadline the group gets the signal (then SIGKILL after
 * the grace); when the command ends, by itself or not, its group is killed
 * while the leader is still unreaped, and every descendant that left the
 * group (setsid, double fork) and was re-parented here is killed and
 * reaped.  Where warden may make cgroups, the command also runs in a cgroup
 * of its own (proc/cgroup.c): SIGKILL is cgroup.kill, which reaches
 * whatever left the group, at once.  warden exits only once nothing the
 * command started is alive.  (A warden exec that is itself SIGKILLed -- by
 * the command, say -- cannot clean up: the command dies with it, by
 * PR_SET_PDEATHSIG, but what the command started lives on.)  One command needs no
 * pool: no zygote and no worker to fork, so running under warden costs
 * what running under timeout(1) costs. */
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
#include "../proc/proc.h"

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
  char cgroup[PATH_MAX]; /* the command's own cgroup, or "" */
  siginfo_t si; /* how it ended */
  uv_poll_t exited;
  uv_timer_t deadline;
  uv_signal_t fwd[NFWD];
} guard;

/* SIGKILL to the whole tree: its cgroup at once, or its group (the leader
 * is ours and unreaped, so the pgid cannot have been reused) and, if it
 * left that group, the command itself; what left both is swept at the
 * end.  Any other signal goes to the group and the command, then SIGCONT,
 * as timeout(1) does: a stopped command cannot act on it. */
static void kill_all(guard *g, int sig) {
  if (sig == SIGKILL && g->cgroup[0])
    wd__cgroup_kill(g->cgroup);
  if (g->pid <= 0)
    return;
  kill(-g->pid, sig);
  pidfd_send_signal(g->pidfd, sig, NULL, 0);
  if (sig != SIGKILL && sig != SIGCONT) {
    kill(-g->pid, SIGCONT);
    pidfd_send_signal(g->pidfd, SIGCONT, NULL, 0);
  }
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
 * reaped): what is left of its tree goes first, then it is reaped. */
static void on_exit_(uv_poll_t *p, int status, int events) {
  (void)status, (void)events;
  guard *g = p->data;
  if (g->cgroup[0])
    wd__cgroup_kill(g->cgroup);
  kill(-g->pid, SIGKILL);
  while (waitid(P_PIDFD, (id_t)g->pidfd, &g->si, WEXITED) < 0 && errno == EINTR)
    ;
  g->pid = 0;
  uv_close((uv_handle_t *)&g->exited, NULL);
  uv_close((uv_handle_t *)&g->deadline, NULL);
  for (size_t i = 0; i < NFWD; i++)
    uv_close((uv_handle_t *)&g->fwd[i], NULL);
}

/* A cgroup for the command beneath warden's own, where warden may make
 * one; its directory, or -1 (process groups, as timeout(1)). */
static int make_cgroup(guard *g) {
  char self[PATH_MAX], name[64];
  g->cgroup[0] = '\0';
  if (wd__cgroup_self(self, sizeof(self)) != 0)
    return -1;
  wd__cgroup_sweep_stale(self);
  snprintf(name, sizeof(name), "warden.%d.exec", (int)getpid());
  if (wd__cgroup_make(self, name, g->cgroup, sizeof(g->cgroup)) != 0) {
    g->cgroup[0] = '\0';
    return -1;
  }
  int fd = open(g->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    rmdir(g->cgroup);
    g->cgroup[0] = '\0';
  }
  return fd;
}

/* Everything left of the tree is killed and reaped; the cgroup goes. */
static void clean_up(guard *g) {
  if (g->cgroup[0])
    wd__cgroup_kill(g->cgroup);
  /* What left the group (setsid, double fork) and was re-parented here. */
  wd__kill_children(NULL, NULL);
  if (g->cgroup[0]) {
    int ev = wd__cgroup_open(g->cgroup, "cgroup.events", O_RDONLY);
    if (ev >= 0) {
      wd__cgroup_wait_empty(ev, 5000);
      close(ev);
    }
    rmdir(g->cgroup);
  }
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
      if (wd_cli_check_memory("exec", optarg, memory))
        return WD_EXIT_FAILURE;
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
  int exec_errno = 0;
  sigset_t mask; /* the command starts with the mask warden was given */
  sigprocmask(SIG_SETMASK, NULL, &mask);
  int cgdir = make_cgroup(&g);
  wd__spawn_opts so = {argv + optind, -1, -1, -1, 0, 1, cgdir, -1, memory,
                       (cpu + 999) / 1000, &mask, NULL, 1};
  int err = wd__spawn(&so, &g.pid, &g.pidfd, &exec_errno);
  if (cgdir >= 0)
    close(cgdir);
  if (err) {
    clean_up(&g);
    return wd_cli_fail("exec", "cannot start %s: %s", argv[optind], strerror(-err));
  }
  if (exec_errno)
    fprintf(stderr, "warden: %s: %s\n", argv[optind], strerror(exec_errno));
  uv_poll_init(loop, &g.exited, g.pidfd);
  g.exited.data = &g;
  uv_poll_start(&g.exited, UV_READABLE, on_exit_);
  uv_timer_init(loop, &g.deadline);
  g.deadline.data = &g;
  /* From now, not from the loop's cached clock, which was read before the
   * command (and its cgroup) were made: the deadline must not come early. */
  uv_update_time(loop);
  if (timeout)
    uv_timer_start(&g.deadline, on_deadline, timeout, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  close(g.pidfd);
  clean_up(&g);
  if (g.timed_out)
    return WD_EXIT_TIMEOUT;
  wd_cmd_result r = {.exit_code = g.si.si_code == CLD_EXITED ? g.si.si_status : -1,
                     .signal = g.si.si_code == CLD_EXITED ? 0 : g.si.si_status};
  return wd_cli_status(&r);
}
