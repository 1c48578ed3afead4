/* exec.c -- `warden exec`: one command with a deadline, a stricter
 * timeout(1).  The command runs in a pool worker that guards it, so the
 * deadline kills its whole tree, setsid() escapees included; warden exits
 * only once nothing the command started is alive. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

static wd_future *running;

static void forward(uv_signal_t *h, int sig) {
  (void)h;
  if (running)
    wd_future_kill(running, sig);
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

  uv_loop_t *loop = uv_default_loop();
  wd_register_builtins();
  wd_pool *pool;
  wd_pool_options po = {.workers = 1};
  int err = wd_pool_new(loop, &po, &pool);
  if (err)
    return wd_cli_fail("exec", "cannot start a worker: %s", wd_strerror(err));
  wd__buf req = {0};
  wd_cmd cmd = {0, 0, memory, (cpu + 999) / 1000, argv + optind};
  if (wd_cmd_encode(&req, &cmd))
    return wd_cli_fail("exec", "out of memory");
  wd_task_options to = {
      .timeout_ms = timeout ? timeout : WD_FOREVER,
      .grace_ms = sig && sig != SIGKILL ? (grace ? grace : 1) : WD_FOREVER,
      .signal = sig ? sig : SIGKILL};
  err = wd_submit(pool, "command", req.p, req.len, &to, &running);
  wd__buf_free(&req);
  if (err)
    return wd_cli_fail("exec", "%s", wd_strerror(err));

  static const int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  uv_signal_t sigs[4];
  for (int i = 0; i < 4; i++) {
    uv_signal_init(loop, &sigs[i]);
    uv_signal_start(&sigs[i], forward, fwd[i]);
    uv_unref((uv_handle_t *)&sigs[i]);
  }
  wd_await(running);
  const wd_result *r = wd_future_result(running);
  int status = WD_EXIT_FAILURE;
  wd_cmd_result cr;
  switch (r->status) {
  case WD_OK:
    status = wd_cmd_decode(r->data, r->len, &cr) == 0 ? wd_cli_status(&cr)
                                                      : WD_EXIT_FAILURE;
    break;
  case WD_TIMEOUT:
    status = WD_EXIT_TIMEOUT;
    break;
  case WD_CRASHED: /* the worker and its command died of a signal */
    status = 128 + r->signal;
    break;
  default:
    wd_cli_fail("exec", "%.*s", (int)r->len, (const char *)r->data);
  }
  wd_future_release(running);
  running = NULL;
  for (int i = 0; i < 4; i++)
    uv_close((uv_handle_t *)&sigs[i], NULL);
  wd_pool_destroy(pool);
  uv_run(loop, UV_RUN_NOWAIT);
  return status;
}
