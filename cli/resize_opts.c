/* resize_opts.c -- the options of `warden resize`: its help text and the
 * pure function that parses them (as opts.c does for exec and run). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "resize.h"

const char wd__cli_resize_usage[] =
    "Usage: warden resize [OPTION]... INPUT... -o OUTDIR\n"
    "Resize images to fit a box, on every core.  An INPUT is a file, a\n"
    "directory (searched recursively; images are found by their content), or\n"
    "'-' for a list of paths on stdin, one per line.\n"
    "\n"
    "  -o, --output=DIR        where to write (relative paths are kept)\n"
    "  -w, --width=W           fit inside W pixels wide\n"
    "  -H, --height=H          fit inside H pixels high (aspect ratio kept)\n"
    "  -s, --size=SIZE         the box as vipsthumbnail's -s: N (N x N), WxH,\n"
    "                          Wx (width only) or xH (height only)\n"
    "      --fit=FIT           contain (inside the box, the default), cover\n"
    "                          (fill it, crop the rest) or fill (stretch to it);\n"
    "                          cover and fill need a width and a height\n"
    "      --crop=WHERE        what cover keeps: centre (the default), or\n"
    "                          attention (the most edges and colour)\n"
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

#define RESIZE_MAX_SIDE (1 << 20)
#define RESIZE_MAX_JOBS 4096
#define RESIZE_MAX_QUALITY 100
#define RESIZE_DEFAULT_QUALITY 85
#define RESIZE_DEFAULT_TIMEOUT_MS 30000
#define RESIZE_DEFAULT_MEMORY ((uint64_t)1 << 30)
#define PIXELS_MAX 1e15

enum {
  OPT_UPSCALE = 256,
  OPT_MAXPX,
  OPT_JSON,
  OPT_JOBLOG,
  OPT_RESUME,
  OPT_PROGRESS,
  OPT_FIT,
  OPT_CROP
};

/* --fit's words, indexed by WD_IMG_CONTAIN / COVER / FILL. */
static const char *const fit_names[] = {"contain", "cover", "fill"};

static const struct option resize_options[] = {
    {"output", required_argument, 0, 'o'},  {"width", required_argument, 0, 'w'},
    {"height", required_argument, 0, 'H'},  {"upscale", no_argument, 0, OPT_UPSCALE},
    {"format", required_argument, 0, 'f'},  {"quality", required_argument, 0, 'q'},
    {"jobs", required_argument, 0, 'j'},    {"timeout", required_argument, 0, 't'},
    {"memory", required_argument, 0, 'm'},  {"max-pixels", required_argument, 0, OPT_MAXPX},
    {"json", no_argument, 0, OPT_JSON},     {"joblog", required_argument, 0, OPT_JOBLOG},
    {"resume", no_argument, 0, OPT_RESUME}, {"progress", no_argument, 0, OPT_PROGRESS},
    {"size", required_argument, 0, 's'},    {"fit", required_argument, 0, OPT_FIT},
    {"crop", required_argument, 0, OPT_CROP}, {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

/* "100M", "2.5G", "40000": pixels, powers of 1000. */
static int parse_pixels(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  static const struct {
    char unit;
    double mul;
  } units[] = {{'k', 1e3}, {'m', 1e6}, {'g', 1e9}};
  double mul = 1;
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && *end; i++)
    if (tolower((unsigned char)*end) == units[i].unit) {
      mul = units[i].mul;
      end++;
      break;
    }
  if (errno || end == s || *end || v <= 0 || v * mul > PIXELS_MAX)
    return UV_EINVAL;
  *out = (uint64_t)(v * mul);
  return 0;
}

static int parse_format(const char *s, uint32_t *format) {
  if (strcmp(s, "jpg") == 0 || strcmp(s, "jpeg") == 0)
    *format = WD_IMG_JPG;
  else if (strcmp(s, "png") == 0)
    *format = WD_IMG_PNG;
  else if (strcmp(s, "same") == 0)
    *format = WD_IMG_SAME;
  else
    return UV_EINVAL;
  return 0;
}

/* A count from lo to hi into a uint32_t field. */
static int count32(const char *s, long lo, long hi, uint32_t *out) {
  long v;
  if (wd__parse_count(s, lo, hi, &v))
    return UV_EINVAL;
  *out = (uint32_t)v;
  return 0;
}

static int parse_fit(const char *s, uint32_t *fit) {
  for (size_t i = 0; i < sizeof(fit_names) / sizeof(fit_names[0]); i++)
    if (strcmp(s, fit_names[i]) == 0) {
      *fit = (uint32_t)i;
      return 0;
    }
  return UV_EINVAL;
}

/* --size as vipsthumbnail reads it: "N" is an N x N box, "WxH" a box,
 * "Wx" a width alone, "xH" a height alone.  Sets both sides. */
static int parse_size(const char *s, wd_img_req *r) {
  char w[32];
  const char *x = strchr(s, 'x');
  uint32_t width = 0, height = 0;
  if (x == NULL)
    x = s + strlen(s);
  if ((size_t)(x - s) >= sizeof(w) || (x == s && (*x == 0 || x[1] == 0)))
    return UV_EINVAL;
  memcpy(w, s, (size_t)(x - s));
  w[x - s] = 0;
  if (x > s && count32(w, 1, RESIZE_MAX_SIDE, &width))
    return UV_EINVAL;
  if (*x == 0)
    height = width; /* "N": a square */
  else if (x[1] && count32(x + 1, 1, RESIZE_MAX_SIDE, &height))
    return UV_EINVAL;
  r->width = width;
  r->height = height;
  return 0;
}

/* --crop: centre (or center), or attention. */
static int parse_crop(const char *s, uint32_t *crop) {
  if (strcmp(s, "centre") == 0 || strcmp(s, "center") == 0)
    *crop = WD_IMG_CROP_CENTRE;
  else if (strcmp(s, "attention") == 0)
    *crop = WD_IMG_CROP_ATTENTION;
  else
    return UV_EINVAL;
  return 0;
}

/* One option; 0, or UV_EINVAL (msg says which, unless getopt did). */
static int resize_option(int c, const char *arg, void *opts, wd__cli_msg *msg) {
  wd_resize_opts *o = opts;
  int bad = 0;
  switch (c) {
  case 'o': o->outdir = arg; break;
  case 'w': bad = count32(arg, 1, RESIZE_MAX_SIDE, &o->req.width); break;
  case 'H': bad = count32(arg, 1, RESIZE_MAX_SIDE, &o->req.height); break;
  case 's': bad = parse_size(arg, &o->req); break;
  case OPT_FIT: bad = parse_fit(arg, &o->req.fit); break;
  case OPT_CROP: bad = parse_crop(arg, &o->req.crop); break;
  case OPT_UPSCALE: o->req.upscale = 1; break;
  case 'f': bad = parse_format(arg, &o->req.format); break;
  case 'q': bad = count32(arg, 1, RESIZE_MAX_QUALITY, &o->req.quality); break;
  case 'j': bad = wd__parse_count(arg, 1, RESIZE_MAX_JOBS, &o->jobs); break;
  case 't': bad = wd__parse_duration(arg, &o->timeout_ms); break;
  case 'm': bad = wd__parse_size(arg, &o->memory); break;
  case OPT_MAXPX: bad = parse_pixels(arg, &o->req.max_pixels); break;
  case OPT_JSON: o->json = 1; break;
  case OPT_JOBLOG: o->joblog = arg; break;
  case OPT_RESUME: o->resume = 1; break;
  case OPT_PROGRESS: o->progress = 1; break;
  default: return UV_EINVAL; /* getopt said what */
  }
  return bad ? wd__cli_bad_value(msg, resize_options, c, arg) : 0;
}

int wd__cli_resize_parse(int argc, char **argv, wd_resize_opts *o, wd__cli_msg *msg) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  *o = (wd_resize_opts){.jobs = n > 0 ? n : 1,
                        .timeout_ms = RESIZE_DEFAULT_TIMEOUT_MS,
                        .memory = RESIZE_DEFAULT_MEMORY,
                        .req = {.quality = RESIZE_DEFAULT_QUALITY,
                                .max_pixels = WD_IMG_MAX_PIXELS}};
  int rc = wd__cli_getopt(argc, argv, "o:w:H:s:f:q:j:t:m:h", resize_options, resize_option, o,
                         msg);
  if (rc != WD__CLI_GO)
    return rc;
  if (o->req.fit != WD_IMG_CONTAIN && (o->req.width == 0 || o->req.height == 0))
    return wd__cli_say(msg, "--fit %s needs a width and a height (-w and -H, or -s WxH)",
                       fit_names[o->req.fit]);
  if (o->outdir == NULL)
    return wd__cli_say(msg, "missing -o OUTDIR (try 'warden resize --help')");
  if (optind == argc)
    return wd__cli_say(msg, "no input (try 'warden resize --help')");
  o->inputs = argv + optind;
  o->ninputs = argc - optind;
  return WD__CLI_GO;
}
