/* test_review15.c -- regressions found by reviewing issue 15 ("warden run
 * and warden exec as drop-ins for GNU parallel, xargs and timeout(1)") as a
 * user of those tools and as an attacker: each test is one finding, the
 * same invocation under the peer and under warden, or the attack that once
 * got through.  A peer that is not installed skips its comparison, saying
 * so. */
#include <sys/stat.h>

#include "helpers.h"

#define PARALLEL "parallel --will-cite"
#define OUT_MAX (1 << 16)

/* A command's stdout and stderr (malloc'd); its exit status in *status. */
static char *out_of(const char *cmd, int *status) {
  char full[6400];
  snprintf(full, sizeof(full), "cd /tmp && ( %s ) 2>&1", cmd);
  FILE *p = popen(full, "r");
  ck_assert_ptr_nonnull(p);
  char *buf = calloc(1, OUT_MAX);
  size_t n = fread(buf, 1, OUT_MAX - 1, p);
  buf[n] = '\0';
  int st = pclose(p);
  if (status)
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return buf;
}

/* WD_BIN as an absolute path: the commands run in /tmp. */
static const char *warden(void) {
  static char path[4096];
  if (!path[0])
    ck_assert_ptr_nonnull(realpath(WD_BIN, path));
  return path;
}

static int have(const char *tool) {
  int ok = sh("command -v %s > /dev/null", tool) == 0;
  if (!ok)
    fprintf(stderr, "test_review15: %s is not installed: comparison skipped\n", tool);
  return ok;
}

/* "IN | PEER ARGS" and "IN | warden run ARGS" print the same and exit the
 * same.  in may be "" (stdin: /dev/null). */
static void same(const char *in, const char *peer, const char *args) {
  char a[6144], b[6144];
  snprintf(a, sizeof(a), "%s%s %s %s", in, *in ? " |" : "</dev/null", peer, args);
  snprintf(b, sizeof(b), "%s%s %s run %s", in, *in ? " |" : "</dev/null", warden(), args);
  int sa, sb;
  char *x = out_of(a, &sa), *y = out_of(b, &sb);
  ck_assert_msg(strcmp(x, y) == 0 && sa == sb, "\n%s\n=> %d %s\n%s\n=> %d %s", a, sa, x, b, sb,
                y);
  free(x);
  free(y);
}

/* --colsep implies GNU parallel's --trim rl: each column loses its white
 * space at both ends (once kept: " x " where parallel passes "x"). */
START_TEST(colsep_trims_columns) {
  if (!have("parallel"))
    return;
  same("printf ' x , y \\r\\n1,\"2,3\" ,\\t4\\n'", PARALLEL,
       "-k --colsep , 'printf \"[%s]\" {1} {2} {3}; echo'");
  same("printf '\\ta \\tb\\t\\n'", PARALLEL,
       "-k --colsep '\\t' 'printf \"[%s]\" {1} {2} {3} {4}; echo'");
  same("printf ' a , b \\n'", PARALLEL, "-k --colsep , --tag echo {}");
}
END_TEST

/* An endless line (/dev/zero, a sparse file) as an input source fails the
 * run (125, saying so) once past 16 MiB; it once grew without bound. */
START_TEST(endless_line_refused) {
  static const char *const cases[] = {"-a /dev/zero true", "true :::: /dev/zero",
                                      "true ::: a :::: /dev/zero"};
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    char cmd[4608];
    snprintf(cmd, sizeof(cmd), "%s run %s </dev/null", warden(), cases[i]);
    int st;
    char *out = out_of(cmd, &st);
    ck_assert_msg(st == 125 && strstr(out, "too long"), "%s: %d %s", cmd, st, out);
    free(out);
  }
  char cmd[4608];
  snprintf(cmd, sizeof(cmd), "cat /dev/zero | %s run true", warden());
  int st;
  char *out = out_of(cmd, &st);
  ck_assert_msg(st == 125 && strstr(out, "stdin: argument list too long"), "%d %s", st, out);
  free(out);
}
END_TEST

/* --pipe: a line longer than --block is one block by itself, whole, and
 * the lines after it make the next (the long line is scanned for its end
 * once, no longer once per read: 9 s for a 200 MB line, now 1 s). */
START_TEST(pipe_long_line_one_block) {
  char cmd[4608];
  snprintf(cmd, sizeof(cmd),
           "(head -c 3000000 /dev/zero | tr '\\0' a; echo; seq 3; head -c 1500000 /dev/zero) | "
           "%s run --pipe -k --block 1M 'wc -c'",
           warden());
  int st;
  char *out = out_of(cmd, &st);
  ck_assert_msg(st == 0 && strcmp(out, "3000001\n6\n1500000\n") == 0, "%d %s", st, out);
  free(out);
}
END_TEST

/* A command killed by warden's stop (--halt now, a Ctrl-C) never finished:
 * as GNU parallel, the joblog has no line for it, so that --resume runs it
 * again (once logged as "-1 9": --resume skipped it, never to finish). */
START_TEST(killed_by_stop_not_logged) {
  const char *log = "/tmp/test_review15.joblog";
  unlink(log);
  int st = sh("%s run -j2 --halt now,fail=1 --joblog %s 'sleep {}; exit 1' ::: 47.0317 0.1 "
              "2>/dev/null", warden(), log);
  ck_assert_int_eq(st, 1);
  char cmd[4608];
  snprintf(cmd, sizeof(cmd), "%s run -j2 --joblog %s --resume 'echo {}' ::: 47.0317 0.1; "
           "cut -f1,7 %s", warden(), log, log);
  char *out = out_of(cmd, &st);
  ck_assert_msg(st == 0 && strcmp(out, "47.0317\nSeq\tExitval\n2\t1\n1\t0\n") == 0, "%s", out);
  free(out);
  /* Ctrl-C to warden's group once 1 and 2 finished and 3 to 6 sleep. */
  unlink(log);
  snprintf(cmd, sizeof(cmd),
           "rm -f %s.n; touch %s.n; (setsid %s run -j4 --joblog %s "
           "'echo {} >> %s.n; [ {} -le 2 ] || sleep 47.0319' ::: 1 2 3 4 5 6 7 8 & "
           "while [ $(wc -l < %s.n) -lt 6 ]; do sleep 0.01; done; "
           "kill -INT -$!; wait $!; echo $?); " /* setsid execs warden: $! leads its group */
           "%s run --joblog %s --resume -k 'echo {}' ::: 1 2 3 4 5 6 7 8; rm -f %s.n",
           log, log, warden(), log, log, log, warden(), log, log);
  out = out_of(cmd, &st);
  ck_assert_msg(st == 0 && strcmp(out, "130\n3\n4\n5\n6\n7\n8\n") == 0, "%d %s", st, out);
  free(out);
  unlink(log);
}
END_TEST

/* --tag, --tagstring, --line-buffer: a last line without its newline gets
 * none (once --tag added one, where parallel prints the bytes as they are). */
START_TEST(tag_adds_no_newline) {
  if (!have("parallel"))
    return;
  same("", PARALLEL, "-j1 -k --tag 'printf t{}' ::: 1 2");
  same("", PARALLEL, "-j1 -k --tagstring 'x{#}' 'printf t{}; echo; printf u' ::: 1 2");
  same("", PARALLEL, "-j1 --line-buffer --tag 'echo a; printf t{}' ::: 1 2");
}
END_TEST

/* A plain command that is a shell builtin no program stands for (umask,
 * ulimit) runs in the shell, as GNU parallel runs it; execvp once failed. */
START_TEST(builtin_runs_in_shell) {
  if (!have("parallel"))
    return;
  same("", PARALLEL, "-k umask ::: 027");
  same("", PARALLEL, "-k 'umask {}; umask' ::: 027");
  same("", PARALLEL, "-k --dry-run umask ::: 'a b'");
  same("", PARALLEL, "-k ulimit -n ::: 64");
}
END_TEST

/* --halt fail=1 met by a command killed at --timeout exits 255, GNU
 * parallel's -1 (once 137: 128+KILL). */
START_TEST(halt_on_timeout_is_255) {
  if (!have("parallel"))
    return;
  same("", PARALLEL, "-k --timeout 0.2 --halt now,fail=1 'sleep {}' ::: 47.0323 2>/dev/null");
  same("", PARALLEL, "-k --halt now,fail=1 'kill -TERM $$' ::: 1 2>/dev/null");
}
END_TEST

/* A column past int's range is no column, as in GNU parallel: {4294967297}
 * once wrapped round to {1}. */
START_TEST(huge_column_is_none) {
  char cmd[4608];
  snprintf(cmd, sizeof(cmd), "%s run -k echo 'x{4294967297}' 'x{-4294967297}' ::: a", warden());
  int st;
  char *out = out_of(cmd, &st);
  ck_assert_msg(st == 0 && strcmp(out, "x x\n") == 0, "%d %s", st, out);
  free(out);
  if (have("parallel"))
    same("", PARALLEL, "-k echo 'x{4294967297}' 'x{2147483648}' ::: a");
}
END_TEST

/* A replacement string inside quotes ("{}") runs as GNU parallel runs it
 * -- its value keeps parallel's quotes, and in "..." an input's $(...)
 * runs -- but warden says so (once it ran without a word). */
START_TEST(quoted_value_warned) {
  static const struct {
    const char *tmpl;
    int warned;
  } cases[] = {{"echo \"{}\"", 1},           {"echo '{}'", 1},
               {"echo {}", 0},                 {"echo \"$(basename {})\"", 0},
               {"echo \"it's\" {} '\"'", 0}, {"echo \\\"{}", 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    char cmd[4608];
    setenv("WD_REVIEW15_T", cases[i].tmpl, 1); /* no shell between it and warden */
    snprintf(cmd, sizeof(cmd), "%s run \"$WD_REVIEW15_T\" ::: a/b 2>&1 >/dev/null", warden());
    int st;
    char *out = out_of(cmd, &st);
    ck_assert_msg(st == 0 && (strstr(out, "inside quotes") != NULL) == cases[i].warned,
                  "%s: %d %s", cmd, st, out);
    free(out);
  }
}
END_TEST

/* --joblog - is stdout, as GNU parallel's (once a file named "-"). */
START_TEST(joblog_dash_is_stdout) {
  if (have("parallel"))
    same("", PARALLEL, "-k -j1 --joblog - echo ::: a b | cut -f1,7,9");
  char cmd[4608];
  snprintf(cmd, sizeof(cmd), "cd /tmp && %s run -k -j1 --joblog - echo ::: a | cut -f1,7,9; "
           "test -e /tmp/- && echo made", warden());
  int st;
  char *out = out_of(cmd, &st);
  ck_assert_msg(strcmp(out, "Seq\tExitval\tCommand\na\n1\t0\techo a\n") == 0, "%s", out);
  free(out);
}
END_TEST

int main(void) {
  Suite *s = suite_create("review15");
  TCase *tc = wd_test_case(s, "review15", 120, NULL, NULL);
  tcase_add_test(tc, colsep_trims_columns);
  tcase_add_test(tc, endless_line_refused);
  tcase_add_test(tc, pipe_long_line_one_block);
  tcase_add_test(tc, killed_by_stop_not_logged);
  tcase_add_test(tc, tag_adds_no_newline);
  tcase_add_test(tc, builtin_runs_in_shell);
  tcase_add_test(tc, halt_on_timeout_is_255);
  tcase_add_test(tc, huge_column_is_none);
  tcase_add_test(tc, quoted_value_warned);
  tcase_add_test(tc, joblog_dash_is_stdout);
  return run_suite(s);
}
