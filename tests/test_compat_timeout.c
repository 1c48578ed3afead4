/* test_compat_timeout.c -- `warden exec` as a drop-in for timeout(1).
 *
 * Issue 15's promise: an invocation written for timeout(1) gives the same
 * exit status and the same output under `warden exec`, or warden refuses
 * it with a clear error (125) -- never a different result without a word.
 * So each test here runs the same arguments under the real timeout(1)
 * (GNU coreutils, installed beside) and under warden, and compares: exit
 * status, stdout, and for -v the message, with "timeout:" read as "warden
 * exec:".  Then what warden does on top (the setsid grandchild dies, which
 * timeout leaves running), and the terminal: --foreground under a pty
 * (script(1), from bsdutils, which every Debian has), and the message that
 * says why a command outside --foreground is stopped instead of a silent
 * hang.  Everything runs with LC_ALL=C, so timeout quotes with '. */
#include <signal.h>
#include <stdint.h>

#include "../cli/opts.h"
#include "../cli/parse.h"
#include "helpers.h"

#define W WD_BIN

/* What one run gave: its status and its stdout and stderr. */
typedef struct {
  int status;
  char out[4096], err[4096];
} outcome;

static char dir[] = "/tmp/wd-compat-XXXXXX";

static void make_dir(void) { ck_assert_ptr_nonnull(mkdtemp(dir)); }

static void remove_dir(void) {
  sh("rm -rf %s", dir);
  strcpy(dir, "/tmp/wd-compat-XXXXXX");
}

static void slurp(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
  buf[n] = '\0';
  if (f)
    fclose(f);
}

/* Runs a command line with bash, not sh (system()): dash empties the
 * signal mask, and the tests that block TERM need it passed on.  Its
 * status, as sh() gives it. */
static int bash(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bash(const char *fmt, ...) {
  char line[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY); /* bash's own "Killed" */
    dup2(null, 2);
    execl("/bin/bash", "bash", "-c", line, (char *)NULL);
    _exit(127);
  }
  int st;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs "TOOL ARGS", TOOL being timeout or warden exec. */
static void run_under(const char *tool, const char *args, outcome *r) {
  r->status = bash("LC_ALL=C %s %s > %s/out 2> %s/err", tool, args, dir, dir);
  char path[256];
  snprintf(path, sizeof(path), "%s/out", dir);
  slurp(path, r->out, sizeof(r->out));
  snprintf(path, sizeof(path), "%s/err", dir);
  slurp(path, r->err, sizeof(r->err));
}

/* The same arguments under both: the same status (expect), the same
 * stdout; the outcomes are left in t and w for more checks. */
static void same(const char *args, int expect, outcome *t, outcome *w) {
  run_under("timeout", args, t);
  run_under(W " exec", args, w);
  ck_assert_msg(t->status == expect, "timeout %s: %d, not %d (%s)", args, t->status, expect,
                t->err);
  ck_assert_msg(w->status == expect, "warden exec %s: %d, not %d (%s)", args, w->status,
                expect, w->err);
  ck_assert_msg(strcmp(t->out, w->out) == 0, "%s: stdout '%s' under timeout, '%s' under warden",
                args, t->out, w->out);
}

/* Each line of timeout's stderr, "timeout: X", is "warden exec: X" in w's. */
static void same_messages(const char *args, const outcome *t, const outcome *w) {
  char want[sizeof(t->err) + 256] = "";
  for (const char *l = t->err; *l;) {
    const char *eol = strchr(l, '\n');
    size_t n = eol ? (size_t)(eol - l + 1) : strlen(l);
    if (strncmp(l, "timeout: ", 9) == 0) {
      strcat(want, "warden exec: ");
      strncat(want, l + 9, n - 9);
    } else {
      strncat(want, l, n);
    }
    l += n;
  }
  ck_assert_msg(strcmp(want, w->err) == 0, "%s: stderr\n%s\nunder warden, not\n%s", args,
                w->err, want);
}

#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])) - 1)

/* The parser: timeout(1)'s DURATION grammar (strtod's numbers, one
 * suffix, inf), its form's defaults (TERM, no KILL), warden's form's
 * (KILL; with --signal, KILL 1 s later), and a first operand that is no
 * duration: refused when it starts like a number, else the command. */
START_TEST(parser_reads_both_forms) {
  static const struct {
    const char *s;
    uint64_t ms;
  } durations[] = {{"1.5", 1500}, {"2m", 120000}, {"1e3", 1000000}, {"0x10", 16000},
                   {" +5", 5000}, {"0.5d", 43200000}, {"inf", 0}, {"INFINITY", 0},
                   {"1e400", 0}, {"0", 0}, {"0.0004", 1}, {"250ms", 250}};
  for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
    uint64_t ms = 99;
    ck_assert_msg(wd__parse_timeout_duration(durations[i].s, &ms) == 0, "%s", durations[i].s);
    ck_assert_msg(ms == durations[i].ms, "%s: %llu ms", durations[i].s, (unsigned long long)ms);
  }
  static const char *const bad[] = {"nan", "", "1 ", "1S", "-1", "5x", "1ss"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uint64_t ms;
    ck_assert_msg(wd__parse_timeout_duration(bad[i], &ms) != 0, "'%s' accepted", bad[i]);
  }
  int sig;
  ck_assert(wd__parse_signal("rtmax-1", &sig) == 0 && sig == SIGRTMAX - 1);
  ck_assert(wd__parse_signal("SIGWINCH", &sig) == 0 && sig == SIGWINCH);
  ck_assert(wd__parse_signal("cld", &sig) == 0 && sig == SIGCHLD);
  wd_exec_opts o;
  wd__cli_msg m;
  char *tf[] = {"warden exec", "-v", "--preserve-status", "--foreground", "5", "sleep", "9",
                NULL};
  ck_assert_int_eq(wd__cli_exec_parse(ARGC(tf), tf, &o, &m), WD__CLI_GO);
  ck_assert(o.timeout_form && o.timeout_ms == 5000 && o.sig == SIGTERM && o.grace_ms == 0);
  ck_assert(o.verbose && o.preserve_status && o.foreground);
  ck_assert_str_eq(o.argv[0], "sleep");
  char *wf[] = {"warden exec", "-t", "5", "-s", "TERM", "--", "10", NULL};
  ck_assert_int_eq(wd__cli_exec_parse(ARGC(wf), wf, &o, &m), WD__CLI_GO);
  ck_assert(!o.timeout_form && o.sig == SIGTERM && o.grace_ms == 1000);
  ck_assert_str_eq(o.argv[0], "10"); /* with -t, no DURATION operand */
  char *cmd[] = {"warden exec", "info", "ls", NULL};
  ck_assert_int_eq(wd__cli_exec_parse(ARGC(cmd), cmd, &o, &m), WD__CLI_GO);
  ck_assert(!o.timeout_form && o.timeout_ms == 0 && o.sig == SIGKILL);
  static const char *const refused[] = {"10x", "nan", "", "1.5.2"};
  for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
    char *argv[] = {"warden exec", (char *)refused[i], "true", NULL};
    ck_assert_int_eq(wd__cli_exec_parse(ARGC(argv), argv, &o, &m), UV_EINVAL);
    ck_assert_msg(strstr(m.text, "invalid duration") != NULL, "%s: %s", refused[i], m.text);
  }
}
END_TEST

/* Blocks SIGTERM here, and so in the command: it ignores TERM from its
 * first instruction, whatever tool started it (both pass their mask on,
 * and so does bash, where dash empties it) -- a trap set by a shell could
 * come after the deadline on a loaded machine.  *old to restore. */
static void block_term(sigset_t *old) {
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, old);
}

/* Statuses as timeout(1) gives them: 124 at the deadline, 137 when the
 * command is killed by KILL then (-s KILL, or -k), the command's own with
 * --preserve-status, 126 and 127 for a command that cannot run, 125 for
 * a bad invocation; and what the command printed. */
START_TEST(statuses_match_timeout) {
  static const struct {
    const char *args;
    int status;
  } cases[] = {
      {"0.1 sleep 5", 124},
      {"-s KILL 0.1 sleep 5", 137},
      {"--signal=9 0.1 sleep 5", 137},
      {"--preserve-status 0.1 sleep 5", 143},
      {"--preserve-status -s KILL 0.1 sleep 5", 137},
      {"-s USR1 0.1 sleep 5", 124},
      {"-s sigint 0.1 sleep 5", 124},
      {"--preserve-status -s RTMIN+1 0.1 sleep 5", 128 + 35},
      {"1.5m sh -c 'echo out; exit 3'", 3},
      {"0.001d true", 0},
      {"inf sh -c 'echo inf'", 0},
      {"infinity true", 0},
      {"0 sh -c 'exit 9'", 9},
      {"1e400 true", 0},
      {"' 5' true", 0},
      {"+5 true", 0},
      {"0x10 true", 0},
      {"-- 5 echo dashes", 0},
      {"0.0004 sleep 10", 124},
      {"5 no-such-command-wd15", 127},
      {"5 /dev/null", 126},
      {"5 sh -c 'kill -TERM $$'", 143},
      {"10x true", 125},
      {"'' true", 125},
      {"1ms5 true", 125},
      {"nan true", 125},
      {"5", 125},
      {"--no-such-option 5 true", 125},
      {"-s NOSUCHSIG 5 true", 125},
      {"--foreground 0.1 sleep 5", 124},
      {"--foreground -s KILL 0.1 sleep 5", 137},
  };
  outcome t, w;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    same(cases[i].args, cases[i].status, &t, &w);
}
END_TEST

/* A command that handles or ignores TERM: its trap's output and status
 * with --preserve-status, 124 without; ignored, it runs on until -k's
 * KILL (137), or to its end without -k, or with -k 0 (124). */
START_TEST(term_handled_or_ignored) {
  outcome t, w;
  same("1 sh -c 'trap \"echo got TERM; exit 3\" TERM; echo ready; sleep 5 & wait'", 124, &t, &w);
  ck_assert_str_eq(w.out, "ready\ngot TERM\n");
  same("--preserve-status 1 sh -c 'trap \"echo got TERM; exit 3\" TERM; sleep 5 & wait'", 3,
       &t, &w);
  sigset_t old;
  block_term(&old);
  same("-k 0.1 0.1 sleep 5", 137, &t, &w);
  same("--kill-after=0.1 --preserve-status 0.1 sleep 5", 137, &t, &w);
  same("0.1 bash -c 'sleep 0.3; echo outlived'", 124, &t, &w);
  ck_assert_str_eq(w.out, "outlived\n");
  same("-k 0 0.1 bash -c 'sleep 0.3; echo outlived'", 124, &t, &w);
  ck_assert_str_eq(w.out, "outlived\n");
  same("-k inf 0.1 bash -c 'sleep 0.3; echo outlived'", 124, &t, &w);
  sigprocmask(SIG_SETMASK, &old, NULL);
}
END_TEST

/* -v: one line per signal sent, in timeout's words; and the words of a
 * command that cannot be run. */
START_TEST(verbose_and_errors_say_the_same) {
  outcome t, w;
  same("-v 0.1 sleep 5", 124, &t, &w);
  same_messages("-v", &t, &w);
  ck_assert_str_eq(w.err, "warden exec: sending signal TERM to command 'sleep'\n");
  static const char *const rt[] = {"-v -s RTMIN+2 0.1 sleep 5", "-v -s RTMAX-1 0.1 sleep 5",
                                   "-v -s RTMIN 0.1 sleep 5", "-v -s 50 0.1 sleep 5"};
  for (size_t i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
    same(rt[i], 124, &t, &w);
    same_messages(rt[i], &t, &w);
  }
  sigset_t old;
  block_term(&old);
  same("--verbose -k 0.1 0.1 sleep 5", 137, &t, &w);
  sigprocmask(SIG_SETMASK, &old, NULL);
  same_messages("-v -k", &t, &w);
  same("5 no-such-command-wd15", 127, &t, &w);
  same_messages("not found", &t, &w);
}
END_TEST

/* warden's own form keeps its stricter rules: KILL at the deadline and
 * 124 whatever killed the command; with --signal, KILL a second later
 * (the command ignores TERM: block_term). */
START_TEST(warden_form_stays_strict) {
  ck_assert_int_eq(sh("%s exec -t 0.1 -- sleep 5", W), 124);
  ck_assert_int_eq(sh("%s exec -t 0.0004 -- sleep 5", W), 124);
  ck_assert_int_eq(sh("%s exec -t 0.1 -s KILL -- sleep 5", W), 124);
  ck_assert_int_eq(sh("%s exec -t inf -- true", W), 0);
  sigset_t old;
  block_term(&old);
  ck_assert_int_eq(bash("%s exec -t 0.1 -s TERM -- sleep 30", W), 124);
  ck_assert_int_eq(bash("%s exec --preserve-status -t 0.1 -s TERM -k 0.1 -- sleep 30", W), 137);
  sigprocmask(SIG_SETMASK, &old, NULL);
  /* Without -t, a first operand that is no duration is the command. */
  ck_assert_int_eq(sh("%s exec -- sh -c 'exit 4'", W), 4);
  ck_assert_int_eq(sh("%s exec --version | grep -q '^warden '", W), 0);
}
END_TEST

/* A command killed by a signal kills warden with it, as timeout(1) dies
 * of it: a shell that waits sees a signal, not an exit code (bash ends a
 * loop on a child's SIGINT, not on an exit 130). */
START_TEST(signal_death_passes_through) {
  const char *tools[] = {"timeout", W};
  for (int i = 0; i < 2; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      if (i == 0)
        execlp("timeout", "timeout", "5", "sh", "-c", "kill -INT $$", (char *)NULL);
      else
        execl(W, W, "exec", "5", "sh", "-c", "kill -INT $$", (char *)NULL);
      _exit(99);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT, "%s: status %#x", tools[i], st);
  }
}
END_TEST

/* Reads the pid in file path (written by the command). */
static pid_t pid_in(const char *path) {
  FILE *f = fopen(path, "r");
  int pid = 0;
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fscanf(f, "%d", &pid), 1);
  fclose(f);
  return (pid_t)pid;
}

/* warden's extra: a grandchild in a session of its own is killed when
 * the command ends.  timeout(1) leaves it running (killed here). */
START_TEST(setsid_grandchild_dies) {
  const char *cmd = "5 sh -c 'setsid sleep 31.4159 & echo $! > %s/pid'";
  char args[256];
  snprintf(args, sizeof(args), cmd, dir);
  outcome t, w;
  run_under("timeout", args, &t);
  ck_assert_int_eq(t.status, 0);
  char path[128];
  snprintf(path, sizeof(path), "%s/pid", dir);
  pid_t left = pid_in(path);
  ck_assert_msg(!pid_dead(left), "timeout(1) did not leave %d running", left);
  kill(left, SIGKILL);
  run_under(W " exec", args, &w);
  ck_assert_int_eq(w.status, 0);
  pid_t gone = pid_in(path);
  ck_assert_msg(pid_dead(gone), "warden exec left %d running", gone);
}
END_TEST

/* Runs line under `bash -i` on a fresh pseudo-terminal (script(1)), with
 * input typed ahead; bounded by an outer timeout.  Its transcript in r. */
static void on_terminal(const char *line, const char *input, outcome *r) {
  char script[512];
  snprintf(script, sizeof(script), "%s/line", dir);
  FILE *f = fopen(script, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "%s\necho rc=$?\n", line);
  fclose(f);
  r->status = sh("printf '%s' | LC_ALL=C timeout 60 script -qec 'bash --norc -i %s' /dev/null"
                 " > %s/out 2>&1",
                 input, script, dir);
  char path[256];
  snprintf(path, sizeof(path), "%s/out", dir);
  slurp(path, r->out, sizeof(r->out));
}

/* --foreground: the command reads the terminal, as under timeout
 * --foreground; and whatever it started still dies with it. */
START_TEST(foreground_reads_the_terminal) {
  outcome r;
  on_terminal("timeout --foreground 5 sh -c 'read x; echo got $x'", "typed\\n", &r);
  ck_assert_msg(strstr(r.out, "got typed") && strstr(r.out, "rc=0"), "timeout: %s", r.out);
  on_terminal(W " exec --foreground 5 sh -c 'read x; echo got $x'", "typed\\n", &r);
  ck_assert_msg(strstr(r.out, "got typed") && strstr(r.out, "rc=0"), "warden: %s", r.out);
  char line[512];
  snprintf(line, sizeof(line),
           W " exec --foreground 5 sh -c 'read x; setsid sleep 31.4159 & echo $! > %s/pid'",
           dir);
  on_terminal(line, "typed\\n", &r);
  ck_assert_msg(strstr(r.out, "rc=0"), "warden: %s", r.out);
  char path[128];
  snprintf(path, sizeof(path), "%s/pid", dir);
  pid_t pid = pid_in(path);
  ck_assert_msg(pid_dead(pid), "--foreground left %d running", pid);
}
END_TEST

/* Without --foreground, the command is not in the terminal's foreground
 * group: a read stops it (SIGTTIN).  timeout(1) in a pipeline waits in
 * silence for its deadline; warden says why at once, and what to do. */
START_TEST(stopped_on_the_terminal_is_said) {
  static const char says[] = "warden exec: 'sh' is stopped (SIGTTIN): it read the terminal "
                             "outside the foreground process group; use --foreground";
  outcome r;
  on_terminal("{ timeout 1 sh -c 'read x; echo got $x'; echo rc=$?; } | cat", "typed\\n", &r);
  ck_assert_msg(strstr(r.out, "rc=124") && !strstr(r.out, "got"), "timeout: %s", r.out);
  on_terminal("{ " W " exec 1 sh -c 'read x; echo got $x'; echo rc=$?; } | cat", "typed\\n",
              &r);
  ck_assert_msg(strstr(r.out, "rc=124") && strstr(r.out, says), "warden: %s", r.out);
  on_terminal(W " exec 1 sh -c 'read x; echo got $x'", "typed\\n", &r);
  ck_assert_msg(strstr(r.out, "rc=124") && strstr(r.out, says), "warden: %s", r.out);
}
END_TEST

/* Waits (bounded) until pid's state is or is not 'T'; 1 if it came. */
static int stopped_within(pid_t pid, int want, int ms) {
  for (int i = 0; i < ms; i++) {
    if ((state_of(pid) == 'T') == want)
      return 1;
    usleep(1000);
  }
  return 0;
}

/* Ctrl-Z (SIGTSTP to warden): outside --foreground the command is in a
 * group of its own, which a terminal's Ctrl-Z does not reach, so warden
 * stops it with itself -- as under timeout(1) at a prompt, where the two
 * share a group -- and continues it when it is continued itself. */
START_TEST(suspend_stops_the_command_too) {
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
  pid_t w = fork();
  if (w == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    execl(W, W, "exec", "60", "sh", "-c", "echo $$; exec sleep 27.1828", (char *)NULL);
    _exit(99);
  }
  close(p[1]);
  char said[32] = {0};
  ck_assert_int_gt(read(p[0], said, sizeof(said) - 1), 0);
  close(p[0]);
  pid_t cmd = (pid_t)atoi(said);
  kill(w, SIGTSTP);
  int st;
  ck_assert_int_eq(waitpid(w, &st, WUNTRACED), w);
  ck_assert(WIFSTOPPED(st));
  ck_assert_msg(stopped_within(cmd, 1, 5000), "the command runs on: %c", state_of(cmd));
  kill(w, SIGCONT);
  ck_assert_msg(stopped_within(cmd, 0, 5000), "the command stays stopped");
  kill(w, SIGTERM); /* forwarded: the command dies of it, and warden too */
  ck_assert_int_eq(waitpid(w, &st, 0), w);
  ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
}
END_TEST

int main(void) {
  Suite *s = suite_create("compat_timeout");
  TCase *tc = wd_test_case(s, "timeout", 240, make_dir, remove_dir);
  tcase_add_test(tc, parser_reads_both_forms);
  tcase_add_test(tc, statuses_match_timeout);
  tcase_add_test(tc, term_handled_or_ignored);
  tcase_add_test(tc, verbose_and_errors_say_the_same);
  tcase_add_test(tc, warden_form_stays_strict);
  tcase_add_test(tc, signal_death_passes_through);
  tcase_add_test(tc, setsid_grandchild_dies);
  tc = wd_test_case(s, "terminal", 120, make_dir, remove_dir);
  tcase_add_test(tc, foreground_reads_the_terminal);
  tcase_add_test(tc, stopped_on_the_terminal_is_said);
  tcase_add_test(tc, suspend_stops_the_command_too);
  return run_suite(s);
}
