/* run_stream.c -- printing one captured stream of a command, from memory or
 * from its spool file, as it is, --tag'ged line by line, or inside a JSON
 * string.  A spool file is read in chunks, so a command's 200 MB of output
 * passes through a 64 KiB buffer: the chunk edges fall anywhere, so the
 * sink remembers whether it is inside a line (--tag) or inside a UTF-8
 * sequence (--json). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "run_spool.h"

#define CHUNK 65536

static void tagged(wd__cli_sink *s, const char *p, size_t n) {
  while (n > 0) {
    if (!s->mid_line) {
      fwrite(s->tag, 1, s->tag_len, s->f);
      fputc('\t', s->f);
    }
    const char *nl = memchr(p, '\n', n);
    size_t len = nl ? (size_t)(nl - p) + 1 : n;
    fwrite(p, 1, len, s->f);
    s->mid_line = nl == NULL;
    p += len;
    n -= len;
  }
}

/* JSON: what the last chunk left unfinished goes first. */
static void json(wd__cli_sink *s, const char *p, size_t n, int final) {
  while (s->ncarry && n) {
    s->carry[s->ncarry++] = (unsigned char)*p++;
    n--;
    size_t used = wd__json_bytes(s->f, s->carry, s->ncarry, final && n == 0);
    memmove(s->carry, s->carry + used, s->ncarry - used);
    s->ncarry -= used;
  }
  if (final && s->ncarry) {
    wd__json_bytes(s->f, s->carry, s->ncarry, 1);
    s->ncarry = 0;
  }
  size_t used = wd__json_bytes(s->f, p, n, final);
  memcpy(s->carry, p + used, n - used); /* under 4 bytes */
  s->ncarry = n - used;
}

static void put(wd__cli_sink *s, const char *p, size_t n, int final) {
  if (s->json)
    json(s, p, n, final);
  else if (s->tag)
    tagged(s, p, n);
  else
    fwrite(p, 1, n, s->f);
}

/* The spool file's bytes into the sink; the file is removed once read. */
static int from_file(wd__cli_sink *s, const char *file) {
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  int err = fd < 0 ? -errno : 0;
  char buf[CHUNK];
  while (!err) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      err = -errno;
    if (n <= 0)
      break;
    put(s, buf, (size_t)n, 0);
    if (ferror(s->f))
      break; /* the caller says it */
  }
  if (fd >= 0)
    close(fd);
  unlink(file);
  return err;
}

int wd__cli_sink_stream(wd__cli_sink *s, const char *mem, uint64_t len, const char *file) {
  s->mid_line = 0;
  s->ncarry = 0;
  int err = file ? from_file(s, file) : 0;
  if (!file)
    put(s, mem, (size_t)len, 0);
  put(s, "", 0, 1); /* the end: JSON's unfinished bytes */
  /* A last line without its newline stays so, --tag'ged or not: GNU
   * parallel adds none, and a script may count on the bytes as printed. */
  return err;
}
