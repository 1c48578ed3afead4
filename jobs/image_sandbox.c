/* image_sandbox.c -- what makes a worker safe to hand a hostile image:
 * before the first untrusted byte, the process takes no new privileges and
 * installs a seccomp filter that kills it on any system call but memory
 * management, reading its socket, writing its result and stderr tail, and
 * the worker loop's own bookkeeping.  It is for good: a worker of a resize
 * pool runs resize tasks only.  stb_image 2.27 has known memory-safety
 * bugs; this is what stands between one of them and the machine. */
#include <errno.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "image.h"

/* ASan needs the file system to report, and the filter would kill it; a
 * fuzzer runs the job in its own process.  Both keep no_new_privs. */
#if defined(__SANITIZE_ADDRESS__) || defined(WD_NO_SANDBOX)
#define SECCOMP_FILTER 0
#else
#define SECCOMP_FILTER 1
#endif

/* Allowed on any argument. */
static const int any_fd[] = {
    SCMP_SYS(brk),           SCMP_SYS(mmap),          SCMP_SYS(munmap),
    SCMP_SYS(mremap),        SCMP_SYS(madvise),       SCMP_SYS(mprotect),
    SCMP_SYS(exit),          SCMP_SYS(exit_group),    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask), SCMP_SYS(clock_gettime), SCMP_SYS(getpid),
    SCMP_SYS(gettid),        SCMP_SYS(futex),
    /* the worker loop: per-task CPU limit, sweeping children */
    SCMP_SYS(getrusage),     SCMP_SYS(prlimit64),     SCMP_SYS(getrlimit),
    SCMP_SYS(setrlimit),     SCMP_SYS(waitid),
};

/* Allowed on the worker's socket only: tasks in, results out. */
static const int sock_calls[] = {SCMP_SYS(recvfrom), SCMP_SYS(read), SCMP_SYS(sendto)};

/* Allowed on fd 2 only: the stderr tail is a memfd the worker rewinds. */
static const int stderr_calls[] = {SCMP_SYS(write), SCMP_SYS(lseek), SCMP_SYS(pread64),
                                   SCMP_SYS(ftruncate)};

/* Adds the rules; the first failure (a negative errno) stops it. */
static int add_rules(scmp_filter_ctx f) {
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < WD__ARRAY_SIZE(any_fd); i++)
    rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, any_fd[i], 0);
  for (size_t i = 0; rc == 0 && i < WD__ARRAY_SIZE(sock_calls); i++)
    rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, sock_calls[i], 1,
                          SCMP_A0(SCMP_CMP_EQ, WD__FD_SOCK));
  for (size_t i = 0; rc == 0 && i < WD__ARRAY_SIZE(stderr_calls); i++)
    rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, stderr_calls[i], 1,
                          SCMP_A0(SCMP_CMP_EQ, STDERR_FILENO));
  return rc;
}

int wd__img_lock_down(void) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return -errno;
  if (!SECCOMP_FILTER)
    return 0;
  scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (f == NULL)
    return UV_ENOMEM;
  int rc = add_rules(f);
  if (rc == 0)
    rc = seccomp_load(f);
  seccomp_release(f);
  return rc;
}
