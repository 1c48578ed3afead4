/* test_compat_parallel.c -- `warden run` against GNU parallel and xargs
 * themselves, for the language of inputs and templates (helper D's file,
 * test_compat_opts.c, has the scheduling and output options): the same
 * invocation under the peer and under warden must print the same (sorted
 * where the order is free), or warden must refuse it (125) and run
 * nothing.  A peer that is not installed skips its comparisons, saying so.
 * Also: a command starts before the input has ended, and a million inputs
 * cost a few megabytes. */
#include <sys/resource.h>
#include <sys/stat.h>

#include "helpers.h"

#define PARALLEL "parallel --will-cite"
#define OUT_MAX (1 << 16)
#define RSS_LIMIT_KB (32 * 1024)
#define MILLION "1000000"

/* A command's stdout (malloc'd); its exit status in *status if asked. */
static char *out_of(const char *cmd, int *status) {
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  char *buf = calloc(1, OUT_MAX);
  size_t n = fread(buf, 1, OUT_MAX - 1, p);
  buf[n] = '\0';
  int st = pclose(p);
  if (status)
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return buf;
}

/* WD_BIN as an absolute path: the comparisons run in /tmp. */
static const char *warden(void) {
  static char path[4096];
  if (!path[0])
    ck_assert_ptr_nonnull(realpath(WD_BIN, path));
  return path;
}

static int have(const char *tool) {
  int ok = sh("command -v %s > /dev/null", tool) == 0;
  if (!ok)
    fprintf(stderr, "test_compat_parallel: %s is not installed: comparison skipped\n", tool);
  return ok;
}

/* "IN | PEER ARGS" and "IN | warden run ARGS" print the same; with sorted,
 * once sorted.  in may be "" (no stdin: /dev/null). */
static void same(const char *in, const char *peer, const char *wd_args, const char *peer_args,
                 int sorted) {
  char a[8192], b[8192];
  const char *sort = sorted ? " | LC_ALL=C sort" : "";
  snprintf(a, sizeof(a), "cd /tmp && %s%s %s %s 2>&1%s", in, *in ? " |" : "</dev/null",
           peer, peer_args, sort);
  snprintf(b, sizeof(b), "cd /tmp && %s%s %s run %s 2>&1%s", in, *in ? " |" : "</dev/null",
           warden(), wd_args, sort);
  char *x = out_of(a, NULL), *y = out_of(b, NULL);
  ck_assert_msg(strcmp(x, y) == 0, "\n%s\n=> %s\n%s\n=> %s", a, x, b, y);
  free(x);
  free(y);
}

/* The same arguments to parallel and warden run. */
static void same_as_parallel(const char *in, const char *args, int sorted) {
  same(in, PARALLEL, args, args, sorted);
}

/* GNU parallel's --dry-run text, replacement string by replacement string. */
START_TEST(replacement_strings_as_parallel) {
  if (!have("parallel"))
    return;
  static const char *const cases[] = {
      "-k --dry-run echo {} {.} {/} {//} {/.} ::: dir/a.txt.gz b .c d/",
      "-k --dry-run echo {#} {} ::: a b c",
      "-j1 -k --dry-run echo {%} {} ::: a b c",
      "-k --dry-run echo {1} {2} {1.} {2/} {-1} {3} ::: a b ::: c.x d/e",
      "-k --dry-run echo {} ::: 'a b' \"d'e\" '$x' 'a*b' '' 1",
      "-k --dry-run cp {} {.}.bak ::: a.txt 'b c.txt'",
      "-k --dry-run echo {foo} {1..3} {+.} {} ::: a",
      "-k --dry-run -N2 echo x{}y z {2} ::: a b c",
      "-k --dry-run -N0 echo hi ::: a b",
      "-k --dry-run -I XX echo XX {} {.} ::: a.b",
      "-k --dry-run 'echo $((4-{}))' ::: 1 2",
      "-k --dry-run 'echo {} | wc -c; for i in 1 2; do echo $i; done' ::: 'a b'",
      "-k --dry-run -q printf '%s {} \\n' ::: 'a b'",
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    same_as_parallel("", cases[i], 0);
}
END_TEST

/* What runs prints the same as under parallel (its order is free). */
START_TEST(commands_run_as_parallel) {
  if (!have("parallel"))
    return;
  same_as_parallel("", "'echo $((4-{}))' ::: 1 2 3", 1);
  same_as_parallel("", "'echo {} | tr a-z A-Z' ::: \"it's\" 'a  b'", 1);
  same_as_parallel("", "echo {#}-{} ::: a b c", 1);
  same_as_parallel("", "-j1 'echo $PARALLEL_SEQ $PARALLEL_JOBSLOT {}' ::: a b", 1);
  same_as_parallel("", "-q printf '<%s>\\n' ::: 'a b' c", 1);
  same_as_parallel("printf 'a\\r\\nb\\n'", "-k 'printf %s {} | od -c'", 0);
}
END_TEST

START_TEST(sources_as_parallel) {
  if (!have("parallel"))
    return;
  ck_assert_int_eq(sh("printf '1\\n2\\n' > /tmp/wd-cp-f1; printf 'x\\ny\\nz\\n' > /tmp/wd-cp-f2"), 0);
  same_as_parallel("", "-k --dry-run echo ::: a b ::: c d ::: e", 0);
  same_as_parallel("", "-k --dry-run echo ::: a b c :::+ 1 2", 0);
  same_as_parallel("", "-k --dry-run echo :::: /tmp/wd-cp-f1 /tmp/wd-cp-f2", 0);
  same_as_parallel("", "-k --dry-run echo :::: /tmp/wd-cp-f1 ::::+ /tmp/wd-cp-f2", 0);
  same_as_parallel("", "-k --dry-run -a /tmp/wd-cp-f1 -a /tmp/wd-cp-f2 echo", 0);
  same_as_parallel("echo s", "-k --dry-run echo :::: - ::: q w", 0);
  same_as_parallel("echo s", "-k --dry-run -a - -a /tmp/wd-cp-f1 echo", 0);
  same_as_parallel("seq 5", "-k --dry-run echo {} ::: x", 0); /* ::: wins over stdin */
  same_as_parallel("printf 'a\\tb\\tc\\nd\\te\\tf\\n'", "-k --dry-run --colsep '\\t' echo {3} {1}",
                   0);
  same_as_parallel("printf 'a,b\\nc,d\\n'", "-k --dry-run --colsep , echo {}", 0);
  same_as_parallel("printf 'h1\\th2\\nd\\te\\n'", "-k --dry-run --colsep '\\t' --header : echo "
                   "{h2} {h1}", 0);
  same_as_parallel("", "-k --dry-run --header : echo {x}-{y} ::: x 1 2 ::: y 3 4", 0);
  same_as_parallel("printf 'a\\0b c\\0'", "-k --dry-run -0 echo", 0);
  same_as_parallel("printf 'a:b;c;d\\n'", "-k --dry-run -d ';' echo", 0);
  same_as_parallel("printf 'a b\\nc\\nd\\n'", "-k --dry-run -L2 echo", 0);
  same_as_parallel("printf 'a\\nb\\nc\\n'", "-k --dry-run -n2 echo", 0);
  same_as_parallel("printf ''", "echo x; echo rc=$?", 0);
  unlink("/tmp/wd-cp-f1");
  unlink("/tmp/wd-cp-f2");
}
END_TEST

/* xargs' input options print what xargs prints, where the man page says
 * "same". */
START_TEST(xargs_options_as_xargs) {
  if (!have("xargs"))
    return;
  same("printf 'a\\0b c\\0'", "xargs", "-k -0 echo", "-0 -n1 echo", 0);
  same("printf 'a;b c;d'", "xargs", "-k -d ';' echo", "-d ';' -n1 echo", 0);
  same("printf 'a\\nb\\nc\\n'", "xargs", "-k -n2 echo", "-n2 echo", 0);
  same("printf 'a\\nb c\\n'", "xargs", "-k -q -I X echo '<X>'", "-I X echo '<X>'", 0);
  same("printf ''", "xargs", "-r echo x; echo rc=$?", "-r echo x; echo rc=$?", 0);
  same("printf 'a\\nb\\n'", "xargs", "-k -P2 -n1 echo", "-P1 -n1 echo", 0);
}
END_TEST

/* What parallel would replace and warden cannot is refused, and nothing
 * runs: no file named after a replacement string. */
START_TEST(unknown_replacement_refused) {
  ck_assert_int_eq(sh("cd /tmp && rm -f wd-cp-a.txt '{=s/t/u/=}.bak' && touch wd-cp-a.txt && "
                      "%s run -j1 -- cp {} {=s/t/u/=}.bak ::: wd-cp-a.txt 2>/dev/null",
                      warden()), 125);
  ck_assert_int_eq(sh("cd /tmp && ls | grep -c '{=' > /dev/null"), 1);
  ck_assert_int_eq(sh("%s run -- echo {0} ::: a 2>/dev/null", WD_BIN), 125);
  /* the data-loss case of the issue: {.} is replaced */
  ck_assert_int_eq(sh("cd /tmp && %s run -j1 -- cp {} {.}.bak ::: wd-cp-a.txt && "
                      "test -e wd-cp-a.bak && ! test -e '{.}.bak'", warden()), 0);
  sh("rm -f /tmp/wd-cp-a.txt /tmp/wd-cp-a.bak");
  /* several words with shell syntax: parallel and xargs disagree */
  int st;
  char *o = out_of(WD_BIN " run -- echo 'a;b' {} ::: x 2>&1", &st);
  ck_assert_int_eq(st, 125);
  ck_assert_ptr_nonnull(strstr(o, "-q"));
  free(o);
  o = out_of(WD_BIN " run -q -- echo 'a;b' {} ::: x", &st);
  ck_assert_str_eq(o, "a;b x\n");
  free(o);
  o = out_of(WD_BIN " run -- sh -c 'echo \"$1\"' x {} ::: 'a  b'", &st);
  ck_assert_str_eq(o, "a  b\n");
  free(o);
}
END_TEST

/* The first command runs while the input is still open: the producer
 * writes its second line only once the first command has run (an event,
 * not a sleep); reading all of stdin first would never finish. */
START_TEST(first_command_starts_before_input_ends) {
  char dir[] = "/tmp/wd-cp-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_int_eq(sh("{ echo a; while [ ! -e %s/a ]; do sleep 0.01; done; echo b; } | "
                      "timeout 60 %s run -j1 -- touch %s/{}", dir, WD_BIN, dir), 0);
  ck_assert_int_eq(sh("test -e %s/b", dir), 0);
  sh("rm -rf %s", dir);
}
END_TEST

/* The peak RSS of "seq N | warden run ARGS > /dev/null", in KiB. */
static long peak_kb(const char *n, const char *args) {
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  pid_t seq = fork();
  if (seq == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execlp("seq", "seq", n, (char *)NULL);
    _exit(127);
  }
  pid_t w = fork();
  if (w == 0) {
    dup2(fds[0], 0);
    close(fds[0]);
    close(fds[1]);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execl("/bin/sh", "sh", "-c", args, (char *)NULL);
    _exit(127);
  }
  close(fds[0]);
  close(fds[1]);
  struct rusage ru;
  int st;
  ck_assert_int_eq(wait4(w, &st, 0, &ru), w);
  ck_assert_int_eq(waitpid(seq, NULL, 0), seq);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %d", args, st);
  return ru.ru_maxrss;
}

/* Inputs are not all held: a million cost what a few do (generous bound;
 * GNU parallel takes 19 MB, warden 2.5 MB). */
START_TEST(million_inputs_bounded_memory) {
  if (WD_ASAN)
    return; /* ASan's shadow and quarantine are no measure */
  long kb = peak_kb(MILLION, "exec " WD_BIN " run --dry-run echo");
  ck_assert_msg(kb < RSS_LIMIT_KB, "--dry-run of a million inputs: %ld KiB", kb);
  kb = peak_kb("20000", "exec " WD_BIN " run -j2 -- true");
  ck_assert_msg(kb < RSS_LIMIT_KB, "20000 commands: %ld KiB", kb);
}
END_TEST

int main(void) {
  Suite *s = suite_create("compat_parallel");
  TCase *tc = wd_test_case(s, "language", 120, NULL, NULL);
  tcase_add_test(tc, replacement_strings_as_parallel);
  tcase_add_test(tc, commands_run_as_parallel);
  tcase_add_test(tc, sources_as_parallel);
  tcase_add_test(tc, xargs_options_as_xargs);
  tcase_add_test(tc, unknown_replacement_refused);
  tc = wd_test_case(s, "streaming", 300, NULL, NULL);
  tcase_add_test(tc, first_command_starts_before_input_ends);
  tcase_add_test(tc, million_inputs_bounded_memory);
  return run_suite(s);
}
