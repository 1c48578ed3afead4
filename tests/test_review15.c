/* test_review15.c -- regressions found by reviewing issue 15 ("warden run
 * and warden exec as drop-ins for GNU parallel, xargs and timeout(1)") as a
 * user of those tools and as an attacker: each test is one finding, the
 * same invocation under the peer and under warden, or the attack that once
 * got through.  Commands run under sh in /tmp, with $W the absolute path
 * of the warden under test.  Without GNU parallel its comparisons are
 * skipped, saying so. */
#include <stdarg.h>

#include "helpers.h"

#define PARALLEL "parallel --will-cite"
#define OUT_MAX (1 << 16)
#define CMD_MAX 8192

/* What the command line (printf-style) prints on stdout and stderr,
 * malloc'd; its exit status in *status. */
static char *output(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *output(int *status, const char *fmt, ...) {
  char cmd[CMD_MAX];
  int n = snprintf(cmd, sizeof(cmd), "cd /tmp && ( ");
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
  va_end(ap);
  ck_assert_int_lt(n + 8, CMD_MAX);
  strcat(cmd, " ) 2>&1");
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  char *buf = calloc(1, OUT_MAX);
  buf[fread(buf, 1, OUT_MAX - 1, p)] = '\0';
  int st = pclose(p);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return buf;
}

/* The command prints exactly want (or, with has, something holding it)
 * and exits with status. */
static void expect(const char *cmd, int status, const char *want, int has) {
  int st;
  char *out = output(&st, "%s", cmd);
  ck_assert_msg(st == status && (has ? strstr(out, want) != NULL : strcmp(out, want) == 0),
                "%s\n=> %d %s", cmd, st, out);
  free(out);
}

static int no_parallel(void) {
  if (sh("command -v parallel > /dev/null") == 0)
    return 0;
  fprintf(stderr, "test_review15: GNU parallel is not installed: comparison skipped\n");
  return 1;
}

/* "IN | parallel ARGS" and "IN | warden run ARGS" print the same and exit
 * the same.  in may be "" (stdin: /dev/null). */
static void same(const char *in, const char *args) {
  const char *pipe = *in ? " |" : "</dev/null";
  int sa, sb;
  char *x = output(&sa, "%s%s " PARALLEL " %s", in, pipe, args);
  char *y = output(&sb, "%s%s $W run %s", in, pipe, args);
  ck_assert_msg(strcmp(x, y) == 0 && sa == sb, "\n%s\nparallel => %d %s\nwarden => %d %s",
                args, sa, x, sb, y);
  free(x);
  free(y);
}

/* The same under GNU parallel and warden run, each row once different:
 * {stdin, arguments}. */
static const char *const as_parallel[][2] = {
    /* --colsep implies parallel's --trim rl: each column loses its white
     * space at both ends (once kept: " x " where parallel passes "x"). */
    {"printf ' x , y \\r\\n1,\"2,3\" ,\\t4\\n'",
     "-k --colsep , 'printf \"[%s]\" {1} {2} {3}; echo'"},
    {"printf '\\ta \\tb\\t\\n'", "-k --colsep '\\t' 'printf \"[%s]\" {1} {2} {3} {4}; echo'"},
    {"printf ' a , b \\n'", "-k --colsep , --tag echo {}"},
    /* --tag, --tagstring, --line-buffer: a last line without its newline
     * gets none (--tag once added one). */
    {"", "-j1 -k --tag 'printf t{}' ::: 1 2"},
    {"", "-j1 -k --tagstring 'x{#}' 'printf t{}; echo; printf u' ::: 1 2"},
    {"", "-j1 --line-buffer --tag 'echo a; printf t{}' ::: 1 2"},
    /* A plain command that is a shell builtin no program stands for runs
     * in the shell (execvp once failed on it). */
    {"", "-k umask ::: 027"},
    {"", "-k 'umask {}; umask' ::: 027"},
    {"", "-k --dry-run umask ::: 'a b'"},
    {"", "-k ulimit -n ::: 64"},
    /* --halt fail=1 met by a command killed at --timeout exits 255,
     * parallel's -1 (once 137: 128+KILL); by a signal, 128+N. */
    {"", "-k --timeout 0.2 --halt now,fail=1 'sleep {}' ::: 47.0323 2>/dev/null"},
    {"", "-k --halt now,fail=1 'kill -TERM $$' ::: 1 2>/dev/null"},
    /* A column past int's range is none ({4294967297} once wrapped to {1});
     * --joblog - is stdout (once a file named "-"). */
    {"", "-k echo 'x{4294967297}' 'x{2147483648}' ::: a"},
    {"", "-k -j1 --joblog - echo ::: a b | cut -f1,7,9"},
    /* $PARALLEL_PID is set (once empty). */
    {"", "-k 'test \"$PARALLEL_PID\" -gt 1 && echo {}' ::: a"},
};

START_TEST(same_as_parallel) {
  if (no_parallel())
    return;
  for (size_t i = 0; i < sizeof(as_parallel) / sizeof(*as_parallel); i++)
    same(as_parallel[i][0], as_parallel[i][1]);
}
END_TEST

/* An endless line (/dev/zero, a sparse file) as an input source fails the
 * run (125, saying so) once past 16 MiB; it once grew without bound. */
START_TEST(endless_line_refused) {
  static const char *const cases[] = {"-a /dev/zero true", "true :::: /dev/zero",
                                      "true ::: a :::: /dev/zero"};
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "$W run %s </dev/null", cases[i]);
    expect(cmd, 125, "too long", 1);
  }
  expect("cat /dev/zero | $W run true", 125, "stdin: argument list too long", 1);
}
END_TEST

/* --pipe: a line longer than --block is one block by itself, whole, and
 * the lines after it make the next (the long line is scanned for its end
 * once, no longer once per read: 9 s for a 200 MB line, now 1 s). */
START_TEST(pipe_long_line_one_block) {
  expect("(head -c 3000000 /dev/zero | tr '\\0' a; echo; seq 3; head -c 1500000 /dev/zero) | "
         "$W run --pipe -k --block 1M 'wc -c'",
         0, "3000001\n6\n1500000\n", 0);
}
END_TEST

/* A command killed by warden's stop (--halt now, a Ctrl-C) never finished:
 * as GNU parallel, the joblog has no line for it, so that --resume runs it
 * again (once logged as "-1 9": --resume skipped it, never to finish). */
START_TEST(killed_by_stop_not_logged) {
  const char *log = "/tmp/test_review15.joblog";
  unlink(log);
  expect("$W run -j2 --halt now,fail=1 --joblog test_review15.joblog 'sleep {}; exit 1' "
         "::: 47.0317 0.1 2>/dev/null; echo $?",
         0, "1\n", 0);
  expect("$W run -j2 --joblog test_review15.joblog --resume 'echo {}' ::: 47.0317 0.1; "
         "cut -f1,7 test_review15.joblog",
         0, "47.0317\nSeq\tExitval\n2\t1\n1\t0\n", 0);
  /* Ctrl-C to warden's group once 1 and 2 finished and 3 to 6 sleep;
   * setsid execs warden, so $! leads its group. */
  unlink(log);
  expect("L=test_review15.joblog; rm -f $L.n; touch $L.n; "
         "(setsid $W run -j4 --joblog $L 'echo {} >> '$L'.n; [ {} -le 2 ] || sleep 47.0319' "
         "::: 1 2 3 4 5 6 7 8 & "
         "while [ $(wc -l < $L.n) -lt 6 ]; do sleep 0.01; done; kill -INT -$!; wait $!; echo $?); "
         "$W run --joblog $L --resume -k 'echo {}' ::: 1 2 3 4 5 6 7 8; rm -f $L.n",
         0, "130\n3\n4\n5\n6\n7\n8\n", 0);
  unlink(log);
}
END_TEST

/* A column past int's range is no column, as in GNU parallel: {4294967297}
 * once wrapped round to {1}. */
START_TEST(huge_column_is_none) {
  expect("$W run -k echo 'x{4294967297}' 'x{-4294967297}' ::: a", 0, "x x\n", 0);
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
    setenv("WD_REVIEW15_T", cases[i].tmpl, 1); /* no shell between it and warden */
    int st;
    char *out = output(&st, "$W run \"$WD_REVIEW15_T\" ::: a/b 2>&1 >/dev/null");
    ck_assert_msg(st == 0 && (strstr(out, "inside quotes") != NULL) == cases[i].warned,
                  "%s: %d %s", cases[i].tmpl, st, out);
    free(out);
  }
}
END_TEST

/* --joblog - is stdout, as GNU parallel's (once a file named "-"). */
START_TEST(joblog_dash_is_stdout) {
  expect("$W run -k -j1 --joblog - echo ::: a | cut -f1,7,9; test -e /tmp/- && echo made", 1,
         "Seq\tExitval\tCommand\na\n1\t0\techo a\n", 0);
}
END_TEST

int main(void) {
  char path[4096];
  if (realpath(WD_BIN, path) == NULL || setenv("W", path, 1) != 0) {
    perror(WD_BIN);
    return 1;
  }
  Suite *s = suite_create("review15");
  TCase *tc = wd_test_case(s, "review15", 120, NULL, NULL);
  tcase_add_test(tc, same_as_parallel);
  tcase_add_test(tc, endless_line_refused);
  tcase_add_test(tc, pipe_long_line_one_block);
  tcase_add_test(tc, killed_by_stop_not_logged);
  tcase_add_test(tc, huge_column_is_none);
  tcase_add_test(tc, quoted_value_warned);
  tcase_add_test(tc, joblog_dash_is_stdout);
  return run_suite(s);
}
