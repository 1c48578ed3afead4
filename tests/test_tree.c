/* test_tree.c -- wd_tree (proc/tree.c), the contained command `warden
 * exec` is built on: how a command ended comes back as its exit code or
 * signal, and a kill takes the whole tree -- a child that left the group
 * with setsid() too -- in a cgroup and, with WARDEN_CGROUP=0, in a
 * process group swept by a child subreaper.  The fixture checks that
 * nothing is left: no child, no zombie, no fd. */
#include <poll.h>
#include <sys/prctl.h>

#include "helpers.h"

#define WAIT_MS 5000

/* Starts argv as a tree (the test process a subreaper that sweeps). */
static wd_tree *start(char *const *argv, int *exec_errno) {
  wd_tree_options o = {.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
                       .sweep_children = 1};
  wd_tree *t = NULL;
  ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  ck_assert_int_eq(wd_tree_start(&o, &t, exec_errno), 0);
  ck_assert_int_gt(wd_tree_pid(t), 0);
  return t;
}

/* Waits until the command has ended, then reaps it. */
static void reap(wd_tree *t, int *code, int *sig) {
  struct pollfd p = {wd_tree_pidfd(t), POLLIN, 0};
  ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
  ck_assert_int_eq(wd_tree_reap(t, code, sig), 0);
  ck_assert_int_eq(wd_tree_pid(t), 0);
}

START_TEST(exit_codes_and_exec_failure) {
  char *argv[] = {"sh", "-c", "exit 3", NULL};
  int exec_errno, code, sig;
  wd_tree *t = start(argv, &exec_errno);
  ck_assert_int_eq(exec_errno, 0);
  reap(t, &code, &sig);
  ck_assert_int_eq(code, 3);
  ck_assert_int_eq(sig, 0);
  ck_assert_int_eq(wd_tree_free(t, WAIT_MS), 0);
  char *missing[] = {"/nonexistent/command", NULL};
  t = start(missing, &exec_errno);
  ck_assert_int_eq(exec_errno, ENOENT);
  reap(t, &code, &sig);
  ck_assert_int_eq(code, 127);
  ck_assert_int_eq(wd_tree_free(t, WAIT_MS), 0);
}
END_TEST

/* The setsid child leaves the command's group; the kill and the end reach
 * it all the same, in either containment. */
static void kill_whole_tree(const char *cgroup_env, const char *expect) {
  setenv("WARDEN_CGROUP", cgroup_env, 1);
  char *argv[] = {"sh", "-c", "setsid sleep 47.31 & sleep 47.32 & wait", NULL};
  int exec_errno, code, sig;
  wd_tree *t = start(argv, &exec_errno);
  pid_t kids[4];
  int n = 0;
  for (int i = 0; i < WAIT_MS && (n = descendants(wd_tree_pid(t), kids, 4)) < 2; i++)
    usleep(1000);
  ck_assert_int_eq(n, 2);
  /* A cgroup only where this process may make one. */
  const char *held = wd_tree_containment(t);
  ck_assert_msg(strcmp(held, expect) == 0 || strcmp(held, "process-group") == 0, "%s", held);
  ck_assert_int_eq(wd_tree_kill(t, SIGKILL), 0);
  reap(t, &code, &sig);
  ck_assert_int_eq(code, -1);
  ck_assert_int_eq(sig, SIGKILL);
  ck_assert_int_eq(wd_tree_free(t, WAIT_MS), 0);
  for (int i = 0; i < n; i++)
    ck_assert_msg(pid_dead(kids[i]), "%d outlived its tree", (int)kids[i]);
  unsetenv("WARDEN_CGROUP");
}

START_TEST(kill_takes_the_escapee_cgroup) { kill_whole_tree("1", "cgroup"); }
END_TEST

START_TEST(kill_takes_the_escapee_process_group) {
  kill_whole_tree("0", "process-group");
}
END_TEST

int main(void) {
  Suite *s = suite_create("tree");
  TCase *tc = wd_test_case(s, "tree", 30, NULL, NULL);
  tcase_add_test(tc, exit_codes_and_exec_failure);
  tcase_add_test(tc, kill_takes_the_escapee_cgroup);
  tcase_add_test(tc, kill_takes_the_escapee_process_group);
  return run_suite(s);
}
