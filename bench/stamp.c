/* stamp.c -- a command that prints the wall-clock time it started at
 * (seconds, as bash's EPOCHREALTIME) and then waits to be killed.  The
 * bench times a deadline's overshoot proper with it: from the command's
 * start to the caller getting control back, less the deadline -- the
 * tool's own start-up and the command's exec left out. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  printf("%lld.%06ld\n", (long long)t.tv_sec, t.tv_nsec / 1000);
  fflush(stdout);
  for (;;)
    pause();
}
