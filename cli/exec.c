/* exec.c -- `warden exec`: one command with a deadline, a stricter
 * timeout(1).
 *
 * warden itself is the command's guardian, as a pool worker is for
 * `warden run`: a child subreaper, with the command held as a wd_tree (a
 * cgroup of its own where warden may make one, else a process group it
 * leads).  At the deadline the tree gets the signal (then SIGKILL after
 * the grace); when the command ends, by itself or not, what is left of its
 * tree is killed while the leader is still unreaped, and every descendant
 * that left the group (setsid, double fork) and was re-parented here is
 * killed and reaped.  warden exits only once nothing the command started
 * is alive.  (A warden exec that is itself SIGKILLed -- by the command,
 * say -- cannot clean up: the command dies with it, by PR_SET_PDEATHSIG,
 * but what the command started lives on.)  One command needs no pool: no
 * zygote and no worker to fork, so running under warden costs what running
 * under timeout(1) costs.
 *
 * Called as timeout(1) is (a DURATION operand), it keeps timeout's rules
 * -- TERM, KILL only after -k, 137 when KILL ended the command, signals
 * forwarded and -k's grace started by them, warden dying of the signal
 * that killed its command -- so that alias timeout='warden exec' changes
 * nothing but what is left alive.  The terminal is where the two differ
 * in kind: timeout shares its process group with its command, warden's
 * command leads its own, which the terminal does not count as foreground.
 * So a Ctrl-Z (SIGTSTP to warden) is relayed to the tree, and a command
 * stopped for reading the terminal is said at once; --foreground keeps
 * the command in warden's group, as timeout --foreground does. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "cli.h"

/* How long the end waits for the command's cgroup to empty. */
#define EXEC_CLEANUP_MS 5000
/* Room for a signal's name ("RTMIN+30"). */
#define SIGNAME_MAX 16

/* Forwarded to the command, as timeout(1) forwards them; the --signal is
 * forwarded too (the last slot) when it is none of these. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NFWD (sizeof(forwarded) / sizeof(forwarded[0]))

/* Where the deadline stands: not reached; the signal sent and SIGKILL due
 * when the timer fires again; nothing more to send. */
enum { BEFORE_DEADLINE, IN_GRACE, ALL_SENT };

typedef struct {
  const wd_exec_opts *o;
  wd_tree *tree;  /* NULL until the command has started */
  int phase;
  int timed_out;
  int said_stopped;      /* the terminal-stop message was printed */
  int exit_code, signal; /* how it ended */
  uv_poll_t exited;
  uv_timer_t deadline;
  uv_signal_t stopped; /* SIGCHLD: the command may have been stopped */
  uv_signal_t suspend; /* SIGTSTP, outside --foreground */
  uv_signal_t fwd[NFWD + 1];
  size_t nfwd;
} guard;

/* Every signal warden sends the command goes through here: -v says it
 * in timeout(1)'s words ("sending signal TERM to command 'sleep'"). */
static void send_signal(guard *g, int sig) {
  if (g->o->verbose) {
    char name[SIGNAME_MAX];
    fprintf(stderr, "warden exec: sending signal %s to command '%s'\n",
            wd__signal_name(sig, name, sizeof(name)), g->o->argv[0]);
  }
  wd_tree_kill(g->tree, sig);
  if (sig == SIGSTOP) /* timeout(1) follows it with SIGCONT, as any other */
    wd_tree_kill(g->tree, SIGCONT);
}

/* The deadline, then the end of the grace (with --kill-after), as
 * timeout(1)'s alarm: either way the command has timed out. */
static void on_deadline(uv_timer_t *t) {
  guard *g = t->data;
  g->timed_out = 1;
  if (g->phase == BEFORE_DEADLINE && g->o->sig != SIGKILL) {
    send_signal(g, g->o->sig);
    g->phase = g->o->grace_ms ? IN_GRACE : ALL_SENT;
    if (g->phase == IN_GRACE)
      uv_timer_start(t, on_deadline, g->o->grace_ms, 0);
  } else if (g->phase != ALL_SENT) {
    send_signal(g, SIGKILL);
    g->phase = ALL_SENT;
  }
}

/* A signal sent to warden goes to the command.  As in timeout(1), with
 * --kill-after it also starts the grace: SIGKILL follows unless the
 * command ends first (and the deadline is then no longer waited for). */
static void on_forward(uv_signal_t *h, int sig) {
  guard *g = h->data;
  if (g->tree == NULL)
    return;
  send_signal(g, sig);
  if (g->phase == BEFORE_DEADLINE && g->o->have_grace && g->o->grace_ms) {
    g->phase = IN_GRACE;
    uv_timer_start(&g->deadline, on_deadline, g->o->grace_ms, 0);
  }
}

/* SIGTSTP (Ctrl-Z): outside --foreground the command is in a group of
 * its own, which the terminal's Ctrl-Z does not reach; it stops with
 * warden, as under timeout(1), where the two share a group, and goes on
 * when warden is continued (fg, bg). */
static void on_suspend(uv_signal_t *h, int sig) {
  (void)sig;
  guard *g = h->data;
  if (g->tree == NULL)
    return;
  wd_tree_kill(g->tree, SIGSTOP);
  raise(SIGSTOP); /* returns once warden is continued */
  wd_tree_kill(g->tree, SIGCONT);
}

/* SIGCHLD: our only child is the command, and its exit is the pidfd's
 * business, so this only asks whether it stopped -- waitid(WSTOPPED) on
 * the pidfd reaps nothing and touches no other process's status.  A
 * command outside the terminal's foreground group that reads it (or, with
 * TOSTOP, writes) is stopped by SIGTTIN (SIGTTOU) and would wait silently
 * for the deadline, or for ever: say once why, and what to do. */
static void on_stopped(uv_signal_t *h, int sig) {
  (void)sig;
  guard *g = h->data;
  siginfo_t si = {0};
  if (g->tree == NULL || g->said_stopped ||
      waitid(P_PIDFD, (id_t)wd_tree_pidfd(g->tree), &si, WSTOPPED | WNOHANG) != 0 ||
      si.si_pid == 0 || (si.si_status != SIGTTIN && si.si_status != SIGTTOU))
    return;
  g->said_stopped = 1;
  fprintf(stderr, "warden exec: '%s' is stopped (%s): it %s the terminal outside the "
          "foreground process group; use --foreground\n", g->o->argv[0],
          si.si_status == SIGTTIN ? "SIGTTIN" : "SIGTTOU",
          si.si_status == SIGTTIN ? "read" : "wrote to or set");
}

/* The command has ended (its pidfd is readable; it is a zombie, not yet
 * reaped): wd_tree_reap kills what is left of its tree, then reaps it. */
static void on_exit_(uv_poll_t *p, int status, int events) {
  (void)status;
  (void)events;
  guard *g = p->data;
  wd_tree_reap(g->tree, &g->exit_code, &g->signal);
  uv_close((uv_handle_t *)&g->exited, NULL);
  uv_close((uv_handle_t *)&g->deadline, NULL);
  uv_close((uv_handle_t *)&g->stopped, NULL);
  uv_close((uv_handle_t *)&g->suspend, NULL);
  for (size_t i = 0; i < g->nfwd; i++)
    uv_close((uv_handle_t *)&g->fwd[i], NULL);
}

/* Starts the command as g->tree; WD__CLI_GO, or WD_EXIT_FAILURE said. */
static int start(guard *g, const wd_exec_opts *o) {
  int exec_errno = 0;
  sigset_t mask; /* the command starts with the mask warden was given */
  sigprocmask(SIG_SETMASK, NULL, &mask);
  wd_tree_options to = {.argv = o->argv,
                        .stdin_fd = -1,
                        .stdout_fd = -1,
                        .stderr_fd = -1,
                        .memory_limit = o->memory,
                        .cpu_limit_s = wd__cli_seconds_up(o->cpu_ms),
                        .mask = &mask,
                        .die_with_parent = 1,
                        .same_group = o->foreground,
                        .sweep_children = 1};
  int err = wd_tree_start(&to, &g->tree, &exec_errno);
  if (err)
    return wd__cli_fail("exec", "cannot start %s: %s", o->argv[0], strerror(-err));
  if (exec_errno) /* timeout(1)'s words; the status (126, 127) is the command's */
    fprintf(stderr, "warden exec: failed to run command '%s': %s\n", o->argv[0],
            strerror(exec_errno));
  return WD__CLI_GO;
}

/* The command was killed by sig, not by us: warden dies of it too, as
 * timeout(1) does, so that whoever waits for warden sees what it would
 * have seen of the command -- bash ends a loop when a child dies of
 * SIGINT, but not when one exits 130.  Core dumps are turned off first
 * (the core is the command's), and if they cannot be, or sig does not
 * kill, warden exits 128 + sig instead. */
static int die_of(int sig) {
  struct rlimit no_core = {0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) == 0) {
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    fflush(NULL);
    signal(sig, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &only, NULL);
    raise(sig);
  }
  return WD_EXIT_SIGNAL_BASE + sig;
}

/* timeout(1)'s exit status rules, which warden's form shares but for
 * one: a command killed by SIGKILL at the deadline makes timeout's form
 * exit 137 (timeout(1) itself is in the group it kills), warden's 124. */
static int exit_status(const guard *g) {
  wd_cmd_result r = {.exit_code = g->exit_code, .signal = g->signal};
  if (g->timed_out) {
    if ((g->o->timeout_form && g->signal == SIGKILL) || g->o->preserve_status)
      return wd__cli_status(&r);
    return WD_EXIT_TIMEOUT;
  }
  return g->signal ? die_of(g->signal) : g->exit_code;
}

/* Whether sig is to be forwarded: not one warden was started with
 * ignored (nohup's HUP, a background job's INT and QUIT), which then
 * stays ignored, for the command too -- a handler here would make it
 * SIG_DFL there (timeout(1) does that). */
static int forwards(int sig) {
  struct sigaction cur;
  return sigaction(sig, NULL, &cur) == 0 && cur.sa_handler != SIG_IGN;
}

/* The forwarding handlers (and the stop watch) are in place before the
 * command starts, so a Ctrl-C in between reaches it instead of killing
 * warden alone. */
static void watch_signals(uv_loop_t *loop, guard *g) {
  int sigs[NFWD + 1];
  size_t n = 0;
  int sig_known = 0;
  for (size_t i = 0; i < NFWD; i++) {
    sig_known |= forwarded[i] == g->o->sig;
    if (forwards(forwarded[i]))
      sigs[n++] = forwarded[i];
  }
  if (!sig_known && g->o->sig != SIGKILL && g->o->sig != SIGSTOP && g->o->sig != SIGCHLD &&
      forwards(g->o->sig))
    sigs[n++] = g->o->sig;
  for (g->nfwd = 0; g->nfwd < n; g->nfwd++) {
    uv_signal_init(loop, &g->fwd[g->nfwd]);
    g->fwd[g->nfwd].data = g;
    uv_signal_start(&g->fwd[g->nfwd], on_forward, sigs[g->nfwd]);
  }
  uv_signal_init(loop, &g->stopped);
  g->stopped.data = g;
  uv_signal_start(&g->stopped, on_stopped, SIGCHLD);
  uv_signal_init(loop, &g->suspend);
  g->suspend.data = g;
  if (!g->o->foreground && forwards(SIGTSTP))
    uv_signal_start(&g->suspend, on_suspend, SIGTSTP);
}

int wd__cli_exec(int argc, char **argv) {
  static wd_exec_opts o; /* the guard points to it */
  wd__cli_msg msg;
  int rc = wd__cli_exec_parse(argc, argv, &o, &msg);
  if (wd__cli_parse_ends(rc, "exec", wd__cli_exec_usage, &msg, &rc))
    return rc;
  if (o.version) {
    printf("warden %s\n", WD_VERSION);
    return 0;
  }
  /* Descendants that leave the group are re-parented here, to be found. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
    return wd__cli_fail("exec", "cannot become a subreaper: %s", strerror(errno));
  uv_loop_t *loop = uv_default_loop();
  static guard watch; /* its handles live as long as the loop may touch them */
  watch.o = &o;
  watch_signals(loop, &watch);
  if (start(&watch, &o) != WD__CLI_GO)
    return WD_EXIT_FAILURE;
  uv_poll_init(loop, &watch.exited, wd_tree_pidfd(watch.tree));
  watch.exited.data = &watch;
  uv_poll_start(&watch.exited, UV_READABLE, on_exit_);
  uv_timer_init(loop, &watch.deadline);
  watch.deadline.data = &watch;
  /* From now, not from the loop's cached clock, which was read before the
   * command (and its cgroup) were made: the deadline must not come early. */
  uv_update_time(loop);
  if (o.timeout_ms)
    uv_timer_start(&watch.deadline, on_deadline, o.timeout_ms, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  wd_tree_free(watch.tree, EXEC_CLEANUP_MS);
  return exit_status(&watch);
}
