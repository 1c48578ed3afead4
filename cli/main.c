/* main.c -- the warden program: dispatch to a subcommand. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "Usage: warden COMMAND [OPTION]... [-- PROGRAM [ARG]...]\n"
    "A supervised process pool with hard timeouts.\n"
    "\n"
    "Commands:\n"
    "  exec   run one command with a deadline (a stricter timeout(1))\n"
    "  run    run many commands, N at a time (xargs -P / GNU parallel)\n"
    "  resize resize a batch of images on every core, sandboxed\n"
    "\n"
    "  -h, --help     show this help;  warden COMMAND --help for a command's\n"
    "  -V, --version  show the version\n";

/* `warden resize` is a program of its own, warden-resize, so that only it
 * loads the image libraries (libjpeg, libspng, stb, libseccomp, zlib):
 * every `warden exec` and `warden run` starts without them, which here is
 * 1-2 ms sooner.  It is looked for beside this binary (the build tree),
 * then in ../libexec/warden/ (make install), and runs with our argv, so
 * that ps and pgrep show what the user typed. */
static int exec_resize(char **argv) {
  char dir[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
  if (n <= 0)
    return wd__cli_fail("resize", "cannot find warden-resize: /proc/self/exe: %s",
                       strerror(errno));
  dir[n] = '\0';
  *strrchr(dir, '/') = '\0'; /* the kernel gives an absolute path */
  static const char *const where[] = {"%s/warden-resize", "%s/../libexec/warden/warden-resize"};
  char path[PATH_MAX + 64];
  for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
    snprintf(path, sizeof(path), where[i], dir);
    execv(path, argv);
    if (errno != ENOENT)
      return wd__cli_fail("resize", "cannot run %s: %s", path, strerror(errno));
  }
  return wd__cli_fail("resize", "cannot find warden-resize beside %s/warden or in "
                     "%s/../libexec/warden/", dir, dir);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage, stderr);
    return WD_EXIT_FAILURE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
    fputs(usage, stdout);
    return 0;
  }
  if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
    printf("warden %s\n", WD_VERSION);
    return 0;
  }
  if (strcmp(cmd, "resize") == 0)
    return exec_resize(argv);
  /* getopt's own messages ("unrecognized option") name argv[0]. */
  static char name[32];
  snprintf(name, sizeof(name), "warden %s", cmd);
  argv[1] = name;
  if (strcmp(cmd, "exec") == 0)
    return wd__cli_exec(argc - 1, argv + 1);
  if (strcmp(cmd, "run") == 0)
    return wd__cli_run(argc - 1, argv + 1);
  fprintf(stderr, "warden: unknown command '%s'\n\n%s", cmd, usage);
  return WD_EXIT_FAILURE;
}
