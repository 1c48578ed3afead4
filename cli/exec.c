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
 * under timeout(1) costs. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "cli.h"

/* How long the end waits for the command's cgroup to empty. */
#define EXEC_CLEANUP_MS 5000

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NFWD (sizeof(forwarded) / sizeof(forwarded[0]))

typedef struct {
  wd_tree *tree;  /* NULL until the command has started */
  int sig;        /* sent at the deadline */
  uint64_t grace; /* ms between sig and SIGKILL (unused if sig is KILL) */
  int timed_out;
  int exit_code, signal; /* how it ended */
  uv_poll_t exited;
  uv_timer_t deadline;
  uv_signal_t fwd[NFWD];
} guard;

static void on_forward(uv_signal_t *h, int sig) {
  guard *g = h->data;
  if (g->tree)
    wd_tree_kill(g->tree, sig);
}

static void on_deadline(uv_timer_t *t) {
  guard *g = t->data;
  if (!g->timed_out) {
    g->timed_out = 1;
    wd_tree_kill(g->tree, g->sig);
    if (g->sig != SIGKILL)
      uv_timer_start(t, on_deadline, g->grace, 0);
  } else {
    wd_tree_kill(g->tree, SIGKILL); /* the grace is over */
  }
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
  for (size_t i = 0; i < NFWD; i++)
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
                        .sweep_children = 1};
  int err = wd_tree_start(&to, &g->tree, &exec_errno);
  if (err)
    return wd__cli_fail("exec", "cannot start %s: %s", o->argv[0], strerror(-err));
  if (exec_errno)
    fprintf(stderr, "warden: %s: %s\n", o->argv[0], strerror(exec_errno));
  return WD__CLI_GO;
}

int wd__cli_exec(int argc, char **argv) {
  wd_exec_opts o;
  wd__cli_msg msg;
  int rc = wd__cli_exec_parse(argc, argv, &o, &msg);
  if (wd__cli_parse_ends(rc, "exec", wd__cli_exec_usage, &msg, &rc))
    return rc;
  /* Descendants that leave the group are re-parented here, to be found. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
    return wd__cli_fail("exec", "cannot become a subreaper: %s", strerror(errno));
  uv_loop_t *loop = uv_default_loop();
  static guard watch; /* its handles live as long as the loop may touch them */
  watch.sig = o.sig ? o.sig : SIGKILL;
  watch.grace = o.grace_ms ? o.grace_ms : 1; /* --kill-after=0: KILL on the next turn */
  /* The forwarding handlers are in place before the command starts, so a
   * Ctrl-C in between reaches it instead of killing warden alone. */
  for (size_t i = 0; i < NFWD; i++) {
    uv_signal_init(loop, &watch.fwd[i]);
    watch.fwd[i].data = &watch;
    uv_signal_start(&watch.fwd[i], on_forward, forwarded[i]);
  }
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
  if (watch.timed_out)
    return WD_EXIT_TIMEOUT;
  wd_cmd_result r = {.exit_code = watch.exit_code, .signal = watch.signal};
  return wd__cli_status(&r);
}
