/* images.c -- "Resize a set of images in memory", then "a list of files ->
 * load -> resize -> save" as a pipeline of chained futures.
 *
 * Part 1 makes a few images in memory (JPEG bytes, one of them broken on
 * purpose) and sends each one's bytes to a "thumbnail" job: the worker
 * decodes it (stb_image), fits it in a 256-pixel box (stb_image_resize,
 * sRGB-correct) and answers with PNG bytes (stb_image_write).  The broken
 * one comes back as an error; the others are not disturbed.
 *
 * Part 2 writes the same images as files, then runs three jobs per file,
 * chained with wd_future_then(): load (the worker reads the file), resize,
 * save (written under a temporary name, then renamed: never a half-written
 * file).  Each file's next step is submitted the moment its previous step
 * is done -- no stage waits for the whole batch -- and only a few files are
 * in flight at once, so a file's resize is not queued behind the loads of
 * all the others: the printed timeline shows the steps of different files
 * interleaving, and memory holds a few images, not all of them.
 *
 * (`warden resize` is the tool for real folders; this shows the library
 * doing the same with jobs of your own.)
 *
 *   build/examples/images [DIR]      (default: a new directory in /tmp)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include "warden.h"

enum { BOX = 256, NIMAGES = 8, IN_FLIGHT = 3 };

/* ---- the jobs: these run in worker processes ---------------------------- */

static void append_to_out(void *out, void *data, int size) {
  wd_out_append(out, data, (size_t)size);
}

/* thumbnail: argument = the image's bytes; output = a PNG that fits in a
 * BOX x BOX square, the aspect ratio kept. */
static int thumbnail_job(const void *arg, size_t len, wd_out *out) {
  int w, h, ch;
  unsigned char *px = stbi_load_from_memory(arg, (int)len, &w, &h, &ch, 0);
  if (px == NULL)
    return wd_out_printf(out, "not an image I can read (%s)",
                         stbi_failure_reason()), 1;
  double scale = (double)BOX / (w > h ? w : h);
  int tw = scale < 1 ? (int)(w * scale + 0.5) : w;
  int th = scale < 1 ? (int)(h * scale + 0.5) : h;
  tw = tw ? tw : 1;
  th = th ? th : 1;
  unsigned char *small = malloc((size_t)tw * th * ch);
  int alpha = ch == 2 || ch == 4 ? ch - 1 : STBIR_ALPHA_CHANNEL_NONE;
  int ok = small && stbir_resize_uint8_srgb(px, w, h, 0, small, tw, th, 0, ch,
                                            alpha, 0);
  ok = ok && stbi_write_png_to_func(append_to_out, out, tw, th, ch, small, 0);
  stbi_image_free(px);
  free(small);
  return ok ? 0 : (wd_out_printf(out, "resize or encode failed"), 1);
}

/* load: argument = a path; output = the file's bytes. */
static int load_job(const void *arg, size_t len, wd_out *out) {
  char path[4096];
  snprintf(path, sizeof(path), "%.*s", (int)len, (const char *)arg);
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return wd_out_printf(out, "%s: %s", path, strerror(errno)), 1;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    wd_out_append(out, buf, n);
  int err = ferror(f);
  fclose(f);
  return err ? (wd_out_printf(out, "%s: read error", path), 1) : 0;
}

/* save: argument = a path, a NUL, the bytes; written to PATH.tmp, then
 * renamed over PATH, so PATH is whole or absent. */
static int save_job(const void *arg, size_t len, wd_out *out) {
  const char *path = arg;
  size_t plen = strnlen(path, len);
  if (plen == len)
    return wd_out_printf(out, "no path"), 1;
  char tmp[4200];
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  size_t n = len - plen - 1;
  int ok = f && fwrite(path + plen + 1, 1, n, f) == n;
  ok = f && fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return wd_out_printf(out, "%s: %s", path, strerror(errno)), 1;
  }
  return wd_out_printf(out, "%zu bytes", n);
}

/* ---- part 1: images in memory ------------------------------------------- */

typedef struct {
  unsigned char *p;
  size_t len, cap;
} bytes;

/* stb_image_write hands its output over a few bytes at a time. */
static void append_to_bytes(void *ctx, void *data, int size) {
  bytes *b = ctx;
  if (b->len + (size_t)size > b->cap) {
    b->cap = (b->len + (size_t)size) * 2;
    b->p = realloc(b->p, b->cap);
    if (b->p == NULL)
      abort();
  }
  memcpy(b->p + b->len, data, (size_t)size);
  b->len += (size_t)size;
}

/* A w x h JPEG of colour gradients and rings, encoded in memory. */
static bytes make_jpeg(int w, int h, int seed) {
  unsigned char *px = malloc((size_t)w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      unsigned char *p = px + ((size_t)y * w + x) * 3;
      int dx = x - w / 2, dy = y - h / 2;
      p[0] = (unsigned char)(255 * x / w);
      p[1] = (unsigned char)(255 * y / h);
      p[2] = (unsigned char)((dx * dx + dy * dy) / (64 + seed * 16) % 2 * 200);
    }
  bytes b = {0};
  stbi_write_jpg_to_func(append_to_bytes, &b, w, h, 3, px, 85);
  free(px);
  return b;
}

static void part1(wd_pool *pool, bytes *img) {
  printf("1. %d images in memory -> thumbnails in memory\n", NIMAGES);
  wd_future *f[NIMAGES];
  for (int i = 0; i < NIMAGES; i++)
    wd_submit(pool, "thumbnail", img[i].p, img[i].len, NULL, &f[i]);
  wd_await_all(f, NIMAGES);
  for (int i = 0; i < NIMAGES; i++) {
    const wd_result *r = wd_future_result(f[i]);
    int w = 0, h = 0, ch, tw = 0, th = 0;
    stbi_info_from_memory(img[i].p, (int)img[i].len, &w, &h, &ch);
    printf("   image %d  %4d x %-4d JPEG %4zu KB  ", i + 1, w, h,
           img[i].len / 1024);
    if (r->status == WD_OK) {
      stbi_info_from_memory(r->data, (int)r->len, &tw, &th, &ch);
      printf("-> %3d x %-3d PNG %3zu KB  %5.1f ms\n", tw, th, r->len / 1024,
             r->duration_ns / 1e6);
    } else {
      printf("%s: %.*s\n", wd_status_name(r->status), (int)r->len,
             (const char *)r->data);
    }
    wd_future_release(f[i]);
  }
}

/* ---- part 2: files, a pipeline of chained futures ------------------------ */

typedef struct {
  wd_pool *pool;
  char in[4096], out[4096];
  uint64_t t0;
} item;

static void step(const item *it, const char *what, const wd_result *r) {
  printf("   %7.1f ms  %-14s %s", (uv_hrtime() - it->t0) / 1e6,
         strrchr(it->in, '/') + 1, what);
  if (r->status == WD_OK)
    printf("\n");
  else
    printf(" -- %s: %.*s\n", wd_status_name(r->status), (int)r->len,
           (const char *)r->data);
}

/* load done -> resize what it read */
static wd_future *after_load(wd_future *f, void *data) {
  item *it = data;
  const wd_result *r = wd_future_result(f);
  step(it, "loaded", r);
  wd_future *g = NULL;
  if (r->status == WD_OK)
    wd_submit(it->pool, "thumbnail", r->data, r->len, NULL, &g);
  return g; /* NULL: the chain ends with the load's failure */
}

/* resize done -> save the thumbnail */
static wd_future *after_resize(wd_future *f, void *data) {
  item *it = data;
  const wd_result *r = wd_future_result(f);
  step(it, "resized", r);
  if (r->status != WD_OK)
    return NULL;
  size_t plen = strlen(it->out) + 1;
  char *arg = malloc(plen + r->len);
  memcpy(arg, it->out, plen);
  memcpy(arg + plen, r->data, r->len);
  wd_future *g = NULL;
  wd_submit(it->pool, "save", arg, plen + r->len, NULL, &g); /* copies arg */
  free(arg);
  return g;
}

static void on_saved(wd_future *f, void *data) {
  const wd_result *r = wd_future_result(f);
  if (r->status == WD_OK) /* a failure was told at its step */
    step(data, "saved", r);
}

/* load -> resize -> save for one file: three tasks, each submitted by the
 * callback of the one before.  Returns the chain's future. */
static wd_future *start_chain(item *it, uint64_t t0) {
  it->t0 = t0;
  wd_future *load, *resized, *saved;
  wd_submit(it->pool, "load", it->in, strlen(it->in), NULL, &load);
  resized = wd_future_then(load, after_load, it);
  saved = wd_future_then(resized, after_resize, it);
  wd_future_on_done(saved, on_saved, it);
  wd_future_release(load); /* the chain holds what it needs */
  wd_future_release(resized);
  return saved;
}

/* Hands a future to the set, which keeps its own reference. */
static void watch(wd_waitset *ws, wd_future *f) {
  wd_waitset_add(ws, f);
  wd_future_release(f);
}

static int part2(wd_pool *pool, bytes *img, const char *dir) {
  char in[2048], out[2048];
  snprintf(in, sizeof(in), "%s/in", dir);
  snprintf(out, sizeof(out), "%s/out", dir);
  mkdir(in, 0777);
  mkdir(out, 0777);
  item it[NIMAGES];
  for (int i = 0; i < NIMAGES; i++) { /* the list of files */
    it[i] = (item){.pool = pool};
    snprintf(it[i].in, sizeof(it[i].in), "%s/photo-%02d.jpg", in, i + 1);
    snprintf(it[i].out, sizeof(it[i].out), "%s/photo-%02d.png", out, i + 1);
    FILE *f = fopen(it[i].in, "wb");
    if (f == NULL || fwrite(img[i].p, 1, img[i].len, f) != img[i].len ||
        fclose(f) != 0) {
      perror(it[i].in);
      return 1;
    }
  }
  /* A bounded pipeline: IN_FLIGHT files at once, the next one started as
   * one is saved.  (With more files in flight than workers, each worker
   * always has a next step to take.) */
  printf("2. %d files -> load -> resize -> save, each step chained to the last,"
         " %d files in flight\n", NIMAGES, IN_FLIGHT);
  uint64_t t0 = uv_hrtime();
  wd_waitset *ws;
  wd_waitset_new(&ws);
  int next = 0, saved = 0;
  for (; next < NIMAGES && next < IN_FLIGHT; next++)
    watch(ws, start_chain(&it[next], t0));
  wd_future *done;
  while (wd_waitset_next(ws, &done) == 0) {
    saved += wd_future_result(done)->status == WD_OK;
    if (next < NIMAGES)
      watch(ws, start_chain(&it[next++], t0));
  }
  wd_waitset_free(ws);
  printf("   %d of %d saved in %s (%.0f ms)\n", saved, NIMAGES, out,
         (uv_hrtime() - t0) / 1e6);
  return 0;
}

int main(int argc, char **argv) {
  char dir[1024] = "/tmp/warden-images-XXXXXX";
  if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
    fprintf(stderr, "usage: images [DIR]\n");
    return 2;
  }
  if (argc > 1)
    snprintf(dir, sizeof(dir), "%s", argv[1]);
  if (argc > 1 ? mkdir(dir, 0777) != 0 && errno != EEXIST
               : mkdtemp(dir) == NULL) {
    perror(dir);
    return 1;
  }
  wd_register("thumbnail", thumbnail_job);
  wd_register("load", load_job);
  wd_register("save", save_job);
  wd_pool *pool;
  int err = wd_pool_new(uv_default_loop(), NULL, &pool);
  if (err) {
    fprintf(stderr, "images: %s\n", wd_strerror(err));
    return 1;
  }
  static const int sizes[NIMAGES][2] = {{2400, 1600}, {1600, 1200}, {640, 480},
                                        {1200, 1600}, {2000, 2000}, {1920, 1080},
                                        {200, 150},   {3000, 2000}};
  bytes img[NIMAGES];
  for (int i = 0; i < NIMAGES; i++)
    img[i] = make_jpeg(sizes[i][0], sizes[i][1], i);
  img[5].len /= 3; /* image 6 is cut short: a broken file */

  part1(pool, img);
  printf("\n");
  int rc = part2(pool, img, dir);
  wd_pool_destroy(pool);
  for (int i = 0; i < NIMAGES; i++)
    free(img[i].p);
  return rc;
}
