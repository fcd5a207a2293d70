#!/usr/bin/env python3
"""Scale check of issue 6: a 600000 x 1024 float32 .npy (2.4 GiB) scored by
LogME with bounded memory, against a chunked numpy computation.

    python3 bench/bigfile.py            # generate (once), run both, compare

The numpy side never holds the matrix either: it accumulates FᵀF and the class
sums in float64 over 50000-row chunks of a memory map, then runs the fixed
point of fixtures/reference.py on the eigen-decomposition. rank-models runs as
a whole process under /usr/bin/time for its peak RSS.
"""
import json
import math
import pathlib
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT / "fixtures"))
from reference import logme_column_A  # noqa: E402

N, D, C = 600000, 1024, 100
F_PATH, Y_PATH = DATA / "big_f.npy", DATA / "big_y.npy"


def generate():
    if F_PATH.exists() and Y_PATH.exists():
        f = np.load(F_PATH, mmap_mode="r")
        if f.shape == (N, D) and f.dtype == np.float32:
            return
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    y = rng.integers(0, C, N).astype(np.int64)
    np.save(Y_PATH, y)
    centres = rng.standard_normal((C, D)).astype(np.float32) * 0.5
    f = np.lib.format.open_memmap(F_PATH, mode="w+", dtype=np.float32, shape=(N, D))
    for s in range(0, N, 50000):
        e = min(N, s + 50000)
        f[s:e] = np.maximum(centres[y[s:e]] + rng.standard_normal((e - s, D), dtype=np.float32), 0)
    f.flush()


def numpy_chunked():
    f = np.load(F_PATH, mmap_mode="r")
    y = np.load(Y_PATH)
    classes, codes = np.unique(y, return_inverse=True)
    k_cls = len(classes)
    gram = np.zeros((D, D))
    sums = np.zeros((D, k_cls))
    for s in range(0, N, 50000):
        x = np.asarray(f[s:s + 50000], dtype=np.float64)
        gram += x.T @ x
        onehot = np.zeros((x.shape[0], k_cls))
        onehot[np.arange(x.shape[0]), codes[s:s + 50000]] = 1
        sums += x.T @ onehot
    lam, v = np.linalg.eigh(gram)
    keep = lam > lam.max() * max(N, D) * 2.2e-16
    sigma = lam[keep]
    proj = (v[:, keep].T @ sums) / np.sqrt(sigma)[:, None]
    counts = np.bincount(codes)
    scores = [logme_column_A(sigma, proj[:, c] ** 2, float(counts[c]) - float(np.sum(proj[:, c] ** 2)), N, D)
              for c in range(k_cls)]
    return float(np.mean(scores))


def main():
    generate()
    t0 = time.time()
    ref = numpy_chunked()
    t_np = time.time() - t0
    cmd = ["/usr/bin/time", "-f", "%M %e", "node", str(ROOT / "bin" / "rank-models.js"), f"m={F_PATH}",
           "--labels", str(Y_PATH), "-s", "logme", "--json", "-q"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    rss_kb, wall = out.stderr.strip().splitlines()[-1].split()
    value = json.loads(out.stdout)["models"][0]["scores"]["logme"]["value"]
    rel = abs(value - ref) / abs(ref)
    print(f"600000 x 1024 float32 (.npy {F_PATH.stat().st_size / 2**30:.2f} GiB), {C} classes")
    print(f"  rank-models LogME {value:.12f}  wall {float(wall):.1f} s  peak RSS {int(rss_kb) / 1024:.0f} MiB")
    print(f"  numpy chunked     {ref:.12f}  wall {t_np:.1f} s")
    print(f"  relative difference {rel:.2e}  ({'ok' if rel < 1e-6 else 'MISMATCH'}; RSS {'under' if int(rss_kb) < 1.5 * 2**20 else 'OVER'} 1.5 GiB)")


if __name__ == "__main__":
    main()
