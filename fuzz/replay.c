/* replay.c -- runs a fuzz target's saved inputs without libFuzzer, each in
 * a child of its own (the resize job locks its process into seccomp, as a
 * worker would be): make test replays fuzz/regressions/TARGET/ with it.
 *   replay_TARGET FILE...     exit 0 when every input passed */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  int bad = 0;
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (f == NULL) {
      perror(argv[i]);
      bad = 1;
      continue;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    size_t got = fread(p, 1, n > 0 ? (size_t)n : 0, f);
    fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
      LLVMFuzzerTestOneInput(p, got);
      _exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "replay: %s: %s %d\n", argv[i],
              WIFSIGNALED(st) ? "killed by signal" : "exit status",
              WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
      bad = 1;
    }
    free(p);
  }
  return bad;
}
