#!/usr/bin/env python3
"""Seeded benchmark data for `npm run bench` (written into bench/data/).

Files (all little-endian .npy, C order):

  f_<N>x<D>.npy      float32 features, N x D: ReLU of a class-dependent
                     Gaussian mixture with a decaying spectrum (see features())
  y_<N>_c<C>.npy     int64 class labels 0..C-1, every class present, balanced
  p_20000x1000.npy   float32 source-head probabilities, 20000 x 1000: softmax
                     of logits correlated with y_20000_c200 (see probs())

Sizes (N, D, C): (5000, 512, 50), (20000, 2048, 200), (1000, 4096, 10).

A file that already exists with the expected shape and dtype is kept, so
reruns are fast. `--force` regenerates everything; `--quick` only writes the
smallest feature case (plus the probabilities case, which has one size).
Every array has its own seed, so each file is reproducible on its own.

Usage: python3 bench/make_data.py [--quick] [--force] [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# (N, D, C), smallest first; --quick keeps only the first.
FEATURE_CASES = [(5000, 512, 50), (20000, 2048, 200), (1000, 4096, 10)]
PROBS_CASE = (20000, 1000, 200)  # N, Cs (source classes), C (target classes)

SEED_LABELS = 1_000
SEED_FEATURES = 2_000
SEED_PROBS = 3_000


def labels_path(out: str, n: int, c: int) -> str:
    return os.path.join(out, f"y_{n}_c{c}.npy")


def features_path(out: str, n: int, d: int) -> str:
    return os.path.join(out, f"f_{n}x{d}.npy")


def probs_path(out: str, n: int, cs: int) -> str:
    return os.path.join(out, f"p_{n}x{cs}.npy")


def is_current(path: str, shape: tuple, dtype) -> bool:
    """True when `path` is a readable .npy of exactly this shape and dtype."""
    if not os.path.exists(path):
        return False
    try:
        a = np.load(path, mmap_mode="r")
    except Exception:
        return False
    return a.shape == tuple(shape) and a.dtype == np.dtype(dtype)


def save(path: str, a: np.ndarray) -> None:
    tmp = path + ".tmp.npy"
    np.save(tmp, a)
    os.replace(tmp, path)  # never leave a half-written file behind


def labels(n: int, c: int) -> np.ndarray:
    """Balanced labels (every class has floor or ceil of n/c samples), shuffled."""
    rng = np.random.default_rng([SEED_LABELS, n, c])
    y = np.arange(n, dtype=np.int64) % c
    rng.shuffle(y)
    return y


def features(y: np.ndarray, c: int, d: int) -> np.ndarray:
    """ReLU'd class-dependent Gaussian mixture, float32.

    h_i = (z_i + mu_{y_i}) W + b + e_i,   f_i = max(h_i, 0)

    z_i ~ N(0, I_r) is a shared latent (r = min(256, d)), mu_c ~ N(0, s² I_r)
    the class centre in latent space, W (r x d) a random map whose rows decay
    like j^-0.6 (so the spectrum of F decays as it does for real backbones),
    e_i ~ N(0, 0.3² I_d) isotropic noise (F has full rank), b a per-column
    bias that keeps about 60 % of the entries positive after the ReLU.
    Classes overlap: LogME and DISCO land well inside their ranges instead of
    saturating.
    """
    n = y.shape[0]
    rng = np.random.default_rng([SEED_FEATURES, n, d, c])
    r = min(256, d)
    decay = (np.arange(1, r + 1, dtype=np.float32) ** -0.6)[:, None]
    W = (rng.standard_normal((r, d), dtype=np.float32) * decay) / np.float32(np.sqrt(r) * 0.25)
    mu = rng.standard_normal((c, r), dtype=np.float32) * np.float32(0.9)
    Z = rng.standard_normal((n, r), dtype=np.float32)
    Z += mu[y]
    H = Z @ W                                   # n x d, float32
    del Z
    H += rng.standard_normal((n, d), dtype=np.float32) * np.float32(0.3)
    # bias: shift each column so that ~60 % of its entries stay positive
    b = -np.quantile(H[: min(n, 4000)], 0.4, axis=0).astype(np.float32)
    H += b
    np.maximum(H, 0, out=H)
    return np.ascontiguousarray(H, dtype=np.float32)


def probs(y: np.ndarray, c: int, cs: int) -> np.ndarray:
    """Softmax of class-correlated logits, float32 (rows sum to 1 within ~1e-7).

    Each target class c prefers a handful of source classes (affinity A[c]);
    logits_i = 2.5·A[y_i] + N(0, 1) noise. Softmax in float64 with the row
    maximum subtracted, then stored as float32. The logit range stays small
    enough that no source column underflows to zero mass.
    """
    n = y.shape[0]
    rng = np.random.default_rng([SEED_PROBS, n, cs, c])
    A = rng.standard_normal((c, cs)) * 0.3
    for k in range(c):
        hot = rng.choice(cs, size=5, replace=False)
        A[k, hot] += rng.uniform(1.0, 2.0, size=5)
    L = 2.5 * A[y] + rng.standard_normal((n, cs))
    L -= L.max(axis=1, keepdims=True)
    np.exp(L, out=L)
    L /= L.sum(axis=1, keepdims=True)
    return L.astype(np.float32)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the smallest feature case (+ probabilities)")
    ap.add_argument("--force", action="store_true", help="regenerate even if the files exist")
    ap.add_argument("--out", default=os.path.join(HERE, "data"))
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)

    cases = FEATURE_CASES[:1] if a.quick else FEATURE_CASES
    made, kept = [], []

    def ensure(path, shape, dtype, build):
        if not a.force and is_current(path, shape, dtype):
            kept.append(os.path.basename(path))
            return
        t0 = time.perf_counter()
        save(path, build())
        made.append(f"{os.path.basename(path)} ({time.perf_counter() - t0:.1f} s)")

    for n, d, c in cases:
        yp = labels_path(a.out, n, c)
        ensure(yp, (n,), np.int64, lambda: labels(n, c))
        ensure(features_path(a.out, n, d), (n, d), np.float32,
               lambda: features(np.load(yp), c, d))

    n, cs, c = PROBS_CASE
    yp = labels_path(a.out, n, c)
    ensure(yp, (n,), np.int64, lambda: labels(n, c))
    ensure(probs_path(a.out, n, cs), (n, cs), np.float32, lambda: probs(np.load(yp), c, cs))

    if made:
        print("make_data: generated " + ", ".join(made), file=sys.stderr)
    if kept:
        print("make_data: up to date " + ", ".join(kept), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
