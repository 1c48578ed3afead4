/* resize_main.c -- warden-resize, the program behind `warden resize`:
 * warden execs it with its own argv ("warden resize ARG..."), so that the
 * image libraries load only here (see exec_resize() in main.c).  Run
 * directly, it takes the same arguments without the word "resize". */
#include <string.h>

#include "cli.h"

int main(int argc, char **argv) {
  int skip = argc > 1 && strcmp(argv[1], "resize") == 0;
  /* getopt's own messages ("unrecognized option") name argv[0]. */
  static char name[] = "warden resize";
  argv[skip] = name;
  return wd__cli_resize(argc - skip, argv + skip);
}
