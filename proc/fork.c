/* fork.c -- the one place that forks (redis's redisFork, in spirit).
 *
 * Signals are blocked across fork() so that no handler of the parent runs
 * in the child between fork and the reset: a libuv signal handler would
 * write the child's signal into the parent's loop pipe, and the parent's
 * callbacks would fire for a signal that was never its own.  The child then
 * puts every disposition back to SIG_DFL before it unblocks anything. */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "proc.h"

pid_t wd__fork(sigset_t *oldmask, int single_threaded) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, oldmask);
  pid_t pid = single_threaded ? _Fork() : fork();
  if (pid != 0) { /* parent, or fork failed: errno survives the mask call */
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, oldmask, NULL);
    errno = saved;
    return pid;
  }
  struct sigaction dfl = {0};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; sig++)
    sigaction(sig, &dfl, NULL); /* EINVAL for SIGKILL/SIGSTOP: harmless */
  return 0;
}
