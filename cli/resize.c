/* resize.c -- `warden resize`: thumbnail or resize a batch of images on
 * every core, where a corrupt or hostile image costs one row, never the
 * batch.
 *
 * The supervisor finds the inputs (files, directories searched by content,
 * or a list on stdin), reads each file and sends its bytes to a sandboxed
 * worker running the "resize" job (jobs/resize.c), which answers with the
 * encoded output.  The supervisor writes it under a temporary name in the
 * output directory, fsyncs it and renames it into place: an interrupted or
 * failed image never leaves a half-written file, not even after a power
 * loss.  Largest files go first, so the batch does not end waiting on one
 * big straggler.
 *
 * An input that cannot be had -- missing, a dangling link, a FIFO, a
 * device, too big to send -- is a row of its own, never a refusal of the
 * batch and never a hang: the loop thread opens inputs only with
 * O_NONBLOCK, checks type and size with fstat before reading a byte, and
 * the reading itself is a libuv fs request on the threadpool. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../jobs/resize.h"
#include "../worker/proto.h"
#include "cli.h"
#include "json.h"

static const char usage[] =
    "Usage: warden resize [OPTION]... INPUT... -o OUTDIR\n"
    "Resize images to fit a box, on every core.  An INPUT is a file, a\n"
    "directory (searched recursively; images are found by their content), or\n"
    "'-' for a list of paths on stdin, one per line.\n"
    "\n"
    "  -o, --output=DIR        where to write (relative paths are kept)\n"
    "  -w, --width=W           fit inside W pixels wide\n"
    "  -H, --height=H          fit inside H pixels high (aspect ratio kept)\n"
    "      --upscale           enlarge images smaller than the box\n"
    "  -f, --format=FMT        jpg, png, or same (default: jpg for JPEG\n"
    "                          inputs, png for the rest)\n"
    "  -q, --quality=Q         JPEG quality 1-100 (default 85)\n"
    "  -j, --jobs=N            images at once (default: CPUs)\n"
    "  -t, --timeout=DURATION  per image (default 30s)\n"
    "  -m, --memory=SIZE       memory limit per worker (default 1G)\n"
    "      --max-pixels=N      refuse larger images before decoding\n"
    "                          (default 100M; K, M, G are powers of 1000)\n"
    "      --json              one JSON object per image on stdout\n"
    "      --joblog=FILE       GNU parallel's joblog, one line per image\n"
    "      --resume            skip images whose output already exists\n"
    "      --progress          progress on stderr (only if it is a terminal)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 if every image was written; else the number that failed\n"
    "(1-100; 101 for more); 125 if warden failed; 130/143 after SIGINT/SIGTERM.\n";

enum { O_UPSCALE = 256, O_MAXPX, O_JSON, O_JOBLOG, O_RESUME, O_PROGRESS };

typedef struct {
  char *path;   /* as found */
  char *rel;    /* the output's path under OUTDIR, extension included */
  char *rel_in; /* the input's path under what the user named */
  off_t size;
  mode_t mode;  /* its type when found */
  int err;      /* an errno if it could not even be stat'ed: its row says so */
  int is_jpeg;
  wd_future *f;
  size_t held;  /* bytes of it the supervisor holds (read, or queued) */
  double started;
} img;

/* One input being read on the threadpool. */
typedef struct {
  uv_fs_t fs;
  size_t i;
  uv_file fd;
  size_t end; /* req.len once the whole file is in */
  wd__buf req; /* the request header, then the file's bytes */
} reader;

static struct {
  wd_img_req req;
  long jobs;
  uint64_t timeout, memory;
  int json, resume, progress;
  const char *outdir, *joblog;
  uv_loop_t *loop;
  wd_pool *pool;
  img *v;
  size_t n, cap, next, running, done, failed, skipped, todo;
  uint64_t max_file; /* the largest input a worker can be sent */
  uint64_t held;     /* input bytes read or queued, at most max_file */
  int logfd, stopping, exit_sig;
  int log_failed; /* a joblog write failed: start nothing new, exit 125 */
  uv_signal_t sigint, sigterm;
  double t0;
} S;

static double wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- finding inputs ------------------------------------------------------ */

static int has_ext(const char *path, const char *ext) {
  size_t n = strlen(path), e = strlen(ext);
  return n > e && strcasecmp(path + n - e, ext) == 0;
}

/* The first bytes of the file, sniffed; TGA has no magic, so its name.
 * Only regular files are opened here: a read from a FIFO would steal a
 * writer's bytes, and opening a device can have effects of its own. */
static const char *sniff_file(const char *path) {
  unsigned char head[32];
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return NULL;
  struct stat st;
  ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, head, sizeof(head)) : -1;
  close(fd);
  const char *kind = n > 0 ? wd_img_sniff(head, (size_t)n) : NULL;
  return kind ? kind : has_ext(path, ".tga") ? "tga" : NULL;
}

/* An input: st as found, or NULL and the errno that stat gave, which
 * becomes its row once the batch runs. */
static void add(const char *path, const char *rel_in, const struct stat *st, int err,
                int is_jpeg) {
  if (S.n == S.cap) {
    S.cap = S.cap ? S.cap * 2 : 256;
    S.v = realloc(S.v, S.cap * sizeof(img));
    if (S.v == NULL)
      abort();
  }
  const char *ext = S.req.format == WD_IMG_JPG   ? ".jpg"
                    : S.req.format == WD_IMG_PNG ? ".png"
                    : is_jpeg                    ? ".jpg"
                                                 : ".png";
  const char *dot = strrchr(rel_in, '.');
  const char *slash = strrchr(rel_in, '/');
  size_t stem = dot && (!slash || dot > slash) && dot != rel_in ? (size_t)(dot - rel_in)
                                                              : strlen(rel_in);
  img *m = &S.v[S.n++];
  memset(m, 0, sizeof(*m));
  m->path = strdup(path);
  m->rel_in = strdup(rel_in);
  m->rel = malloc(stem + strlen(ext) + 1);
  if (m->path == NULL || m->rel_in == NULL || m->rel == NULL)
    abort();
  memcpy(m->rel, rel_in, stem);
  strcpy(m->rel + stem, ext);
  m->size = st ? st->st_size : 0;
  m->mode = st ? st->st_mode : 0;
  m->err = err;
  m->is_jpeg = is_jpeg;
}

/* Whether an input may make an output: what was missing or not a regular
 * file when found only makes a row. */
static int may_write(const img *m) { return !m->err && S_ISREG(m->mode); }

/* A directory, recursively: regular files that look like images (symlinks
 * to files are followed, symlinks to directories are not, so no loop).  rel is
 * the path under the directory the user named.  0, or the errno of a
 * directory that cannot be listed (a row, like a file that cannot be read). */
static int walk(const char *dir, const char *rel) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return errno;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
      continue;
    char *path, *r;
    if (asprintf(&path, "%s/%s", dir, e->d_name) < 0 ||
        asprintf(&r, "%s%s%s", rel, *rel ? "/" : "", e->d_name) < 0)
      abort();
    struct stat st;
    int err;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      if ((err = walk(path, r)) != 0)
        add(path, r, NULL, err, 0);
    } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
      const char *kind = sniff_file(path);
      if (kind)
        add(path, r, &st, 0, strcmp(kind, "jpeg") == 0);
    }
    free(path);
    free(r);
  }
  closedir(d);
  return 0;
}

/* A path the user named: a directory is searched, anything else is taken
 * as it is -- if it is missing, not a regular file or not an image, its
 * row says so and the rest of the batch is done (as cat or gzip go on
 * past a missing operand). */
static void add_input(const char *path) {
  struct stat st;
  const char *base = strrchr(path, '/');
  base = base && base[1] ? base + 1 : path;
  if (stat(path, &st) != 0) {
    add(path, base, NULL, errno, 0);
  } else if (S_ISDIR(st.st_mode)) {
    int err = walk(path, "");
    if (err)
      add(path, base, NULL, err, 0);
  } else {
    const char *kind = S_ISREG(st.st_mode) ? sniff_file(path) : NULL;
    add(path, base, &st, 0, kind && strcmp(kind, "jpeg") == 0);
  }
}

static int read_list(void) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      line[--n] = '\0';
    if (n > 0)
      add_input(line);
  }
  free(line);
  if (ferror(stdin))
    return wd_cli_fail("resize", "reading the list on stdin: %s", strerror(errno));
  return 0;
}

/* ---- output names ------------------------------------------------------- */

static int by_rel(const void *a, const void *b) {
  const img *x = *(img *const *)a, *y = *(img *const *)b;
  int c = strcmp(x->rel, y->rel);
  return c ? c : (x > y) - (x < y); /* then in the order found */
}

/* Sorts the n pointers to inputs by output name; the first collision
 * found (two inputs, one output) in *a, *b, or 0 if none. */
static int collides(img **v, size_t n, img **a, img **b) {
  qsort(v, n, sizeof(*v), by_rel);
  for (size_t i = 1; i < n; i++)
    if (strcmp(v[i - 1]->rel, v[i]->rel) == 0)
      return *a = v[i - 1], *b = v[i], 1;
  return 0;
}

/* a.png and a.gif would both become a.png: the one whose extension is
 * already the output's (or else the first found) keeps the name, the
 * others keep their own extension too (a.gif.png).  What still collides
 * -- the same relative path under two inputs -- is refused before any
 * work: nothing is overwritten by surprise. */
static int settle_names(void) {
  img **v = malloc((S.n ? S.n : 1) * sizeof(*v)), *a, *b;
  if (v == NULL)
    abort();
  size_t n = 0;
  for (size_t i = 0; i < S.n; i++)
    if (may_write(&S.v[i]))
      v[n++] = &S.v[i];
  int rc = 0;
  if (collides(v, n, &a, &b)) {
    for (size_t i = 0; i < n;) {
      size_t j = i + 1, keep = i;
      while (j < n && strcmp(v[j]->rel, v[i]->rel) == 0)
        j++;
      const char *out_ext = strrchr(v[i]->rel, '.');
      for (size_t k = i; k < j; k++)
        if (has_ext(v[k]->rel_in, out_ext)) {
          keep = k;
          break;
        }
      for (size_t k = i; j - i > 1 && k < j; k++) {
        if (k == keep || has_ext(v[k]->rel_in, out_ext))
          continue; /* the same name from two inputs: refused below */
        char *r;
        if (asprintf(&r, "%s%s", v[k]->rel_in, out_ext) < 0)
          abort();
        fprintf(stderr, "warden resize: %s: written as %s (%s takes %s)\n", v[k]->path, r,
                v[keep]->path, v[k]->rel);
        free(v[k]->rel);
        v[k]->rel = r;
      }
      i = j;
    }
    if (collides(v, n, &a, &b))
      rc = wd_cli_fail("resize", "%s and %s would both be written to %s/%s", a->path,
                       b->path, S.outdir, a->rel);
  }
  free(v);
  return rc;
}

static int by_size_desc(const void *a, const void *b) {
  off_t x = ((const img *)a)->size, y = ((const img *)b)->size;
  return (x < y) - (x > y);
}

/* ---- writing outputs ----------------------------------------------------- */

static int mkdirs(char *path) { /* every parent of path */
  for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
    *p = '\0';
    int rc = mkdir(path, 0777);
    *p = '/';
    if (rc != 0 && errno != EEXIST)
      return -1;
  }
  return 0;
}

/* fsyncs the directory that holds path, so that a rename into it is on
 * disk.  0 or an errno. */
static int sync_parent(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
  if (dir == NULL)
    return ENOMEM;
  int e = 0, fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0)
    e = errno;
  if (fd >= 0)
    close(fd);
  free(dir);
  return e;
}

/* Writes data to dest through a temporary file in the same directory and
 * a rename: dest is either absent or whole.  The file is fsynced before
 * the rename -- else a power loss can leave the rename on disk and the
 * data not, an empty or short dest that --resume would trust -- and the
 * directory after it, so that an image whose row said ok is still there.
 * 0 or an errno; if only the directory's fsync failed, dest exists and is
 * whole, but may not survive a power loss. */
static int write_atomic(const char *dest, const void *data, size_t len) {
  char *tmp;
  if (asprintf(&tmp, "%s.warden-XXXXXX", dest) < 0)
    return ENOMEM;
  int e = 0, fd = -1;
  if (mkdirs(tmp) != 0 || (fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
    e = errno;
    goto done;
  }
  const char *p = data;
  size_t left = len;
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      e = n < 0 ? errno : EIO;
      break;
    }
    p += n;
    left -= (size_t)n;
  }
  if (!e && fchmod(fd, 0644) != 0)
    e = errno;
  if (!e && fsync(fd) != 0)
    e = errno;
  if (close(fd) != 0 && !e)
    e = errno;
  if (!e && rename(tmp, dest) != 0)
    e = errno;
  if (e)
    unlink(tmp);
  else
    e = sync_parent(dest);
done:
  free(tmp);
  return e;
}

/* ---- rows ------------------------------------------------------------------ */

static void row(size_t i, const char *status, const char *error, const wd_img_res *res,
                const char *out, double ms) {
  img *m = &S.v[i];
  if (S.json) {
    printf("{\"input\":");
    wd_json_string(stdout, m->path, strlen(m->path));
    printf(",\"output\":");
    if (out)
      wd_json_string(stdout, out, strlen(out));
    else
      printf("null");
    printf(",\"status\":\"%s\",\"error\":", status);
    if (error)
      wd_json_string(stdout, error, strlen(error));
    else
      printf("null");
    if (res && res->in_w)
      printf(",\"width_in\":%u,\"height_in\":%u", res->in_w, res->in_h);
    else
      printf(",\"width_in\":null,\"height_in\":null");
    if (res && res->out_w)
      printf(",\"width_out\":%u,\"height_out\":%u", res->out_w, res->out_h);
    else
      printf(",\"width_out\":null,\"height_out\":null");
    printf(",\"duration_ms\":%.1f", ms);
    if (res && res->peak_rss_kb)
      printf(",\"worker_peak_rss_kb\":%u}\n", res->peak_rss_kb);
    else
      printf(",\"worker_peak_rss_kb\":null}\n");
    fflush(stdout);
  } else if (error) {
    fprintf(stderr, "warden resize: %s: %s%s%s\n", m->path, status,
            strcmp(status, error) ? ": " : "", strcmp(status, error) ? error : "");
  }
  if (wd_cli_joblog_line(S.logfd, "resize", i + 1, m->started, ms / 1000,
                         (long long)m->size, res && !error ? res->len : 0,
                         error ? 1 : 0, 0, m->path) != 0) {
    /* Said once (by wd_cli_joblog_line); a record missing from the log is
     * an image --resume would do again, so nothing new starts. */
    close(S.logfd);
    S.logfd = -1;
    S.log_failed = 1;
    S.stopping = 1;
  }
}

static void progress(void) {
  if (!S.progress)
    return;
  double el = wall() - S.t0;
  double eta = S.done ? el / S.done * (S.todo - S.done) : 0;
  int width = 30, fill = S.todo ? (int)(width * S.done / S.todo) : width;
  fprintf(stderr, "\r\033[K[%.*s%*s] %zu/%zu, %zu failed, %.1f img/s, ETA %.0fs",
          fill, "##############################", width - fill, "", S.done, S.todo,
          S.failed, el > 0 ? S.done / el : 0, eta);
  if (S.done == S.todo)
    fputc('\n', stderr);
}

static void start_more(void);

static void on_done(wd_future *f, void *data) {
  size_t i = (size_t)(uintptr_t)data;
  img *m = &S.v[i];
  const wd_result *r = wd_future_result(f);
  double ms = r->duration_ns / 1e6;
  wd_img_res res = {0};
  char *out = NULL, err[512];
  const char *status = "ok", *error = NULL;
  S.running--;
  if (r->status == WD_OK && wd_img_decode(r->data, r->len, &res) == 0) {
    if (res.error) {
      status = wd_img_error_name(res.error);
      snprintf(err, sizeof(err), "%.*s", (int)res.message_len, res.message);
      error = err;
    } else {
      if (asprintf(&out, "%s/%s", S.outdir, m->rel) < 0)
        abort();
      int e = write_atomic(out, res.data, res.len);
      if (e) {
        status = "write error";
        snprintf(err, sizeof(err), "%s: %s", out, strerror(e));
        error = err;
        free(out);
        out = NULL;
      }
    }
  } else if (r->status == WD_TIMEOUT) {
    status = "timeout";
    snprintf(err, sizeof(err), "no result after %.1f s", ms / 1000);
    error = err;
  } else if (r->status == WD_CANCELLED) {
    status = "cancelled";
    error = "stopped before it finished";
  } else {
    status = "crashed";
    if (r->signal == SIGSYS)
      snprintf(err, sizeof(err), "killed by the sandbox (SIGSYS)");
    else if (r->signal)
      snprintf(err, sizeof(err), "killed by signal %d", r->signal);
    else
      snprintf(err, sizeof(err), "%.*s", (int)r->len, (const char *)r->data);
    error = err;
  }
  S.done++;
  S.failed += error != NULL;
  row(i, status, error, &res, out, ms);
  free(out);
  wd_future_release(f);
  m->f = NULL;
  S.held -= m->held;
  m->held = 0;
  progress();
  start_more();
}

/* "3.0 GiB": a size for a row. */
static const char *human(uint64_t n, char *buf, size_t len) {
  static const char *unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)n;
  int k = 0;
  while (v >= 1024 && k < 4)
    v /= 1024, k++;
  snprintf(buf, len, k ? "%.1f %s" : "%.0f %s", v, unit[k]);
  return buf;
}

static const char *file_type(mode_t mode) {
  return S_ISDIR(mode)    ? "a directory"
         : S_ISFIFO(mode) ? "a FIFO"
         : S_ISCHR(mode)  ? "a character device"
         : S_ISBLK(mode)  ? "a block device"
         : S_ISSOCK(mode) ? "a socket"
                          : "not a file";
}

/* A row for an image that never reached a worker. */
static void refuse(size_t i, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(size_t i, const char *status, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  S.done++;
  S.failed++;
  row(i, status, msg, NULL, NULL, 0);
  progress();
}

static void on_read(uv_fs_t *fs);

static int read_more(reader *r) {
  uv_buf_t b = uv_buf_init(r->req.p + r->req.len, (unsigned)(r->end - r->req.len));
  r->fs.data = r;
  return uv_fs_read(S.loop, &r->fs, r->fd, &b, 1,
                    (int64_t)(r->req.len - sizeof(wd_img_req)), on_read);
}

/* The file is in, cut short (n == 0 before the end: it shrank since the
 * fstat; a short image is the worker's to call corrupt) or failed (n < 0,
 * a libuv error): hand it to a worker or make its row. */
static void finish_read(reader *r, ssize_t n) {
  img *m = &S.v[r->i];
  close(r->fd); /* a regular file, read-only: close does not wait */
  S.running--;
  if (S.stopping) {
    /* Ctrl-C while it was read: it was not started, so no row. */
  } else if (n < 0) {
    refuse(r->i, "unreadable", "%s", uv_strerror((int)n));
  } else {
    wd_task_options to = {.timeout_ms = S.timeout};
    int err = wd_submit(S.pool, "resize", r->req.p, r->req.len, &to, &m->f);
    if (err == 0) {
      S.running++;
      wd_future_on_done(m->f, on_done, (void *)(uintptr_t)r->i);
    } else {
      refuse(r->i, "unreadable", "cannot hand it to a worker: %s", wd_strerror(err));
    }
  }
  if (m->f == NULL) {
    S.held -= m->held;
    m->held = 0;
  }
  wd__buf_free(&r->req);
  free(r);
}

static void on_read(uv_fs_t *fs) {
  reader *r = fs->data;
  ssize_t n = fs->result;
  uv_fs_req_cleanup(fs);
  if (n > 0) {
    r->req.len += (size_t)n;
    if (r->req.len < r->end && !S.stopping && (n = read_more(r)) == 0)
      return;
  }
  finish_read(r, n);
  start_more();
}

/* Starts reading input i, or makes its row if it cannot be sent: nothing
 * here may block the loop, whatever the path names.  The open is
 * O_NONBLOCK (a FIFO that became one since it was found opens at once),
 * its type and size are checked with fstat before a byte is read, and the
 * bytes are read on the threadpool. */
static void start(size_t i) {
  img *m = &S.v[i];
  char a[32], b[32];
  m->started = wall();
  if (m->err)
    return refuse(i, "unreadable", "%s", strerror(m->err));
  if (!S_ISREG(m->mode))
    return refuse(i, "unreadable", "not a regular file (%s)", file_type(m->mode));
  struct stat st;
  reader *r = NULL;
  int fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0 || fstat(fd, &st) != 0) {
    refuse(i, "unreadable", "%s", strerror(errno));
    goto fail;
  }
  if (!S_ISREG(st.st_mode)) {
    refuse(i, "unreadable", "not a regular file (%s)", file_type(st.st_mode));
    goto fail;
  }
  if ((uint64_t)st.st_size > S.max_file) {
    refuse(i, wd_img_error_name(WD_IMG_TOO_LARGE), "a file of %s; a worker takes at most %s (%s)",
           human((uint64_t)st.st_size, a, sizeof(a)), human(S.max_file, b, sizeof(b)),
           S.memory && S.memory / 2 < WD__FRAME_MAX ? "half of --memory" : "the frame limit");
    goto fail;
  }
  if ((r = calloc(1, sizeof(*r))) == NULL || wd_img_encode(&r->req, &S.req, "", 0) != 0 ||
      wd__buf_reserve(&r->req, (size_t)st.st_size) != 0) {
    refuse(i, "unreadable", "%s", strerror(ENOMEM));
    goto fail;
  }
  r->i = i;
  r->fd = fd;
  r->end = r->req.len + (size_t)st.st_size;
  m->held = (size_t)st.st_size;
  S.held += m->held;
  S.running++;
  int err = r->end > r->req.len ? read_more(r) : 0;
  if (err != 0 || r->end == r->req.len) /* failed to start, or empty */
    finish_read(r, err);
  return;
fail:
  if (fd >= 0)
    close(fd);
  if (r)
    wd__buf_free(&r->req);
  free(r);
}

static int output_exists(const img *m) {
  char *out;
  struct stat st;
  if (asprintf(&out, "%s/%s", S.outdir, m->rel) < 0)
    abort();
  int yes = stat(out, &st) == 0;
  free(out);
  return yes;
}

/* Keeps each worker busy with one image and one more read ahead: the
 * supervisor holds a few files' bytes at a time, not the whole batch, and
 * never more than max_file bytes of inputs at once (one image of that
 * size, alone, is always let in: it is the largest that can be sent). */
static void start_more(void) {
  while (!S.stopping && S.next < S.n && S.running < (size_t)S.jobs * 2) {
    const img *m = &S.v[S.next];
    uint64_t need = (uint64_t)m->size <= S.max_file ? (uint64_t)m->size : 0; /* else refused */
    if (S.running > 0 && S.held + need > S.max_file)
      break; /* on_done and on_read come back here */
    size_t i = S.next++;
    if (m->path == NULL)
      continue; /* skipped by --resume */
    start(i);
  }
  if (S.next == S.n && S.running == 0 && S.pool)
    wd_pool_shutdown(S.pool, WD_GRACEFUL);
}

static void on_signal(uv_signal_t *h, int sig) {
  (void)h;
  if (!S.exit_sig)
    S.exit_sig = sig;
  S.stopping = 1;
  wd_pool_shutdown(S.pool, WD_IMMEDIATE);
}

/* "100M", "2.5G", "40000": pixels, powers of 1000. */
static int parse_pixels(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  double mul = 1;
  if (*end == 'K' || *end == 'k')
    mul = 1e3, end++;
  else if (*end == 'M' || *end == 'm')
    mul = 1e6, end++;
  else if (*end == 'G' || *end == 'g')
    mul = 1e9, end++;
  if (errno || end == s || *end || v <= 0 || v * mul > 1e15)
    return UV_EINVAL;
  *out = (uint64_t)(v * mul);
  return 0;
}

int wd_cli_resize(int argc, char **argv) {
  static const struct option opts[] = {
      {"output", required_argument, 0, 'o'},  {"width", required_argument, 0, 'w'},
      {"height", required_argument, 0, 'H'},  {"upscale", no_argument, 0, O_UPSCALE},
      {"format", required_argument, 0, 'f'},  {"quality", required_argument, 0, 'q'},
      {"jobs", required_argument, 0, 'j'},    {"timeout", required_argument, 0, 't'},
      {"memory", required_argument, 0, 'm'},  {"max-pixels", required_argument, 0, O_MAXPX},
      {"json", no_argument, 0, O_JSON},       {"joblog", required_argument, 0, O_JOBLOG},
      {"resume", no_argument, 0, O_RESUME},   {"progress", no_argument, 0, O_PROGRESS},
      {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  S.jobs = n > 0 ? n : 1;
  S.timeout = 30000;
  S.memory = 1u << 30;
  S.logfd = -1;
  S.req.quality = 85;
  S.req.max_pixels = 100000000;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "o:w:H:f:q:j:t:m:h", opts, NULL)) != -1) {
    int bad = 0;
    long v;
    switch (c) {
    case 'o': S.outdir = optarg; break;
    case 'w': bad = wd_parse_count(optarg, 1, 1 << 20, &v); S.req.width = (uint32_t)v; break;
    case 'H': bad = wd_parse_count(optarg, 1, 1 << 20, &v); S.req.height = (uint32_t)v; break;
    case O_UPSCALE: S.req.upscale = 1; break;
    case 'f':
      if (strcmp(optarg, "jpg") == 0 || strcmp(optarg, "jpeg") == 0)
        S.req.format = WD_IMG_JPG;
      else if (strcmp(optarg, "png") == 0)
        S.req.format = WD_IMG_PNG;
      else if (strcmp(optarg, "same") == 0)
        S.req.format = WD_IMG_SAME;
      else
        bad = 1;
      break;
    case 'q': bad = wd_parse_count(optarg, 1, 100, &v); S.req.quality = (uint32_t)v; break;
    case 'j': bad = wd_parse_count(optarg, 1, 4096, &S.jobs); break;
    case 't': bad = wd_parse_duration(optarg, &S.timeout); break;
    case 'm': bad = wd_parse_size(optarg, &S.memory); break;
    case O_MAXPX: bad = parse_pixels(optarg, &S.req.max_pixels); break;
    case O_JSON: S.json = 1; break;
    case O_JOBLOG: S.joblog = optarg; break;
    case O_RESUME: S.resume = 1; break;
    case O_PROGRESS: S.progress = isatty(2); break;
    case 'h': fputs(usage, stdout); return 0;
    default: fputs("Try 'warden resize --help'.\n", stderr); return WD_EXIT_FAILURE;
    }
    if (bad)
      return wd_cli_bad_value("resize", opts, c, optarg);
  }
  if (S.outdir == NULL)
    return wd_cli_fail("resize", "missing -o OUTDIR (try 'warden resize --help')");
  if (optind == argc)
    return wd_cli_fail("resize", "no input (try 'warden resize --help')");
  for (int i = optind; i < argc; i++) {
    if (strcmp(argv[i], "-") != 0)
      add_input(argv[i]);
    else if (read_list() != 0)
      return WD_EXIT_FAILURE;
  }
  if (S.n == 0)
    return wd_cli_fail("resize", "no images found");
  if (settle_names() != 0)
    return WD_EXIT_FAILURE;
  struct stat ost;
  int made_outdir = mkdir(S.outdir, 0777) == 0;
  if (!made_outdir && errno != EEXIST)
    return wd_cli_fail("resize", "%s: %s", S.outdir, strerror(errno));
  if (stat(S.outdir, &ost) != 0) /* refused before any work */
    return wd_cli_fail("resize", "%s: %s", S.outdir, strerror(errno));
  if (!S_ISDIR(ost.st_mode))
    return wd_cli_fail("resize", "%s: not a directory", S.outdir);
  qsort(S.v, S.n, sizeof(img), by_size_desc);
  for (size_t i = 0; i < S.n; i++) {
    if (S.resume && may_write(&S.v[i]) && output_exists(&S.v[i])) {
      free(S.v[i].path);
      S.v[i].path = NULL;
      S.skipped++;
    } else {
      S.todo++;
    }
  }
  if (S.joblog && (S.logfd = wd_cli_joblog_open(S.joblog)) < 0) {
    if (made_outdir) /* leave nothing behind for a usage error */
      rmdir(S.outdir);
    return wd_cli_fail("resize", "joblog %s: %s", S.joblog, strerror(-S.logfd));
  }
  if (S.todo == 0) {
    fprintf(stderr, "warden resize: all %zu outputs exist already\n", S.n);
    return 0;
  }
  if ((size_t)S.jobs > S.todo)
    S.jobs = (long)S.todo;
  /* What a worker can be sent: the frame limit, and half its memory
   * limit -- it must hold the file's bytes (in a buffer that doubles as
   * it grows) and still decode them. */
  S.max_file = WD__FRAME_MAX - sizeof(wd_img_req);
  if (S.memory && S.memory / 2 < S.max_file)
    S.max_file = S.memory / 2;
  S.loop = uv_default_loop();
  wd_register_resize_job();
  wd_pool_options po = {.workers = (unsigned)S.jobs,
                        .memory_limit = S.memory,
                        .cpu_limit_s = S.timeout ? (S.timeout + 999) / 1000 + 1 : 0};
  int err = wd_pool_new(S.loop, &po, &S.pool);
  if (err)
    return wd_cli_fail("resize", "cannot start workers: %s", wd_strerror(err));
  uv_signal_init(S.loop, &S.sigint);
  uv_signal_init(S.loop, &S.sigterm);
  uv_signal_start(&S.sigint, on_signal, SIGINT);
  uv_signal_start(&S.sigterm, on_signal, SIGTERM);
  uv_unref((uv_handle_t *)&S.sigint);
  uv_unref((uv_handle_t *)&S.sigterm);
  S.t0 = wall();
  start_more();
  uv_run(S.loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&S.sigint, NULL);
  uv_close((uv_handle_t *)&S.sigterm, NULL);
  wd_pool_destroy(S.pool);
  uv_run(S.loop, UV_RUN_NOWAIT);
  if (S.logfd >= 0)
    close(S.logfd);
  double el = wall() - S.t0;
  if (!S.json || S.progress)
  {
    fprintf(stderr, "warden resize: %zu images in %.2f s (%.1f/s): %zu written, %zu failed",
            S.done, el, el > 0 ? S.done / el : 0, S.done - S.failed, S.failed);
    if (S.skipped)
      fprintf(stderr, ", %zu skipped (output exists)", S.skipped);
    fprintf(stderr, " -> %s\n", S.outdir);
  }
  fflush(stdout);
  if (S.exit_sig)
    return 128 + S.exit_sig;
  if (S.log_failed)
    return WD_EXIT_FAILURE;
  return S.failed == 0 ? 0 : S.failed > 100 ? 101 : (int)S.failed;
}
