/* test_cli.c -- the warden program, end to end: exit statuses against
 * timeout(1)'s, tree kills with setsid escapees, joblog + resume after a
 * SIGKILL, JSON, retries, halt, Ctrl-C, bad input.  Drives build/warden. */
#include <sys/prctl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <dirent.h>

#include "../cli/parse.h"
#include "helpers.h"
#include "images.h"

static const char *W = WD_BIN;


/* Runs a command and returns its stdout (malloc'd). */
static char *out_of(const char *cmd) {
  FILE *p = popen(cmd, "r");
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof(buf) - 1, p);
  buf[n] = '\0';
  pclose(p);
  return strdup(buf);
}

static int count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  int n = 0, c;
  while (f && (c = fgetc(f)) != EOF)
    n += c == '\n';
  if (f)
    fclose(f);
  return n;
}

START_TEST(parse_words) {
  uint64_t v;
  ck_assert_int_eq(wd__parse_duration("250ms", &v), 0);
  ck_assert_uint_eq(v, 250);
  ck_assert_int_eq(wd__parse_duration("1m30s", &v), 0);
  ck_assert_uint_eq(v, 90000);
  ck_assert_int_eq(wd__parse_duration("1.5", &v), 0);
  ck_assert_uint_eq(v, 1500);
  ck_assert_int_eq(wd__parse_duration("2h", &v), 0);
  ck_assert_uint_eq(v, 7200000);
  ck_assert_int_eq(wd__parse_duration("0", &v), 0);
  ck_assert_uint_eq(v, 0);
  /* A positive duration is at least one tick, never 0 = "none". */
  ck_assert_int_eq(wd__parse_duration("0.0004", &v), 0);
  ck_assert_uint_eq(v, 1);
  ck_assert_int_eq(wd__parse_duration("0.4ms", &v), 0);
  ck_assert_uint_eq(v, 1);
  ck_assert_int_eq(wd__parse_duration("0.000001s", &v), 0);
  ck_assert_uint_eq(v, 1);
  ck_assert_int_eq(wd__parse_duration("0ms", &v), 0);
  ck_assert_uint_eq(v, 0);
  ck_assert_int_eq(wd__parse_duration("0.0", &v), 0);
  ck_assert_uint_eq(v, 0);
  ck_assert_int_eq(wd__parse_duration("10x", &v), UV_EINVAL);
  ck_assert_int_eq(wd__parse_duration("-1", &v), UV_EINVAL);
  ck_assert_int_eq(wd__parse_duration("", &v), UV_EINVAL);
  ck_assert_int_eq(wd__parse_duration("1s5", &v), UV_EINVAL);
  ck_assert_int_eq(wd__parse_size("512M", &v), 0);
  ck_assert_uint_eq(v, 512u << 20);
  ck_assert_int_eq(wd__parse_size("1.5GiB", &v), 0);
  ck_assert_uint_eq(v, 3u << 29);
  ck_assert_int_eq(wd__parse_size("4096", &v), 0);
  ck_assert_uint_eq(v, 4096);
  ck_assert_int_eq(wd__parse_size("0.0001K", &v), 0);
  ck_assert_uint_eq(v, 1);
  ck_assert_int_eq(wd__parse_size("0", &v), 0);
  ck_assert_uint_eq(v, 0);
  ck_assert_int_eq(wd__parse_size("12Q", &v), UV_EINVAL);
  int sig;
  ck_assert_int_eq(wd__parse_signal("TERM", &sig), 0);
  ck_assert_int_eq(sig, SIGTERM);
  ck_assert_int_eq(wd__parse_signal("sigkill", &sig), 0);
  ck_assert_int_eq(sig, SIGKILL);
  ck_assert_int_eq(wd__parse_signal("9", &sig), 0);
  ck_assert_int_eq(sig, 9);
  ck_assert_int_eq(wd__parse_signal("NOPE", &sig), UV_EINVAL);
}
END_TEST

/* --resume reads whole records only: nine tab-separated columns with a
 * number where one belongs, ended by a newline. */
START_TEST(parse_joblog_lines) {
  size_t seq;
  int ev, sig;
  const char *ok = "12\t:\t1700000000.123\t0.005\t0\t42\t3\t0\tsleep 1";
  ck_assert_int_eq(wd__parse_joblog_line(ok, strlen(ok), &seq, &ev, &sig), 0);
  ck_assert_uint_eq(seq, 12);
  ck_assert_int_eq(ev, 3);
  ck_assert_int_eq(sig, 0);
  /* GNU parallel pads JobRuntime; a killed command has Exitval -1. */
  const char *gnu = "3\tlocal\t1700000000.123\t     0.005\t0\t0\t-1\t9\tsleep 9";
  ck_assert_int_eq(wd__parse_joblog_line(gnu, strlen(gnu), &seq, &ev, &sig), 0);
  ck_assert_int_eq(ev, -1);
  ck_assert_int_eq(sig, 9);
  /* The command may be empty and may hold tabs of an older log. */
  const char *tabs = "4\t:\t1.0\t0.1\t0\t0\t0\t0\ta\tb";
  ck_assert_int_eq(wd__parse_joblog_line(tabs, strlen(tabs), &seq, &ev, &sig), 0);
  static const char *bad[] = {
      "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand",
      "2 : 0 0 0 0 0 0 fake",              /* spaces are not tabs */
      "2\t:\t0\t0\t0\t0\t0\t0",            /* eight columns */
      "2\t:\t0\t0\t0\t0\t0",               /* cut short */
      "0\t:\t0\t0\t0\t0\t0\t0\tx",         /* Seq starts at 1 */
      "-2\t:\t0\t0\t0\t0\t0\t0\tx",
      "2x\t:\t0\t0\t0\t0\t0\t0\tx",
      "2\t\t0\t0\t0\t0\t0\t0\tx",          /* no host */
      "2\t:\tnow\t0\t0\t0\t0\t0\tx",
      "2\t:\t0\t0\t0\t0\t\t0\tx",          /* no Exitval */
      "2\t:\t0\t0\t0\t0\t0\t0.5\tx",
      "2\t:\t0\t0\t0\t0\t0\t0\tx\ny",      /* two lines */
      "99999999999999999999\t:\t0\t0\t0\t0\t0\t0\tx",
      "",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ck_assert_msg(wd__parse_joblog_line(bad[i], strlen(bad[i]), &seq, &ev, &sig) == UV_EINVAL,
                  "accepted: %s", bad[i]);
}
END_TEST

START_TEST(exec_statuses_match_timeout) {
  /* Each line: warden's status, then coreutils timeout's for the same. */
  const char *cmds[] = {"sh -c 'exit 3'", "/nonexistent-cmd", "/etc/passwd",
                        "sh -c 'kill -9 $$'", "true"};
  for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
    int w = sh("%s exec -- %s 2>/dev/null", W, cmds[i]);
    int t = sh("timeout 10 %s 2>/dev/null", cmds[i]);
    ck_assert_msg(w == t, "%s: warden %d, timeout %d", cmds[i], w, t);
  }
  ck_assert_int_eq(sh("%s exec -t 200ms -- sleep 5", W), 124);
  ck_assert_int_eq(sh("%s exec --timeout=0.2 --signal=TERM -- sleep 5", W), 124);
  ck_assert_int_eq(sh("echo piped | %s exec -- grep -q piped", W), 0);
}
END_TEST

START_TEST(exec_kills_setsid_escapee) {
  char pidfile[] = "/tmp/wd-esc-XXXXXX";
  close(mkstemp(pidfile));
  /* The deadline must leave the command time to record its escapee on a
   * loaded machine (300 ms did not, with the other suites running). */
  ck_assert_int_eq(sh("%s exec -t 2s -- sh -c 'setsid sleep 60 & echo $! > %s; sleep 60'",
                      W, pidfile), 124);
  FILE *f = fopen(pidfile, "r");
  int pid = 0;
  ck_assert_int_eq(fscanf(f, "%d", &pid), 1);
  fclose(f);
  unlink(pidfile);
  /* warden has exited: the escapee must already be dead, not dying. */
  ck_assert_msg(pid_dead(pid), "setsid escapee %d survived warden exec", pid);
}
END_TEST

static double mono_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* The limits reach the command; --signal then KILL after --kill-after;
 * and a command that ends by itself leaves nothing behind either. */
START_TEST(exec_limits_grace_and_cleanup) {
  char *o = out_of(WD_BIN " exec -m 64M -c 3 -- sh -c 'ulimit -v; ulimit -t'");
  ck_assert_str_eq(o, "65536\n3\n");
  free(o);
  /* The first signal ignored: KILL comes after the grace.  USR1 ignored
   * here is ignored by the command from its first instruction (a trap set
   * by a shell could come after a deadline on a loaded machine). */
  signal(SIGUSR1, SIG_IGN);
  double t0 = mono_s();
  ck_assert_int_eq(sh("%s exec -t 100ms -s USR1 -k 400ms -- sleep 30", W), 124);
  double took = mono_s() - t0;
  signal(SIGUSR1, SIG_DFL);
  ck_assert_msg(took >= 0.5 && took < 20, "USR1 ignored: %.2f s", took);
  /* TERM honoured: no wait for a 30 s grace. */
  t0 = mono_s();
  ck_assert_int_eq(sh("%s exec -t 100ms -s TERM -k 30s -- sh -c 'sleep 30 & wait'", W), 124);
  took = mono_s() - t0;
  ck_assert_msg(took < 20, "TERM honoured: %.2f s", took);
  /* A command that joins warden's own group is still reached. */
  t0 = mono_s();
  ck_assert_int_eq(sh("%s exec -t 200ms -- perl -e 'setpgrp(0, getpgrp(getppid())) or die; sleep 60'",
                      W),
                   124);
  took = mono_s() - t0;
  ck_assert_msg(took < 20, "left its group: %.2f s", took);
  /* Exits 0, leaving a child in its group and one in a session of its
   * own (it writes its pid once setsid() is done, and sh waits for that). */
  char f1[] = "/tmp/wd-bg-XXXXXX", f2[] = "/tmp/wd-bg-XXXXXX";
  close(mkstemp(f1));
  close(mkstemp(f2));
  ck_assert_int_eq(sh("%s exec -- sh -c 'sleep 60 & echo $! > %s; "
                      "setsid sh -c \"echo \\$\\$ > %s; exec sleep 60\" & "
                      "while [ ! -s %s ]; do sleep 0.01; done'",
                      W, f1, f2, f2),
                   0);
  const char *files[] = {f1, f2};
  for (int i = 0; i < 2; i++) {
    FILE *f = fopen(files[i], "r");
    int pid = 0;
    ck_assert_int_eq(fscanf(f, "%d", &pid), 1);
    fclose(f);
    unlink(files[i]);
    ck_assert_msg(pid_dead(pid), "%d survived warden exec", pid);
  }
}
END_TEST

/* Sub-millisecond durations are one tick, not "none": a deadline of
 * 0.4 ms still kills, a CPU limit of 0.4 ms is still a limit (1 s, the
 * kernel's unit) on both commands. */
START_TEST(sub_ms_durations_are_kept) {
  ck_assert_int_eq(sh("%s exec -t 0.0004 -- sleep 10", W), 124);
  char *o = out_of(WD_BIN " run --json --timeout 0.0004 -- sleep ::: 10");
  ck_assert_msg(strstr(o, "\"status\":\"timeout\"") != NULL, "got %s", o);
  free(o);
  o = out_of(WD_BIN " exec -c 0.0004 -- sh -c 'ulimit -t'");
  ck_assert_str_eq(o, "1\n");
  free(o);
  o = out_of(WD_BIN " run --cpu 0.0004 -- sh -c 'ulimit -t' ::: x 2>&1");
  ck_assert_str_eq(o, "1\n");
  free(o);
}
END_TEST

/* `warden resize` runs warden-resize, found beside warden (the build tree)
 * or in ../libexec/warden/ (make install); without it, a clear 125.  And
 * warden itself does not load the image libraries (the point of the split:
 * every exec and run starts without them). */
START_TEST(resize_helper_is_found) {
  char dir[] = "/tmp/wd-inst-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_int_eq(sh("mkdir -p %s/bin %s/libexec/warden && cp %s %s/bin/", dir, dir, W, dir), 0);
  int rc = sh("%s/bin/warden resize --help > %s/out 2> %s/err", dir, dir, dir);
  ck_assert_int_eq(rc, 125);
  ck_assert_int_eq(sh("grep -q 'warden resize: cannot find warden-resize' %s/err", dir), 0);
  ck_assert_int_eq(sh("cp %s-resize %s/libexec/warden/", W, dir), 0);
  ck_assert_int_eq(sh("%s/bin/warden resize --help > %s/out", dir, dir), 0);
  ck_assert_int_eq(sh("grep -q '^Usage: warden resize' %s/out", dir), 0);
  /* Beside it, as in the build tree, it is found too. */
  ck_assert_int_eq(sh("%s resize --bogus 2>&1 | grep -q \"warden resize: unrecognized option '--bogus'\"", W), 0);
  ck_assert_int_eq(sh("ldd %s | grep -Eq 'lib(jpeg|spng|stb|seccomp)'", W), 1);
  ck_assert_int_eq(sh("rm -r %s", dir), 0);
}
END_TEST

START_TEST(exec_bad_input) {
  ck_assert_int_eq(sh("%s exec --bogus -- true 2>/dev/null", W), 125);
  ck_assert_int_eq(sh("%s exec -t 10parsecs -- true 2>/dev/null", W), 125);
  ck_assert_int_eq(sh("%s exec 2>/dev/null", W), 125);
  ck_assert_int_eq(sh("%s nosuchcommand 2>/dev/null", W), 125);
  ck_assert_int_eq(sh("%s exec --help | grep -q -- --timeout", W), 0);
  ck_assert_int_eq(sh("%s run --help | grep -q -- --joblog", W), 0);
}
END_TEST

START_TEST(exec_forwards_sigint) {
  /* The command says when its trap is set, on a pipe. */
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    execl(W, W, "exec", "--", "sh", "-c", "trap 'exit 7' INT; echo set; sleep 30 & wait",
          (char *)NULL);
    _exit(99);
  }
  close(p[1]);
  char said[8] = {0};
  ck_assert_int_eq(read(p[0], said, sizeof(said) - 1), 4);
  ck_assert_str_eq(said, "set\n");
  kill(pid, SIGINT);
  int st;
  waitpid(pid, &st, 0);
  ck_assert(WIFEXITED(st));
  ck_assert_int_eq(WEXITSTATUS(st), 7); /* the command decided */
  close(p[0]);
}
END_TEST

START_TEST(run_outputs_and_status) {
  char *o = out_of("seq 6 | " WD_BIN " run -j3 -k -- sh -c 'echo line $1; exit $(( $1 % 3 == 0 ))' x 2>/dev/null; echo rc=$?");
  ck_assert_str_eq(o, "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nrc=2\n");
  free(o);
  o = out_of(WD_BIN " run -k --tag -- echo ::: a b");
  ck_assert_str_eq(o, "a\ta\nb\tb\n");
  free(o);
  o = out_of("printf 'x y\\0z\\0' | " WD_BIN " run -0 -k -- echo");
  ck_assert_str_eq(o, "x y\nz\n");
  free(o);
  o = out_of(WD_BIN " run -k --shell -- 'echo {} | tr a-z A-Z' ::: \"it's\"");
  ck_assert_str_eq(o, "IT'S\n");
  free(o);
}
END_TEST

START_TEST(run_json_is_valid_for_any_bytes) {
  char *o = out_of(WD_BIN " run -q --json -- printf '\\377\\001\"\\\\%s' ::: q");
  ck_assert_ptr_nonnull(strstr(o, "\"stdout\":\"\\ufffd\\u0001\\\"\\\\q\""));
  ck_assert_ptr_nonnull(strstr(o, "\"status\":\"ok\""));
  free(o);
  ck_assert_int_eq(sh(WD_BIN " run -q --json -- printf '\\377\\376' ::: a b c"
                      " | python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]'"), 0);
  o = out_of(WD_BIN " run --json --timeout 100ms -- sleep ::: 5");
  ck_assert_ptr_nonnull(strstr(o, "\"status\":\"timeout\""));
  free(o);
}
END_TEST

START_TEST(run_timeout_kills_trees) {
  char dir[] = "/tmp/wd-run-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  /* 2 s: time for each command to record its escapee under load. */
  ck_assert_int_eq(sh(WD_BIN " run -j4 --timeout 2s -- sh -c 'setsid sleep 60 & echo $! > %s/$1; sleep 60' x ::: 1 2 3 4 2>/dev/null", dir), 4);
  for (int i = 1; i <= 4; i++) {
    char path[128];
    snprintf(path, sizeof(path), "%s/%d", dir, i);
    FILE *f = fopen(path, "r");
    int pid = 0;
    ck_assert(f && fscanf(f, "%d", &pid) == 1);
    fclose(f);
    unlink(path);
    ck_assert_msg(pid_dead(pid), "escapee %d survived", pid);
  }
  rmdir(dir);
}
END_TEST

START_TEST(run_retries_and_halt) {
  char m[] = "/tmp/wd-retry-XXXXXX";
  close(mkstemp(m));
  unlink(m);
  char cmd[512];
  snprintf(cmd, sizeof(cmd),
           WD_BIN " run --json --retries 3 -- sh -c '[ -e %s ] || { touch %s; exit 1; }' ::: a", m, m);
  char *o = out_of(cmd);
  ck_assert_ptr_nonnull(strstr(o, "\"attempts\":2"));
  ck_assert_ptr_nonnull(strstr(o, "\"status\":\"ok\""));
  free(o);
  unlink(m);
  /* halt now after the first failure: the slow ones are killed, not run */
  uint64_t t0 = uv_hrtime();
  int rc = sh(WD_BIN " run -j2 --halt now,fail=1 -- sh -c 'sleep $1; exit 1' x ::: 0 30 30 30 2>/dev/null");
  ck_assert_int_ge(rc, 1);
  ck_assert_uint_lt(uv_hrtime() - t0, 20000000000ull);
}
END_TEST

START_TEST(run_joblog_resume_after_sigkill) {
  char log[] = "/tmp/wd-log-XXXXXX";
  close(mkstemp(log));
  unlink(log);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    execl(W, W, "run", "-j2", "--joblog", log, "--", "sleep", ":::", "0.05", "0.05",
          "0.05", "0.05", "3", "3", "3", "3", (char *)NULL);
    _exit(99);
  }
  /* Wait until the four quick ones are logged (the file tells us). */
  for (int i = 0; i < 10000 && count_lines(log) < 5; i++)
    usleep(1000);
  ck_assert_int_eq(count_lines(log), 5);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  /* Rerun with --resume: exactly the four unfinished ones run. */
  char cmd[512];
  snprintf(cmd, sizeof(cmd), WD_BIN " run -j4 --joblog %s --resume -- sleep ::: 0.05 0.05 0.05 0.05 0.1 0.1 0.1 0.1", log);
  ck_assert_int_eq(sh("%s", cmd), 0);
  ck_assert_int_eq(count_lines(log), 9);
  for (int seq = 1; seq <= 8; seq++) {
    char grep[256];
    snprintf(grep, sizeof(grep), "test $(cut -f1 %s | grep -cx %d) -eq 1", log, seq);
    ck_assert_msg(sh("%s", grep) == 0, "seq %d not logged exactly once", seq);
  }
  ck_assert_int_eq(sh("%s", cmd), 0); /* all done: nothing runs */
  ck_assert_int_eq(count_lines(log), 9);
  unlink(log);
}
END_TEST

/* An input holding a newline and tabs (-0) that spell a record: the log
 * stays one line of nine columns per command (the command column is
 * escaped), so --resume-failed still reruns the command that failed. */
START_TEST(run_joblog_escapes_inputs) {
  char log[] = "/tmp/wd-jesc-XXXXXX";
  close(mkstemp(log));
  unlink(log);
  const char *in = "printf 'ok\\n2\\t:\\t0\\t0\\t0\\t0\\t0\\t0\\tfake\\0fail\\0'";
  const char *cmd = "sh -c '[ \"$1\" != fail ]' x";
  ck_assert_int_eq(sh("%s | %s run -0 --joblog %s -- %s", in, W, log, cmd), 1);
  ck_assert_int_eq(count_lines(log), 3);
  ck_assert_int_eq(sh("test $(awk -F'\\t' 'NF != 9' %s | wc -l) -eq 0", log), 0);
  /* As written: \n and \t, a backslash and a letter each (in the quotes
   * GNU parallel puts around such an input). */
  ck_assert_int_eq(sh("grep -qF \"x 'ok\\n2\\t:\\t0\\t\" %s", log), 0);
  ck_assert_int_eq(sh("%s | %s run -0 --joblog %s --resume-failed -- %s", in, W, log, cmd), 1);
  ck_assert_int_eq(count_lines(log), 4);
  ck_assert_int_eq(sh("test $(cut -f1 %s | grep -cx 2) -eq 2", log), 0);
  unlink(log);
}
END_TEST

/* A last line with no newline (a record cut short by a crash or a full
 * disk) is not a record: --resume runs its command again, and the next
 * record is not glued to it. */
START_TEST(run_joblog_ignores_cut_line) {
  char log[] = "/tmp/wd-jcut-XXXXXX";
  int fd = mkstemp(log);
  static const char text[] =
      "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"
      "1\t:\t1700000000.000\t0.001\t0\t2\t0\t0\techo a\n"
      "2\t:\t1700000000.000\t0.001\t0\t2\t0\t0\techo b"; /* no newline */
  ck_assert_int_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
  close(fd);
  char cmd[256];
  snprintf(cmd, sizeof(cmd), WD_BIN " run -k --joblog %s --resume -- echo ::: a b c", log);
  char *o = out_of(cmd);
  ck_assert_str_eq(o, "b\nc\n");
  free(o);
  ck_assert_int_eq(count_lines(log), 4);
  ck_assert_int_eq(sh("test $(awk -F'\\t' 'NF != 9' %s | wc -l) -eq 0", log), 0);
  for (int seq = 1; seq <= 3; seq++)
    ck_assert_msg(sh("test $(cut -f1 %s | grep -cx %d) -eq 1", log, seq) == 0,
                  "seq %d not logged exactly once", seq);
  unlink(log);
}
END_TEST

/* Files in dir (what the commands of a run left there). */
static int count_files(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL)
    n += e->d_name[0] != '.';
  if (d)
    closedir(d);
  return n;
}

/* The joblog on a full disk (a 16 KiB tmpfs, filled up): the record that
 * does not fit is not left half-written, the error names ENOSPC, nothing
 * new starts and warden exits 125.  Once there is space again, --resume
 * runs exactly the commands the log does not have, and every line of the
 * log is one whole record. */
START_TEST(run_joblog_full_disk) {
  char tiny[] = "/tmp/wd-jfull-XXXXXX", ran[] = "/tmp/wd-jran-XXXXXX",
       err[] = "/tmp/wd-jerr-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(tiny));
  if (sh("mount -t tmpfs -o size=16k tmpfs %s 2>/dev/null", tiny) != 0) {
    fprintf(stderr, "run_joblog_full_disk: cannot mount a tmpfs (not root?): skipped\n");
    rmdir(tiny);
    return;
  }
  ck_assert_ptr_nonnull(mkdtemp(ran)); /* which commands ran, off the tiny disk */
  close(mkstemp(err));
  char log[64];
  snprintf(log, sizeof(log), "%s/log", tiny);
  /* The header takes the log's first page and the filler every other
   * one: records fit until that page is full, and the next one is cut. */
  ck_assert_int_eq(sh("printf 'Seq\\tHost\\tStarttime\\tJobRuntime\\tSend\\tReceive\\tExitval"
                      "\\tSignal\\tCommand\\n' > %s && "
                      "dd if=/dev/zero of=%s/fill bs=1k 2>/dev/null; "
                      "test $(df --output=avail %s | tail -1) -eq 0", log, tiny, tiny), 0);
  /* Records of ~120 bytes: about 30 of the 60 fit. */
  char run[512];
  snprintf(run, sizeof(run), "%s run -j2 --joblog %s %%s -- sh -c 'touch %s/$1' x ::: "
           "$(seq -f '%%%%02g%060d' 60) > /dev/null 2>> %s", W, log, ran, 0, err);
  char cmd[600];
  snprintf(cmd, sizeof(cmd), run, "");
  int rc1 = sh("%s", cmd);
  int said = sh("grep -q 'cannot write joblog %s: No space left on device' %s", log, err);
  int logged1 = count_lines(log) - 1, ran1 = count_files(ran);
  int whole1 = sh("test \"$(tail -c1 %s | od -An -c | tr -d ' ')\" = '\\n'", log);
  /* Space again: --resume runs what the log lacks, and only that. */
  sh("rm %s/fill %s/*", tiny, ran);
  snprintf(cmd, sizeof(cmd), run, "--resume");
  int rc2 = sh("%s", cmd);
  int ran2 = count_files(ran), lines = count_lines(log);
  int fields = sh("test $(awk -F'\\t' 'NF != 9' %s | wc -l) -eq 0", log);
  int once = sh("test $(tail -n +2 %s | cut -f1 | sort -u | wc -l) -eq 60", log);
  sh("umount %s; rmdir %s; rm -rf %s %s", tiny, tiny, ran, err);
  ck_assert_int_eq(rc1, 125);
  ck_assert_msg(said == 0, "no ENOSPC message");
  ck_assert_msg(whole1 == 0, "a partial line was left");
  ck_assert_msg(logged1 > 0 && logged1 < 60, "%d records on a full disk", logged1);
  /* Nothing new after the failure: at most the two that were running. */
  ck_assert_msg(ran1 <= logged1 + 3, "%d commands ran, %d logged", ran1, logged1);
  ck_assert_int_eq(rc2, 0);
  ck_assert_int_eq(ran2, 60 - logged1);
  ck_assert_int_eq(lines, 61);
  ck_assert_int_eq(fields, 0);
  ck_assert_int_eq(once, 0);
}
END_TEST

/* A command's joblog line is written after its output: when the reader
 * of stdout has gone (`warden run ... | head -1`), the command whose
 * output could not be written is not logged, and --resume runs it again. */
START_TEST(run_joblog_after_output) {
  char dir[] = "/tmp/wd-jout-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  /* Command 2 prints only once head has exited and nothing holds the
   * pipe's read end; it waits at most 20 s for that. */
  ck_assert_int_eq(
      sh("%s run -j1 -k --joblog %s/log -- sh -c '[ $1 = 2 ] && for i in $(seq 2000); do "
         "[ -e %s/gone ] && break; sleep 0.01; done; echo $1' x ::: 1 2 "
         "| { head -1 > %s/out; exec <&-; touch %s/gone; }",
         W, dir, dir, dir, dir),
      0);
  char path[256];
  snprintf(path, sizeof(path), "%s/out", dir);
  size_t n;
  char *out = read_file(path, &n);
  ck_assert_str_eq(out, "1\n");
  free(out);
  snprintf(path, sizeof(path), "%s/log", dir);
  ck_assert_int_eq(sh("cut -f1 %s | grep -qx 1", path), 0);
  ck_assert_msg(sh("cut -f1 %s | grep -qx 2", path) != 0,
                "command 2 logged although its output was lost");
  sh("rm -rf %s", dir);
}
END_TEST

START_TEST(run_sigint_kills_everything) {
  char dir[] = "/tmp/wd-int-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  pid_t pid = fork();
  if (pid == 0) {
    char c[256];
    snprintf(c, sizeof(c), "setsid sleep 60 & echo $! > %s/$1; sleep 60", dir);
    execl(W, W, "run", "-j2", "--", "sh", "-c", c, "x", ":::", "1", "2", "3", (char *)NULL);
    _exit(99);
  }
  char p1[128], p2[128];
  snprintf(p1, sizeof(p1), "%s/1", dir);
  snprintf(p2, sizeof(p2), "%s/2", dir);
  /* Both escapees recorded (each file created, then written). */
  struct stat s1, s2;
  for (int i = 0; i < 10000 && (stat(p1, &s1) || stat(p2, &s2) || !s1.st_size || !s2.st_size);
       i++)
    usleep(1000);
  kill(pid, SIGINT);
  int status;
  waitpid(pid, &status, 0);
  ck_assert(WIFEXITED(status));
  ck_assert_int_eq(WEXITSTATUS(status), 130);
  for (int i = 1; i <= 2; i++) {
    char path[128];
    snprintf(path, sizeof(path), "%s/%d", dir, i);
    FILE *f = fopen(path, "r");
    int pid2 = 0;
    ck_assert(f && fscanf(f, "%d", &pid2) == 1);
    fclose(f);
    unlink(path);
    ck_assert_msg(pid_dead(pid2), "escapee %d survived Ctrl-C", pid2);
  }
  unlink(p1);
  rmdir(dir);
}
END_TEST

START_TEST(run_bad_input) {
  ck_assert_int_eq(sh("%s run --jobs=zero -- true ::: a 2>/dev/null", W), 125);
  ck_assert_int_eq(sh("%s run --halt sometimes -- true ::: a 2>/dev/null", W), 125);
  /* No input: nothing to run, and no error (GNU parallel, xargs -r). */
  ck_assert_int_eq(sh("%s run -- true < /dev/null 2>/dev/null", W), 0);
  ck_assert_int_eq(sh("%s run ::: a 2>/dev/null", W), 125);
  ck_assert_int_eq(sh("%s run --resume -- true ::: a 2>/dev/null", W), 125);
  ck_assert_int_eq(sh("%s run --joblog /nonexistent/dir/log -- true ::: a 2>/dev/null", W), 125);
  ck_assert_int_eq(sh("%s run -- /nonexistent-cmd ::: a b 2>/dev/null", W), 2);
}
END_TEST

/* A low descriptor limit is not a crash: warden run raises its soft
 * limit to the hard one and, if -j still does not fit, runs fewer at once
 * with a warning (as GNU parallel does); every command runs and is ok.
 * Below what one command needs, a clear 125. */
START_TEST(run_low_fd_limit) {
  char err[] = "/tmp/wd-fds-XXXXXX";
  close(mkstemp(err));
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "sh -c 'ulimit -n 40; exec %s run -j 30 -N0 --json -- true ::: "
           "$(seq 30)' 2> %s | grep -c '\"status\":\"ok\"'", W, err);
  char *o = out_of(cmd);
  ck_assert_str_eq(o, "30\n");
  free(o);
  ck_assert_int_eq(sh("grep -Eq 'warden run: warning: only enough file descriptors "
                      "\\(ulimit -n 40\\) to run [1-9][0-9]* commands at once, not 30' %s",
                      err), 0);
  ck_assert_int_eq(sh("grep -q crashed %s", err), 1);
  /* Only the soft limit low: raised to the hard one, no warning. */
  ck_assert_int_eq(sh("sh -c 'ulimit -Sn 40; ulimit -Hn 4096; exec %s run -j 30 -N0 -- true ::: "
                      "$(seq 30)' 2> %s", W, err), 0);
  ck_assert_int_eq(sh("test -s %s", err), 1);
  ck_assert_int_eq(sh("sh -c 'ulimit -n 16; exec %s run -j 2 -- true ::: a b' 2> %s", W, err),
                   125);
  ck_assert_int_eq(sh("grep -q 'too few file descriptors (ulimit -n 16) to run a command' %s",
                      err), 0);
  unlink(err);
}
END_TEST

/* Every option of every subcommand given a value it cannot take, and the
 * other ways to hold it wrong: each gets 125, a message on stderr that
 * names warden and what was wrong, nothing on stdout, no crash, and no
 * output made. */
START_TEST(bad_input_every_option) {
  char dir[] = "/tmp/wd-bad-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  static const struct {
    const char *args, *says;
  } bad[] = {
      {"", "Usage: warden COMMAND"},
      {"--bogus", "unknown command '--bogus'"},
      {"exec --bogus -- true", "warden exec: unrecognized option '--bogus'"},
      {"exec --timeout", "warden exec: option '--timeout' requires an argument"},
      {"exec -t 5x -- true", "invalid duration '5x'"},
      {"exec -t -1 -- true", "invalid duration '-1'"},
      {"exec -s NOPE -- true", "invalid signal 'NOPE'"},
      {"exec -s 99 -- true", "invalid signal '99'"},
      {"exec -s TERM --kill-after=x -- true", "invalid duration 'x'"},
      {"exec -m 12Q -- true", "invalid size '12Q'"},
      {"exec -c abc -- true", "invalid CPU time 'abc'"},
      {"exec", "warden exec"},
      {"run -y -- true ::: a", "warden run: invalid option -- 'y'"},
      {"run -x -- true ::: a", "warden run: -x (exit if a command line is too long) is not "
                               "supported"},
      {"run -j x -- true ::: a", "'x' for --jobs"},
      {"run -j 99999999999 -- true ::: a", "'99999999999' for --jobs"},
      {"run --timeout x -- true ::: a", "'x' for --timeout"},
      {"run --signal NOPE -- true ::: a", "'NOPE' for --signal"},
      {"run --kill-after x -- true ::: a", "'x' for --kill-after"},
      {"run --memory 1Q -- true ::: a", "'1Q' for --memory"},
      {"run --cpu x -- true ::: a", "'x' for --cpu"},
      /* No program starts under 1 MiB: not a crash, a clear refusal. */
      {"run --memory 1K -- true ::: a", "memory limit '1K' is below the minimum of 1M"},
      {"run --memory 1048575 -- true ::: a", "below the minimum of 1M"},
      {"run --retries -1 -- true ::: a", "'-1' for --retries"},
      {"run --halt now,fail= -- true ::: a", "'now,fail=' for --halt"},
      {"run --halt now,fail=200% -- true ::: a", "'now,fail=200%' for --halt"},
      {"run --delay x -- true ::: a", "'x' for --delay"},
      {"run --rate 0/s -- true ::: a", "'0/s' for --rate"},
      {"run --max-output 1Q -- true ::: a", "'1Q' for --max-output"},
      {"run -N x -- true ::: a", "'x' for --max-args"},
      {"run --resume-failed -- true ::: a", "--resume needs --joblog"},
      {"run -- true ::::", "no file after '::::'"},
      {"run -- echo < /", "reading stdin"},
      {"run --joblog /etc/passwd/x -- true ::: a", "joblog /etc/passwd/x"},
      {"resize -w x in -o out", "'x' for --width"},
      {"resize -H -5 in -o out", "'-5' for --height"},
      {"resize -f tiff in -o out", "'tiff' for --format"},
      {"resize -q 101 in -o out", "'101' for --quality"},
      {"resize -j 0 in -o out", "'0' for --jobs"},
      {"resize -t bad in -o out", "'bad' for --timeout"},
      {"resize -m bad in -o out", "'bad' for --memory"},
      {"resize --max-pixels 0 in -o out", "'0' for --max-pixels"},
      {"resize --bogus in -o out", "warden resize: unrecognized option '--bogus'"},
      {"resize -w", "warden resize: option requires an argument -- 'w'"},
      {"resize in", "missing -o OUTDIR"},
      {"resize -o out", "no input"},
      {"exec -m 1K -- true", "memory limit '1K' is below the minimum of 1M"},
      {"resize in -o afile", "afile: not a directory"},
      {"resize --joblog /etc/passwd/x in -o out", "joblog /etc/passwd/x"},
  };
  char cwd[2048];
  ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
  ck_assert_int_eq(sh("mkdir %s/in && touch %s/afile", dir, dir), 0);
  char png[4200];
  snprintf(png, sizeof(png), "%s/in/a.png", dir);
  ck_assert_int_eq(make_png(png, 64, 48, 3), 0);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int st = sh("cd %s && %s/%s < /dev/null %s > stdout 2> stderr", dir, cwd,
                W, bad[i].args);
    ck_assert_msg(st == 125, "warden %s: status %d", bad[i].args, st);
    char path[4200];
    size_t n;
    snprintf(path, sizeof(path), "%s/stdout", dir);
    char *out = read_file(path, &n);
    ck_assert_msg(n == 0, "warden %s: wrote to stdout: %s", bad[i].args, out);
    free(out);
    snprintf(path, sizeof(path), "%s/stderr", dir);
    char *err = read_file(path, &n);
    ck_assert_msg(strstr(err, bad[i].says) != NULL,
                  "warden %s: expected \"%s\" on stderr, got: %s", bad[i].args,
                  bad[i].says, err);
    ck_assert_msg(strncmp(err, "warden", 6) == 0 || strncmp(err, "Usage", 5) == 0,
                  "warden %s: a message that does not say who: %s", bad[i].args, err);
    free(err);
    snprintf(path, sizeof(path), "%s/out", dir);
    ck_assert_msg(access(path, F_OK) != 0, "warden %s: made an output", bad[i].args);
  }
  sh("rm -rf %s", dir);
}
END_TEST

/* A thousand commands at once.  This test process is a child subreaper,
 * so anything warden left behind would be re-parented to it: after warden
 * exits it must have no child at all, not even a zombie. */
START_TEST(run_thousand_at_once) {
  ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  uint64_t t0 = uv_hrtime();
  char *o = out_of("seq 1000 | " WD_BIN " run -j1000 -N0 --json -- sleep 2 "
                   "| grep -c '\"status\":\"ok\"'");
  ck_assert_str_eq(o, "1000\n");
  free(o);
  /* Generous: a thousand two-second sleeps at once, not in turns. */
  ck_assert_uint_lt(uv_hrtime() - t0, 60000000000ull);
  ck_assert_int_eq(count_children(), 0);
  /* Without fork mode (valgrind) the next tests run in this process: a
   * warden they SIGKILL must leave its zygote to init, as it would here. */
  ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}
END_TEST

START_TEST(run_max_args) {
  char *o = out_of(WD_BIN " run -k -N2 -- echo ::: a b c");
  ck_assert_str_eq(o, "a b\nc\n");
  free(o);
  /* '{}' as a word: one argument per input. */
  o = out_of(WD_BIN " run -k -N2 -- sh -c 'echo $# \"$1\" \"$2\"' x {} ::: 'a b' c");
  ck_assert_str_eq(o, "2 a b c\n");
  free(o);
  /* -q: the words as they are; a word with {} repeats per value (GNU
   * parallel's way). */
  o = out_of(WD_BIN " run -q -k -N3 -- echo '<{}>' ::: 1 2 3");
  ck_assert_str_eq(o, "<1> <2> <3>\n");
  free(o);
  /* -N0: one command per input, none passed (GNU parallel's -N0). */
  o = out_of(WD_BIN " run -k -N0 --tag -- echo hi ::: x y");
  ck_assert_str_eq(o, "x\thi\ny\thi\n");
  free(o);
  o = out_of(WD_BIN " run -N2 --shell -- 'printf \"[%s]\" {}' ::: \"it's\" b");
  ck_assert_str_eq(o, "[it's][b]");
  free(o);
  ck_assert_int_eq(sh("%s run -N -1 -- true ::: a 2>/dev/null", W), 125);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cli");
  TCase *tc = wd_test_case(s, "parse", 120, NULL, NULL);
  tcase_add_test(tc, parse_words);
  tcase_add_test(tc, parse_joblog_lines);
  tc = wd_test_case(s, "exec", 120, NULL, NULL);
  tcase_add_test(tc, exec_statuses_match_timeout);
  tcase_add_test(tc, exec_kills_setsid_escapee);
  tcase_add_test(tc, exec_limits_grace_and_cleanup);
  tcase_add_test(tc, exec_bad_input);
  tcase_add_test(tc, sub_ms_durations_are_kept);
  tcase_add_test(tc, exec_forwards_sigint);
  tc = wd_test_case(s, "run", 120, NULL, NULL);
  tcase_add_test(tc, run_outputs_and_status);
  tcase_add_test(tc, run_timeout_kills_trees);
  tcase_add_test(tc, run_retries_and_halt);
  tcase_add_test(tc, run_sigint_kills_everything);
  tcase_add_test(tc, run_bad_input);
  tcase_add_test(tc, run_thousand_at_once);
  tcase_add_test(tc, run_low_fd_limit);
  tcase_add_test(tc, run_max_args);
  tc = wd_test_case(s, "json", 120, NULL, NULL);
  tcase_add_test(tc, run_json_is_valid_for_any_bytes);
  tc = wd_test_case(s, "resume", 120, NULL, NULL);
  tcase_add_test(tc, run_joblog_resume_after_sigkill);
  tcase_add_test(tc, run_joblog_escapes_inputs);
  tcase_add_test(tc, run_joblog_ignores_cut_line);
  tcase_add_test(tc, run_joblog_full_disk);
  tcase_add_test(tc, run_joblog_after_output);
  tc = wd_test_case(s, "usage", 120, NULL, NULL);
  tcase_add_test(tc, bad_input_every_option);
  tc = wd_test_case(s, "install", 120, NULL, NULL);
  tcase_add_test(tc, resize_helper_is_found);
  return run_suite(s);
}
