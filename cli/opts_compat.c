/* opts_compat.c -- `warden run` reads a command line written for GNU
 * parallel or xargs either as they would, or refuses it, naming the
 * option: never as something else.  Before getopt sees argv, each option
 * word up to the command is checked here:
 *
 * - a long option must be spelt in full.  getopt_long takes any unique
 *   prefix, so `--res` (parallel's --results) would become --resume and
 *   `--ret` --retries; parallel's own abbreviations are not warden's.
 * - an option of GNU parallel or xargs that warden does not implement is
 *   refused by name (`--sshlogin`, `-X`, `-p`...), not as "unknown".
 * - warden's old short options that mean something else to parallel or
 *   xargs are refused with the new spelling: `-t 5s` (-t now prints each
 *   command, as parallel's -t), `-r 3` (-r is --no-run-if-empty), -m, -s
 *   and -c.  The rule: -t or -r followed by a word that reads as a
 *   duration or a count and is not a command found in PATH is the old
 *   spelling, and an error.
 *
 * Pure: argv and PATH are read, nothing else. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define PATH_BUF 4096

typedef struct {
  const char *name; /* the long option, or one letter for a short one */
  const char *what; /* what it does in GNU parallel or xargs */
} refused;

/* GNU parallel's (20221122, `man parallel`) and xargs' options that warden
 * run does not take.  An option that is in warden's own table is never
 * looked up here: whoever implements one adds it there. */
static const refused refused_long[] = {
    {"sshlogin", "run on other machines"}, {"sshloginfile", "run on other machines"},
    {"slf", "run on other machines"}, {"sshdelay", "ssh"}, {"ssh-delay", "ssh"},
    {"ssh", "ssh"}, {"controlmaster", "ssh"}, {"trc", "files to and from other machines"},
    {"transfer", "files to other machines"}, {"transferfile", "files to other machines"},
    {"tf", "files to other machines"}, {"return", "files from other machines"},
    {"cleanup", "files on other machines"}, {"basefile", "files to other machines"},
    {"bf", "files to other machines"}, {"onall", "run on all machines"},
    {"nonall", "run on all machines"}, {"filter-hosts", "ssh"}, {"hostgroups", "ssh"},
    {"hgrp", "ssh"}, {"tmux", "tmux windows"}, {"tmuxpane", "tmux windows"},
    {"fg", "semaphore"}, {"bg", "semaphore"}, {"semaphore", "semaphore"},
    {"sem", "semaphore"}, {"semaphorename", "semaphore"}, {"semaphore-name", "semaphore"},
    {"id", "semaphore"}, {"semaphoretimeout", "semaphore"}, {"semaphore-timeout", "semaphore"},
    {"st", "semaphore"}, {"env", "copy the environment to other machines"},
    {"record-env", "environment"}, {"session", "environment"}, {"link", "linked inputs"},
    {"xapply", "linked inputs"}, {"shuf", "shuffled jobs"}, {"group-by", "--pipe groups"},
    {"compress", "compressed output"}, {"compress-program", "compressed output"},
    {"decompress-program", "compressed output"}, {"ctrl-c", "Ctrl-C handling"},
    {"cat", "--pipe to files"}, {"fifo", "--pipe to fifos"}, {"pipe-part", "--pipe"},
    {"pipepart", "--pipe"}, {"round-robin", "--pipe"}, {"round", "--pipe"},
    {"bin", "--pipe"}, {"shard", "--pipe"}, {"spreadstdin", "--pipe"},
    {"block-size", "--pipe's --block"}, {"block-timeout", "--pipe"}, {"bt", "--pipe"},
    {"remove-rec-sep", "--pipe"}, {"removerecsep", "--pipe"}, {"rrs", "--pipe"},
    {"regexp", "--pipe"}, {"embed", "embedding"}, {"limit", "limit command"},
    {"latest-line", "output"}, {"ll", "output"}, {"memsuspend", "suspend on low memory"},
    {"noswap", "swap"}, {"open-tty", "the terminal"}, {"tty", "the terminal"},
    {"output-as-files", "output to files"}, {"outputasfiles", "output to files"},
    {"files", "output to files"}, {"profile", "profiles"}, {"rpl", "replacement strings"},
    {"parens", "replacement strings"}, {"plus", "replacement strings"},
    {"rsync-opts", "rsync"}, {"shebang", "shebang"}, {"hashbang", "shebang"},
    {"shebang-wrap", "shebang"}, {"shell-completion", "shell completion"},
    {"shell-quote", "quoting"}, {"show-limits", "limits"}, {"skip-first-line", "input"},
    {"sql", "SQL"}, {"sqlmaster", "SQL"}, {"sql-master", "SQL"}, {"sqlandworker", "SQL"},
    {"sql-and-worker", "SQL"}, {"sqlworker", "SQL"}, {"sql-worker", "SQL"},
    {"template", "templates"}, {"tmpl", "templates"}, {"tee", "--pipe to every command"},
    {"term-seq", "signals at a timeout"}, {"total-jobs", "progress"}, {"total", "progress"},
    {"tmpdir", "temporary files"}, {"tempdir", "temporary files"}, {"trim", "input"},
    {"use-sockets-instead-of-threads", "CPU counting"},
    {"use-cores-instead-of-threads", "CPU counting"},
    {"use-cpus-instead-of-cores", "CPU counting"}, {"number-of-cpus", "CPU counting"},
    {"number-of-cores", "CPU counting"}, {"number-of-sockets", "CPU counting"},
    {"number-of-threads", "CPU counting"}, {"xargs", "several inputs per command"},
    {"exit", "a command line too long"}, {"wait", "semaphore"},
    {"interactive", "asking before each command"}, {"filter", "filtering"},
    {"gnu", "compatibility"}, {"tollef", "compatibility"}, {"color", "colour"},
    {"color-failed", "colour"}, {"cf", "colour"}, {"csv", "CSV input"},
    {"ctag", "colour"}, {"ctagstring", "colour"}, {"max-chars", "a command line's length"},
    {"max-line-length-allowed", "a command line's length"}, {"minversion", "versions"},
    {"bibtex", "citation"}, {"citation", "citation"}, {"eof", "an end-of-input string"},
    {"replace", "replacement strings (use -I)"}, {"arg-file-sep", "input sources"},
    {"arg-sep", "input sources"}, {"basenamereplace", "replacement strings"},
    {"bnr", "replacement strings"}, {"basenameextensionreplace", "replacement strings"},
    {"bner", "replacement strings"}, {"dirnamereplace", "replacement strings"},
    {"dnr", "replacement strings"}, {"extensionreplace", "replacement strings"},
    {"er", "replacement strings"}, {"seqreplace", "replacement strings"},
    {"slotreplace", "replacement strings"}, {"process-slot-var", "job slots"},
    {"retry-failed", "rerunning a joblog (use --resume-failed)"}, {"silent", "output"},
    {"max-replace-args", "inputs per command (use -N)"}, {"version", "use 'warden --version'"},
    {0, 0}};

static const refused refused_short[] = {
    {"m", "GNU parallel's several inputs per command with context; -N N passes N inputs "
          "per command, and the memory limit is now --memory=SIZE"},
    {"s", "--max-chars in GNU parallel and xargs; the signal at the deadline is now "
          "--signal=SIG"},
    {"c", "warden's old --cpu: write --cpu=DURATION"},
    {"p", "--interactive in GNU parallel and xargs: warden run never asks"},
    {"S", "GNU parallel's --sshlogin"}, {"X", "GNU parallel's several inputs per command "
                                              "with context; -N N passes N inputs"},
    {"M", "GNU parallel's --controlmaster"}, {"E", "an end-of-input string"},
    {"e", "xargs' end-of-input string"}, {"J", "GNU parallel's --profile"},
    {"o", "--open-tty"}, {"x", "exit if a command line is too long"},
    {"i", "xargs' old -i: write -I {}"}, {"l", "xargs' old -l: write -L N"},
    {"V", "--version: write 'warden --version'"}, {"D", "GNU parallel's --debug"},
    {"Y", "GNU parallel's --shebang"}, {0, 0}};

static const refused *find_refused(const refused *t, const char *name, size_t len) {
  for (; t->name; t++)
    if (strlen(t->name) == len && strncmp(t->name, name, len) == 0)
      return t;
  return NULL;
}

/* Whether word names a program execvp() would find. */
static int is_command(const char *word) {
  if (strchr(word, '/'))
    return access(word, X_OK) == 0;
  const char *path = getenv("PATH");
  if (path == NULL)
    path = "/usr/bin:/bin";
  while (*path) {
    size_t n = strcspn(path, ":");
    char full[PATH_BUF];
    if (snprintf(full, sizeof(full), "%.*s/%s", (int)n, n ? path : ".", word) <
            (int)sizeof(full) &&
        access(full, X_OK) == 0)
      return 1;
    path += n + (path[n] == ':');
  }
  return 0;
}

/* -t or -r written as warden's old options took them: a value right after
 * it, in the same word ("-t5s") or the next one when that is no command. */
static int old_spelling(char c, const char *rest, const char *next, wd__cli_msg *msg) {
  uint64_t ms;
  long n;
  const char *v = *rest ? rest : next;
  if (v == NULL || (*rest == '\0' && is_command(v)))
    return 0;
  if (c == 't' && wd__parse_duration(v, &ms) == 0)
    return wd__cli_say(msg, "-t now prints each command on stderr before it runs (as GNU "
                       "parallel's -t); for a deadline write --timeout=%s", v);
  if (c == 'r' && wd__parse_count(v, 0, 1000000, &n) == 0)
    return wd__cli_say(msg, "-r is now --no-run-if-empty (as in xargs and GNU parallel); "
                       "for retries write --retries=%s", v);
  return 0;
}

/* One long option word ("--name" or "--name=value"); *skip: its value is
 * the next word. */
static int check_long(const char *word, const struct option *longopts, int *skip,
                      wd__cli_msg *msg) {
  const char *name = word + 2;
  size_t len = strcspn(name, "=");
  for (const struct option *o = longopts; o->name; o++)
    if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) {
      *skip = o->has_arg == required_argument && name[len] != '=';
      return 0;
    }
  const refused *r = find_refused(refused_long, name, len);
  if (r)
    return wd__cli_say(msg, "--%.*s (GNU parallel's or xargs': %s) is not supported", (int)len,
                       name, r->what);
  for (const struct option *o = longopts; o->name; o++)
    if (strncmp(o->name, name, len) == 0)
      return wd__cli_say(msg, "--%.*s: write the option in full (--%s?): warden run takes no "
                         "abbreviations, GNU parallel's may mean another option", (int)len,
                         name, o->name);
  return wd__cli_say(msg, "unrecognized option '--%.*s'", (int)len, name);
}

/* One word of short options ("-kj4"); *skip: its value is the next word. */
static int check_short(const char *word, const char *next, const char *optstring, int *skip,
                       wd__cli_msg *msg) {
  for (const char *p = word + 1; *p; p++) {
    const char *o = *p == ':' ? NULL : strchr(optstring, *p);
    if (o == NULL) {
      const refused *r = find_refused(refused_short, p, 1);
      return r ? wd__cli_say(msg, "-%c (%s) is not supported", *p, r->what)
               : wd__cli_say(msg, "invalid option -- '%c'", *p);
    }
    if (o[1] == ':') {
      *skip = p[1] == '\0';
      return 0;
    }
    if ((*p == 't' || *p == 'r') && old_spelling(*p, p + 1, p[1] ? NULL : next, msg))
      return UV_EINVAL;
  }
  return 0;
}

int wd__cli_run_prescan(int argc, char **argv, const char *optstring,
                       const struct option *longopts, wd__cli_msg *msg) {
  if (*optstring == '+')
    optstring++;
  for (int i = 1; i < argc; i++) {
    const char *w = argv[i];
    if (strcmp(w, "--") == 0 || w[0] != '-' || w[1] == '\0')
      return 0; /* the command starts here */
    int skip = 0;
    int err = w[1] == '-' ? check_long(w, longopts, &skip, msg)
                          : check_short(w, i + 1 < argc ? argv[i + 1] : NULL, optstring,
                                        &skip, msg);
    if (err)
      return err;
    i += skip;
  }
  return 0;
}
