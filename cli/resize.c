/* resize.c -- `warden resize`: thumbnail or resize a batch of images on
 * every core, where a corrupt or hostile image costs one row, never the
 * batch.
 *
 * The supervisor finds the inputs (files, directories searched by content,
 * or a list on stdin), reads each file and sends its bytes to a sandboxed
 * worker running the "resize" job (jobs/resize.c), which answers with the
 * encoded output.  The supervisor writes it under a temporary name in the
 * output directory and renames it into place: an interrupted or failed
 * image never leaves a half-written file.  Largest files go first, so the
 * batch does not end waiting on one big straggler. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../jobs/resize.h"
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
  int is_jpeg;
  wd_future *f;
  double started;
} img;

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
  int logfd, stopping, exit_sig;
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

/* The first bytes of the file, sniffed; TGA has no magic, so its name. */
static const char *sniff_file(const char *path) {
  unsigned char head[32];
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return NULL;
  ssize_t n = read(fd, head, sizeof(head));
  close(fd);
  const char *kind = n > 0 ? wd_img_sniff(head, (size_t)n) : NULL;
  return kind ? kind : has_ext(path, ".tga") ? "tga" : NULL;
}

static void add(const char *path, const char *rel_in, off_t size, int is_jpeg) {
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
  memcpy(m->rel, rel_in, stem);
  strcpy(m->rel + stem, ext);
  m->size = size;
  m->is_jpeg = is_jpeg;
}

/* A directory, recursively: regular files that look like images (symlinks
 * to files are followed, symlinks to directories are not, so no loop).  rel is
 * the path under the directory the user named. */
static int walk(const char *dir, const char *rel) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return wd_cli_fail("resize", "%s: %s", dir, strerror(errno)), -1;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
      continue;
    char *path, *r;
    if (asprintf(&path, "%s/%s", dir, e->d_name) < 0 ||
        asprintf(&r, "%s%s%s", rel, *rel ? "/" : "", e->d_name) < 0)
      abort();
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      walk(path, r);
    } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
      const char *kind = sniff_file(path);
      if (kind)
        add(path, r, st.st_size, strcmp(kind, "jpeg") == 0);
    }
    free(path);
    free(r);
  }
  closedir(d);
  return 0;
}

/* A path the user named: a directory is searched, a file is taken as it
 * is -- if it is not an image, its row says so. */
static int add_input(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    return wd_cli_fail("resize", "%s: %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode))
    return walk(path, "") ? WD_EXIT_FAILURE : 0;
  const char *base = strrchr(path, '/');
  const char *kind = sniff_file(path);
  add(path, base ? base + 1 : path, st.st_size, kind && strcmp(kind, "jpeg") == 0);
  return 0;
}

static int read_list(void) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int rc = 0;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      line[--n] = '\0';
    if (n > 0 && add_input(line) != 0)
      rc = WD_EXIT_FAILURE;
  }
  free(line);
  return rc;
}

/* ---- output names ------------------------------------------------------- */

static int by_rel(const void *a, const void *b) {
  const img *x = *(img *const *)a, *y = *(img *const *)b;
  int c = strcmp(x->rel, y->rel);
  return c ? c : (x > y) - (x < y); /* then in the order found */
}

/* Sorts pointers to the inputs by output name; the first collision found
 * (two inputs, one output) in *a, *b, or 0 if none. */
static int collides(img **v, img **a, img **b) {
  for (size_t i = 0; i < S.n; i++)
    v[i] = &S.v[i];
  qsort(v, S.n, sizeof(*v), by_rel);
  for (size_t i = 1; i < S.n; i++)
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
  img **v = malloc(S.n * sizeof(*v)), *a, *b;
  if (v == NULL)
    abort();
  int rc = 0;
  if (collides(v, &a, &b)) {
    for (size_t i = 0; i < S.n;) {
      size_t j = i + 1, keep = i;
      while (j < S.n && strcmp(v[j]->rel, v[i]->rel) == 0)
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
    if (collides(v, &a, &b))
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

/* Writes data to dest through a temporary file in the same directory and
 * a rename: dest is either absent or whole.  0 or an errno. */
static int write_atomic(const char *dest, const void *data, size_t len) {
  char *tmp;
  if (asprintf(&tmp, "%s.warden-XXXXXX", dest) < 0)
    return ENOMEM;
  if (mkdirs(tmp) != 0) {
    int e = errno;
    free(tmp);
    return e;
  }
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    free(tmp);
    return e;
  }
  const char *p = data;
  size_t left = len;
  int e = 0;
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
  if (fchmod(fd, 0644) != 0 && !e)
    e = errno;
  if (close(fd) != 0 && !e)
    e = errno;
  if (!e && rename(tmp, dest) != 0)
    e = errno;
  if (e)
    unlink(tmp);
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
  wd_cli_joblog_line(S.logfd, "resize", i + 1, m->started, ms / 1000, (long long)m->size,
                     res && !error ? res->len : 0, error ? 1 : 0, 0, m->path);
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
  progress();
  start_more();
}

/* Reads the file and hands it to a worker.  A file that cannot be read is
 * a row of its own. */
static void submit(size_t i) {
  img *m = &S.v[i];
  m->started = wall();
  int fd = open(m->path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  wd__buf req = {0};
  int e = 0;
  if (fd < 0 || fstat(fd, &st) != 0) {
    e = errno;
  } else if (wd_img_encode(&req, &S.req, "", 0) != 0 ||
             wd__buf_reserve(&req, (size_t)st.st_size) != 0) {
    e = ENOMEM;
  } else {
    for (;;) {
      if (wd__buf_reserve(&req, 65536) != 0) {
        e = ENOMEM;
        break;
      }
      ssize_t n = read(fd, req.p + req.len, req.cap - req.len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        e = errno;
      if (n <= 0)
        break;
      req.len += (size_t)n;
    }
  }
  if (fd >= 0)
    close(fd);
  if (!e) {
    wd_task_options to = {.timeout_ms = S.timeout};
    int err = wd_submit(S.pool, "resize", req.p, req.len, &to, &m->f);
    if (err == 0) {
      S.running++;
      wd_future_on_done(m->f, on_done, (void *)(uintptr_t)i);
    } else {
      e = ENOMEM;
    }
  }
  wd__buf_free(&req);
  if (e) {
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", strerror(e));
    S.done++;
    S.failed++;
    row(i, "unreadable", msg, NULL, NULL, 0);
    progress();
  }
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
 * supervisor holds a few files' bytes at a time, not the whole batch. */
static void start_more(void) {
  while (!S.stopping && S.next < S.n && S.running < (size_t)S.jobs * 2) {
    size_t i = S.next++;
    if (S.v[i].path == NULL)
      continue; /* skipped by --resume */
    submit(i);
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
  int rc = 0;
  for (int i = optind; i < argc; i++)
    rc |= strcmp(argv[i], "-") == 0 ? read_list() : add_input(argv[i]);
  if (rc)
    return WD_EXIT_FAILURE;
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
    if (S.resume && output_exists(&S.v[i])) {
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
  return S.failed == 0 ? 0 : S.failed > 100 ? 101 : (int)S.failed;
}
