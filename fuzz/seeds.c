/* seeds.c -- the fuzzers' seed corpora, generated rather than committed:
 *   seeds DIR   writes DIR/{frame,parse,lines,resize}/NNN */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../worker/proto.h"
#include "../tests/images.h"

static char root[512];
static int count;

static void seed(const char *kind, const void *p, size_t n) {
  char path[600];
  snprintf(path, sizeof(path), "%s/%s", root, kind);
  mkdir(path, 0777);
  snprintf(path, sizeof(path), "%s/%s/%03d", root, kind, count++);
  write_file(path, p, n);
}

static void frame(uint32_t type, uint32_t a, uint32_t b, const void *body, uint32_t len) {
  char f[WD__HDR_SIZE + 64];
  wd__hdr h = {.type = type, .len = len, .id = 7, .a = a, .b = b};
  memcpy(f, &h, WD__HDR_SIZE);
  memcpy(f + WD__HDR_SIZE, body, len);
  seed("frame", f, WD__HDR_SIZE + len);
}

/* An image file for the resize fuzzer: a first byte for the box, then it. */
static void image(const char *made, unsigned char box) {
  size_t n;
  unsigned char *p = read_file(made, &n);
  if (p == NULL)
    return;
  unsigned char *q = malloc(n + 1);
  q[0] = box;
  memcpy(q + 1, p, n);
  seed("resize", q, n + 1);
  free(p), free(q);
}

int main(int argc, char **argv) {
  if (argc != 2)
    return fprintf(stderr, "usage: seeds DIR\n"), 2;
  snprintf(root, sizeof(root), "%s", argv[1]);
  mkdir(root, 0777);
  frame(WD__F_TASK, 0, 0, "hello", 5);
  frame(WD__F_OK, 3, 120, "resulterr", 9);
  unsigned char items[] = {2, 0, 0, 0, 0, 0, 0, 0, 'a', 'b', 1, 0, 0, 0, 1, 0, 0, 0, 'c'};
  frame(WD__F_MAP, 0, 2, items, sizeof(items));
  frame(WD__F_MAPRES, 2, 9, items, sizeof(items));
  const char *words[] = {"250ms", "1m30s", "1.5", "0", "2h", "1d", "512M", "1.5G", "4096",
                         "10KiB", "TERM", "SIGKILL", "9", "hup", "100", "-3"};
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
    seed("parse", words[i], strlen(words[i]));
  seed("lines", "a\nb\r\nc d\n\n", 11);
  seed("lines", "x\0y z\0\0", 7);
  char tmp[] = "/tmp/wd-seeds-XXXXXX";
  if (mkdtemp(tmp) == NULL)
    return 1;
  char p[64];
#define MADE(name, expr) (snprintf(p, sizeof(p), "%s/%s", tmp, name), (expr), p)
  image(MADE("a.jpg", make_jpeg(p, 96, 64, 3, 80)), 16);
  image(MADE("g.jpg", make_jpeg(p, 64, 48, 1, 70)), 20);
  image(MADE("p.jpg", make_jpeg_progressive(p, 120, 80, 75, 0)), 24);
  /* At 1/8, with their AC scans dropped: luma only, then every component. */
  image(MADE("p8.jpg", make_jpeg_progressive(p, 128, 96, 75, JPEG_RESTARTS)), 6);
  image(MADE("q8.jpg", make_jpeg_progressive(p, 128, 96, 75, JPEG_444)), 6);
  image(MADE("r.jpg", make_jpeg_rotated(p, 80, 40)), 150);
  image(MADE("a.png", make_png(p, 64, 48, 4)), 10);
  image(MADE("g.png", make_png(p, 40, 30, 1)), 90);
  image(MADE("d.png", make_png16(p, 48, 32, 3)), 12);
  image(MADE("i.png", make_png_palette(p, 60, 20)), 200);
  image(MADE("b.gif", make_gif_bomb(p, 300, 200)), 8);
  unsigned char *px = pattern(32, 24, 3, 5);
  image(MADE("o.bmp", stbi_write_bmp(p, 32, 24, 3, px)), 30);
  image(MADE("o.tga", stbi_write_tga(p, 32, 24, 3, px)), 30);
  free(px);
  char rm[128];
  snprintf(rm, sizeof(rm), "rm -rf %s", tmp);
  return system(rm) == 0 ? 0 : 1;
}
