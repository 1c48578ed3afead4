/* test_cli_opts.c -- the CLI's pure parts, called directly: each
 * command's option parser (every option sets its field, durations and
 * sizes, bad values refused with the option named, "--", defaults) and
 * `warden run`'s command templates.  No pool, no process. */
#include <signal.h>
#include <stdint.h>

#include "../cli/opts.h"
#include "../cli/resize.h"
#include "../cli/template.h"
#include "helpers.h"

#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])) - 1)

/* (getopt itself names an unknown option on stderr.) */
static int run_parse(char **argv, int argc, wd_run_opts *o, wd__cli_msg *m) {
  return wd__cli_run_parse(argc, argv, o, m);
}

START_TEST(run_defaults) {
  char *argv[] = {"warden run", "echo", "hi", NULL};
  wd_run_opts o;
  wd__cli_msg m;
  ck_assert_int_eq(run_parse(argv, ARGC(argv), &o, &m), WD__CLI_GO);
  ck_assert_int_ge(o.jobs, 1);
  ck_assert_uint_eq(o.max_output, 0); /* never cut */
  ck_assert_int_eq(o.max_args, 1);
  ck_assert_uint_eq(o.timeout_ms, 0);
  ck_assert_int_eq(o.sig, 0);
  ck_assert_ptr_null(o.joblog);
  ck_assert_ptr_null(o.inputs);
  ck_assert_int_eq(o.ntmpl, 2);
  ck_assert_str_eq(o.tmpl[0], "echo");
  ck_assert_str_eq(m.text, "");
}
END_TEST

START_TEST(run_every_option) {
  char *argv[] = {"warden run", "-j", "3", "--timeout=1m30s", "--signal", "TERM",
                  "--kill-after", "250ms", "--memory", "512M", "--cpu", "2", "--retries", "4",
                  "--halt", "now,fail=10%", "--rate", "4/s", "-k", "--tag",
                  "--max-output", "1K", "--json", "--joblog", "log", "--resume",
                  "--resume-failed", "--progress", "-0", "-N", "2", "--shell",
                  "--", "echo", "{}", ":::", "a", "b", "c", NULL};
  wd_run_opts o;
  wd__cli_msg m;
  ck_assert_int_eq(run_parse(argv, ARGC(argv), &o, &m), WD__CLI_GO);
  ck_assert_int_eq(o.jobs, 3);
  ck_assert_uint_eq(o.timeout_ms, 90000);
  ck_assert_int_eq(o.sig, SIGTERM);
  ck_assert_uint_eq(o.grace_ms, 250);
  ck_assert_int_eq(o.have_grace, 1);
  ck_assert_uint_eq(o.memory, 512u << 20);
  ck_assert_uint_eq(o.cpu_ms, 2000);
  ck_assert_int_eq(o.tries, 4);
  ck_assert_int_eq(o.halt_on, WD__HALT_FAIL);
  ck_assert(o.halt_pct == 10);
  ck_assert_int_eq(o.halt_now, 1);
  ck_assert_uint_eq(o.delay_ms, 250);
  ck_assert(o.keep_order && o.tag && o.json && o.resume && o.resume_failed && o.progress &&
            o.null_sep && o.shell);
  ck_assert_uint_eq(o.max_output, 1024);
  ck_assert_str_eq(o.joblog, "log");
  ck_assert_int_eq(o.max_args, 2);
  ck_assert_int_eq(o.ntmpl, 2);
  ck_assert_str_eq(o.tmpl[1], "{}");
  ck_assert_int_eq(o.ninputs, 3);
  ck_assert_str_eq(o.inputs[2], "c");
}
END_TEST

/* Options stop at the command (+ in getopt's string): the command's own
 * options are its own, with or without "--". */
START_TEST(run_stops_at_the_command) {
  char *argv[] = {"warden run", "-j2", "grep", "-v", "x", NULL};
  wd_run_opts o;
  wd__cli_msg m;
  ck_assert_int_eq(run_parse(argv, ARGC(argv), &o, &m), WD__CLI_GO);
  ck_assert_int_eq(o.jobs, 2);
  ck_assert_int_eq(o.ntmpl, 3);
  ck_assert_str_eq(o.tmpl[1], "-v");
  char *argv2[] = {"warden run", "--", "-j", NULL};
  ck_assert_int_eq(run_parse(argv2, ARGC(argv2), &o, &m), WD__CLI_GO);
  ck_assert_int_eq(o.jobs >= 1, 1);
  ck_assert_str_eq(o.tmpl[0], "-j");
  char *argv3[] = {"warden run", "--delay", "1.5", "-N0", "true", NULL};
  ck_assert_int_eq(run_parse(argv3, ARGC(argv3), &o, &m), WD__CLI_GO);
  ck_assert_uint_eq(o.delay_ms, 1500);
  ck_assert_int_eq(o.max_args, 0);
}
END_TEST

START_TEST(run_bad_values_named) {
  static const struct {
    const char *opt, *arg, *says;
  } bad[] = {
      {"-j", "x", "invalid value 'x' for --jobs"},
      {"-j", "99999999999", "for --jobs"},
      {"--timeout", "5x", "invalid value '5x' for --timeout"},
      {"--signal", "NOPE", "for --signal"},
      {"--kill-after", "x", "for --kill-after"},
      {"--memory", "1Q", "for --memory"},
      {"--memory", "0", "for --memory"},
      {"--memory", "1K", "below the minimum of 1M"},
      {"--cpu", "0", "for --cpu"},
      {"--retries", "-1", "for --retries"},
      {"--halt", "sometimes", "for --halt"},
      {"--halt", "now,fail=200%", "for --halt"},
      {"--halt", "soon,fail=", "for --halt"},
      {"--delay", "x", "for --delay"},
      {"--rate", "0/s", "for --rate"},
      {"--rate", "5", "for --rate"},
      {"--max-output", "1Q", "for --max-output"},
      {"-N", "x", "for --max-args"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *argv[] = {"warden run", (char *)bad[i].opt, (char *)bad[i].arg, "true", NULL};
    wd_run_opts o;
    wd__cli_msg m;
    ck_assert_int_eq(run_parse(argv, ARGC(argv), &o, &m), UV_EINVAL);
    ck_assert_msg(strstr(m.text, bad[i].says) != NULL, "%s %s: \"%s\"", bad[i].opt,
                  bad[i].arg, m.text);
  }
}
END_TEST

START_TEST(run_usage_errors) {
  wd_run_opts o;
  wd__cli_msg m;
  char *none[] = {"warden run", "-j2", NULL};
  ck_assert_int_eq(run_parse(none, ARGC(none), &o, &m), UV_EINVAL);
  ck_assert_str_eq(m.text, "missing command (try 'warden run --help')");
  /* An empty source is no error: nothing runs, as in GNU parallel. */
  char *empty[] = {"warden run", "true", ":::", NULL};
  ck_assert_int_eq(run_parse(empty, ARGC(empty), &o, &m), WD__CLI_GO);
  ck_assert_int_eq(o.nsources, 1);
  ck_assert_int_eq(o.sources[0].nwords, 0);
  char *nofile[] = {"warden run", "true", "::::", NULL};
  ck_assert_int_eq(run_parse(nofile, ARGC(nofile), &o, &m), UV_EINVAL);
  ck_assert_str_eq(m.text, "no file after '::::'");
  char *resume[] = {"warden run", "--resume", "true", NULL};
  ck_assert_int_eq(run_parse(resume, ARGC(resume), &o, &m), UV_EINVAL);
  ck_assert_str_eq(m.text, "--resume needs --joblog FILE");
  char *bogus[] = {"warden run", "--bogus", "true", NULL};
  ck_assert_int_eq(run_parse(bogus, ARGC(bogus), &o, &m), UV_EINVAL);
  ck_assert_str_eq(m.text, "unrecognized option '--bogus'"); /* opts_compat.c */
  char *help[] = {"warden run", "-j", "2", "--help", NULL};
  ck_assert_int_eq(run_parse(help, ARGC(help), &o, &m), WD__CLI_HELP);
}
END_TEST

START_TEST(exec_options) {
  wd_exec_opts o;
  wd__cli_msg m;
  char *argv[] = {"warden exec", "-t", "250ms", "-s", "TERM", "-m", "2G", "-c", "1.5",
                  "--", "sleep", "-x", NULL};
  ck_assert_int_eq(wd__cli_exec_parse(ARGC(argv), argv, &o, &m), WD__CLI_GO);
  ck_assert_uint_eq(o.timeout_ms, 250);
  ck_assert_int_eq(o.sig, SIGTERM);
  ck_assert_uint_eq(o.grace_ms, 1000); /* --signal without --kill-after */
  ck_assert_uint_eq(o.memory, (uint64_t)2 << 30);
  ck_assert_uint_eq(o.cpu_ms, 1500);
  ck_assert_str_eq(o.argv[0], "sleep");
  ck_assert_str_eq(o.argv[1], "-x");
  ck_assert_ptr_null(o.argv[2]);
  char *grace[] = {"warden exec", "-s", "INT", "-k", "0", "true", NULL};
  ck_assert_int_eq(wd__cli_exec_parse(ARGC(grace), grace, &o, &m), WD__CLI_GO);
  ck_assert_uint_eq(o.grace_ms, 0);
  char *dflt[] = {"warden exec", "true", NULL};
  ck_assert_int_eq(wd__cli_exec_parse(ARGC(dflt), dflt, &o, &m), WD__CLI_GO);
  ck_assert(o.timeout_ms == 0 && o.sig == SIGKILL && o.grace_ms == 0 && o.memory == 0);
  ck_assert(!o.timeout_form && !o.preserve_status && !o.foreground && !o.verbose);
}
END_TEST

START_TEST(exec_bad_values) {
  static const struct {
    const char *opt, *arg, *says;
  } bad[] = {
      {"-t", "5x", "invalid duration '5x'"}, {"-t", "-1", "invalid duration '-1'"},
      {"-s", "99", "invalid signal '99'"},   {"-k", "x", "invalid duration 'x'"},
      {"-m", "12Q", "invalid size '12Q'"},   {"-m", "1K", "below the minimum of 1M"},
      {"-c", "abc", "invalid CPU time 'abc'"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *argv[] = {"warden exec", (char *)bad[i].opt, (char *)bad[i].arg, "true", NULL};
    wd_exec_opts o;
    wd__cli_msg m;
    ck_assert_int_eq(wd__cli_exec_parse(ARGC(argv), argv, &o, &m), UV_EINVAL);
    ck_assert_msg(strstr(m.text, bad[i].says) != NULL, "%s: \"%s\"", bad[i].arg, m.text);
  }
  char *none[] = {"warden exec", NULL};
  wd_exec_opts o;
  wd__cli_msg m;
  ck_assert_int_eq(wd__cli_exec_parse(ARGC(none), none, &o, &m), UV_EINVAL);
  ck_assert_str_eq(m.text, "missing command (try 'warden exec --help')");
}
END_TEST

START_TEST(resize_options) {
  wd_resize_opts o;
  wd__cli_msg m;
  char *dflt[] = {"warden resize", "in", "-o", "out", NULL};
  ck_assert_int_eq(wd__cli_resize_parse(ARGC(dflt), dflt, &o, &m), WD__CLI_GO);
  ck_assert_uint_eq(o.timeout_ms, 30000);
  ck_assert_uint_eq(o.memory, (uint64_t)1 << 30);
  ck_assert_uint_eq(o.req.quality, 85);
  ck_assert_uint_eq(o.req.max_pixels, 100000000);
  ck_assert_str_eq(o.outdir, "out");
  ck_assert_int_eq(o.ninputs, 1);
  ck_assert_str_eq(o.inputs[0], "in");
  char *all[] = {"warden resize", "-w", "64", "-H", "48", "--upscale", "-f", "jpeg",
                 "-q", "90", "-j", "2", "-t", "5s", "-m", "256M", "--max-pixels", "2.5M",
                 "--json", "--joblog", "log", "--resume", "--progress", "-o", "out",
                 "a", "b", NULL};
  ck_assert_int_eq(wd__cli_resize_parse(ARGC(all), all, &o, &m), WD__CLI_GO);
  ck_assert(o.req.width == 64 && o.req.height == 48 && o.req.upscale == 1);
  ck_assert_uint_eq(o.req.format, WD_IMG_JPG);
  ck_assert_uint_eq(o.req.quality, 90);
  ck_assert_int_eq(o.jobs, 2);
  ck_assert_uint_eq(o.timeout_ms, 5000);
  ck_assert_uint_eq(o.memory, 256u << 20);
  ck_assert_uint_eq(o.req.max_pixels, 2500000);
  ck_assert(o.json && o.resume && o.progress);
  ck_assert_str_eq(o.joblog, "log");
  ck_assert_int_eq(o.ninputs, 2);
  static const struct {
    const char *opt, *arg, *says;
  } bad[] = {
      {"-w", "x", "'x' for --width"},       {"-H", "-5", "'-5' for --height"},
      {"-f", "tiff", "'tiff' for --format"}, {"-q", "101", "'101' for --quality"},
      {"-j", "0", "'0' for --jobs"},         {"-t", "bad", "'bad' for --timeout"},
      {"-m", "bad", "'bad' for --memory"},   {"--max-pixels", "0", "'0' for --max-pixels"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *argv[] = {"warden resize", (char *)bad[i].opt, (char *)bad[i].arg, "in", "-o", "out",
                    NULL};
    ck_assert_int_eq(wd__cli_resize_parse(ARGC(argv), argv, &o, &m), UV_EINVAL);
    ck_assert_msg(strstr(m.text, bad[i].says) != NULL, "%s: \"%s\"", bad[i].arg, m.text);
  }
  char *noout[] = {"warden resize", "in", NULL};
  ck_assert_int_eq(wd__cli_resize_parse(ARGC(noout), noout, &o, &m), UV_EINVAL);
  ck_assert(strstr(m.text, "missing -o OUTDIR") != NULL);
  char *noin[] = {"warden resize", "-o", "out", NULL};
  ck_assert_int_eq(wd__cli_resize_parse(ARGC(noin), noin, &o, &m), UV_EINVAL);
  ck_assert(strstr(m.text, "no input") != NULL);
}
END_TEST

/* ---- command templates ------------------------------------------------ */

/* Expands words for args and checks the argv (joined by '|') and the
 * command shown. */
static void expect(char **words, int nwords, int shell, char **args, int nargs,
                   const char *argv_joined, const char *shown) {
  wd__cli_template_spec spec = {words, nwords, shell, 0, NULL, NULL, 0};
  wd__cli_template *t;
  wd__cli_msg m;
  ck_assert_int_eq(wd__cli_template_compile(&spec, &t, &m), 0);
  wd__cli_values v = {args, nargs, 1, 1};
  char **argv, *text;
  ck_assert_int_eq(wd__cli_template_expand(t, &v, &argv, &text), 0);
  char got[512] = "";
  for (int i = 0; argv[i]; i++) {
    if (i)
      strcat(got, "|");
    strcat(got, argv[i]);
  }
  ck_assert_str_eq(got, argv_joined);
  ck_assert_str_eq(text, shown);
  wd__cli_template_free(argv);
  wd__cli_template_destroy(t);
  free(text);
}

START_TEST(template_appends_without_braces) {
  char *w[] = {"echo", "x"}, *a[] = {"a b"};
  expect(w, 2, 0, a, 1, "echo|x|a b", "echo x 'a b'");
  char *two[] = {"1", "2"};
  expect(w, 2, 0, two, 2, "echo|x|1|2", "echo x 1 2");
  expect(w, 2, 0, NULL, 0, "echo|x", "echo x "); /* -N0, shown as GNU parallel shows it */
}
END_TEST

START_TEST(template_braces) {
  char *w[] = {"cp", "{}", "{.}.bak"}, *a[] = {"f.txt"};
  expect(w, 3, 0, a, 1, "cp|f.txt|f.bak", "cp f.txt f.bak");
  char *two[] = {"x", "y"};
  /* A word holding {} is repeated per value, as GNU parallel does. */
  expect(w, 3, 0, two, 2, "cp|x|y|x.bak|y.bak", "cp x y x.bak y.bak");
  char *inner[] = {"echo", "<{}>{#}"};
  expect(inner, 2, 1, a, 1, "/bin/sh|-c|echo <f.txt>1", "echo <f.txt>1");
  expect(w, 3, 0, NULL, 0, "cp", "cp  "); /* -N0: {} is nothing */
}
END_TEST

START_TEST(template_shell_quotes) {
  char *w[] = {"echo {} | wc"}, *a[] = {"it's $HOME"};
  expect(w, 1, 0, a, 1, "/bin/sh|-c|echo 'it'\"'\"'s $HOME' | wc",
         "echo 'it'\"'\"'s $HOME' | wc");
  char *plain[] = {"echo"};
  char *two[] = {"a", "b c"};
  expect(plain, 1, 1, two, 2, "/bin/sh|-c|echo a 'b c'", "echo a 'b c'");
  expect(plain, 1, 1, NULL, 0, "/bin/sh|-c|echo ", "echo ");
}
END_TEST

int main(void) {
  Suite *s = suite_create("cli_opts");
  TCase *tc = wd_test_case(s, "options", 10, NULL, NULL);
  tcase_add_test(tc, run_defaults);
  tcase_add_test(tc, run_every_option);
  tcase_add_test(tc, run_stops_at_the_command);
  tcase_add_test(tc, run_bad_values_named);
  tcase_add_test(tc, run_usage_errors);
  tcase_add_test(tc, exec_options);
  tcase_add_test(tc, exec_bad_values);
  tcase_add_test(tc, resize_options);
  tc = wd_test_case(s, "templates", 10, NULL, NULL);
  tcase_add_test(tc, template_appends_without_braces);
  tcase_add_test(tc, template_braces);
  tcase_add_test(tc, template_shell_quotes);
  return run_suite(s);
}
