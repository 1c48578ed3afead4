#!/usr/bin/env python3
"""fidelity.py -- how close each tool's thumbnails come to a fair reference.

The reference is what an ideal resizer makes: the photo decoded, turned to
linear light in float, shrunk with Lanczos3 (Pillow's LANCZOS on float32
'F' channels, one at a time), and back to sRGB.  warden resizes in linear
light, so this is the reference it should be judged by; vipsthumbnail and
Pillow are run as their users run them (vipsthumbnail -s 256x, Pillow's
Image.thumbnail with LANCZOS).  Every tool writes PNG, so no JPEG loss
enters the score.  Each thumbnail is compared with the reference of its
own size by PSNR (over R, G and B, 8-bit) and SSIM (on luma, Rec. 601
Y' of the sRGB values: the standard 11x11 Gaussian window, sigma 1.5,
K1 0.01, K2 0.03, L 255, valid region only).  Prints one row per tool:
mean PSNR (dB) and mean SSIM over the photos.

Usage: fidelity.py [--per-image] WARDEN_BIN WIDTH PHOTO...
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageOps

SSIM_SIZE, SSIM_SIGMA, K1, K2, L = 11, 1.5, 0.01, 0.03, 255.0


def to_linear(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def to_srgb(l):
    l = np.clip(l, 0.0, 1.0)
    return np.where(l <= 0.0031308, l * 12.92, 1.055 * l ** (1 / 2.4) - 0.055)


def load(path):
    """The photo as seen (EXIF orientation applied), RGB."""
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def reference(img, size):
    """Lanczos3 in linear light, float all the way, to sRGB bytes."""
    lin = to_linear(np.asarray(img, dtype=np.float32) / 255.0).astype(np.float32)
    chans = [np.asarray(Image.fromarray(lin[:, :, c], "F").resize(size, Image.LANCZOS))
             for c in range(3)]
    out = to_srgb(np.stack(chans, axis=2).astype(np.float64))
    return np.round(out * 255.0)


def psnr(a, b):
    mse = np.mean((a - b) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(L * L / mse)


def gauss_filter(x):
    """Separable 11x11 Gaussian, valid region only."""
    r = SSIM_SIZE // 2
    g = np.exp(-(np.arange(-r, r + 1) ** 2) / (2 * SSIM_SIGMA ** 2))
    g /= g.sum()
    sw = np.lib.stride_tricks.sliding_window_view
    return sw(sw(x, SSIM_SIZE, axis=1) @ g, SSIM_SIZE, axis=0) @ g


def luma(a):
    return a[:, :, 0] * 0.299 + a[:, :, 1] * 0.587 + a[:, :, 2] * 0.114


def ssim(a, b):
    x, y = luma(a), luma(b)
    c1, c2 = (K1 * L) ** 2, (K2 * L) ** 2
    mx, my = gauss_filter(x), gauss_filter(y)
    vx = gauss_filter(x * x) - mx * mx
    vy = gauss_filter(y * y) - my * my
    cxy = gauss_filter(x * y) - mx * my
    m = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(m.mean())


def thumbs_warden(warden, width, photos, out):
    subprocess.run([warden, "resize", "-w", str(width), "-f", "png", "-o", out] + photos,
                   check=True, stdout=subprocess.DEVNULL)


def thumbs_vips(width, photos, out):
    subprocess.run(["vipsthumbnail", "-s", f"{width}x", "-o", os.path.join(out, "%s.png")]
                   + photos, check=True)


def thumbs_pillow(width, photos, out):
    for p in photos:
        with Image.open(p) as im:
            im = ImageOps.exif_transpose(im)
            im.thumbnail((width, 10 ** 6), Image.LANCZOS)
            im.convert("RGB").save(os.path.join(out, stem(p) + ".png"))


def stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def main(argv):
    per_image = "--per-image" in argv
    argv = [a for a in argv if a != "--per-image"]
    if len(argv) < 3:
        sys.exit(__doc__)
    warden, width, photos = argv[0], int(argv[1]), argv[2:]
    tools = {"warden": lambda o: thumbs_warden(warden, width, photos, o),
             "vipsthumbnail": lambda o: thumbs_vips(width, photos, o),
             "Pillow": lambda o: thumbs_pillow(width, photos, o)}
    scores = {t: [] for t in tools}
    with tempfile.TemporaryDirectory() as tmp:
        for t, make in tools.items():
            os.mkdir(os.path.join(tmp, t))
            make(os.path.join(tmp, t))
        for p in photos:
            img, refs = load(p), {}
            for t in tools:
                with Image.open(os.path.join(tmp, t, stem(p) + ".png")) as th:
                    got = np.asarray(th.convert("RGB"), dtype=np.float64)
                size = (got.shape[1], got.shape[0])
                if size not in refs:
                    refs[size] = reference(img, size)
                scores[t].append((psnr(got, refs[size]), ssim(got, refs[size])))
                if per_image:
                    print(f"  {stem(p):40s} {t:14s} {scores[t][-1][0]:6.2f} dB "
                          f"{scores[t][-1][1]:.4f}", file=sys.stderr)
    for t, s in scores.items():
        print(f"{t}\t{np.mean([a for a, _ in s]):.2f}\t{np.mean([b for _, b in s]):.4f}")


if __name__ == "__main__":
    main(sys.argv[1:])
