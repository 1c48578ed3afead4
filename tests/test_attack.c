/* test_attack.c -- the promise against a hostile command (issue 13):
 *
 * - a command that moves a child into another group of the session (an
 *   innocent root-owned process's, or warden's own) never gets that group
 *   killed, with cgroups and with process groups (WARDEN_CGROUP=0);
 * - a command that kills the zygote, or a zygote killed from outside, leaves
 *   nothing running: every tree dies before warden reports;
 * - a fork-runner that keeps changing pid and session, and a fork bomb under
 *   a process cap, die at the deadline, whole;
 * - one task's 2,000-process tree being killed does not hold back another
 *   task's deadline;
 * - what a command printed before its deadline is in its row, and a command
 *   that handles the first signal within the grace answers with its output.
 *
 * This process is a child subreaper: whatever warden leaves behind is
 * re-parented here, and must not be. */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>

#include "helpers.h"
#include "images.h" /* read_file */

static char dir[64];
static uint64_t t_start;

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void setup(void) {
  strcpy(dir, "/tmp/wd-attack-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  t_start = now_ms();
}

static void teardown(void) {
  sh("rm -rf %s", dir);
  if (getenv("WD_TEST_TIMES"))
    fprintf(stderr, "test took %llu ms\n", (unsigned long long)(now_ms() - t_start));
}

/* Whether a process whose command line holds mark is alive (not a zombie).
 * Written "[x]yz" so that the pgrep's own shell does not match.  Marks are
 * odd numbers (sleep 42.0731): a plain "sleep 42" also matches someone's
 * "sleep 420" (it did, in a CI run beside an interactive shell). */
static int alive(const char *mark) {
  return sh("pgrep -r R,S,D,T -f '[%c]%s' >/dev/null", mark[0], mark + 1) == 0;
}

static int alive_within_gone(const char *mark, int ms) {
  for (int i = 0; i < ms / 10; i++) {
    if (!alive(mark))
      return 1;
    usleep(10000);
  }
  if (!alive(mark))
    return 1;
  /* Say what is left, and where it lives, before the test fails. */
  sh("for p in $(pgrep -r R,S,D,T -f '[%c]%s'); do ps -o pid,ppid,pgid,stat,etime,args -p $p; "
     "grep '^0::' /proc/$p/cgroup; done >&2", mark[0], mark + 1);
  return 0;
}


/* Whether this machine gives the pool cgroups (root, a v2 mount). */
static int have_cgroups(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  wd_pool_options o = {.workers = 1};
  wd_pool *p;
  ck_assert_int_eq(wd_pool_new(&loop, &o, &p), 0);
  int yes = strcmp(wd_pool_containment(p), "cgroup") == 0;
  wd_pool_destroy(p);
  uv_loop_close(&loop);
  return yes;
}

/* An innocent bystander: a process of this session leading its own group,
 * as a background job of the user's shell would. */
static pid_t innocent(void) {
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test leaves nothing */
    for (;;)
      pause();
  }
  setpgid(pid, pid);
  return pid;
}

/* A command under the deadline whose child joins group g, running as
 * nobody (which could not signal the root-owned bystander itself). */
static void join_group_under_deadline(pid_t g, const char *env) {
  int st = sh("%s %s run --timeout 1s -- sh -c 'setpriv --reuid=65534 --regid=65534 "
              "--clear-groups perl -MPOSIX -e \"POSIX::setpgid(0, %d) or die; "
              "sleep 41.0731\" & sleep 42.0731' ::: x >/dev/null 2>&1",
              env, WD_BIN, (int)g);
  ck_assert_int_eq(st, 1); /* one row, a timeout */
}

START_TEST(innocent_group_untouched) {
  const char *modes[] = {"", "WARDEN_CGROUP=0"};
  for (int m = 0; m < 2; m++) {
    pid_t g = innocent();
    join_group_under_deadline(g, modes[m]);
    ck_assert_msg(!pid_dead(g), "%s: warden killed a group it did not make",
                  m ? "process groups" : "cgroups");
    ck_assert_msg(alive_within_gone("sleep 41.0731", 5000), "%s: sleep 41 lives",
                  m ? "process groups" : "cgroups");
    ck_assert_msg(alive_within_gone("sleep 42.0731", 5000), "%s: sleep 42 lives",
                  m ? "process groups" : "cgroups");
    kill(g, SIGKILL);
    ck_assert_int_eq(waitpid(g, NULL, 0), g);
  }
}
END_TEST

/* warden's own group: the command's child joins it; warden and the `cat`
 * beside it in the pipeline must live, and the row must be printed. */
START_TEST(warden_own_group_untouched) {
  const char *modes[] = {"", "WARDEN_CGROUP=0"};
  for (int m = 0; m < 2; m++) {
    int st = sh("setsid sh -c '{ %s %s run --timeout 1s --json -- sh -c "
                "\"perl -MPOSIX -e \\\"POSIX::setpgid(0, $ARGV[0]) or die; "
                "sleep 43.0731\\\" \\$(ps -o pgid= -p $$) & sleep 44.0731\" ::: x; "
                "echo $? >%s/status; } | cat >%s/out'",
                modes[m], WD_BIN, dir, dir);
    ck_assert_int_eq(st, 0);
    char p[128];
    size_t n;
    snprintf(p, sizeof(p), "%s/out", dir);
    char *out = read_file(p, &n);
    ck_assert_msg(out && strstr(out, "\"status\":\"timeout\""), "%s: no row: %s",
                  m ? "process groups" : "cgroups", out ? out : "(none)");
    free(out);
    snprintf(p, sizeof(p), "%s/status", dir);
    char *s = read_file(p, &n);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(atoi(s), 1);
    free(s);
    ck_assert(alive_within_gone("sleep 43.0731", 5000));
    ck_assert(alive_within_gone("sleep 44.0731", 5000));
  }
}
END_TEST

/* kill -9 of the zygote, from outside and by a command of its own: every
 * tree (setsid escapees too) is dead when warden reports. */
START_TEST(zygote_killed_nothing_survives) {
  if (!have_cgroups())
    return; /* without cgroups the orphans' trees are init's (README) */
  char pidfile[128];
  snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
  pid_t w = fork();
  ck_assert_int_ge(w, 0);
  if (w == 0) {
    execl(WD_BIN, WD_BIN, "run", "-j3", "--timeout=60s", "--", "sh", "-c",
          "sleep 45.{} & setsid sleep 46.{} & sleep 47.{}", ":::", "1", "2",
          "3", (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 1000 && sh("test $(pgrep -f '[s]leep 4[567]\\.' | wc -l) -ge 9") != 0; i++)
    usleep(10000);
  ck_assert_int_eq(sh("test $(pgrep -f '[s]leep 4[567]\\.' | wc -l) -ge 9"), 0);
  /* The zygote is warden's only child. */
  ck_assert_int_eq(sh("kill -9 $(pgrep -P %d)", (int)w), 0);
  int status;
  ck_assert_int_eq(waitpid(w, &status, 0), w);
  ck_assert(WIFEXITED(status));
  ck_assert_msg(!alive("sleep 45.") && !alive("sleep 46.") && !alive("sleep 47."),
                "a tree outlived its zygote");

  /* A command that kills the zygote itself (its worker's parent). */
  int st = sh("%s run -j2 --timeout 60s -- sh -c 'setsid sleep 48.{} & sleep 49.{} & "
              "test {} = 2 && kill -9 $(ps -o ppid= -p $PPID); wait' ::: 1 2 "
              ">/dev/null 2>&1", WD_BIN);
  ck_assert_int_ne(st, 0);
  ck_assert_msg(!alive("sleep 48.") && !alive("sleep 49."),
                "a tree outlived the zygote its command killed");
  while (waitpid(-1, NULL, WNOHANG) > 0) /* init's job, given to us */
    ;
}
END_TEST

/* A process that forks and exits over and over, each child in a new
 * session: no pid to hold on to.  And a fork bomb as nobody, up against a
 * pids cap (below).  Both die at the deadline, whole, in both
 * containments. */
START_TEST(fork_runner_and_bomb_die) {
  char pids_cap[128] = "";
  snprintf(pids_cap, sizeof(pids_cap), "/sys/fs/cgroup/pids/warden-test-%d", (int)getpid());
  if (mkdir(pids_cap, 0755) != 0 || sh("echo 300 > %s/pids.max", pids_cap) != 0) {
    rmdir(pids_cap);
    pids_cap[0] = '\0';
  }
  const char *modes[] = {"", "WARDEN_CGROUP=0"};
  for (int m = 0; m < 2; m++) {
    int st = sh("%s %s run --timeout 1s -- sh -c 'perl -MPOSIX -e \"\\$0 = q(runner-5151); "
                "while (1) { exit if fork; POSIX::setsid(); }\" & sleep 30.0731' ::: x "
                ">/dev/null 2>&1", modes[m], WD_BIN);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(alive_within_gone("runner-5151", 1000), "%s: the runner lives on",
                  m ? "process groups" : "cgroups");
    /* A fork bomb that runs into a pids cap (300; left alone it would make
     * 2^12): the v1 pids controller of this hybrid layout, which the command
     * joins first (RLIMIT_NPROC is no cap: root and setpriv keep the
     * capabilities that bypass it).  Without that controller, 2^10. */
    if (pids_cap[0])
      st = sh("%s %s run --timeout 2s -- sh -c 'echo $$ > %s/cgroup.procs && exec setpriv "
              "--reuid=65534 --regid=65534 --clear-groups perl -e \"\\$0 = q(bomb-5252); "
              "for (1..12) { fork; select(undef, undef, undef, 0.001) } sleep 100\"' ::: x "
              ">/dev/null 2>&1", modes[m], WD_BIN, pids_cap);
    else
      st = sh("%s %s run --timeout 2s -- setpriv --reuid=65534 --regid=65534 --clear-groups "
              "perl -e '$0 = q(bomb-5252); for (1..10) { fork } sleep 100' ::: x "
              ">/dev/null 2>&1", modes[m], WD_BIN);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(alive_within_gone("bomb-5252", 1000), "%s: the bomb lives on",
                  m ? "process groups" : "cgroups");
  }
  if (pids_cap[0])
    ck_assert_int_eq(rmdir(pids_cap), 0); /* empty: nothing of the bomb left */
}
END_TEST

/* ---- a big tree beside another task's deadline ------------------------ */

static wd_future *command(wd_pool *p, const char *script, uint64_t timeout_ms) {
  char *argv[] = {"sh", "-c", (char *)script, NULL};
  wd_cmd c = {.flags = WD_CMD_CAPTURE | WD_CMD_NULL_STDIN, .max_output = 1 << 20, .argv = argv};
  wd_out b = {0};
  ck_assert_int_eq(wd_cmd_encode(&b, &c), 0);
  wd_task_options o = {.timeout_ms = timeout_ms};
  wd_future *f;
  ck_assert_int_eq(wd_submit(p, "command", b.p, b.len, &o, &f), 0);
  wd_out_free(&b);
  return f;
}

/* Task A makes 2,000 processes sharing one group (not its own: the case
 * that cost a group kill per member) and is killed at 3 s; task B's
 * deadline comes 300 ms later, while A's tree is being torn down.  B must
 * end near its own deadline, not after A's cleanup. */
START_TEST(big_tree_does_not_delay_another_deadline) {
  uv_loop_t loop;
  uv_loop_init(&loop); /* the first one opens libuv's global signal pipe */
  int fds = count_fds();
  wd_register_builtins();
  wd_pool_options o = {.workers = 2};
  wd_pool *p;
  ck_assert_int_eq(wd_pool_new(&loop, &o, &p), 0);
  wd_future *f[2];
  f[0] = command(p, "perl -MPOSIX -e 'if (fork) { sleep 100 } POSIX::setpgid(0, 0); "
                    "for (1..2000) { fork or do { $0 = q(tree-5353); sleep 100; exit } } "
                    "$| = 1; print qq(up\\n); sleep 100'", 3000);
  f[1] = command(p, "echo started; exec sleep 100", 3300);
  wd_await_all(f, 2);
  const wd_result *a = wd_future_result(f[0]), *b = wd_future_result(f[1]);
  ck_assert_int_eq(a->status, WD_TIMEOUT);
  ck_assert_int_eq(b->status, WD_TIMEOUT);
  double over = (double)b->duration_ns / 1e6 - 3300;
  printf("%s: deadline overshoot beside a 2,000-process kill: %.1f ms\n",
         wd_pool_containment(p), over);
  fflush(stdout);
  ck_assert_msg(over < 1000, "B ended %.0f ms past its deadline", over);
  /* B's output before its deadline is in its result. */
  wd_cmd_result r;
  ck_assert_int_eq(wd_cmd_decode(b->data, b->len, &r), 0);
  ck_assert_int_eq(r.signal, SIGKILL);
  ck_assert_int_eq((int)r.out_len, 8);
  ck_assert_int_eq(memcmp(r.out, "started\n", 8), 0);
  ck_assert_int_eq(wd_cmd_decode(a->data, a->len, &r), 0);
  ck_assert_int_eq((int)r.out_len, 3); /* "up": the tree was whole */
  ck_assert(!alive("tree-5353"));
  wd_future_release(f[0]);
  wd_future_release(f[1]);
  ck_assert_int_eq(wd_pool_destroy(p), 0);
  ck_assert_int_eq(count_fds(), fds);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* ---- output before the deadline ------------------------------------ */

START_TEST(timed_out_output_is_kept) {
  char cmd[512];
  snprintf(cmd, sizeof(cmd),
           "%s run --timeout 1s --json -- sh -c 'echo before; sleep 10' ::: x", WD_BIN);
  size_t n;
  char *out = NULL;
  FILE *f = popen(cmd, "r");
  ck_assert_ptr_nonnull(f);
  char buf[4096];
  n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  ck_assert_int_eq(WEXITSTATUS(pclose(f)), 1);
  ck_assert_msg(strstr(buf, "\"status\":\"timeout\"") &&
                    strstr(buf, "\"stdout\":\"before\\n\""),
                "%s", buf);
  /* The first signal of a grace, handled: the command prints and exits 0
   * inside the grace, and its row says so (not SIGKILL, not empty). */
  uint64_t t0 = now_ms();
  snprintf(cmd, sizeof(cmd),
           "%s run --timeout 1s --signal TERM --kill-after 20s --json -- sh -c "
           "'trap \"echo got term; exit 0\" TERM; echo start; sleep 30.0732 & wait' ::: x",
           WD_BIN);
  f = popen(cmd, "r");
  ck_assert_ptr_nonnull(f);
  n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  ck_assert_int_eq(WEXITSTATUS(pclose(f)), 1);
  ck_assert_msg(strstr(buf, "\"status\":\"timeout\"") &&
                    strstr(buf, "\"exit_code\":0") &&
                    strstr(buf, "\"stdout\":\"start\\ngot term\\n\""),
                "%s", buf);
  ck_assert_uint_lt(now_ms() - t0, 15000); /* not the 20 s grace */
  free(out);
  ck_assert(alive_within_gone("sleep 30.0732", 2000));
}
END_TEST

/* A stopped command cannot act on the first signal until SIGCONT. */
START_TEST(stopped_command_gets_cont) {
  uint64_t t0 = now_ms();
  int st = sh("%s exec -t 500ms -s TERM -k 20s -- sh -c 'kill -STOP $$; sleep 10'",
              WD_BIN);
  ck_assert_int_eq(st, 124);
  ck_assert_uint_lt(now_ms() - t0, 15000); /* TERM acted: not the grace */
  uint64_t t1 = now_ms();
  st = sh("%s run --timeout 500ms --signal TERM --kill-after 20s -- sh -c 'kill -STOP $$; sleep 10' "
          "::: x >/dev/null 2>&1", WD_BIN);
  ck_assert_int_eq(st, 1);
  ck_assert_uint_lt(now_ms() - t1, 15000);
}
END_TEST

/* SIGSTOP cannot be blocked: a command can stop the zygote (its worker's
 * parent), or the spare.  A stopped zygote reports nothing; the pool's
 * watchdog kills it after 10 s, every tree dies with its cgroup and warden
 * reports.  A stopped spare must not keep warden from exiting.  And a
 * command that SIGKILLs `warden exec` dies with it. */
START_TEST(stopped_zygote_and_spare) {
  uint64_t t0 = now_ms();
  int st = sh("%s run --timeout 1s -- sh -c 'kill -STOP $(ps -o ppid= -p $PPID); "
              "exec sleep 4720.1' ::: x >/dev/null 2>&1", WD_BIN);
  ck_assert_int_eq(st, 1); /* one row: timeout */
  ck_assert_uint_lt(now_ms() - t0, 60000);
  ck_assert(alive_within_gone("sleep 4720.1", 2000));
  t0 = now_ms();
  st = sh("%s run --timeout 5s -- sh -c 'Z=$(ps -o ppid= -p $PPID); "
          "S=$(ps -o ppid= -p $Z); kill -STOP $(pgrep -P $S | grep -vx $Z)' ::: x",
          WD_BIN);
  ck_assert_int_eq(st, 0);
  ck_assert_uint_lt(now_ms() - t0, 4000); /* at once, not at a watchdog */
  st = sh("%s exec -t 5s -- sh -c 'kill -9 $PPID; exec sleep 4720.2'", WD_BIN);
  ck_assert_int_eq(st, 128 + SIGKILL);
  ck_assert(alive_within_gone("sleep 4720.2", 2000));
  while (count_children() > 0 && waitpid(-1, NULL, 0) > 0)
    ; /* the orphans of a SIGKILLed warden came to us */
}
END_TEST

/* ---- the zygote replaced while the loop's threads work --------------- */

/* Threadpool work that holds malloc's and stdio's locks as often as it can:
 * a fork taken while another thread holds one would hang the new zygote. */
static volatile int churning;

static void churn(uv_work_t *w) {
  (void)w;
  while (churning) {
    void *p[64];
    for (int i = 0; i < 64; i++)
      p[i] = malloc((size_t)(i * 97 + 16));
    char buf[64];
    snprintf(buf, sizeof(buf), "%d %f", churning, 3.14);
    FILE *f = fopen("/dev/null", "w");
    if (f) {
      fputs(buf, f);
      fclose(f);
    }
    for (int i = 0; i < 64; i++)
      free(p[i]);
  }
}

static void churned(uv_work_t *w, int status) { (void)w, (void)status; }

/* A zygote killed while four threadpool threads allocate and use stdio is
 * replaced by its spare, twenty times over, and each new one runs tasks:
 * nothing is forked from the running loop, where a child could inherit a
 * lock another thread holds (worker/zygote.c). */
START_TEST(zygote_refork_while_threadpool_busy) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int fds = count_fds();
  wd_register_builtins();
  wd_pool_options o = {.workers = 1};
  wd_pool *p;
  ck_assert_int_eq(wd_pool_new(&loop, &o, &p), 0);
  uv_work_t work[4];
  churning = 1;
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(uv_queue_work(&loop, &work[i], churn, churned), 0);
  pid_t killed = 0;
  for (int round = 0; round <= 20; round++) {
    /* A task or two may still meet the old zygote's dying worker before
     * the pool sees the zygote go: those are "crashed"; then one must run
     * on a worker of a new zygote. */
    pid_t zygote = 0;
    uint64_t until = now_ms() + 20000;
    while (zygote <= 1 && now_ms() < until) {
      wd_future *f;
      ck_assert_int_eq(wd_submit(p, "echo", "hi", 2, NULL, &f), 0);
      wd_await(f);
      const wd_result *r = wd_future_result(f);
      ck_assert_msg(r->status == WD_OK || r->status == WD_CRASHED, "round %d: %s",
                    round, wd_status_name(r->status));
      pid_t z = r->status == WD_OK ? ppid_of(r->pid) : 0;
      if (z > 1 && z != killed)
        zygote = z;
      wd_future_release(f);
    }
    ck_assert_msg(zygote > 1, "round %d: no new zygote", round);
    if (round == 20)
      break; /* the twentieth replacement ran a task: done */
    ck_assert_int_eq(kill(zygote, SIGKILL), 0);
    /* Dead (a zombie: the pool reaps it) before the next round: on a
     * loaded machine a killed process may wait a while for a CPU. */
    ck_assert(pid_dead_within(zygote, 20000));
    killed = zygote;
  }
  churning = 0;
  uv_run(&loop, UV_RUN_DEFAULT); /* the work items end */
  ck_assert_int_eq(wd_pool_destroy(p), 0);
  /* Workers of the killed zygotes died of PDEATHSIG and came to us, the
   * nearest subreaper: init's job, given to us. */
  while (count_children() > 0 && waitpid(-1, NULL, 0) > 0)
    ;
  ck_assert_int_eq(count_fds(), fds);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("attack");
  TCase *tc = wd_test_case(s, "groups", 120, setup, teardown);
  tcase_add_test(tc, innocent_group_untouched);
  tcase_add_test(tc, warden_own_group_untouched);
  tc = wd_test_case(s, "zygote", 120, setup, teardown);
  tcase_add_test(tc, zygote_killed_nothing_survives);
  tcase_add_test(tc, stopped_zygote_and_spare);
  tcase_add_test(tc, zygote_refork_while_threadpool_busy);
  tc = wd_test_case(s, "trees", 120, setup, teardown);
  tcase_add_test(tc, fork_runner_and_bomb_die);
  tcase_add_test(tc, big_tree_does_not_delay_another_deadline);
  tc = wd_test_case(s, "deadline", 120, setup, teardown);
  tcase_add_test(tc, timed_out_output_is_kept);
  tcase_add_test(tc, stopped_command_gets_cont);
  return run_suite(s);
}
