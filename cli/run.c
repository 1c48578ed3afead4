#include "cli.h"
int wd_cli_run(int argc, char **argv) { (void)argc; (void)argv; return wd_cli_fail("run", "not built yet"); }
