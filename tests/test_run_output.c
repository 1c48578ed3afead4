/* test_run_output.c -- what becomes of the output of `warden run`'s
 * commands (issue 15, part C): never cut by default and never held whole
 * in memory (the spool), a failed write to stdout or stderr that fails the
 * run (125) instead of losing output silently, -u, --results' tree and
 * --pipe's blocks against GNU parallel's, a command killed by a signal
 * said, --max-output's cut at a line end.  Drives the warden binary. */
#include <sys/resource.h>
#include <sys/stat.h>

#include "helpers.h"

static const char *W = WD_BIN;

/* Whether GNU parallel is here to compare with; a test without it says so
 * and checks warden alone. */
static int have_parallel(void) {
  static int have = -1;
  if (have < 0)
    have = sh("parallel --will-cite --version >/dev/null 2>&1") == 0;
  if (!have)
    fprintf(stderr, "GNU parallel is not installed: comparing with it is skipped\n");
  return have;
}

/* Runs cmd under sh; its exit status and the largest RSS (KiB) of it
 * and of every process it waited for: warden, its zygote and workers. */
static int run_rss(const char *cmd, long *maxrss_kb) {
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  int st;
  struct rusage ru;
  ck_assert_int_eq(wait4(pid, &st, 0, &ru), pid);
  *maxrss_kb = ru.ru_maxrss;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The contents of a file (malloc'd, NUL-terminated); "" if none. */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  char *s = calloc(1, 1 << 16);
  if (f) {
    size_t n = fread(s, 1, (1 << 16) - 1, f);
    s[n] = '\0';
    fclose(f);
  }
  return s;
}

static int contains(const char *path, const char *what) {
  char *s = slurp(path);
  int yes = strstr(s, what) != NULL;
  free(s);
  return yes;
}

/* ---- the spool ------------------------------------------------------- */

/* 100 MB from one command: printed whole, the same bytes, under 32 MiB of
 * RSS for warden and its workers (it was cut at 16 MB, and 35 MB RSS). */
START_TEST(big_output_whole_and_small) {
  const char *gen = "yes 0123456789abcdef | head -c 100000000";
  long kb;
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "%s run -- sh -c '%s' ::: x | md5sum > /tmp/wd-c-sum1", W, gen);
  ck_assert_int_eq(run_rss(cmd, &kb), 0);
  ck_assert_int_eq(sh("%s | md5sum > /tmp/wd-c-sum2", gen), 0);
  ck_assert_int_eq(sh("cmp -s /tmp/wd-c-sum1 /tmp/wd-c-sum2"), 0);
  printf("100 MB of output: max RSS %ld KiB (warden and its workers)\n", kb);
  /* (ASan's quarantine holds freed memory: no bound there) */
  ck_assert_msg(WD_ASAN || kb < 32 * 1024, "max RSS %ld KiB", kb);
  unlink("/tmp/wd-c-sum1");
  unlink("/tmp/wd-c-sum2");
}
END_TEST

/* Its own spool goes when warden ends; the spool of a warden that is gone
 * (SIGKILLed) goes at the next start; another uid's or a live one's stays. */
START_TEST(spool_removed_and_swept) {
  char stale[] = "/tmp/warden-spool.999999999.XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(stale));
  ck_assert_int_eq(sh("echo x > %s/w1.0", stale), 0);
  char live[64];
  snprintf(live, sizeof(live), "/tmp/warden-spool.%d.test", (int)getpid());
  ck_assert_int_eq(mkdir(live, 0700), 0);
  ck_assert_int_eq(sh("TMPDIR=/tmp %s run -- sh -c 'head -c 3000000 /dev/zero' ::: x "
                      "| wc -c | grep -qx 3000000", W), 0);
  struct stat st;
  ck_assert_int_ne(stat(stale, &st), 0);
  ck_assert_int_eq(stat(live, &st), 0);
  ck_assert_int_eq(rmdir(live), 0);
  /* nothing of ours left: no spool of a warden that has ended */
  ck_assert_int_eq(sh("for d in /tmp/warden-spool.*; do [ -e \"$d\" ] || continue; "
                      "p=${d#/tmp/warden-spool.}; p=${p%%%%.*}; "
                      "kill -0 $p 2>/dev/null || exit 1; done; exit 0"), 0);
}
END_TEST

/* A spool with no room (a 2 MiB tmpfs as $TMPDIR): output is lost, so the
 * run says so and fails, never 0.  Needs the right to mount: else skipped. */
START_TEST(full_spool_fails_the_run) {
  const char *dir = "/tmp/wd-c-small";
  mkdir(dir, 0700);
  if (sh("mount -t tmpfs -o size=2m tmpfs %s 2>/dev/null", dir) != 0) {
    fprintf(stderr, "cannot mount a tmpfs here: skipped\n");
    rmdir(dir);
    return;
  }
  ck_assert_int_eq(sh("TMPDIR=%s %s run -- sh -c 'head -c 5000000 /dev/zero' ::: x "
                      ">/dev/null 2>/tmp/wd-c-err", dir, W), 125);
  ck_assert(contains("/tmp/wd-c-err", "no room for it in memory or in the spool"));
  ck_assert_int_eq(sh("umount %s", dir), 0);
  rmdir(dir);
  unlink("/tmp/wd-c-err");
}
END_TEST

/* --max-output cuts at the last whole line within it, and says so. */
START_TEST(max_output_cuts_at_line_end) {
  ck_assert_int_eq(sh("%s run -q --max-output 10 -- printf 'one\\ntwo\\nthree\\n' ::: x "
                      ">/tmp/wd-c-out 2>/tmp/wd-c-err", W), 0);
  char *out = slurp("/tmp/wd-c-out");
  ck_assert_str_eq(out, "one\ntwo\n");
  free(out);
  ck_assert(contains("/tmp/wd-c-err", "cut at its last whole line"));
  /* 0: never cut, as the default */
  ck_assert_int_eq(sh("%s run --max-output 0 -- sh -c 'head -c 2000000 /dev/zero' ::: x "
                      "| wc -c | grep -qx 2000000", W), 0);
  unlink("/tmp/wd-c-out");
  unlink("/tmp/wd-c-err");
}
END_TEST

/* ---- writes that fail -------------------------------------------------- */

START_TEST(full_stdout_fails_the_run) {
  ck_assert_int_eq(sh("%s run -- echo x ::: a >/dev/full 2>/tmp/wd-c-err", W), 125);
  ck_assert(contains("/tmp/wd-c-err", "cannot write to stdout: No space left on device"));
  /* stderr full too: still 125, whatever could be said */
  ck_assert_int_eq(sh("%s run -- sh -c 'echo x >&2' ::: a 2>/dev/full", W), 125);
  /* the running commands are killed: the second one never finishes */
  ck_assert_int_eq(sh("%s run -j2 --joblog /tmp/wd-c-log -- sh -c "
                      "'if [ {} = a ]; then echo a; else sleep 30.0713; fi' ::: a b "
                      ">/dev/full 2>/dev/null", W), 125);
  ck_assert_int_ne(sh("pgrep -f 'sleep 30[.]0713' >/dev/null"), 0);
  unlink("/tmp/wd-c-err");
  unlink("/tmp/wd-c-log");
}
END_TEST

/* A reader that leaves: SIGPIPE's 141, as any filter; with SIGPIPE
 * ignored, the EPIPE is a failed write: 125 and said. */
START_TEST(closed_stdout) {
  ck_assert_int_eq(sh("%s run -- sh -c 'yes | head -c 1000000' ::: a b | head -c 1 >/dev/null; "
                      "exit ${PIPESTATUS:-0}", W), 0);
  ck_assert_int_eq(sh("bash -c '%s run -- sh -c \"yes | head -c 1000000\" ::: a b "
                      "| head -c 1 >/dev/null; exit ${PIPESTATUS[0]}'", W), 141);
  ck_assert_int_eq(sh("bash -c 'trap \"\" PIPE; %s run -- sh -c \"yes | head -c 1000000\" "
                      "::: a b 2>/tmp/wd-c-err | head -c 1 >/dev/null; exit ${PIPESTATUS[0]}'",
                      W), 125);
  ck_assert(contains("/tmp/wd-c-err", "cannot write to stdout: Broken pipe"));
  unlink("/tmp/wd-c-err");
}
END_TEST

/* ---- messages -------------------------------------------------------- */

START_TEST(killed_by_signal_is_said) {
  ck_assert_int_eq(sh("%s run -- sh -c 'kill -SEGV $$' ::: a 2>/tmp/wd-c-err", W), 1);
  ck_assert(contains("/tmp/wd-c-err", ": killed by SIGSEGV"));
  unlink("/tmp/wd-c-err");
}
END_TEST

/* ---- -u, --results, --tagstring ----------------------------------------- */

START_TEST(ungroup_passes_through) {
  ck_assert_int_eq(sh("%s run -u -- sh -c 'echo out {}; echo err {} >&2' ::: a "
                      ">/tmp/wd-c-out 2>/tmp/wd-c-err", W), 0);
  ck_assert(contains("/tmp/wd-c-out", "out a\n"));
  ck_assert(contains("/tmp/wd-c-err", "err a\n"));
  ck_assert_int_eq(sh("%s run -u --json -- true ::: a 2>/dev/null", W), 125);
  unlink("/tmp/wd-c-out");
  unlink("/tmp/wd-c-err");
}
END_TEST

/* The same tree as GNU parallel's, with its escapes; nothing on stdout.
 * (echo: how dash's echo reads a backslash is not the tree's business, so
 * the files are compared by name, and by content where no backslash is.) */
START_TEST(results_tree_as_parallel) {
  sh("rm -rf /tmp/wd-c-res1 /tmp/wd-c-res2");
  const char *args = "::: a 'b/c' 'd\\e' 'f g'";
  ck_assert_int_eq(sh("%s run -j1 --results /tmp/wd-c-res1 -- echo %s > /tmp/wd-c-out", W,
                      args), 0);
  char *out = slurp("/tmp/wd-c-out");
  ck_assert_str_eq(out, "");
  free(out);
  ck_assert(contains("/tmp/wd-c-res1/1/b\\_c/stdout", "b/c\n"));
  ck_assert(contains("/tmp/wd-c-res1/1/d\\\\e/seq", "3"));
  if (have_parallel()) {
    /* seq follows the order of starts in both: -j1 */
    ck_assert_int_eq(sh("parallel --will-cite -j1 --results /tmp/wd-c-res2 echo %s", args), 0);
    ck_assert_int_eq(sh("cd /tmp/wd-c-res1 && find . | sort > /tmp/wd-c-l1 && "
                        "cd /tmp/wd-c-res2 && find . | sort | cmp -s - /tmp/wd-c-l1"), 0);
    ck_assert_int_eq(sh("cd /tmp/wd-c-res1/1 && for f in a/* b*/* f*/* d*/seq d*/stderr; do "
                        "cmp -s \"$f\" \"/tmp/wd-c-res2/1/$f\" || exit 1; done"), 0);
  }
  /* two sources, -N2 of one source, --colsep: the levels parallel makes */
  const char *forms[] = {"::: a ::: 1 2", "-N2 ::: a b c", "--colsep , ::: x,y"};
  for (size_t i = 0; have_parallel() && i < sizeof(forms) / sizeof(forms[0]); i++) {
    sh("rm -rf /tmp/wd-c-res1 /tmp/wd-c-res2");
    ck_assert_int_eq(sh("%s run -j1 --results /tmp/wd-c-res1 -- echo %s", W, forms[i]), 0);
    ck_assert_int_eq(sh("parallel --will-cite -j1 --results /tmp/wd-c-res2 echo %s >/dev/null",
                        forms[i]), 0);
    ck_assert_msg(sh("cd /tmp/wd-c-res1 && find . | sort > /tmp/wd-c-l1 && "
                     "cd /tmp/wd-c-res2 && find . | sort | cmp -s - /tmp/wd-c-l1") == 0,
                  "a different tree for %s", forms[i]);
  }
  ck_assert_int_eq(sh("%s run --header : --results /tmp/wd-c-res1 -- echo ::: h a 2>/dev/null",
                      W), 125);
  sh("rm -rf /tmp/wd-c-res1 /tmp/wd-c-res2 /tmp/wd-c-out /tmp/wd-c-l1");
}
END_TEST

START_TEST(tagstring_as_parallel) {
  ck_assert_int_eq(sh("%s run -k --tagstring 'x{}y' -- echo ::: a b > /tmp/wd-c-out", W), 0);
  char *out = slurp("/tmp/wd-c-out");
  ck_assert_str_eq(out, "xay\ta\nxby\tb\n");
  free(out);
  /* GNU parallel's replacement strings, as the command template knows them */
  if (have_parallel()) {
    ck_assert_int_eq(sh("%s run -k --tagstring '{#}:{.}' -- echo ::: a.txt b.gz "
                        "> /tmp/wd-c-out", W), 0);
    ck_assert_int_eq(sh("parallel --will-cite -k --tagstring '{#}:{.}' echo ::: a.txt b.gz "
                        "| cmp -s - /tmp/wd-c-out"), 0);
  }
  ck_assert_int_eq(sh("%s run --tagstring '{=1=}' -- echo ::: a 2>/dev/null", W), 125);
  unlink("/tmp/wd-c-out");
}
END_TEST

/* ---- --line-buffer ----------------------------------------------------- */

/* A line is printed while its command still runs: the command waits for
 * the test to have read it (no sleep decides anything here). */
START_TEST(line_buffer_prints_while_running) {
  unlink("/tmp/wd-c-go");
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "%s run --line-buffer -- sh -c 'echo first {}; "
           "while [ ! -e /tmp/wd-c-go ]; do sleep 0.01; done; echo second {}' ::: x", W);
  FILE *p = popen(cmd, "r");
  char line[64];
  ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
  ck_assert_str_eq(line, "first x\n");
  ck_assert_int_eq(sh("touch /tmp/wd-c-go"), 0);
  ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
  ck_assert_str_eq(line, "second x\n");
  ck_assert_int_eq(pclose(p), 0);
  unlink("/tmp/wd-c-go");
}
END_TEST

/* 100 commands at once, 200 long lines each, on both streams: every line
 * whole, none glued to another's; a last line without its newline as
 * parallel prints it. */
START_TEST(line_buffer_never_mixes) {
  ck_assert_int_eq(sh("seq 100 | %s run --line-buffer -j100 -- sh -c 'for i in $(seq 200); do "
                      "echo l-{}-$i-%0200d-end; echo e-{}-$i >&2; done' >/tmp/wd-c-out "
                      "2>/tmp/wd-c-err", W, 0), 0);
  ck_assert_int_eq(sh("test $(wc -l </tmp/wd-c-out) = 20000 && "
                      "! grep -qv '^l-[0-9]*-[0-9]*-0*-end$' /tmp/wd-c-out && "
                      "test $(wc -l </tmp/wd-c-err) = 20000 && "
                      "! grep -qv '^e-[0-9]*-[0-9]*$' /tmp/wd-c-err"), 0);
  ck_assert_int_eq(sh("%s run --line-buffer -k -- true ::: a 2>/dev/null", W), 125);
  if (have_parallel()) {
    const char *script = "'echo start {}; echo end {}; printf partial{}'";
    ck_assert_int_eq(sh("%s run --line-buffer -j1 -- sh -c %s ::: 1 2 >/tmp/wd-c-out", W,
                        script), 0);
    ck_assert_int_eq(sh("parallel --will-cite --line-buffer -j1 sh -c \"%s\" ::: 1 2 "
                        "| cmp -s - /tmp/wd-c-out", script), 0);
  }
  unlink("/tmp/wd-c-out");
  unlink("/tmp/wd-c-err");
}
END_TEST

/* ---- --progress -------------------------------------------------------- */

/* On a terminal (script(1)'s pty) the line is redrawn while a command
 * runs, not only when one ends: three redraws come while the only command
 * waits for the test to have seen them. */
START_TEST(progress_redraws_while_running) {
  if (sh("command -v script >/dev/null") != 0) {
    fprintf(stderr, "script(1) is not installed: skipped\n");
    return;
  }
  unlink("/tmp/wd-c-go");
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "script -qec \"%s run --bar -- sh -c 'while [ ! -e /tmp/wd-c-go ]; "
           "do sleep 0.01; done; echo done' ::: x\" /dev/null", W);
  FILE *p = popen(cmd, "r");
  int redraws = 0, c, esc = 0;
  while (redraws < 3 && (c = fgetc(p)) != EOF) {
    esc = c == '\r' ? 1 : esc == 1 && c == 033 ? 2 : esc == 2 && c == '[' ? 3 : 0;
    redraws += esc == 3;
  }
  ck_assert_int_eq(redraws, 3);
  ck_assert_int_eq(sh("touch /tmp/wd-c-go"), 0);
  char rest[4096];
  size_t n = fread(rest, 1, sizeof(rest) - 1, p);
  rest[n] = '\0';
  ck_assert_int_eq(pclose(p), 0);
  ck_assert_ptr_nonnull(strstr(rest, "\033[Kdone"));     /* the line cleared first */
  ck_assert_ptr_nonnull(strstr(rest, "1/1 done, 0 failed, 0 running")); /* the truth */
  unlink("/tmp/wd-c-go");
}
END_TEST

/* ---- --pipe ---------------------------------------------------------- */

/* The same blocks as parallel --pipe: per-block counts equal in order. */
START_TEST(pipe_as_parallel) {
  ck_assert_int_eq(sh("seq 200000 > /tmp/wd-c-in"), 0);
  const char *forms[] = {"--block 100k", "--block 64K", "-N 30000", ""};
  for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
    ck_assert_int_eq(sh("cat /tmp/wd-c-in | %s run --pipe -k %s -- wc -l > /tmp/wd-c-w", W,
                        forms[i]), 0);
    ck_assert_int_eq(sh("awk '{s+=$1} END {exit s != 200000}' /tmp/wd-c-w"), 0);
    if (have_parallel()) {
      ck_assert_int_eq(sh("cat /tmp/wd-c-in | parallel --will-cite --pipe -k %s wc -l "
                          "> /tmp/wd-c-p", forms[i]), 0);
      ck_assert_msg(sh("cmp -s /tmp/wd-c-w /tmp/wd-c-p") == 0, "blocks differ: %s", forms[i]);
    }
  }
  /* grep over blocks: the same lines, in any order */
  ck_assert_int_eq(sh("%s run --pipe --block 50k -- grep 7 < /tmp/wd-c-in | sort > /tmp/wd-c-w",
                      W), 0);
  ck_assert_int_eq(sh("grep 7 /tmp/wd-c-in | sort | cmp -s - /tmp/wd-c-w"), 0);
  ck_assert_int_eq(sh("%s run --pipe --recend x -- cat </dev/null 2>/dev/null", W), 125);
  sh("rm -f /tmp/wd-c-in /tmp/wd-c-w /tmp/wd-c-p");
}
END_TEST

/* 200 MB through --pipe: about a block per running command in memory. */
START_TEST(pipe_memory_bounded) {
  long kb;
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "yes 0123456789abcdef | head -c 200000000 | %s run --pipe -j2 "
           "-- wc -c | awk '{s+=$1} END {exit s != 200000000}'", W);
  ck_assert_int_eq(run_rss(cmd, &kb), 0);
  printf("200 MB through --pipe -j2: max RSS %ld KiB\n", kb);
  ck_assert_msg(WD_ASAN || kb < 32 * 1024, "max RSS %ld KiB", kb);
}
END_TEST

int main(void) {
  Suite *s = suite_create("run_output");
  TCase *tc = wd_test_case(s, "spool", 120, NULL, NULL);
  tcase_add_test(tc, big_output_whole_and_small);
  tcase_add_test(tc, spool_removed_and_swept);
  tcase_add_test(tc, max_output_cuts_at_line_end);
  tcase_add_test(tc, full_spool_fails_the_run);
  tc = wd_test_case(s, "write_errors", 60, NULL, NULL);
  tcase_add_test(tc, full_stdout_fails_the_run);
  tcase_add_test(tc, closed_stdout);
  tcase_add_test(tc, killed_by_signal_is_said);
  tc = wd_test_case(s, "output_forms", 60, NULL, NULL);
  tcase_add_test(tc, ungroup_passes_through);
  tcase_add_test(tc, results_tree_as_parallel);
  tcase_add_test(tc, tagstring_as_parallel);
  tc = wd_test_case(s, "line_buffer", 60, NULL, NULL);
  tcase_add_test(tc, line_buffer_prints_while_running);
  tcase_add_test(tc, line_buffer_never_mixes);
  tcase_add_test(tc, progress_redraws_while_running);
  tc = wd_test_case(s, "pipe", 120, NULL, NULL);
  tcase_add_test(tc, pipe_as_parallel);
  tcase_add_test(tc, pipe_memory_bounded);
  return run_suite(s);
}
