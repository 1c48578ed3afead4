/* test_chaos.c -- faults on purpose, end to end through `warden`:
 *
 * - 5,000 commands mixing successes, failures, timeouts, segfaults,
 *   commands that fork grandchildren, double-fork daemons and setsid
 *   escapees, while a killer kill -9s a random worker every 50 ms: one
 *   result per input, every status right (or "crashed" for the ones whose
 *   worker was shot, never more of those than shots), and afterwards no
 *   zombie and no survivor.
 * - kill -9 of the supervisor in the middle of `warden run` and of
 *   `warden resize`: within a second nothing it started is alive; a rerun
 *   with --resume does exactly the unfinished inputs, and the joblog or
 *   the outputs hold exactly one entry per input.
 *
 * - The library itself under the same fire: fds and RSS come back.
 *
 * This process is a child subreaper: whatever warden leaves behind is
 * re-parented here, and must not be. */
#include <sys/prctl.h>
#include <sys/stat.h>

#include "helpers.h"
#include "images.h"

#include <stb_image.h>

static char dir[64];

static void setup(void) {
  strcpy(dir, "/tmp/wd-chaos-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

static void teardown(void) { sh("rm -rf %s", dir); }

/* Kills the warden whose pid is in DIR/pid and reaps it: it was orphaned to
 * us when the shell that started it exited.  Only it: anything else left
 * as our child is what warden failed to clean up. */
static void kill_warden(void) {
  char p[128];
  snprintf(p, sizeof(p), "%s/pid", dir);
  size_t n;
  char *s = read_file(p, &n);
  pid_t pid = s ? (pid_t)atoi(s) : 0;
  free(s);
  ck_assert_int_gt(pid, 0);
  kill(pid, SIGKILL);
  ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}

/* Whether a process's command line holds `mark` (our sleeps carry odd
 * durations so that nothing else on the machine matches).  The pattern is
 * written "[s]leep 1011" so that it does not match the shell running
 * pgrep, whose own command line holds it. */
static int alive(const char *mark) {
  return sh("pgrep -f '[%c]%s' >/dev/null", mark[0], mark + 1) == 0;
}

/* One cycle of the mix: the deadline is generous (a loaded machine must
 * not turn a quick command into a timeout), so the sleepers are fewer. */
static const char *const kinds[] = {"ok",   "fail",   "ok",     "segv",   "tree",
                                    "fail", "daemon", "setsid", "timeout", "ok"};
static const char *const want[] = {"ok",     "failed", "ok", "crashed", "timeout",
                                   "failed", "ok",     "ok", "timeout", "ok"};
enum { KINDS = 10, N = 5000 };

START_TEST(five_thousand_mixed_under_fire) {
  char in[128], rows[128], kills[128];
  snprintf(in, sizeof(in), "%s/in", dir);
  snprintf(rows, sizeof(rows), "%s/rows", dir);
  snprintf(kills, sizeof(kills), "%s/kills", dir);
  FILE *f = fopen(in, "w");
  for (int i = 0; i < N; i++)
    fprintf(f, "%s-%d\n", kinds[i % KINDS], i);
  fclose(f);
  /* Each kind, by the word before the dash. */
  const char *script =
      "case ${0%%-*} in ok) true ;; fail) exit 3 ;; timeout) sleep 1011 ;; "
      "segv) kill -SEGV $$ ;; tree) sleep 1011 & sleep 1011 ;; "
      "daemon) (sleep 1011 &) ; exit 0 ;; setsid) setsid sleep 1011 & exit 0 ;; esac";
  /* The killer: every 50 ms one random worker (a child of the zygote, the
   * supervisor's child) is shot, while the supervisor lives. */
  int rc = sh("%s run -j150 --timeout 3s --json -- sh -c '%s' < %s > %s 2>/dev/null & w=$!; "
              "while kill -0 $w 2>/dev/null; do "
              "  z=$(pgrep -P $w | head -n1); v=$(pgrep -P \"$z\" 2>/dev/null | shuf -n1); "
              "  [ -n \"$v\" ] && kill -9 $v 2>/dev/null && echo x >> %s; sleep 0.05; "
              "done; wait $w",
              WD_BIN, script, in, rows, kills);
  ck_assert_int_ne(rc, 125); /* warden's own failure */
  size_t n;
  char *all = read_file(rows, &n);
  char *k = read_file(kills, &n);
  int shots = k ? (int)n / 2 : 0;
  static unsigned char seen[N];
  int off = 0, rows_n = 0;
  for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n"), rows_n++) {
    char kind[16], status[16];
    int seq;
    const char *pi = strstr(line, "\"input\":\""), *ps = strstr(line, "\"status\":\"");
    ck_assert_msg(pi && ps && sscanf(pi + 9, "%15[a-z]-%d", kind, &seq) == 2 &&
                      sscanf(ps + 10, "%15[a-z]", status) == 1,
                  "bad row: %.200s", line);
    ck_assert_msg(seq >= 0 && seq < N && !seen[seq], "input %d twice", seq);
    seen[seq] = 1;
    if (strcmp(status, want[seq % KINDS]) != 0) {
      ck_assert_msg(strcmp(status, "crashed") == 0, "%s-%d: %s", kind, seq, status);
      off++;
    }
  }
  ck_assert_int_eq(rows_n, N);
  ck_assert_msg(off <= shots, "%d rows crashed off-script, %d workers shot", off, shots);
  ck_assert_int_gt(shots, 0);
  free(all), free(k);
  ck_assert_msg(!alive("sleep 1011"), "a command's process survived");
  ck_assert_int_eq(count_children(), 0);
}
END_TEST

/* After the supervisor's death its zygote (and whatever the zygote had
 * not reaped) is re-parented to us, as it would be to init: reap what is
 * dead, then nothing may be left -- a live child here is a survivor. */
static int live_orphans(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0)
    ;
  return count_children();
}

/* Waits (up to 2 s) for pgrep to find `mark`; 0 when seen. */
static int wait_for(const char *mark) {
  for (int i = 0; i < 200; i++) {
    if (alive(mark))
      return 0;
    usleep(10000);
  }
  return -1;
}

START_TEST(supervisor_killed_mid_run) {
  char log[128];
  snprintf(log, sizeof(log), "%s/joblog", dir);
  /* 20 inputs, 4 at a time, each sleeping 1.013 s: killed while the first
   * ones run, some have finished, most have not started. */
  sh("seq 20 | %s run -j4 --joblog %s -- sh -c 'sleep 1.013; true' > /dev/null 2>&1 & "
     "echo $! > %s/pid", WD_BIN, log, dir);
  /* Killed once the joblog shows some finished (the rest are running or
   * have not started). */
  for (int i = 0; i < 1000 && sh("test \"$(cat %s 2>/dev/null | wc -l)\" -ge 5", log) != 0; i++)
    usleep(10000);
  ck_assert_int_eq(sh("test \"$(cat %s 2>/dev/null | wc -l)\" -ge 5", log), 0);
  ck_assert_int_eq(wait_for("sleep 1.013"), 0);
  kill_warden();
  usleep(1000 * 1000); /* "within a second" */
  ck_assert_msg(!alive("sleep 1.013"), "a command outlived the supervisor by a second");
  ck_assert_int_eq(live_orphans(), 0); /* the zygote and workers are gone too */
  ck_assert_int_eq(sh("seq 20 | %s run -j4 --joblog %s --resume -- sh -c 'sleep 0.013; true' "
                      "> /dev/null 2>&1", WD_BIN, log),
                   0);
  /* One line per input: a header, then seq 1..20 each exactly once. */
  ck_assert_int_eq(sh("tail -n +2 %s | cut -f1 | sort -n | uniq | wc -l | grep -qx 20", log), 0);
  ck_assert_int_eq(sh("test $(tail -n +2 %s | wc -l) -eq 20", log), 0);
  ck_assert_int_eq(live_orphans(), 0);
}
END_TEST

START_TEST(supervisor_killed_mid_resize) {
  char in[128], out[128];
  snprintf(in, sizeof(in), "%s/in", dir);
  snprintf(out, sizeof(out), "%s/out", dir);
  mkdir(in, 0777);
  for (int i = 0; i < 40; i++) {
    char p[160];
    snprintf(p, sizeof(p), "%s/img%02d.png", in, i);
    make_png(p, 1200, 900, 3);
  }
  /* One job, a fresh pool: killed a few images in. */
  sh("%s resize -j1 -w 64 %s -o %s > /dev/null 2>&1 & echo $! > %s/pid", WD_BIN, in, out, dir);
  for (int i = 0; i < 500 && sh("test $(ls %s 2>/dev/null | grep -c png) -ge 3", out) != 0; i++)
    usleep(10000);
  kill_warden();
  usleep(1000 * 1000);
  char mark[320];
  snprintf(mark, sizeof(mark), "%s resize -j1 -w 64 %s", WD_BIN, in);
  ck_assert_msg(!alive(mark), "a worker survived");
  ck_assert_int_eq(live_orphans(), 0);
  int before = sh("exit $(ls %s | grep -c 'png$')", out);
  ck_assert_int_lt(before, 40);
  /* No half-written output: whatever is there is a whole image. */
  ck_assert_int_eq(sh("ls %s | grep -q warden-", out), 1);
  ck_assert_int_eq(sh("%s resize --resume -w 64 %s -o %s > /dev/null 2>&1", WD_BIN, in, out), 0);
  ck_assert_int_eq(sh("test $(ls %s | wc -l) -eq 40", out), 0);
  for (int i = 0; i < 40; i++) {
    char p[160];
    int w, h, ch;
    snprintf(p, sizeof(p), "%s/img%02d.png", out, i);
    ck_assert_msg(stbi_info(p, &w, &h, &ch) && w == 64, "%s", p);
  }
  ck_assert_int_eq(live_orphans(), 0);
}
END_TEST

/* A reader that goes away (| head -1): warden dies of SIGPIPE as every
 * filter does (141, what scripts expect), its commands die with it, the
 * joblog holds only whole lines, and --resume finishes the rest. */
START_TEST(closed_stdout) {
  char log[128];
  snprintf(log, sizeof(log), "%s/joblog", dir);
  static const char script[] =
      "seq 50 | \"$1\" run -j4 --json --joblog \"$2\" -- sh -c 'sleep 0.017; echo $0' "
      "| head -n1 > /dev/null\nexit ${PIPESTATUS[1]}\n";
  char path[128];
  snprintf(path, sizeof(path), "%s/pipe.sh", dir);
  ck_assert_int_eq(write_file(path, script, sizeof(script) - 1), 0);
  int rc = sh("bash %s %s %s", path, WD_BIN, log);
  ck_assert_int_eq(rc, 128 + SIGPIPE);
  usleep(1000 * 1000); /* "within a second", as for a supervisor killed */
  ck_assert(!alive("sleep 0.017"));
  ck_assert_int_eq(live_orphans(), 0);
  ck_assert_int_eq(sh("awk 'substr($0, length($0)) == \"\\n\"' %s > /dev/null", log), 0);
  ck_assert_int_eq(sh("seq 50 | %s run -j4 --joblog %s --resume -- sh -c 'echo $0' > /dev/null",
                      WD_BIN, log),
                   0);
  ck_assert_int_eq(sh("test $(tail -n +2 %s | cut -f1 | sort -un | wc -l) -eq 50", log), 0);
  ck_assert_int_eq(sh("test $(tail -n +2 %s | wc -l) -eq 50", log), 0);
}
END_TEST

/* Outputs on a full disk (a 96 KiB tmpfs): each image that does not fit is
 * a "write error" row, the exit status counts them, nothing half-written
 * or temporary is left, and what was written is whole. */
START_TEST(full_disk) {
  char in[128], tiny[128];
  snprintf(in, sizeof(in), "%s/in", dir);
  snprintf(tiny, sizeof(tiny), "%s/tiny", dir);
  mkdir(in, 0777);
  mkdir(tiny, 0777);
  if (sh("mount -t tmpfs -o size=96k tmpfs %s 2>/dev/null", tiny) != 0) {
    fprintf(stderr, "full_disk: cannot mount a tmpfs (not root?): skipped\n");
    return;
  }
  for (int i = 0; i < 12; i++) {
    char p[160];
    snprintf(p, sizeof(p), "%s/img%02d.png", in, i);
    make_png(p, 600, 400, 3);
  }
  int rc = sh("%s resize --json -w 300 -f png %s -o %s/o > %s/rows 2>/dev/null", WD_BIN, in,
              tiny, dir);
  int failed = sh("exit $(grep -c '\"status\":\"write error\"' %s/rows)", dir);
  int ok = sh("exit $(grep -c '\"status\":\"ok\"' %s/rows)", dir);
  ck_assert_int_eq(failed + ok, 12);
  ck_assert_int_gt(failed, 0);
  ck_assert_int_eq(rc, failed);
  ck_assert_int_eq(sh("find %s -name '*.warden-*' | grep -q .", tiny), 1);
  ck_assert_int_eq(sh("test $(find %s/o -name '*.png' | wc -l) -eq %d", tiny, ok), 0);
  ck_assert_int_eq(sh("for f in $(find %s/o -name '*.png'); do "
                      "  tail -c 8 \"$f\" | od -An -c | grep -q 'I   E   N   D' || exit 1; "
                      "done", tiny),
                   0); /* every PNG ends with its IEND chunk */
  sh("umount %s", tiny);
}
END_TEST

/* ---- the library under fire -------------------------------------------- */

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof(line), f))
    if (strncmp(line, "VmRSS:", 6) == 0)
      kb = atol(line + 6);
  if (f)
    fclose(f);
  return kb;
}

typedef struct {
  wd_pool *pool;
  unsigned shots;
} killer;

static void shoot(uv_timer_t *t) {
  killer *k = t->data;
  pid_t pids[64];
  size_t n = wd_pool_pids(k->pool, pids, 64);
  if (n > 0 && kill(pids[(size_t)rand() % n], SIGKILL) == 0)
    k->shots++;
}

static int resolved_count[2000];
static void note_resolved(wd_future *f, void *data) {
  (void)f;
  resolved_count[(intptr_t)data]++;
}

/* One batch of 2,000 mixed tasks on a 20-worker pool, a random worker
 * kill -9ed every 20 ms if `fire`; checks every result, then destroys the
 * pool.  Returns the shots fired. */
static unsigned batch(uv_loop_t *loop, int fire) {
  enum { N = 2000 };
  static const struct {
    const char *job, *arg;
    uint64_t timeout;
    wd_status want;
  } mix[] = {
      {"echo", "ok", 0, WD_OK},           {"fail", "no", 0, WD_ERROR},
      {"echo", "ok", 0, WD_OK},           {"crash", "11", 0, WD_CRASHED},
      {"sleep", "10000", 100, WD_TIMEOUT}, {"spawn", "setsid 10000", 100, WD_TIMEOUT},
      {"spawn", "child 10000", 100, WD_TIMEOUT}, {"exit", "3", 0, WD_EXITED},
      {"echo", "ok", 0, WD_OK},           {"fail", "no", 0, WD_ERROR},
  };
  enum { M = sizeof(mix) / sizeof(mix[0]) };
  wd_register_builtins();
  wd_pool_options o = {.workers = 20};
  killer k = {0};
  ck_assert_int_eq(wd_pool_new(loop, &o, &k.pool), 0);
  uv_timer_t gun;
  uv_timer_init(loop, &gun);
  gun.data = &k;
  if (fire)
    uv_timer_start(&gun, shoot, 20, 20);
  static wd_future *f[N];
  memset(resolved_count, 0, sizeof(resolved_count));
  for (int i = 0; i < N; i++) {
    wd_task_options t = {.timeout_ms = mix[i % M].timeout};
    ck_assert_int_eq(wd_submit(k.pool, mix[i % M].job, mix[i % M].arg,
                               strlen(mix[i % M].arg), &t, &f[i]), 0);
    wd_future_on_done(f[i], note_resolved, (void *)(intptr_t)i);
  }
  wd_await_all(f, N);
  uv_timer_stop(&gun);
  uv_close((uv_handle_t *)&gun, NULL);
  unsigned unexpected = 0;
  for (int i = 0; i < N; i++) {
    wd_status st = wd_future_result(f[i])->status;
    ck_assert_int_eq(resolved_count[i], 1); /* one result per task */
    if (st != mix[i % M].want) {
      ck_assert_msg(fire && st == WD_CRASHED, "task %d (%s %s): %s", i,
                    mix[i % M].job, mix[i % M].arg, wd_status_name(st));
      unexpected++;
    }
    wd_future_release(f[i]);
  }
  ck_assert_uint_le(unexpected, k.shots); /* each shot costs one task at most */
  ck_assert_int_eq(wd_pool_destroy(k.pool), 0);
  uv_run(loop, UV_RUN_NOWAIT);
  return k.shots;
}

/* The library's own supervisor under the same kind of fire: 2,000 tasks
 * mixing results, crashes, exits, timeouts with children and setsid
 * escapees, workers shot at random.  Afterwards: one right result per
 * task, no child of any kind (this process is a subreaper), the fds this
 * process had, and its RSS where a quiet batch of the same size left it. */
START_TEST(library_under_fire_comes_back_clean) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int fds = count_fds();
  /* The first two batches set the level to come back to: they warm the
   * allocator (glibc trims the heap after the first, not after later ones)
   * and libuv's tables (they grow to the highest fd seen). */
  batch(&loop, 1);
  batch(&loop, 1);
  long before = rss_kb();
  ck_assert_int_eq(count_fds(), fds);
  unsigned shots = batch(&loop, 1);
  long after = rss_kb();
  printf("library under fire: %u workers shot; fds %d -> %d; RSS %ld -> %ld KiB\n",
         shots, fds, count_fds(), before, after);
  fflush(stdout);
  ck_assert_uint_gt(shots, 10);
  ck_assert_int_eq(count_fds(), fds);
  if (!WD_ASAN) /* ASan's quarantine keeps freed memory resident */
    ck_assert_msg(before > 0 && after <= before + before / 10 + 256,
                  "RSS %ld KiB before, %ld after", before, after);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
  while (waitpid(-1, NULL, WNOHANG) > 0) /* nothing should be left to reap */
    ck_abort_msg("an orphan came back to us");
  ck_assert_int_eq(count_children(), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("chaos");
  TCase *tc = wd_test_case(s, "fire", 300, setup, teardown);
  tcase_add_test(tc, five_thousand_mixed_under_fire);
  tcase_add_test(tc, library_under_fire_comes_back_clean);
  tc = wd_test_case(s, "supervisor", 300, setup, teardown);
  tcase_add_test(tc, supervisor_killed_mid_run);
  tcase_add_test(tc, supervisor_killed_mid_resize);
  tc = wd_test_case(s, "io", 300, setup, teardown);
  tcase_add_test(tc, closed_stdout);
  tcase_add_test(tc, full_disk);
  return run_suite(s);
}
