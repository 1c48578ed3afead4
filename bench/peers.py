#!/usr/bin/python3
"""Python's process pools on the same workloads as bench_pool.c.

  peers.py submit KIND N W   tasks/s; KIND = pebble | ppe | mp
  peers.py map N W C         items/s, ProcessPoolExecutor.map(chunksize=C)
  peers.py storm             seconds, pebble: 20 x sleep(10), timeout=0.2, 2 workers
"""
import sys
import time


def identity(x):
    return x


def nap(s):
    time.sleep(s)


def submit(kind, n, w):
    if kind == "pebble":
        import pebble
        with pebble.ProcessPool(max_workers=w) as pool:
            [f.result() for f in [pool.schedule(identity, (7,)) for _ in range(100)]]
            t0 = time.perf_counter()
            fs = [pool.schedule(identity, (7,)) for _ in range(n)]
            [f.result() for f in fs]
            return n / (time.perf_counter() - t0)
    if kind == "ppe":
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(max_workers=w) as pool:
            [f.result() for f in [pool.submit(identity, 7) for _ in range(100)]]
            t0 = time.perf_counter()
            fs = [pool.submit(identity, 7) for _ in range(n)]
            [f.result() for f in fs]
            return n / (time.perf_counter() - t0)
    import multiprocessing
    with multiprocessing.Pool(w) as pool:
        [r.get() for r in [pool.apply_async(identity, (7,)) for _ in range(100)]]
        t0 = time.perf_counter()
        rs = [pool.apply_async(identity, (7,)) for _ in range(n)]
        [r.get() for r in rs]
        return n / (time.perf_counter() - t0)


def pmap(n, w, c):
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(max_workers=w) as pool:
        list(pool.map(identity, range(100)))
        t0 = time.perf_counter()
        list(pool.map(identity, [7] * n, chunksize=c))
        return n / (time.perf_counter() - t0)


def storm():
    import pebble
    from concurrent.futures import TimeoutError as Timeout
    with pebble.ProcessPool(max_workers=2) as pool:
        [f.result() for f in [pool.schedule(identity, (7,)) for _ in range(10)]]
        t0 = time.perf_counter()
        fs = [pool.schedule(nap, (10,), timeout=0.2) for _ in range(20)]
        for f in fs:
            try:
                f.result()
            except Timeout:
                pass
        return time.perf_counter() - t0


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "submit":
        print("%.0f" % submit(a[1], int(a[2]), int(a[3])))
    elif a[0] == "map":
        print("%.0f" % pmap(int(a[1]), int(a[2]), int(a[3])))
    elif a[0] == "storm":
        print("%.3f" % storm())
