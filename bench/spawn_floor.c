/* spawn_floor.c -- the least any tool can spend to run commands here: a
 * posix_spawn loop keeping K commands running, no output captured, no
 * deadline, no guardian.  bench/run.sh prints it next to warden and its
 * peers, so a figure can be read against what the machine allows.
 *
 *   spawn_floor N K COMMAND [ARG]...   seconds for N runs of COMMAND,
 *                                      K at a time
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fputs("usage: spawn_floor N K COMMAND [ARG]...\n", stderr);
    return 2;
  }
  long n = atol(argv[1]), k = atol(argv[2]), started = 0, running = 0;
  double t0 = now();
  while (started < n || running > 0) {
    while (started < n && running < k) {
      pid_t pid;
      if (posix_spawnp(&pid, argv[3], NULL, NULL, argv + 3, environ) != 0)
        return 1;
      started++;
      running++;
    }
    if (wait(NULL) > 0)
      running--;
  }
  printf("%.3f\n", now() - t0);
  return 0;
}
