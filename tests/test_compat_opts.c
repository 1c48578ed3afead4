/* test_compat_opts.c -- `warden run`'s options read as GNU parallel and
 * xargs read them (issue 15, part D): the same invocation under `parallel
 * --will-cite` or `xargs` and under `warden run` gives the same exit status
 * and the same (sorted) output -- -j's forms, -P, --halt's variants,
 * --retries' count, --timeout N%, -t and -v, --nice, --wd, xargs' exit
 * statuses -- and what warden does not do is refused by name with 125:
 * the old short options (with their new spelling), -p, parallel's options
 * warden lacks, an abbreviation that would have meant another option.
 * The parser is also called directly, where a process would prove no
 * more. */
#include <math.h>
#include <sys/stat.h>

#include "../cli/opts.h"
#include "helpers.h"

#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])) - 1)

static const char *W; /* WD_BIN, absolute: the tests run in their own directory */
static char dir[] = "/tmp/wd-compat-XXXXXX";

static int have(const char *tool) {
  int yes = sh("command -v %s >/dev/null 2>&1", tool) == 0;
  if (!yes)
    fprintf(stderr, "%s is not installed: comparing with it is skipped\n", tool);
  return yes;
}

/* The contents of a file (malloc'd); "" if none. */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  char *s = calloc(1, 1 << 16);
  if (f) {
    s[fread(s, 1, (1 << 16) - 1, f)] = '\0';
    fclose(f);
  }
  return s;
}

/* Runs cmd in the test's directory: its exit status; its stdout, sorted,
 * in DIR/NAME.out and its stderr in DIR/NAME.err. */
static int run_in(const char *name, const char *cmd) {
  sh("cd %s && { %s 2>%s.err; echo $? > %s.rc; } | sort > %s.out", dir, cmd, name, name, name);
  char path[128];
  snprintf(path, sizeof(path), "%s/%s.rc", dir, name);
  char *rc = slurp(path);
  int st = atoi(rc);
  free(rc);
  return st;
}

static char *file(const char *name, const char *ext) {
  char path[128];
  snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
  return slurp(path);
}

/* `PEER ARGS` and `warden run WARGS` (ARGS when NULL): the same status and
 * sorted stdout. */
static void same(const char *peer, const char *args, const char *wargs) {
  char p[1024], w[1400];
  snprintf(p, sizeof(p), "%s %s", peer, args);
  snprintf(w, sizeof(w), "%s run %s", W, wargs ? wargs : args);
  int ps = run_in("peer", p), ws = run_in("warden", w);
  char *po = file("peer", "out"), *wo = file("warden", "out");
  if (ps != ws || strcmp(po, wo) != 0)
    ck_abort_msg("%s: status %d, stdout:\n%s\nwarden run: status %d, stdout:\n%s", p, ps, po,
                 ws, wo);
  free(po);
  free(wo);
}

#define PARALLEL "parallel --will-cite"

static void setup(void) {
  ck_assert_ptr_nonnull(mkdtemp(dir));
  /* xargs execs a program: the same one under both */
  sh("cd %s && printf '#!/bin/sh\\necho $1\\ncase $1 in k*) kill -9 $$;; esac\\nexit $1\\n' "
     "> st.sh && chmod +x st.sh", dir);
}

static void teardown(void) {
  sh("rm -rf %s", dir);
  strcpy(dir, "/tmp/wd-compat-XXXXXX");
}

/* ---- the parser ------------------------------------------------------- */

static int parse(char **argv, int argc, wd_run_opts *o, wd__cli_msg *m) {
  return wd__cli_run_parse(argc, argv, o, m);
}

/* -j as GNU parallel reads it: N, 0, N% of the CPUs, +N, -N; -P too. */
START_TEST(jobs_forms) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  static const struct {
    const char *arg;
    double cpus_times, plus; /* jobs = ceil(cpus * times + plus), at least 1 */
  } forms[] = {{"3", 0, 3}, {"50%", 0.5, 0}, {"200%", 2, 0}, {"+2", 1, 2},
               {"-1", 1, -1}, {"-1000", 1, -1000}, {"12.5%", 0.125, 0}};
  for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
    for (int p = 0; p < 2; p++) {
      char *argv[] = {"warden run", p ? "-P" : "-j", (char *)forms[i].arg, "true", NULL};
      wd_run_opts o;
      wd__cli_msg m;
      ck_assert_int_eq(parse(argv, ARGC(argv), &o, &m), WD__CLI_GO);
      double want = ceil((double)n * forms[i].cpus_times + forms[i].plus);
      ck_assert_int_eq(o.jobs, want < 1 ? 1 : (long)want);
    }
  }
  char *zero[] = {"warden run", "-j0", "true", NULL};
  wd_run_opts o;
  wd__cli_msg m;
  ck_assert_int_eq(parse(zero, ARGC(zero), &o, &m), WD__CLI_GO);
  ck_assert_int_eq(o.jobs, 1024); /* as many as possible, within reason */
}
END_TEST

/* Every --halt form parallel takes, with what it means. */
START_TEST(halt_forms) {
  static const struct {
    const char *arg;
    int on, now;
    long count;
    double pct;
  } forms[] = {{"never", 0, 0, 0, 0},
               {"0", 0, 0, 0, 0},
               {"1", WD__HALT_FAIL, 0, 1, 0},
               {"2", WD__HALT_FAIL, 1, 1, 0},
               {"-1", WD__HALT_SUCCESS, 0, 1, 0},
               {"-2", WD__HALT_SUCCESS, 1, 1, 0},
               {"20%", WD__HALT_FAIL, 0, 0, 20},
               {"now,fail=3", WD__HALT_FAIL, 1, 3, 0},
               {"soon,success=10%", WD__HALT_SUCCESS, 0, 0, 10},
               {"now,done=2", WD__HALT_DONE, 1, 2, 0}};
  for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
    char *argv[] = {"warden run", "--halt", (char *)forms[i].arg, "true", NULL};
    wd_run_opts o;
    wd__cli_msg m;
    ck_assert_int_eq(parse(argv, ARGC(argv), &o, &m), WD__CLI_GO);
    ck_assert_int_eq(o.halt_on, forms[i].on);
    if (forms[i].on) {
      ck_assert_int_eq(o.halt_now, forms[i].now);
      ck_assert_int_eq(o.halt_count, forms[i].count);
      ck_assert(o.halt_pct == forms[i].pct);
    }
  }
}
END_TEST

/* What must not run as something else: each refused, saying why. */
START_TEST(refusals_named) {
  static const struct {
    const char *a, *b, *says;
  } bad[] = {
      {"-t", "5s", "for a deadline write --timeout=5s"},
      {"-t5s", "true", "--timeout=5s"},
      {"-r", "3", "for retries write --retries=3"},
      {"-m", "512M", "--memory=SIZE"},
      {"-s", "TERM", "--signal=SIG"},
      {"-c", "2", "--cpu=DURATION"},
      {"-p", "true", "-p (--interactive"},
      {"--res", "d", "--res"},
      {"--ret", "3", "--ret: write the option in full"},
      {"--time", "3", "--time: write the option in full"},
      {"--sshlogin", "h", "--sshlogin (GNU parallel's"},
      {"-S", "h", "-S (GNU parallel's --sshlogin)"},
      {"--semaphore", "true", "--semaphore"},
      {"--shuf", "true", "--shuf"},
      {"-X", "true", "-X ("},
      {"--wd", "...", "--wd ..."},
      {"--exit-codes", "posix", "for --exit-codes"},
      {"--nice", "20", "for --nice"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *argv[] = {"warden run", (char *)bad[i].a, (char *)bad[i].b, "true", NULL};
    wd_run_opts o;
    wd__cli_msg m;
    int rc = parse(argv, ARGC(argv), &o, &m);
    if (strcmp(bad[i].a, "--res") == 0) { /* parallel's --results, also here */
      ck_assert_int_eq(rc, WD__CLI_GO);
      ck_assert_str_eq(o.results, "d");
      continue;
    }
    ck_assert_msg(rc == UV_EINVAL, "%s %s: accepted", bad[i].a, bad[i].b);
    ck_assert_msg(strstr(m.text, bad[i].says), "%s %s: '%s'", bad[i].a, bad[i].b, m.text);
  }
  /* -t and -r before a command are the new options */
  char *ok[] = {"warden run", "-t", "-r", "-v", "echo", "5s", NULL};
  wd_run_opts o;
  wd__cli_msg m;
  ck_assert_int_eq(parse(ok, ARGC(ok), &o, &m), WD__CLI_GO);
  ck_assert(o.print_cmds && o.no_run_if_empty && o.verbose);
  ck_assert_str_eq(o.tmpl[0], "echo");
}
END_TEST

/* ---- against GNU parallel --------------------------------------------- */

START_TEST(jobs_as_parallel) {
  if (!have("parallel"))
    return;
  const char *forms[] = {"-j0", "-j 50%", "-j +1", "-j -1", "-P 2", "--jobs 3"};
  for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
    char args[128];
    snprintf(args, sizeof(args), "%s echo ::: a b c d e", forms[i]);
    same(PARALLEL, args, NULL);
  }
}
END_TEST

/* Exit status and what ran, for each kind of --halt (-j1: one order). */
START_TEST(halt_as_parallel) {
  if (!have("parallel"))
    return;
  static const char *const cases[] = {
      "now,fail=1 ::: 0 3 0 4",      "soon,fail=1 ::: 0 3 0 4",
      "now,fail=2 ::: 0 3 0 4 5",    "soon,fail=2 ::: 0 3 0 4 5",
      "now,success=1 ::: 3 0 4",     "soon,success=2 ::: 3 0 4 0 5",
      "now,done=2 ::: 3 0 4 0 5",    "now,done=1 ::: 4 0 5",
      "2 ::: 0 3 0 4",               "1 ::: 0 3 0 4",
      "never ::: 3 0 4",             "0 ::: 3 0 4",
      "now,fail=50% ::: 0 3 0 4 0 0", "soon,fail=10% ::: 0 0 0 0 0 0 0 0 0 0 0 5",
      "now,fail=1 ::: 0 k 0",         "now,fail=30% ::: 0 3 0 4 0 0",
      "soon,done=50% ::: 0 3 0 4 0 0", "soon,success=50% ::: 0 3 0 4 0 0"};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char args[256];
    snprintf(args, sizeof(args), "-j1 --halt %s", cases[i]);
    char *colon = strstr(args, ":::");
    char full[512];
    snprintf(full, sizeof(full), "%.*s ./st.sh %s", (int)(colon - args), args, colon);
    same(PARALLEL, full, NULL);
  }
}
END_TEST

/* How many times `TOOL --retries N CMD ::: a` ran CMD (each run appends a
 * line to DIR/runs), and its exit status in *st. */
static int runs_of(const char *tool, const char *args, int *st) {
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "%s %s", tool, args);
  sh("rm -f %s/runs", dir);
  *st = run_in("runs", cmd);
  char path[128];
  snprintf(path, sizeof(path), "%s/runs", dir);
  char *s = slurp(path);
  int n = 0;
  for (char *p = s; *p; p++)
    n += *p == '\n';
  free(s);
  return n;
}

/* --retries N: N attempts in all, as parallel; one that fails once and
 * then succeeds runs twice and counts as a success. */
START_TEST(retries_as_parallel) {
  if (!have("parallel"))
    return;
  char wrun[300];
  snprintf(wrun, sizeof(wrun), "%s run", W);
  for (int n = 1; n <= 3; n++) {
    char args[128];
    snprintf(args, sizeof(args), "--retries %d 'echo {} >> runs; exit 1' ::: a", n);
    int pst, wst;
    ck_assert_int_eq(runs_of(PARALLEL, args, &pst), n);
    ck_assert_int_eq(runs_of(wrun, args, &wst), n);
    ck_assert_int_eq(wst, pst);
  }
  const char *twice = "--retries 3 'echo {} >> runs; [ $(wc -l < runs) -ge 2 ]' ::: a";
  int pst, wst;
  ck_assert_int_eq(runs_of(PARALLEL, twice, &pst), 2);
  ck_assert_int_eq(runs_of(wrun, twice, &wst), 2);
  ck_assert_int_eq(pst, 0);
  ck_assert_int_eq(wst, 0);
}
END_TEST

/* --timeout N%: a command far slower than the median is killed.  The
 * gap is wide both ways: a loaded machine never makes a 0.2 s command
 * take 20 times as long, and parallel notices a deadline late (its loop
 * polls). */
START_TEST(timeout_percent_as_parallel) {
  if (!have("parallel"))
    return;
  same(PARALLEL, "-j2 --timeout 2000% 'sleep {}; echo {}' ::: 0.2 0.2 0.2 0.2 0.2 "
       "60.0731 0.2", NULL);
  /* one that started before any command had succeeded: killed too, once
   * the median is known */
  same(PARALLEL, "-j4 --timeout 2000% 'sleep {}; echo {}' ::: 0.2 60.0731 0.2 0.2", NULL);
}
END_TEST

/* -t: each command on stderr as it starts; -v: on stdout with its output. */
START_TEST(print_commands_as_parallel) {
  if (!have("parallel"))
    return;
  same(PARALLEL, "-j1 -v echo ::: a 'b c'", NULL);
  same(PARALLEL, "-j1 -k -v 'echo {}; echo {} >&2' ::: a b", NULL);
  char cmd[256];
  snprintf(cmd, sizeof(cmd), PARALLEL " -j1 -t echo ::: a 'b c'");
  run_in("peer", cmd);
  snprintf(cmd, sizeof(cmd), "%s run -j1 -t echo ::: a 'b c'", W);
  run_in("warden", cmd);
  char *pe = file("peer", "err"), *we = file("warden", "err");
  ck_assert_str_eq(we, pe);
  free(pe);
  free(we);
}
END_TEST

START_TEST(nice_and_wd_as_parallel) {
  if (!have("parallel"))
    return;
  sh("cd %s && printf '#!/bin/sh\\ncut -d\" \" -f19 /proc/self/stat\\n' > nice.sh && "
     "chmod +x nice.sh", dir);
  same(PARALLEL, "--nice 7 ./nice.sh ::: a", NULL);
  same(PARALLEL, "--wd made/here pwd ::: a", "--wd made/here pwd ::: a");
  /* --memfree 1K and --load 100000: the machine has that; all run */
  same(PARALLEL, "--memfree 1K --load 100000 echo ::: a b c", NULL);
}
END_TEST

/* ---- against xargs ----------------------------------------------------- */

/* --exit-codes=xargs: 123 (a command failed), 124 (one exited 255: stop),
 * 125 (one was killed: stop), 126, 127; 0. */
START_TEST(exit_codes_as_xargs) {
  if (!have("xargs"))
    return;
  static const char *const inputs[] = {"0\\n0\\n", "0\\n3\\n0\\n", "0\\n255\\n0\\n",
                                       "0\\nk\\n0\\n", "0\\n200\\n"};
  for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
    char x[256], w[256];
    snprintf(x, sizeof(x), "-n1 -P1 ./st.sh < in");
    snprintf(w, sizeof(w), "--exit-codes=xargs -j1 ./st.sh < in");
    sh("cd %s && printf '%s' > in", dir, inputs[i]);
    same("xargs", x, w);
  }
  sh("cd %s && printf 'a\\n' > in", dir);
  same("xargs", "-n1 ./no-such-command < in", "--exit-codes=xargs ./no-such-command < in");
  same("xargs", "-n1 /etc/passwd < in", "--exit-codes=xargs /etc/passwd < in");
  /* a timeout is a kill: 125 */
  ck_assert_int_eq(sh("%s run --exit-codes=xargs --timeout 100ms sleep ::: 30.0731 "
                      "2>/dev/null", W), 125);
  same("xargs", "-P 2 -n1 echo < in", "-P 2 echo < in");
}
END_TEST

/* xargs' -p asks on the terminal: refused, never run without asking. */
START_TEST(interactive_refused) {
  ck_assert_int_eq(sh("cd %s && %s run -p touch made ::: x 2>err; r=$?; [ ! -e made ] && "
                      "grep -q -- '-p (--interactive' err && exit $r", dir, W), 125);
}
END_TEST

/* ---- refused, end to end ------------------------------------------------ */

START_TEST(old_spellings_refused) {
  static const struct {
    const char *args, *says;
  } old[] = {{"-t 5s -- touch made ::: x", "--timeout=5s"},
             {"-r 3 touch made ::: x", "--retries=3"},
             {"-m 512M touch made ::: x", "--memory=SIZE"},
             {"-s TERM touch made ::: x", "--signal=SIG"},
             {"-c 2 touch made ::: x", "--cpu=DURATION"},
             {"--sshlogin host touch made ::: x", "--sshlogin"},
             {"--ret 3 touch made ::: x", "write the option in full (--retries?)"}};
  for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "%s run %s", W, old[i].args);
    ck_assert_int_eq(run_in("warden", cmd), 125);
    char *e = file("warden", "err");
    ck_assert_msg(strstr(e, old[i].says), "%s: '%s'", old[i].args, e);
    free(e);
    ck_assert_int_eq(sh("test -e %s/made", dir), 1); /* nothing ran */
  }
}
END_TEST

int main(void) {
  char *abs = realpath(WD_BIN, NULL); /* freed at exit */
  W = abs ? abs : WD_BIN;
  Suite *s = suite_create("compat_opts");
  TCase *tc = wd_test_case(s, "options", 10, NULL, NULL);
  tcase_add_test(tc, jobs_forms);
  tcase_add_test(tc, halt_forms);
  tcase_add_test(tc, refusals_named);
  tc = wd_test_case(s, "as_parallel", 120, setup, teardown);
  tcase_add_test(tc, jobs_as_parallel);
  tcase_add_test(tc, halt_as_parallel);
  tcase_add_test(tc, retries_as_parallel);
  tcase_add_test(tc, timeout_percent_as_parallel);
  tcase_add_test(tc, print_commands_as_parallel);
  tcase_add_test(tc, nice_and_wd_as_parallel);
  tc = wd_test_case(s, "as_xargs", 60, setup, teardown);
  tcase_add_test(tc, exit_codes_as_xargs);
  tcase_add_test(tc, interactive_refused);
  tcase_add_test(tc, old_spellings_refused);
  return run_suite(s);
}
