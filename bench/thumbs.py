#!/usr/bin/python3
"""thumbs.py -- the Pillow peer for bench/run.sh's image rows.

    thumbs.py [--draft] JOBS WIDTH QUALITY OUTDIR FILE...

Thumbnails every FILE to WIDTH pixels wide (aspect kept, never enlarged)
as JPEG in OUTDIR with multiprocessing.Pool(JOBS), the way a Python user
would.  With --draft, JPEGs are decoded at reduced size (Image.draft),
Pillow's shrink-on-load.  Prints the number of images written.
"""
import os
import sys
from multiprocessing import Pool

from PIL import Image

DRAFT = False
WIDTH = 256
QUALITY = 85
OUT = "."


def one(path):
    try:
        with Image.open(path) as im:
            w, h = im.size
            size = (WIDTH, max(1, round(h * WIDTH / w)))
            if DRAFT:
                im.draft("RGB", size)
            im = im.convert("RGB")
            im.thumbnail(size, Image.LANCZOS)
            name = os.path.splitext(os.path.basename(path))[0] + ".jpg"
            im.save(os.path.join(OUT, name), quality=QUALITY)
        return 1
    except Exception as e:  # a bad image costs one row, as in warden
        print(f"{path}: {e}", file=sys.stderr)
        return 0


def init(draft, width, quality, out):
    global DRAFT, WIDTH, QUALITY, OUT
    DRAFT, WIDTH, QUALITY, OUT = draft, width, quality, out


if __name__ == "__main__":
    args = sys.argv[1:]
    draft = args[:1] == ["--draft"]
    if draft:
        args = args[1:]
    jobs, width, quality, out, files = int(args[0]), int(args[1]), int(args[2]), args[3], args[4:]
    with Pool(jobs, initializer=init, initargs=(draft, width, quality, out)) as pool:
        n = sum(pool.imap_unordered(one, files))
    print(n)
