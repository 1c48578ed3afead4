/* command.h -- the "command" job: a worker runs one command as its
 * guardian -- in the task's cgroup or process group, under its subreaper --
 * so a deadline kills the command's whole tree.  Its request and result
 * (wd_cmd, wd_cmd_result, wd_cmd_encode/decode) are public API, in
 * warden.h's section "the command job"; jobs/command.c implements them. */
#ifndef WD_JOBS_COMMAND_H
#define WD_JOBS_COMMAND_H

#include "warden.h"

#endif
