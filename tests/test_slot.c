/* test_slot.c -- the worker's state machine (pool/slot.c), as a table.
 *
 * A slot's life is next_state[state][event]; an event a state cannot have
 * is a broken invariant (the slot aborts).  These tests hold the table to
 * what the rest of the pool relies on, one property at a time, through the
 * pure wd__slot_next_state(). */
#include "../pool/pool.h"
#include "helpers.h"

static const wd__slot_state live[] = {WD__S_STARTING, WD__S_READY, WD__S_DRAINING,
                                      WD__S_KILLING, WD__S_CUTTING};
#define NLIVE (sizeof(live) / sizeof(live[0]))

static int next(wd__slot_state s, wd__slot_event e) { return wd__slot_next_state(s, e); }

/* A slot with no worker leaves that state only by asking for one. */
START_TEST(down_only_spawns) {
  for (int e = 0; e < WD__E_COUNT; e++)
    ck_assert_int_eq(next(WD__S_DOWN, e), e == WD__E_SPAWN ? WD__S_STARTING : -1);
}
END_TEST

/* The life of a worker that does its work and retires. */
START_TEST(ordinary_life) {
  int s = WD__S_DOWN;
  static const wd__slot_event path[] = {WD__E_SPAWN, WD__E_SPAWNED, WD__E_CUT,
                                        WD__E_ANSWERED, WD__E_RETIRE, WD__E_EXITED};
  static const wd__slot_state want[] = {WD__S_STARTING, WD__S_READY, WD__S_CUTTING,
                                        WD__S_READY, WD__S_DRAINING, WD__S_DOWN};
  for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
    s = next(s, path[i]);
    ck_assert_int_eq(s, want[i]);
  }
}
END_TEST

/* Any live worker can be killed, stays KILLING however often it is told
 * again, and comes down when the zygote reports it reaped. */
START_TEST(kill_from_anywhere) {
  for (size_t i = 0; i < NLIVE; i++) {
    ck_assert_int_eq(next(live[i], WD__E_KILL), WD__S_KILLING);
    ck_assert_int_eq(next(WD__S_KILLING, WD__E_KILL), WD__S_KILLING);
    ck_assert_int_eq(next(WD__S_KILLING, WD__E_EXITED), WD__S_DOWN);
  }
  /* Killed before the zygote said it was made: the SPAWNED (or its
   * failure) that crosses the KILL must not revive it. */
  ck_assert_int_eq(next(WD__S_KILLING, WD__E_SPAWNED), WD__S_KILLING);
  ck_assert_int_eq(next(WD__S_KILLING, WD__E_SPAWN_FAIL), WD__S_DOWN);
}
END_TEST

/* The zygote died (or the pool closes after reaping it): every live slot
 * is LOST to DOWN, with no faked report; a slot with no worker cannot be. */
START_TEST(lost_from_every_live_state) {
  for (size_t i = 0; i < NLIVE; i++)
    ck_assert_int_eq(next(live[i], WD__E_LOST), WD__S_DOWN);
  ck_assert_int_eq(next(WD__S_DOWN, WD__E_LOST), -1);
}
END_TEST

/* A task's tree is cut only on a ready worker (a guardian job), and only
 * its answer, a kill or the worker's death ends the cut. */
START_TEST(cut_only_when_ready) {
  for (int s = 0; s < WD__S_COUNT; s++) {
    int want = s == WD__S_READY || s == WD__S_CUTTING ? WD__S_CUTTING : -1;
    ck_assert_int_eq(next(s, WD__E_CUT), want);
    ck_assert_int_eq(next(s, WD__E_ANSWERED), s == WD__S_CUTTING ? WD__S_READY : -1);
  }
  ck_assert_int_eq(next(WD__S_CUTTING, WD__E_RETIRE), -1);
  ck_assert_int_eq(next(WD__S_CUTTING, WD__E_KILL), WD__S_KILLING);
  ck_assert_int_eq(next(WD__S_CUTTING, WD__E_EXITED), WD__S_DOWN);
}
END_TEST

/* The zygote reports a worker's exit only after it reported it made. */
START_TEST(no_exit_before_spawned) {
  ck_assert_int_eq(next(WD__S_STARTING, WD__E_EXITED), -1);
  ck_assert_int_eq(next(WD__S_STARTING, WD__E_SPAWN_FAIL), WD__S_DOWN);
  ck_assert_int_eq(next(WD__S_READY, WD__E_SPAWNED), -1);
  ck_assert_int_eq(next(WD__S_READY, WD__E_SPAWN), -1);
}
END_TEST

/* Only a ready worker retires; a draining one only dies. */
START_TEST(retire_only_ready) {
  for (int s = 0; s < WD__S_COUNT; s++)
    ck_assert_int_eq(next(s, WD__E_RETIRE), s == WD__S_READY ? WD__S_DRAINING : -1);
  ck_assert_int_eq(next(WD__S_DRAINING, WD__E_EXITED), WD__S_DOWN);
  ck_assert_int_eq(next(WD__S_DRAINING, WD__E_CUT), -1);
}
END_TEST

START_TEST(out_of_range) {
  ck_assert_int_eq(next(WD__S_COUNT, WD__E_SPAWN), -1);
  ck_assert_int_eq(next(WD__S_READY, WD__E_COUNT), -1);
  ck_assert_int_eq(next((wd__slot_state)-1, WD__E_KILL), -1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("slot");
  TCase *tc = wd_test_case(s, "states", 10, NULL, NULL);
  tcase_add_test(tc, down_only_spawns);
  tcase_add_test(tc, ordinary_life);
  tcase_add_test(tc, kill_from_anywhere);
  tcase_add_test(tc, lost_from_every_live_state);
  tcase_add_test(tc, cut_only_when_ready);
  tcase_add_test(tc, no_exit_before_spawned);
  tcase_add_test(tc, retire_only_ready);
  tcase_add_test(tc, out_of_range);
  return run_suite(s);
}
