/* mkimages.c -- makes a folder of images for `make demo` (and anyone who
 * wants to try warden resize without photos at hand): JPEGs at camera
 * sizes, PNGs with alpha, grayscale, 16-bit, a JPEG with an EXIF rotation,
 * BMP and TGA, in nested folders -- and two bad files, to show that a bad
 * image costs one row, not the batch.
 *
 *   mkimages DIR      (makes DIR; does nothing if DIR/.done exists)
 */
#include <errno.h>
#include <sys/stat.h>

#include "../tests/images.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fputs("usage: mkimages DIR\n", stderr);
    return 2;
  }
  const char *d = argv[1];
  char p[4096];
  snprintf(p, sizeof(p), "%s/.done", d);
  struct stat st;
  if (stat(p, &st) == 0)
    return 0;
  snprintf(p, sizeof(p), "%s/camera/2026", d);
  for (char *s = p + 1; (s = strchr(s, '/')) != NULL; s++) {
    *s = '\0';
    mkdir(p, 0777);
    *s = '/';
  }
  if (mkdir(p, 0777) != 0 && errno != EEXIST) {
    perror(p);
    return 1;
  }
  snprintf(p, sizeof(p), "%s/web", d);
  mkdir(p, 0777);
  static const int sizes[][2] = {{4000, 3000}, {3264, 2448}, {2592, 1944},
                                 {1920, 1080}, {1600, 1200}, {1200, 1600}};
  int n = 0;
  for (int i = 0; i < 24; i++) {
    snprintf(p, sizeof(p), "%s/camera/2026/IMG_%04d.JPG", d, i + 1);
    n += make_jpeg(p, sizes[i % 6][0], sizes[i % 6][1], 3, 88) == 0;
  }
  snprintf(p, sizeof(p), "%s/camera/2026/IMG_0099_rotated.jpg", d);
  n += make_jpeg_rotated(p, 2400, 1600) == 0;
  for (int i = 0; i < 8; i++) {
    snprintf(p, sizeof(p), "%s/web/logo-%d.png", d, i);
    n += make_png(p, 800 + 100 * i, 600, 4) == 0;
    snprintf(p, sizeof(p), "%s/web/scan-%d.png", d, i);
    n += make_png(p, 1240, 1754, 1) == 0;
  }
  snprintf(p, sizeof(p), "%s/web/hdr-16bit.png", d);
  n += make_png16(p, 1024, 768, 3) == 0;
  unsigned char *px = pattern(640, 480, 3, 7);
  snprintf(p, sizeof(p), "%s/web/old.bmp", d);
  n += stbi_write_bmp(p, 640, 480, 3, px) != 0;
  snprintf(p, sizeof(p), "%s/web/sprite.tga", d);
  n += stbi_write_tga(p, 640, 480, 3, px) != 0;
  free(px);
  char src[4096];
  snprintf(src, sizeof(src), "%s/camera/2026/IMG_0001.JPG", d);
  snprintf(p, sizeof(p), "%s/camera/2026/IMG_0666_truncated.jpg", d);
  n += make_damaged(src, p, 5000, 0) == 0;
  snprintf(p, sizeof(p), "%s/web/bomb.tga", d);
  n += make_tga_bomb(p) == 0;
  snprintf(p, sizeof(p), "%s/.done", d);
  write_file(p, "", 0);
  printf("mkimages: %d images in %s (two of them bad on purpose)\n", n, d);
  return 0;
}
